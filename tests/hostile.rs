//! The hostile rows a real sshd cannot play, against the scripted misbehaving server: each
//! ends with the narrowest consequence that is true, within its deadline, without losing
//! output, and other runs on the connection go on.

mod support;

use std::time::{Duration, Instant};

use smol_ssh::ErrorKind;
use support::hostile::Hostile;
use support::raw;

#[test]
fn ordinary_commands_work_against_the_scripted_server() {
    let h = Hostile::start("normal");
    let c = h.client();
    let out = c.run("echo hello", &raw(10)).unwrap();
    assert_eq!(out.stdout, b"hello\n");
    assert_eq!(out.exit_code, Some(0));
}

/// Row 3: a "server" that sends lines without end and never a version string. The run ends
/// at its deadline, and free does not wait for the connect to give up.
#[test]
fn endless_lines_before_the_banner_neither_stretch_the_run_nor_hold_free() {
    let h = Hostile::start("junk-banner");
    let c = support::capi::CClient::with_key("guest", &h.key.display().to_string(), h.port, None);
    let t = Instant::now();
    let run = c.run("echo hi", Duration::from_secs(1));
    let took = t.elapsed();
    assert_eq!(
        run.status,
        support::capi::status(ErrorKind::Timeout),
        "{}",
        run.message
    );
    assert!(took < Duration::from_millis(1100), "run took {took:?}");
    // A second run is in flight (the connect goes on) when free is called.
    let runner = std::thread::spawn(move || c.run("echo hi", Duration::from_secs(30)));
    std::thread::sleep(Duration::from_millis(300));
    let t = Instant::now();
    c.free();
    let freed = t.elapsed();
    let run = runner.join().unwrap();
    eprintln!(
        "endless junk lines: run ended after {:.0} ms; free took {:.1} ms",
        took.as_secs_f64() * 1e3,
        freed.as_secs_f64() * 1e3
    );
    assert_ne!(run.status, 0);
    assert!(freed < Duration::from_millis(100), "free took {freed:?}");
}

/// Row 4: stdout, then SSH_MSG_DISCONNECT in the same TCP segment: the run ends DISCONNECTED
/// with the stdout that had arrived.
#[test]
fn output_then_disconnect_keeps_the_output() {
    let h = Hostile::start("normal");
    let c = h.client();
    let err = c.run("data-then-disconnect", &raw(5)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Disconnected, "{err}");
    let partial = err.partial_output().expect("partial output");
    assert_eq!(partial.stdout, b"partial output\n".repeat(100));
    // The next run reconnects.
    assert_eq!(c.run("echo again", &raw(5)).unwrap().stdout, b"again\n");
}

/// Row 5: data after EOF that arrives after the client's CLOSE: this run completes (with that
/// data too), and the connection and the other runs on it go on.
#[test]
fn data_after_eof_after_close_is_this_runs_problem_only() {
    let h = Hostile::start("normal");
    let c = std::sync::Arc::new(h.client());
    c.run("echo warm", &raw(5)).unwrap();
    let other = {
        let c = std::sync::Arc::clone(&c);
        std::thread::spawn(move || c.run("sleep 1", &raw(10)))
    };
    std::thread::sleep(Duration::from_millis(100));
    let t = Instant::now();
    let out = c.run("data-after-eof", &raw(5)).unwrap();
    eprintln!("data after EOF: {:.1} ms", t.elapsed().as_secs_f64() * 1e3);
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    assert_eq!(out.exit_code, Some(0));
    assert_eq!(out.stdout, b"before eof\nafter eof\n");
    let other = other
        .join()
        .unwrap()
        .expect("the other run is not disturbed");
    assert_eq!(other.exit_code, Some(0));
    assert!(c.is_connected());
    assert_eq!(c.run("echo still", &raw(5)).unwrap().stdout, b"still\n");
}

/// Row 6: extended data of a type other than stderr does not hide EOF: the run ends at once
/// with its stdout and stderr (the odd stream is dropped, as OpenSSH's client does).
#[test]
fn extended_data_of_an_unknown_type_does_not_hang_the_run() {
    let h = Hostile::start("normal");
    let c = h.client();
    let t = Instant::now();
    let out = c.run("ext-data-2", &raw(5)).unwrap();
    eprintln!(
        "extended data type 2: {:.1} ms",
        t.elapsed().as_secs_f64() * 1e3
    );
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    assert_eq!(out.stdout, b"out\n");
    assert_eq!(out.stderr, b"err\n");
    assert_eq!(out.exit_code, Some(0));
}

