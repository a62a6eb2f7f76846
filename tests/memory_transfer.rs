//! Transfers stream to and from disk: moving a 256 MiB file each way keeps the process's peak
//! RSS far below the file's size, over exec channels and over SFTP. A test binary of its own,
//! so that the peak is this test's.

mod support;

use std::fs;
use std::os::unix::fs::PermissionsExt;

use smol_ssh::FileTransfer;
use support::{raw, Sshd};

fn peak_rss_bytes() -> u64 {
    let status = fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

#[test]
fn a_256_mib_file_each_way_stays_out_of_memory() {
    let sshd = Sshd::start();
    let dir = sshd.dir().join("big");
    fs::create_dir_all(&dir).unwrap();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
    let size: u64 = 256 << 20;
    let remote = dir.join("remote.bin");
    support::client(&sshd)
        .run(
            &format!("head -c {size} /dev/zero > '{}'", remote.display()),
            &raw(60),
        )
        .unwrap();
    for path in [FileTransfer::Exec, FileTransfer::Sftp] {
        let mut cfg = support::config(&sshd);
        cfg.file_transfer = path;
        let c = smol_ssh::Client::new(cfg).unwrap();
        let local = sshd.dir().join("local.bin");
        let got = c
            .get_file(remote.to_str().unwrap(), &local, u64::MAX, &raw(120))
            .unwrap();
        assert_eq!(got, size, "{path:?}");
        let back = dir.join("back.bin");
        c.put_file(&local, back.to_str().unwrap(), &raw(120))
            .unwrap();
        assert_eq!(fs::metadata(&back).unwrap().len(), size, "{path:?}");
        fs::remove_file(&local).unwrap();
    }
    let peak = peak_rss_bytes();
    eprintln!(
        "peak RSS {} MiB for 256 MiB down and up, on both paths",
        peak >> 20
    );
    assert!(peak < 96 << 20, "peak RSS {} MiB", peak >> 20);
}
