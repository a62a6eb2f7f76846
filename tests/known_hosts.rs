//! Host keys checked against OpenSSH known_hosts files, made and read by OpenSSH's own tools.

mod support;

use std::fs;
use std::process::Command;

use smol_ssh::{Client, ErrorKind, HostKeyPolicy};
use support::{config, raw, Sshd};

fn policy(path: &std::path::Path, add_unknown: bool) -> HostKeyPolicy {
    HostKeyPolicy::KnownHosts {
        path: path.to_owned(),
        add_unknown,
    }
}

fn entry(sshd: &Sshd, public_key_file: &str) -> String {
    let key = fs::read_to_string(sshd.dir().join(public_key_file)).unwrap();
    let mut fields = key.split_whitespace();
    let (kind, blob) = (fields.next().unwrap(), fields.next().unwrap());
    format!("[127.0.0.1]:{} {kind} {blob}\n", sshd.port)
}

fn run_with(sshd: &Sshd, host_key: HostKeyPolicy) -> Result<smol_ssh::Output, smol_ssh::Error> {
    let mut cfg = config(sshd);
    cfg.host_key = host_key;
    Client::new(cfg).unwrap().run("echo hi", &raw(10))
}

#[test]
fn a_matching_entry_is_accepted_plain_or_hashed() {
    let sshd = Sshd::start();
    let file = sshd.dir().join("known_hosts");
    fs::write(&file, format!("# comment\nother.example ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n{}", entry(&sshd, "host_ed25519.pub"))).unwrap();
    assert_eq!(
        run_with(&sshd, policy(&file, false)).unwrap().stdout,
        b"hi\n"
    );
    let hashed = Command::new("ssh-keygen")
        .args(["-H", "-f"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(hashed.status.success());
    assert!(fs::read_to_string(&file).unwrap().contains("|1|"));
    assert_eq!(
        run_with(&sshd, policy(&file, false)).unwrap().stdout,
        b"hi\n"
    );
}

#[test]
fn a_mismatching_entry_is_rejected() {
    let sshd = Sshd::start();
    let file = sshd.dir().join("known_hosts");
    // Another key for this very host.
    fs::write(&file, entry(&sshd, "other_ed25519.pub")).unwrap();
    let err = run_with(&sshd, policy(&file, true)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::HostKeyRejected, "{err}");
    assert!(err.message().contains("does not match"), "{err}");
}

#[test]
fn an_unknown_host_is_rejected_or_added_in_openssh_format() {
    let sshd = Sshd::start();
    let file = sshd.dir().join("known_hosts");
    let err = run_with(&sshd, policy(&file, false)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::HostKeyRejected, "{err}");
    assert!(!file.exists());

    assert_eq!(
        run_with(&sshd, policy(&file, true)).unwrap().stdout,
        b"hi\n"
    );
    // OpenSSH finds the entry we wrote.
    let found = Command::new("ssh-keygen")
        .args(["-F", &format!("[127.0.0.1]:{}", sshd.port), "-f"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        found.status.success(),
        "ssh-keygen -F did not find the entry"
    );
    // And now it is known: accepted without adding.
    assert_eq!(
        run_with(&sshd, policy(&file, false)).unwrap().stdout,
        b"hi\n"
    );
    assert_eq!(fs::read_to_string(&file).unwrap().lines().count(), 1);
}
