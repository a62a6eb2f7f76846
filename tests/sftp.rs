//! SFTP against the real sshd's sftp subsystem: each file operation's success and failure,
//! with odd paths; transfers cut short by a timeout or a cancel leave no file behind; a guest
//! without the subsystem is a clear status at once; SFTP runs beside commands.

mod support;

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::time::{Duration, Instant};

use smol_ssh::{CancelToken, Client, ErrorKind, FileTransfer, FileType, RunOptions};
use support::proxy::Proxy;
use support::{config, config_via, raw, shared_dir, Sshd};

fn opts() -> RunOptions {
    raw(30)
}

fn s(p: &std::path::Path) -> &str {
    p.to_str().unwrap()
}

/// Names that would break a careless shell: spaces, quotes, a newline, a leading '-'.
const ODD: [&str; 4] = [
    "with space",
    "it's \"quoted\"",
    "new\nline",
    "-leading-dash",
];

#[test]
fn stat_exists_and_list_dir() {
    let sshd = Sshd::start();
    let c = Client::new(config(&sshd)).unwrap();
    let dir = shared_dir(&sshd, "listed");
    for name in ODD {
        fs::write(dir.join(name), name.as_bytes()).unwrap();
    }
    fs::create_dir(dir.join("sub dir")).unwrap();
    symlink("with space", dir.join("a link")).unwrap();
    fs::set_permissions(dir.join("with space"), fs::Permissions::from_mode(0o640)).unwrap();

    let info = c.stat(s(&dir.join("with space")), &opts()).unwrap();
    assert_eq!(info.file_type, FileType::File);
    assert_eq!(info.size, Some(10));
    assert_eq!(info.permissions, Some(0o640));
    assert!(info.modified.is_some_and(|t| t > 1_600_000_000));
    assert_eq!(
        c.stat(s(&dir), &opts()).unwrap().file_type,
        FileType::Directory
    );
    // stat follows links; the listing shows the link itself.
    assert_eq!(
        c.stat(s(&dir.join("a link")), &opts()).unwrap().file_type,
        FileType::File
    );

    let mut listed = c.list_dir(s(&dir), &opts()).unwrap();
    listed.sort_by(|a, b| a.name.cmp(&b.name));
    let names: Vec<&str> = listed.iter().map(|e| e.name.as_str()).collect();
    let mut want = ODD.to_vec();
    want.extend(["sub dir", "a link"]);
    want.sort();
    assert_eq!(names, want);
    let kind = |n: &str| listed.iter().find(|e| e.name == n).unwrap().info.file_type;
    assert_eq!(kind("sub dir"), FileType::Directory);
    assert_eq!(kind("a link"), FileType::Symlink);
    assert_eq!(kind("new\nline"), FileType::File);

    for name in ODD {
        assert!(c.exists(s(&dir.join(name)), &opts()).unwrap(), "{name:?}");
    }
    assert!(!c.exists(s(&dir.join("nothing")), &opts()).unwrap());

    let err = c.stat(s(&dir.join("nothing")), &opts()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    let err = c.list_dir(s(&dir.join("nothing")), &opts()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    let err = c.list_dir(s(&dir.join("with space")), &opts()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotADirectory, "{err}");
    assert_eq!(
        c.stat("", &opts()).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    assert_eq!(
        c.stat("a\0b", &opts()).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
}

#[test]
fn mkdir_remove_and_rename() {
    let sshd = Sshd::start();
    let c = Client::new(config(&sshd)).unwrap();
    let dir = shared_dir(&sshd, "made");

    let deep = dir.join("-a b/it's/new\nline");
    let err = c.mkdir(s(&deep), false, &opts()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    c.mkdir(s(&deep), true, &opts()).unwrap();
    assert!(deep.is_dir());
    c.mkdir(s(&deep), true, &opts()).unwrap(); // -p: an existing directory is fine
    let err = c.mkdir(s(&deep), false, &opts()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RemoteFailed, "{err}");
    assert!(err.message().contains("exists"), "{err}");
    fs::write(dir.join("file"), b"x").unwrap();
    let err = c
        .mkdir(s(&dir.join("file/sub")), true, &opts())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotADirectory, "{err}");
    let err = c
        .mkdir(s(&dir.join("file/sub")), false, &opts())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotADirectory, "{err}");

    // rename replaces its target; remove takes files, remove_dir empty directories.
    fs::write(dir.join("from \"x\""), b"new").unwrap();
    fs::write(dir.join("-to"), b"old").unwrap();
    c.rename(s(&dir.join("from \"x\"")), s(&dir.join("-to")), &opts())
        .unwrap();
    assert_eq!(fs::read(dir.join("-to")).unwrap(), b"new");
    assert!(!dir.join("from \"x\"").exists());
    let err = c
        .rename(s(&dir.join("gone")), s(&dir.join("x")), &opts())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");

    let err = c.remove(s(&deep), &opts()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RemoteFailed, "{err}");
    assert!(err.message().contains("is a directory"), "{err}");
    let err = c.remove_dir(s(&dir.join("-to")), &opts()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotADirectory, "{err}");
    let err = c.remove_dir(s(&dir.join("-a b")), &opts()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RemoteFailed, "not empty: {err}");
    c.remove(s(&dir.join("-to")), &opts()).unwrap();
    assert!(!dir.join("-to").exists());
    let err = c.remove(s(&dir.join("-to")), &opts()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    c.remove_dir(s(&deep), &opts()).unwrap();
    assert!(!deep.exists());
}

#[test]
fn permission_denied_is_its_own_status() {
    let sshd = Sshd::start();
    if support::sshd::is_root() && sshd.user == "root" {
        eprintln!("skipped: root is never denied");
        return;
    }
    let c = Client::new(config(&sshd)).unwrap();
    let dir = shared_dir(&sshd, "locked");
    fs::write(dir.join("inside"), b"x").unwrap();
    let locked = dir.join("no-entry");
    fs::create_dir(&locked).unwrap();
    fs::write(locked.join("f"), b"x").unwrap();
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();
    for err in [
        c.list_dir(s(&locked), &opts()).unwrap_err(),
        c.stat(s(&locked.join("f")), &opts()).unwrap_err(),
        c.mkdir(s(&locked.join("d")), false, &opts()).unwrap_err(),
        c.remove(s(&locked.join("f")), &opts()).unwrap_err(),
    ] {
        assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
    }
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn a_timeout_or_a_cancel_midway_leaves_no_file_behind() {
    let sshd = Sshd::start();
    let proxy = Proxy::start(sshd.port);
    let mut cfg = config_via(&sshd, &proxy);
    cfg.file_transfer = FileTransfer::Sftp;
    let c = Client::new(cfg).unwrap();
    let dir = shared_dir(&sshd, "cut");
    let data = vec![5u8; 64 << 20];
    c.put_bytes(b"warm", s(&dir.join("warm")), 0o644, &opts())
        .unwrap();
    proxy.delay(Duration::from_millis(20));

    // A timeout midway.
    let target = dir.join("timed-out.bin");
    let start = Instant::now();
    let err = c.put_bytes(&data, s(&target), 0o644, &raw(1)).unwrap_err();
    let took = start.elapsed();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(took < Duration::from_millis(1500), "{took:?}");

    // A cancel midway.
    let token = CancelToken::new();
    let cancelled = dir.join("cancelled.bin");
    let err = std::thread::scope(|scope| {
        let t = token.clone();
        scope.spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            t.cancel();
        });
        let options = RunOptions {
            cancel: Some(token.clone()),
            ..raw(30)
        };
        c.put_bytes(&data, s(&cancelled), 0o644, &options)
            .unwrap_err()
    });
    assert_eq!(err.kind(), ErrorKind::Cancelled, "{err}");

    // A download cut short writes nothing locally.
    let remote = dir.join("big.bin");
    fs::write(&remote, &data).unwrap();
    let local = sshd.dir().join("down/big.bin");
    let err = c
        .get_file(s(&remote), &local, u64::MAX, &raw(1))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(!local.exists());
    assert_eq!(fs::read_dir(local.parent().unwrap()).unwrap().count(), 0);

    // The temporary files are removed in the background, and no target was made.
    proxy.delay(Duration::ZERO);
    let deadline = Instant::now() + Duration::from_secs(10);
    let leftovers = || -> Vec<String> {
        fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n != "warm" && n != "big.bin")
            .collect()
    };
    while !leftovers().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(leftovers(), Vec::<String>::new());
    // The client still works, for files and commands.
    assert!(c.exists(s(&dir.join("warm")), &opts()).unwrap());
    assert_eq!(c.run("echo ok", &raw(10)).unwrap().stdout, b"ok\n");
}

#[test]
fn a_guest_without_the_sftp_subsystem_is_a_clear_status_at_once() {
    let sshd = Sshd::start_with(support::sshd::Options {
        without_sftp: true,
        ..Default::default()
    });
    let mut cfg = config(&sshd);
    cfg.file_transfer = FileTransfer::Sftp;
    let c = Client::new(cfg).unwrap();
    let start = Instant::now();
    let err = c.stat("/", &opts()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ChannelFailed, "{err}");
    assert!(err.message().contains("sftp subsystem"), "{err}");
    let err = c.put_bytes(b"x", "/tmp/never", 0o644, &opts()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ChannelFailed, "{err}");
    assert!(start.elapsed() < Duration::from_secs(5));
    // Commands are not affected.
    assert_eq!(c.run("echo ok", &raw(10)).unwrap().stdout, b"ok\n");
}

#[test]
fn sftp_runs_beside_commands_on_the_one_connection() {
    let sshd = Sshd::start();
    let mut cfg = config(&sshd);
    cfg.file_transfer = FileTransfer::Sftp;
    let c = Client::new(cfg).unwrap();
    let dir = shared_dir(&sshd, "beside");
    let data = vec![9u8; 8 << 20];
    let before = sshd.connections();
    std::thread::scope(|scope| {
        for i in 0..3 {
            let (c, dir, data) = (&c, &dir, &data);
            scope.spawn(move || {
                let path = dir.join(format!("f{i}"));
                c.put_bytes(data, s(&path), 0o600, &raw(60)).unwrap();
                assert_eq!(
                    c.stat(s(&path), &opts()).unwrap().size,
                    Some(data.len() as u64)
                );
                assert_eq!(c.get_bytes(s(&path), u64::MAX, &raw(60)).unwrap(), *data);
            });
        }
        for _ in 0..20 {
            assert_eq!(c.run("echo ok", &raw(10)).unwrap().stdout, b"ok\n");
        }
    });
    assert_eq!(sshd.connections() - before, 1);
}

#[test]
fn sftp_sessions_share_the_servers_session_limit_with_commands() {
    // OpenSSH allows 10 sessions per connection: eight commands at once and SFTP calls beside
    // them must wait their turn, not be refused.
    let sshd = Sshd::start();
    let mut cfg = config(&sshd);
    cfg.file_transfer = FileTransfer::Sftp;
    let c = Client::new(cfg).unwrap();
    let dir = shared_dir(&sshd, "limit");
    c.put_bytes(b"warm", s(&dir.join("warm")), 0o644, &opts())
        .unwrap();
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                let out = c.run("sleep 0.5; echo done", &raw(20)).unwrap();
                assert_eq!(out.stdout, b"done\n");
            });
        }
        for i in 0..4 {
            let (c, dir) = (&c, &dir);
            scope.spawn(move || {
                std::thread::sleep(Duration::from_millis(100));
                let path = dir.join(format!("f{i}"));
                c.put_bytes(b"data", s(&path), 0o644, &raw(20)).unwrap();
                assert!(c.exists(s(&path), &raw(20)).unwrap());
            });
        }
    });
}