/// Row 7: the server closes the idle spare channel: the next runs take fresh channels.
#[test]
fn a_spare_channel_closed_by_the_server_is_replaced() {
    let h = Hostile::start("close-idle-channels");
    // The spare opened after the last run is closed by the server after 200 ms.
    runs_after_the_spare_was_closed(&h.client(), Duration::from_millis(500));
}

/// Runs a command, then two more each after `pause` (long enough for the server to close the
/// spare channel): each succeeds at once.
fn runs_after_the_spare_was_closed(c: &smol_ssh::Client, pause: Duration) {
    assert_eq!(c.run("echo one", &raw(5)).unwrap().stdout, b"one\n");
    for word in ["two", "three"] {
        std::thread::sleep(pause);
        let t = Instant::now();
        let out = c.run(&format!("echo {word}"), &raw(5)).unwrap();
        eprintln!(
            "after the server closed the spare: {:.1} ms",
            t.elapsed().as_secs_f64() * 1e3
        );
        assert_eq!(out.stdout, format!("{word}\n").as_bytes());
        assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    }
}

/// Row 8: no exit-status before CLOSE, or an exit-signal with an empty name: the exit code is
/// unknown, not 0.
#[test]
fn no_exit_status_is_unknown_not_success() {
    let h = Hostile::start("normal");
    let c = h.client();
    let out = c.run("no-exit-status", &raw(5)).unwrap();
    assert_eq!(out.stdout, b"no status\n");
    assert_eq!(out.exit_code, None);
    assert!(!out.ok());
    let out = c.run("empty-signal", &raw(5)).unwrap();
    assert_eq!(out.stdout, b"empty signal\n");
    assert_eq!(out.exit_code, None);
    assert_eq!(out.exit_signal, None);
    assert!(!out.ok());
    // A real status of 0 is still 0.
    assert_eq!(c.run("exit 0", &raw(5)).unwrap().exit_code, Some(0));
}

/// Row 11: lines before the version string are allowed (RFC 4253 §4.2): wait_for_ssh accepts
/// them as run does.
#[test]
fn wait_for_ssh_accepts_lines_before_the_version_string() {
    let h = Hostile::start("lines-before-banner");
    let c = h.client();
    c.wait_for_ssh(Duration::from_secs(5), Duration::from_millis(100))
        .expect("wait_for_ssh");
    assert_eq!(c.run("echo up", &raw(5)).unwrap().stdout, b"up\n");
}

/// Row 12: a data packet larger than the client offered is a protocol error, not silently
/// truncated output.
#[test]
fn an_oversized_data_packet_is_a_protocol_error() {
    let h = Hostile::start("normal");
    let c = h.client();
    // Larger than offered (libssh2 would truncate it), and larger than SSH allows at all.
    for script in ["big-packet", "huge-packet"] {
        let err = c.run(script, &raw(5)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Disconnected, "{err}");
        eprintln!("{script}: {err}");
        assert!(err.message().contains("protocol error"), "{err}");
        assert_eq!(c.run("echo next", &raw(5)).unwrap().stdout, b"next\n");
    }
}

/// Row 7 against the real sshd: OpenSSH's ChannelTimeout closes the idle spare.
#[test]
fn a_spare_closed_by_sshd_channel_timeout_is_replaced() {
    let sshd = support::Sshd::start_with(support::sshd::Options {
        extra_config: vec!["ChannelTimeout session=1".into()],
        ..Default::default()
    });
    runs_after_the_spare_was_closed(&support::client(&sshd), Duration::from_millis(2500));
}

