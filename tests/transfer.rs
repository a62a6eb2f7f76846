//! File transfer against a real sshd: reference semantics, limits, bad input, 100 MB by SHA-256.
//! Every test runs twice: over exec channels (`exec::`) and over SFTP (`sftp::`).

#[macro_use]
mod support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use smol_ssh::{Client, ErrorKind, FileTransfer, RunOptions};
use support::{client_for, raw, shared_dir, Sshd};

on_both_paths!(
    put_file_into_a_directory_appends_the_name_and_keeps_the_mode,
    bytes_both_ways_with_odd_names,
    get_file_creates_parents_and_never_leaves_a_partial_file,
    bad_input_and_guest_refusals_have_their_own_statuses,
    a_100_mb_round_trip_is_exact_by_sha256,
);

/// What a guest refusal is, per path: the exec path only knows the guest's words
/// (RemoteFailed); SFTP says which.
fn refusal(path: FileTransfer, sftp_kind: ErrorKind) -> ErrorKind {
    match path {
        FileTransfer::Sftp => sftp_kind,
        _ => ErrorKind::RemoteFailed,
    }
}

fn sha256(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn opts() -> RunOptions {
    raw(60)
}

fn put_file_into_a_directory_appends_the_name_and_keeps_the_mode(path: FileTransfer) {
    let sshd = Sshd::start();
    let c = client_for(&sshd, path);
    let dir = shared_dir(&sshd, "rw");
    let local = sshd.dir().join("script.sh");
    fs::write(&local, b"#!/bin/sh\necho hi\n").unwrap();
    fs::set_permissions(&local, fs::Permissions::from_mode(0o751)).unwrap();

    let written = c.put_file(&local, dir.to_str().unwrap(), &opts()).unwrap();
    assert_eq!(written, format!("{}/script.sh", dir.display()));
    assert_eq!(fs::read(&written).unwrap(), b"#!/bin/sh\necho hi\n");
    assert_eq!(mode(Path::new(&written)), 0o751);
    // Onto an explicit file path, replacing what was there.
    let target = dir.join("renamed.sh");
    fs::write(&target, b"old old old").unwrap();
    fs::set_permissions(&target, fs::Permissions::from_mode(0o666)).unwrap();
    assert_eq!(
        c.put_file(&local, target.to_str().unwrap(), &opts())
            .unwrap(),
        target.to_str().unwrap()
    );
    assert_eq!(fs::read(&target).unwrap(), b"#!/bin/sh\necho hi\n");
    assert_eq!(mode(&target), 0o751);
}

fn bytes_both_ways_with_odd_names(path: FileTransfer) {
    let sshd = Sshd::start();
    let c = client_for(&sshd, path);
    let dir = shared_dir(&sshd, "rw");
    let remote = dir.join("it's a file with spaces & $signs");
    let data = b"\x00binary\xff\n".to_vec();
    let written = c
        .put_bytes(&data, remote.to_str().unwrap(), 0o600, &opts())
        .unwrap();
    assert_eq!(written, remote.to_str().unwrap());
    assert_eq!(mode(&remote), 0o600);
    assert_eq!(
        c.get_bytes(remote.to_str().unwrap(), 1 << 20, &opts())
            .unwrap(),
        data
    );
    assert_eq!(
        c.get_bytes(remote.to_str().unwrap(), data.len() as u64, &opts())
            .unwrap(),
        data
    );
    let err = c
        .get_bytes(remote.to_str().unwrap(), data.len() as u64 - 1, &opts())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TooLarge, "{err}");
    let empty = dir.join("empty");
    c.put_bytes(b"", empty.to_str().unwrap(), 0o644, &opts())
        .unwrap();
    assert_eq!(fs::read(&empty).unwrap(), b"");
    assert_eq!(
        c.get_bytes(empty.to_str().unwrap(), 0, &opts()).unwrap(),
        b""
    );
}

fn get_file_creates_parents_and_never_leaves_a_partial_file(path: FileTransfer) {
    let sshd = Sshd::start();
    let c = client_for(&sshd, path);
    let dir = shared_dir(&sshd, "rw");
    let remote = dir.join("data.bin");
    fs::write(&remote, vec![7u8; 5000]).unwrap();
    fs::set_permissions(&remote, fs::Permissions::from_mode(0o644)).unwrap();

    let local = sshd.dir().join("deep/er/copy.bin");
    assert_eq!(
        c.get_file(remote.to_str().unwrap(), &local, 5000, &opts())
            .unwrap(),
        5000
    );
    assert_eq!(fs::read(&local).unwrap(), vec![7u8; 5000]);

    // Too large: refused, the existing local file untouched, no temporary left behind.
    fs::write(&local, b"keep me").unwrap();
    let err = c
        .get_file(remote.to_str().unwrap(), &local, 4999, &opts())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TooLarge, "{err}");
    assert_eq!(fs::read(&local).unwrap(), b"keep me");
    let leftovers: Vec<_> = fs::read_dir(local.parent().unwrap())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "{leftovers:?}");
}

