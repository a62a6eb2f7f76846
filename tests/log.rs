//! The log function: what a client does on its own is told (connect attempts and their errors,
//! the host key seen, the identity used, lost connections and reconnects, keepalive verdicts,
//! timeouts and kills, wait_for_ssh's probes), and no secret is ever in it.

mod support;

use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use smol_ssh::{Client, Config, LogCallback, LogLevel, RunOptions, Secret};
use support::proxy::Proxy;
use support::{config, config_via, raw, Sshd};

type Lines = Arc<Mutex<Vec<(LogLevel, String)>>>;

/// Gives `cfg` a log function that keeps every line.
fn record(cfg: &mut Config) -> Lines {
    let lines: Lines = Arc::default();
    let sink = Arc::clone(&lines);
    cfg.log = Some(LogCallback::new(move |level, message| {
        sink.lock().unwrap().push((level, message.to_owned()))
    }));
    lines
}

/// The first line at `level` containing every one of `words`, or a panic listing them all.
fn find(lines: &Lines, level: LogLevel, words: &[&str]) -> String {
    let lines = lines.lock().unwrap();
    lines
        .iter()
        .find(|(l, m)| *l == level && words.iter().all(|w| m.contains(w)))
        .map(|(_, m)| m.clone())
        .unwrap_or_else(|| panic!("no {level:?} line with {words:?} in {lines:#?}"))
}

#[test]
fn connect_host_key_identity_timeout_loss_and_reconnect_are_logged() {
    let sshd = Sshd::start();
    let proxy = Proxy::start(sshd.port);
    let mut cfg = config_via(&sshd, &proxy);
    let lines = record(&mut cfg);
    let client = Client::new(cfg).unwrap();
    client.run("true", &raw(10)).unwrap();
    find(&lines, LogLevel::Info, &["connecting to", "127.0.0.1"]);
    find(
        &lines,
        LogLevel::Info,
        &["host key", &sshd.host_fingerprint(), "pinned"],
    );
    find(&lines, LogLevel::Info, &["authenticated", "key file"]);
    find(&lines, LogLevel::Info, &["connected to", "cipher"]);

    let err = client.run("sleep 30", &raw(1)).unwrap_err();
    assert_eq!(err.kind(), smol_ssh::ErrorKind::Timeout);
    find(
        &lines,
        LogLevel::Warning,
        &["timed out after 1.0 s", "killed"],
    );

    proxy.cut();
    let again = client.run("echo again", &raw(10));
    // The cut may end the first run after it (a command is never sent twice); the next one
    // reconnects.
    if again.is_err() {
        client.run("echo again", &raw(10)).unwrap();
    }
    find(&lines, LogLevel::Warning, &["lost"]);
    find(&lines, LogLevel::Info, &["reconnecting to", "connection 2"]);
}

#[test]
fn a_keepalive_verdict_is_logged() {
    let sshd = Sshd::start();
    let proxy = Proxy::start(sshd.port);
    let mut cfg = config_via(&sshd, &proxy);
    cfg.keepalive_interval = Duration::from_millis(300);
    cfg.keepalive_count_max = 2;
    let lines = record(&mut cfg);
    let client = Client::new(cfg).unwrap();
    client.run("true", &raw(10)).unwrap();
    proxy.stall();
    let start = Instant::now();
    while client.is_connected() && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    find(&lines, LogLevel::Warning, &["keepalive", "did not answer"]);
}

#[test]
fn failed_connects_and_wait_probes_are_logged() {
    // A port nobody listens on: each probe is a debug line, the wait times out.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let mut cfg = Config::new("127.0.0.1");
    cfg.port = port;
    cfg.host_key = smol_ssh::HostKeyPolicy::AcceptAny;
    let lines = record(&mut cfg);
    let client = Client::new(cfg).unwrap();
    let err = client
        .wait_for_ssh(Duration::from_millis(400), Duration::from_millis(50))
        .unwrap_err();
    assert_eq!(err.kind(), smol_ssh::ErrorKind::Timeout, "{err}");
    find(&lines, LogLevel::Debug, &["no SSH banner", "probe 1"]);

    // A server whose host key is refused: the connect's error is an Error line, and the wait's
    // error counts its attempts.
    let sshd = Sshd::start();
    let mut cfg = config(&sshd);
    cfg.host_key =
        smol_ssh::HostKeyPolicy::Fingerprints(vec![format!("SHA256:{}", "A".repeat(43))]);
    let lines = record(&mut cfg);
    let err = Client::new(cfg).unwrap().run("true", &raw(10)).unwrap_err();
    assert_eq!(err.kind(), smol_ssh::ErrorKind::HostKeyRejected, "{err}");
    find(
        &lines,
        LogLevel::Error,
        &["connect failed", &sshd.host_fingerprint()],
    );

    // Authentication that keeps failing: wait_for_ssh says how many attempts it made.
    let mut cfg = config(&sshd);
    cfg.key_path = None;
    cfg.password = Some(Secret::from("wrong-password-7f3a"));
    let lines = record(&mut cfg);
    let err = Client::new(cfg)
        .unwrap()
        .wait_for_ssh(Duration::from_millis(1500), Duration::from_millis(100))
        .unwrap_err();
    assert!(err.message().contains("attempt"), "{err}");
    find(&lines, LogLevel::Info, &["sent an SSH banner"]);
    find(&lines, LogLevel::Error, &["connect failed"]);
}

#[test]
fn no_secret_reaches_the_log() {
    let sshd = Sshd::start();
    let password = "pw-never-logged-4d1c";
    let passphrase = "passphrase-never-logged-9e2b";
    let secret = "secret-env-never-logged-77aa";
    let key = sshd.new_authorized_key("logged", passphrase);
    let mut cfg = config(&sshd);
    cfg.key_path = Some(key);
    cfg.key_passphrase = Some(Secret::from(passphrase));
    cfg.password = Some(Secret::from(password));
    let lines = record(&mut cfg);
    let client = Client::new(cfg).unwrap();
    let mut opts = raw(1);
    opts.secret_env.push(("TOKEN".into(), Secret::from(secret)));
    opts.mode = smol_ssh::ShellMode::Login;
    let _ = client.run("echo \"$TOKEN\"; sleep 5", &opts);
    client.close();
    let _ = client.run("true", &RunOptions::default());
    let lines = lines.lock().unwrap();
    assert!(lines.len() >= 4, "{lines:#?}");
    for (_, m) in lines.iter() {
        for s in [password, passphrase, secret] {
            assert!(!m.contains(s), "a secret in the log: {m}");
        }
        assert!(!m.contains("sleep 5"), "a command line in the log: {m}");
    }
}
