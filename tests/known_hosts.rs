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

#[test]
fn a_revoked_key_is_refused_even_with_a_matching_entry() {
    let sshd = Sshd::start();
    let file = sshd.dir().join("known_hosts_revoked");
    let entry = entry(&sshd, "host_ed25519.pub");
    let key_part = entry.split_once(' ').unwrap().1;
    fs::write(&file, format!("{entry}@revoked * {key_part}")).unwrap();
    let err = run_with(&sshd, policy(&file, true)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::HostKeyRejected, "{err}");
    assert!(err.message().contains("revoked"), "{err}");
}

#[test]
fn a_cert_authority_for_the_host_is_refused_with_a_clear_message() {
    let sshd = Sshd::start();
    let file = sshd.dir().join("known_hosts_ca");
    let ca = entry(&sshd, "other_ed25519.pub");
    let ca_line = format!(
        "@cert-authority [127.0.0.1]:* {}",
        ca.split_once(' ').unwrap().1
    );
    fs::write(&file, ca_line).unwrap();
    let err = run_with(&sshd, policy(&file, false)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::HostKeyRejected, "{err}");
    assert!(err.message().contains("certificate"), "{err}");
}

#[test]
fn the_presented_key_can_be_read_and_pinned_after_a_refusal() {
    let sshd = Sshd::start();
    // The default policy: the user's own known_hosts, which does not know this server.
    let mut cfg = config(&sshd);
    cfg.host_key = HostKeyPolicy::default();
    let c = Client::new(cfg).unwrap();
    let err = c.run("echo hi", &raw(10)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::HostKeyRejected, "{err}");
    let key = c.host_key().expect("the key presented");
    assert_eq!(key.fingerprint, sshd.host_fingerprint());
    assert_eq!(key.key_type, "ssh-ed25519");
    assert!(err.message().contains(&key.fingerprint), "{err}");
    // Pinned (several pins: any one may match), it is accepted.
    let pins = vec![
        smol_ssh::format_fingerprint(&[1; 32]),
        key.fingerprint.clone(),
    ];
    assert_eq!(
        run_with(&sshd, HostKeyPolicy::Fingerprints(pins))
            .unwrap()
            .stdout,
        b"hi\n"
    );
    // A callback sees the same key.
    let seen = key.clone();
    let callback = smol_ssh::HostKeyCallback::new(move |k| *k == seen);
    assert_eq!(
        run_with(&sshd, HostKeyPolicy::Callback(callback))
            .unwrap()
            .stdout,
        b"hi\n"
    );
    let refuse = smol_ssh::HostKeyCallback::new(|_| false);
    let err = run_with(&sshd, HostKeyPolicy::Callback(refuse)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::HostKeyRejected, "{err}");
}

/// The log says how a host key was accepted (a warning when nothing was checked) and which
/// identity authenticated; never a secret.
#[test]
fn the_log_reports_the_host_key_decision_and_the_identity() {
    use std::sync::{Arc, Mutex};
    let sshd = Sshd::start();
    let lines: Arc<Mutex<Vec<(smol_ssh::LogLevel, String)>>> = Arc::default();
    let mut cfg = config(&sshd);
    cfg.host_key = HostKeyPolicy::AcceptAny;
    let sink = Arc::clone(&lines);
    cfg.log = Some(smol_ssh::LogCallback::new(move |level, message| {
        sink.lock().unwrap().push((level, message.to_owned()))
    }));
    Client::new(cfg).unwrap().run("true", &raw(10)).unwrap();
    let lines = lines.lock().unwrap().clone();
    eprintln!("{lines:#?}");
    assert!(lines
        .iter()
        .any(|(level, m)| *level == smol_ssh::LogLevel::Warning
            && m.contains("WITHOUT any check")
            && m.contains(&sshd.host_fingerprint())));
    assert!(lines
        .iter()
        .any(|(_, m)| m.contains("authenticated") && m.contains("key file")));
}
