//! Stopping commands for good: a timed-out, cancelled or abandoned command is gone from the
//! guest, for root too (OpenSSH refuses `signal` requests in root sessions), and stopping one
//! run leaves the others alone. Checked in the guest's process list (/proc: the guest here is
//! this machine).

mod support;

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use smol_ssh::{CancelToken, Client, ErrorKind, RunOptions};
use support::sshd::{is_root, live_processes_with, Options};
use support::{raw, Sshd};

/// A server that logs in root (the default user of the reference), or None when the tests do
/// not run as root.
fn root_sshd() -> Option<(Sshd, Client)> {
    if !is_root() {
        eprintln!("skipped: root logins need the tests to run as root");
        return None;
    }
    let sshd = Sshd::start_with(Options {
        extra_config: vec!["AllowUsers root".into()],
        ..Default::default()
    });
    let mut cfg = support::config(&sshd);
    cfg.user = "root".into();
    let c = Client::new(cfg).unwrap();
    Some((sshd, c))
}

/// Runs `command` on another thread (with `options`), so that the test can stop it.
fn in_background(
    c: &Arc<Client>,
    command: &'static str,
    options: RunOptions,
) -> thread::JoinHandle<smol_ssh::Result<smol_ssh::Output>> {
    let c = Arc::clone(c);
    thread::spawn(move || c.run(command, &options))
}

/// Waits up to 3 s for every process whose command line holds `marker` to be gone.
fn gone(marker: &str) -> bool {
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until {
        if live_processes_with(marker).is_empty() {
            return true;
        }
        thread::sleep(Duration::from_millis(20));
    }
    eprintln!("left: {:?}", live_processes_with(marker));
    false
}

#[test]
fn a_root_commands_timeout_kills_it_on_the_guest() {
    let Some((_sshd, c)) = root_sshd() else {
        return;
    };
    let marker = "sleep 77.31";
    let err = c
        .run(&format!("{marker} & {marker}; true"), &raw(1))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(err.message().contains("killed"), "{err}");
    assert!(gone(marker), "the timed-out command survived");
    assert_eq!(c.run("echo next", &raw(10)).unwrap().stdout, b"next\n");
}

#[test]
fn a_root_commands_cancel_kills_it_and_spares_the_other_runs() {
    let Some((_sshd, c)) = root_sshd() else {
        return;
    };
    let c = Arc::new(c);
    let marker = "sleep 77.32";
    let other = in_background(&c, "sleep 2; echo survived", raw(10));
    let token = CancelToken::new();
    let options = RunOptions {
        cancel: Some(token.clone()),
        ..raw(30)
    };
    let cancelled = in_background(&c, marker, options);
    thread::sleep(Duration::from_millis(800));
    token.cancel();
    let err = cancelled.join().unwrap().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cancelled, "{err}");
    assert!(gone(marker), "the cancelled command survived");
    let other = other.join().unwrap().expect("the other run is left alone");
    assert_eq!(other.stdout, b"survived\n");
}

#[test]
fn close_during_a_root_run_kills_it() {
    let Some((_sshd, c)) = root_sshd() else {
        return;
    };
    let c = Arc::new(c);
    let marker = "sleep 77.33";
    let run = in_background(&c, marker, raw(30));
    thread::sleep(Duration::from_millis(800));
    let t = Instant::now();
    c.close();
    let took = t.elapsed();
    let err = run.join().unwrap().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Disconnected, "{err}");
    eprintln!(
        "close during a root run: {:.1} ms",
        took.as_secs_f64() * 1e3
    );
    assert!(took < Duration::from_millis(100), "close took {took:?}");
    assert!(gone(marker), "the command survived close()");
}

#[test]
fn free_during_a_root_run_kills_it() {
    let Some((sshd, _)) = root_sshd() else { return };
    let c = support::capi::CClient::with_key(
        "root",
        &sshd.key.display().to_string(),
        sshd.port,
        Some(&sshd.host_fingerprint()),
    );
    let marker = "sleep 77.34";
    let run = thread::spawn(move || c.run(marker, Duration::from_secs(30)));
    thread::sleep(Duration::from_millis(800));
    let t = Instant::now();
    c.free();
    let took = t.elapsed();
    let run = run.join().unwrap();
    assert_eq!(
        run.status,
        support::capi::status(ErrorKind::Disconnected),
        "{}",
        run.message
    );
    eprintln!("free during a root run: {:.1} ms", took.as_secs_f64() * 1e3);
    assert!(took < Duration::from_millis(100), "free took {took:?}");
    assert!(gone(marker), "the command survived free");
}

#[test]
fn close_during_a_run_kills_it_for_an_ordinary_user_too() {
    let sshd = Sshd::start();
    let c = Arc::new(support::client(&sshd));
    let marker = "sleep 77.35";
    let run = in_background(&c, marker, raw(30));
    thread::sleep(Duration::from_millis(800));
    c.close();
    let err = run.join().unwrap().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Disconnected, "{err}");
    assert!(gone(marker), "the command survived close()");
}

#[test]
fn free_during_a_run_kills_it_for_an_ordinary_user_too() {
    let sshd = Sshd::start();
    let c = support::capi::CClient::new(&sshd, sshd.port);
    let marker = "sleep 77.36";
    let run = thread::spawn(move || c.run(marker, Duration::from_secs(30)));
    thread::sleep(Duration::from_millis(800));
    c.free();
    let run = run.join().unwrap();
    assert_eq!(
        run.status,
        support::capi::status(ErrorKind::Disconnected),
        "{}",
        run.message
    );
    assert!(gone(marker), "the command survived free");
}