fn bad_input_and_guest_refusals_have_their_own_statuses(path: FileTransfer) {
    let sshd = Sshd::start();
    let c = client_for(&sshd, path);
    let dir = shared_dir(&sshd, "rw");
    let missing_local = sshd.dir().join("no-such-local-file");
    let local_dir = sshd.dir().join("a-local-dir");
    fs::create_dir(&local_dir).unwrap();
    let local_file = sshd.dir().join("local.txt");
    fs::write(&local_file, b"x").unwrap();
    let locked = dir.join("locked");
    fs::write(&locked, b"secret").unwrap();
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();
    let no_write = sshd.dir().join("ro");
    fs::create_dir(&no_write).unwrap();
    fs::set_permissions(&no_write, fs::Permissions::from_mode(0o555)).unwrap();

    let kind = |r: smol_ssh::Result<String>| r.unwrap_err().kind();
    assert_eq!(
        kind(c.put_file(&missing_local, dir.to_str().unwrap(), &opts())),
        ErrorKind::InvalidArgument
    );
    assert_eq!(
        kind(c.put_file(&local_dir, dir.to_str().unwrap(), &opts())),
        ErrorKind::InvalidArgument
    );
    assert_eq!(
        kind(c.put_file(&local_file, "", &opts())),
        ErrorKind::InvalidArgument
    );
    if !support::sshd::is_root() || sshd.user != "root" {
        // The guest account cannot write there (root could).
        let err = c
            .put_file(&local_file, no_write.to_str().unwrap(), &opts())
            .unwrap_err();
        assert_eq!(
            err.kind(),
            refusal(path, ErrorKind::PermissionDenied),
            "{err}"
        );
        assert!(err.message().contains("ermission denied"), "{err}");
        let err = c
            .get_bytes(locked.to_str().unwrap(), 100, &opts())
            .unwrap_err();
        assert_eq!(
            err.kind(),
            refusal(path, ErrorKind::PermissionDenied),
            "{err}"
        );
        assert!(err.message().contains("ermission denied"), "{err}");
    }
    let err = c
        .get_bytes(dir.join("nope").to_str().unwrap(), 100, &opts())
        .unwrap_err();
    assert_eq!(err.kind(), refusal(path, ErrorKind::NotFound), "{err}");
    assert!(
        err.message().to_lowercase().contains("no such file"),
        "{err}"
    );
    let err = c
        .get_bytes(dir.to_str().unwrap(), 100, &opts())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RemoteFailed, "{err}");
    let target = sshd.dir().join("never-created.bin");
    let err = c
        .get_file(dir.join("nope").to_str().unwrap(), &target, 100, &opts())
        .unwrap_err();
    assert_eq!(err.kind(), refusal(path, ErrorKind::NotFound));
    assert!(!target.exists());
    let err = c
        .get_file(dir.to_str().unwrap(), &local_dir, 100, &opts())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
    // The connection is fine after all of that.
    assert_eq!(c.run("echo ok", &raw(10)).unwrap().stdout, b"ok\n");
}

fn a_100_mb_round_trip_is_exact_by_sha256(path: FileTransfer) {
    let sshd = Sshd::start();
    let c = client_for(&sshd, path);
    let dir = shared_dir(&sshd, "rw");
    let original = sshd.dir().join("original.bin");
    let data: Vec<u8> = (0..100_000_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 24) as u8)
        .collect();
    fs::write(&original, &data).unwrap();
    let t = std::time::Instant::now();
    let uploaded = c
        .put_file(&original, dir.to_str().unwrap(), &opts())
        .unwrap();
    let up = t.elapsed();
    let back = sshd.dir().join("back/original.bin");
    let t = std::time::Instant::now();
    assert_eq!(
        c.get_file(&uploaded, &back, u64::MAX, &opts()).unwrap(),
        100_000_000
    );
    eprintln!("{path:?}: 100 MB up in {up:?}, down in {:?}", t.elapsed());
    let expected = sha256(&original);
    assert_eq!(sha256(Path::new(&uploaded)), expected, "on the guest");
    assert_eq!(sha256(&back), expected, "back home");
}

#[test]
fn windows_guests_move_files_over_sftp_and_refuse_the_exec_path() {
    let sshd = Sshd::start();
    let dir = shared_dir(&sshd, "rw");
    let mut cfg = support::config(&sshd);
    cfg.shell_kind = smol_ssh::ShellKind::PowerShell;
    // Auto: SFTP (the sshd here is Linux's, which SFTP does not mind).
    let c = Client::new(cfg.clone()).unwrap();
    let remote = dir.join("from-windows.txt");
    c.put_bytes(b"hello", remote.to_str().unwrap(), 0o644, &opts())
        .unwrap();
    assert_eq!(
        c.get_bytes(remote.to_str().unwrap(), 10, &opts()).unwrap(),
        b"hello"
    );
    cfg.file_transfer = FileTransfer::Exec;
    let c = Client::new(cfg).unwrap();
    let err = c.get_bytes("C:/x", 10, &opts()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
}