/// Row 12: exit statuses are unsigned 32-bit on the wire: 256, 2^31 and 2^32-1 come back as
/// sent, and 2^32-1 is not mistaken for "unknown" (the C ABI's `exit_code` of -1).
#[test]
fn exit_statuses_above_255_and_2_pow_31_come_back_exactly() {
    let h = Hostile::start("normal");
    let c = h.client();
    for status in [256u32, 1 << 31, u32::MAX] {
        let out = c.run(&format!("exit {status}"), &raw(5)).unwrap();
        assert_eq!(out.exit_code, Some(status));
        assert!(!out.ok());
    }
    // Through the C ABI: has_exit_status and exit_status tell 2^32-1 from unknown.
    let cc = support::capi::CClient::with_key("guest", &h.key.display().to_string(), h.port, None);
    let r = cc.run("exit 4294967295", Duration::from_secs(5));
    assert_eq!((r.status, r.exit_code), (0, -1));
    assert!(r.has_exit_status);
    assert_eq!(r.exit_status, u32::MAX);
    let r = cc.run("no-exit-status", Duration::from_secs(5));
    assert_eq!((r.status, r.exit_code, r.has_exit_status), (0, -1, false));
    cc.free();
}

/// Row 10: messages libssh2 keeps and nobody reads (unsolicited CHANNEL_SUCCESS with junk in
/// it) cannot grow the client's memory past the stated limit: the connection is ended at 64 MiB
/// and the next run starts afresh.
#[test]
fn unsolicited_messages_cannot_grow_memory_past_the_limit() {
    let h = Hostile::start("normal");
    let c = h.client();
    // 100 000 small ones stay within the limit: the run completes.
    let out = c.run("success-storm 100000", &raw(60)).unwrap();
    assert_eq!(out.stdout, b"done\n");
    // 4000 of 30 000 bytes each (120 MB) pass it.
    let t = Instant::now();
    let err = c.run("junk-storm 4000", &raw(60)).unwrap_err();
    eprintln!("junk storm: {err} after {:.1} s", t.elapsed().as_secs_f64());
    assert_eq!(err.kind(), ErrorKind::Disconnected, "{err}");
    assert!(err.message().contains("64 MiB"), "{err}");
    assert_eq!(c.run("echo fresh", &raw(5)).unwrap().stdout, b"fresh\n");
}

/// Row 10: channels whose close the server never answers cannot pile up: past 8 of them the
/// connection takes no new runs and is replaced once its runs are over.
#[test]
fn channels_the_server_never_closes_do_not_pile_up() {
    let h = Hostile::start("normal");
    // A guest without a POSIX shell: no kill script runs after the timeouts, so nothing else
    // comes from the server (libssh2 takes any packet that arrives while it waits for a
    // close as the end of that wait).
    let mut cfg = h.config();
    cfg.shell_kind = smol_ssh::ShellKind::PowerShell;
    let c = std::sync::Arc::new(smol_ssh::Client::new(cfg).unwrap());
    c.run("echo warm", &raw(5)).unwrap();
    // Two waves of 6 (at most 8 runs share a connection at once), each followed by the
    // close grace (2 s) of silence, after which their channels count as stuck.
    for _ in 0..2 {
        let runs: Vec<_> = (0..6)
            .map(|_| {
                let c = std::sync::Arc::clone(&c);
                std::thread::spawn(move || c.run("never-close", &raw(1)))
            })
            .collect();
        for run in runs {
            let err = run.join().unwrap().unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
            assert_eq!(err.partial_output().unwrap().stdout, b"never closes\n");
        }
        std::thread::sleep(Duration::from_millis(2500));
    }
    assert_eq!(c.run("echo after", &raw(5)).unwrap().stdout, b"after\n");
    let seen = c.run("connections", &raw(5)).unwrap();
    assert_eq!(seen.stdout, b"2\n", "the connection was replaced");
}

/// `free` returns at once whatever the guest is doing to the run in flight.
#[test]
fn free_returns_at_once_in_every_row() {
    let h = Hostile::start("normal");
    let key = h.key.display().to_string();
    for script in [
        "never-close",
        "sleep 30",
        "data-after-eof",
        "junk-storm 1000",
    ] {
        let c = support::capi::CClient::with_key("guest", &key, h.port, None);
        let run = std::thread::spawn(move || c.run(script, Duration::from_secs(30)));
        std::thread::sleep(Duration::from_millis(300));
        let t = Instant::now();
        c.free();
        let took = t.elapsed();
        let _ = run.join().unwrap();
        eprintln!("free during {script}: {:.1} ms", took.as_secs_f64() * 1e3);
        assert!(
            took < Duration::from_millis(100),
            "free during {script} took {took:?}"
        );
    }
}
