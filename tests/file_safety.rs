//! Transfers cannot be turned against the files of the guest or of the host: temporary files
//! are made exclusively under unguessable names with owner-only modes, planted links are never
//! followed, odd paths are paths, and a directory target is refused or handled. Every test
//! runs over exec channels and over SFTP.

#[macro_use]
mod support;

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;

use smol_ssh::{ErrorKind, FileTransfer, RunOptions};
use support::{client_for, raw, shared_dir, Sshd};

on_both_paths!(
    links_planted_for_the_old_temporary_names_catch_nothing,
    a_link_at_the_target_is_replaced_not_followed,
    the_temporary_file_is_never_readable_by_others_while_it_is_written,
    odd_paths_are_paths_and_directories_are_refused,
    downloads_never_follow_planted_links_and_are_owner_only,
);

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn opts() -> RunOptions {
    raw(60)
}

/// The last process id the kernel handed out (new processes get the ones after it).
fn last_pid() -> u32 {
    fs::read_to_string("/proc/sys/kernel/ns_last_pid")
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

fn links_planted_for_the_old_temporary_names_catch_nothing(path: FileTransfer) {
    let sshd = Sshd::start();
    let c = client_for(&sshd, path);
    let dir = shared_dir(&sshd, "planted");
    let victim = dir.join("victim");
    fs::write(&victim, b"the victim's own bytes").unwrap();
    fs::set_permissions(&victim, fs::Permissions::from_mode(0o666)).unwrap();
    let target = dir.join("upload.txt");
    // The old scheme wrote `<target>.smol-ssh-part.<pid of the guest's shell>`.
    let next = last_pid();
    for pid in next..next + 400 {
        symlink(&victim, dir.join(format!("upload.txt.smol-ssh-part.{pid}"))).unwrap();
    }
    c.put_bytes(b"uploaded", target.to_str().unwrap(), 0o600, &opts())
        .unwrap();
    assert_eq!(fs::read(&target).unwrap(), b"uploaded");
    assert_eq!(mode(&target), 0o600);
    assert_eq!(fs::read(&victim).unwrap(), b"the victim's own bytes");
    assert_eq!(mode(&victim), 0o666);
}

fn a_link_at_the_target_is_replaced_not_followed(path: FileTransfer) {
    let sshd = Sshd::start();
    let c = client_for(&sshd, path);
    let dir = shared_dir(&sshd, "link-target");
    let victim = dir.join("victim");
    fs::write(&victim, b"keep me").unwrap();
    fs::set_permissions(&victim, fs::Permissions::from_mode(0o666)).unwrap();
    let target = dir.join("target");
    symlink(&victim, &target).unwrap();
    c.put_bytes(b"new", target.to_str().unwrap(), 0o644, &opts())
        .unwrap();
    assert!(!fs::symlink_metadata(&target)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(fs::read(&target).unwrap(), b"new");
    assert_eq!(fs::read(&victim).unwrap(), b"keep me");
}

fn the_temporary_file_is_never_readable_by_others_while_it_is_written(path: FileTransfer) {
    let sshd = Sshd::start();
    let c = client_for(&sshd, path);
    let dir = shared_dir(&sshd, "watch");
    let target = dir.join("secret.bin");
    let done = Arc::new(AtomicBool::new(false));
    let worst = Arc::new(AtomicU32::new(0));
    let watcher = {
        let (dir, done, worst) = (dir.clone(), Arc::clone(&done), Arc::clone(&worst));
        std::thread::spawn(move || {
            let mut seen = 0;
            while !done.load(Ordering::Acquire) {
                for entry in fs::read_dir(&dir).unwrap().flatten() {
                    let name = entry.file_name().to_string_lossy().into_owned();
                    if name.contains("smol-ssh") {
                        if let Ok(meta) = entry.metadata() {
                            worst.fetch_or(meta.permissions().mode() & 0o077, Ordering::AcqRel);
                            seen += 1;
                        }
                    }
                }
            }
            seen
        })
    };
    c.put_bytes(
        &vec![1u8; 64 << 20],
        target.to_str().unwrap(),
        0o600,
        &opts(),
    )
    .unwrap();
    done.store(true, Ordering::Release);
    let seen = watcher.join().unwrap();
    assert!(seen > 0, "the temporary file was never seen");
    assert_eq!(
        worst.load(Ordering::Acquire),
        0,
        "group/other bits while written"
    );
    assert_eq!(mode(&target), 0o600);
}

fn odd_paths_are_paths_and_directories_are_refused(path: FileTransfer) {
    let sshd = Sshd::start();
    let c = client_for(&sshd, path);
    let dir = shared_dir(&sshd, "odd");
    // put_bytes onto a directory: refused, nothing left in it.
    let err = c
        .put_bytes(b"x", dir.to_str().unwrap(), 0o644, &opts())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RemoteFailed, "{err}");
    assert!(err.message().contains("is a directory"), "{err}");
    assert_eq!(fs::read_dir(&dir).unwrap().count(), 0);
    // A relative path that starts with '-' (relative to the login's home).
    let name = format!("-dash-{}.txt", std::process::id());
    let written = c.put_bytes(b"dash", &name, 0o640, &opts()).unwrap();
    assert_eq!(written, name);
    let listed = c
        .run(
            &format!("cat -- ./{name}; ls -a | grep -c smol-ssh; rm -f -- ./{name}"),
            &raw(10),
        )
        .unwrap();
    assert_eq!(
        listed.stdout, b"dash0\n",
        "content, then no temporary file left"
    );
    // Spaces, quotes, newlines and a leading '-' in a name under a directory.
    let odd = dir.join("-a b'c\"d\ne");
    c.put_bytes(b"odd", odd.to_str().unwrap(), 0o600, &opts())
        .unwrap();
    assert_eq!(fs::read(&odd).unwrap(), b"odd");
    let back = c.get_bytes(odd.to_str().unwrap(), 100, &opts()).unwrap();
    assert_eq!(back, b"odd");
}

fn downloads_never_follow_planted_links_and_are_owner_only(path: FileTransfer) {
    let sshd = Sshd::start();
    let c = client_for(&sshd, path);
    let remote = shared_dir(&sshd, "remote").join("data");
    fs::write(&remote, b"from the guest").unwrap();
    fs::set_permissions(&remote, fs::Permissions::from_mode(0o644)).unwrap();
    let local_dir = tempfile::tempdir().unwrap();
    let victim = local_dir.path().join("victim");
    fs::write(&victim, b"host file").unwrap();
    fs::set_permissions(&victim, fs::Permissions::from_mode(0o600)).unwrap();
    // The old temporary name, and a link at the destination itself.
    let local = local_dir.path().join("copy");
    symlink(
        &victim,
        local_dir
            .path()
            .join(format!(".copy.smol-ssh-{}.part", std::process::id())),
    )
    .unwrap();
    symlink(&victim, &local).unwrap();
    let n = c
        .get_file(remote.to_str().unwrap(), &local, 1000, &opts())
        .unwrap();
    assert_eq!(n, 14);
    assert!(!fs::symlink_metadata(&local)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(fs::read(&local).unwrap(), b"from the guest");
    assert_eq!(mode(&local), 0o600);
    assert_eq!(fs::read(&victim).unwrap(), b"host file");
    // A dangling link at the old temporary name creates nothing at its target.
    let nowhere = local_dir.path().join("nowhere");
    let local2 = local_dir.path().join("copy2");
    symlink(
        &nowhere,
        local_dir
            .path()
            .join(format!(".copy2.smol-ssh-{}.part", std::process::id())),
    )
    .unwrap();
    c.get_file(remote.to_str().unwrap(), &local2, 1000, &opts())
        .unwrap();
    assert!(!nowhere.exists());
    // Too large: nothing is left behind (but the planted links).
    let err = c
        .get_file(
            remote.to_str().unwrap(),
            &local_dir.path().join("small"),
            5,
            &opts(),
        )
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TooLarge, "{err}");
    let left: Vec<_> = fs::read_dir(local_dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("small"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