#[test]
fn an_endless_listing_is_refused_past_its_bound() {
    let server =
        support::hostile::Hostile::start_env("normal", &[("SMOL_HOSTILE_SFTP", "endless-names")]);
    let c = server.client();
    let err = c.list_dir("/endless", &raw(60)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RemoteFailed, "{err}");
    assert!(err.message().contains("the listing passed 64 MiB"), "{err}");
    assert_eq!(c.run("echo still", &raw(5)).unwrap().stdout, b"still\n");
}

#[test]
fn a_lying_sftp_server_fails_the_call_on_time_and_spares_the_connection() {
    for (how, kind) in [
        ("huge-packet", ErrorKind::RemoteFailed),
        ("unknown-type", ErrorKind::RemoteFailed),
        ("name-lie", ErrorKind::RemoteFailed),
        ("long-data", ErrorKind::RemoteFailed),
        ("silent", ErrorKind::Timeout),
    ] {
        let server = support::hostile::Hostile::start_env("normal", &[("SMOL_HOSTILE_SFTP", how)]);
        let mut cfg = server.config();
        cfg.file_transfer = FileTransfer::Sftp;
        let c = Client::new(cfg).unwrap();
        let start = Instant::now();
        let err = c.list_dir("/anything", &raw(2)).unwrap_err();
        assert_eq!(err.kind(), kind, "{how}: {err}");
        assert!(
            start.elapsed() < Duration::from_millis(2500),
            "{how}: {:?}",
            start.elapsed()
        );
        let err = c.get_bytes(
            "/anything",
            10,
            &RunOptions {
                timeout: Duration::from_secs(2),
                ..RunOptions::default()
            },
        );
        assert!(err.is_err(), "{how}");
        // The connection and its commands are untouched.
        assert_eq!(
            c.run("echo still", &raw(5)).unwrap().stdout,
            b"still\n",
            "{how}"
        );
    }
}
