//! Running commands against a real sshd: exact bytes, exit codes, signals, timeouts, bad input.

mod support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use smol_ssh::{ErrorKind, RunOptions, ShellMode};
use support::{client, raw, Sshd};

#[test]
fn stdout_stderr_and_exit_code() {
    let sshd = Sshd::start();
    let c = client(&sshd);
    let out = c
        .run("printf 'out\\n'; printf 'err' >&2; exit 3", &raw(10))
        .unwrap();
    assert_eq!(out.stdout, b"out\n");
    assert_eq!(out.stderr, b"err");
    assert_eq!(out.exit_code, Some(3));
    assert!(!out.ok());
    assert_eq!(out.output(), b"out");
}

#[test]
fn nul_bytes_and_invalid_utf8_are_exact() {
    let sshd = Sshd::start();
    let c = client(&sshd);
    let out = c
        .run(
            "printf 'a\\000b\\377\\376\\300\\n'; printf '\\000\\377x' >&2",
            &raw(10),
        )
        .unwrap();
    assert_eq!(out.stdout, b"a\0b\xff\xfe\xc0\n");
    assert_eq!(out.stderr, b"\0\xffx");
    assert!(out.ok());
}

/// Deterministic bytes covering every byte value.
fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

#[test]
fn ten_mib_on_each_stream_at_once() {
    let sshd = Sshd::start();
    let c = client(&sshd);
    let size = 10 * 1024 * 1024;
    let (out_bytes, err_bytes) = (pattern(size, 1), pattern(size, 2));
    let (out_file, err_file) = (sshd.dir().join("out.bin"), sshd.dir().join("err.bin"));
    for (path, bytes) in [(&out_file, &out_bytes), (&err_file, &err_bytes)] {
        fs::write(path, bytes).unwrap();
        fs::set_permissions(path, fs::Permissions::from_mode(0o644)).unwrap();
    }
    // Both streams are written concurrently, so a client that reads one stream to its end
    // before the other deadlocks once the other passes the channel window.
    let command = format!(
        "cat {} & cat {} >&2; wait",
        out_file.display(),
        err_file.display()
    );
    let out = c.run(&command, &raw(60)).unwrap();
    assert_eq!(out.exit_code, Some(0));
    assert!(
        out.stdout == out_bytes,
        "stdout differs ({} bytes)",
        out.stdout.len()
    );
    assert!(
        out.stderr == err_bytes,
        "stderr differs ({} bytes)",
        out.stderr.len()
    );
}

#[test]
fn exit_codes_0_1_255() {
    let sshd = Sshd::start();
    let c = client(&sshd);
    for code in [0, 1, 255] {
        let out = c.run(&format!("exit {code}"), &raw(10)).unwrap();
        assert_eq!(out.exit_code, Some(code));
        assert_eq!(out.ok(), code == 0);
        assert_eq!(out.exit_signal, None);
    }
}

#[test]
fn killed_by_a_signal_reports_the_signal_and_no_exit_code() {
    let sshd = Sshd::start();
    let c = client(&sshd);
    let out = c.run("echo dying; kill -KILL $$", &raw(10)).unwrap();
    assert_eq!(out.exit_signal.as_deref(), Some("KILL"));
    assert_eq!(out.exit_code, None);
    assert!(!out.ok());
    assert_eq!(out.stdout, b"dying\n");
}

#[test]
fn timeout_bounds_the_whole_command_and_the_client_goes_on() {
    let sshd = Sshd::start();
    let c = client(&sshd);
    c.run("true", &raw(10)).unwrap();
    let connections = sshd.connections();
    let start = Instant::now();
    let err = c
        .run("while :; do echo tick; sleep 0.1; done", &raw(1))
        .unwrap_err();
    let took = start.elapsed();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(err.message().contains("1.0 s"), "{err}");
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_millis(1300),
        "{took:?}"
    );
    let partial = err.partial_output().expect("partial output");
    assert!(
        partial.stdout.starts_with(b"tick\n"),
        "{:?}",
        partial.stdout
    );
    // The next command runs on the same connection.
    let out = c.run("echo next", &raw(10)).unwrap();
    assert_eq!(out.stdout, b"next\n");
    assert_eq!(sshd.connections(), connections);
}

#[test]
fn a_timed_out_command_is_killed_on_the_guest_with_its_children() {
    let sshd = Sshd::start();
    let c = client(&sshd);
    // A shell with a background child and a foreground child, both recognisable.
    let marker = format!("31.{}", std::process::id());
    let command = format!("sleep {marker} & sh -c 'sleep {marker}; true'; true");
    let err = c.run(&command, &raw(1)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut left = support::sshd::live_processes_with(&marker);
    while !left.is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
        left = support::sshd::live_processes_with(&marker);
    }
    assert!(left.is_empty(), "still running on the guest: {left:?}");
    assert_eq!(c.run("echo alive", &raw(10)).unwrap().stdout, b"alive\n");
}

#[test]
fn login_shell_wrapping_delivers_the_command_unchanged() {
    let sshd = Sshd::start();
    let c = client(&sshd);
    let login = RunOptions {
        mode: ShellMode::Login,
        ..RunOptions::default()
    };
    let tricky = r#"printf '%s|' "it's" '$HOME' "a  b" '\n' "$((1+2))""#;
    let out = c.run(tricky, &login).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        r#"it's|$HOME|a  b|\n|3|"#
    );
    // A login shell has read the profile: $0 of `sh -l` starts with '-' or the shell is told so.
    let out = c.run("echo \"$0\"", &login).unwrap();
    assert!(out.ok(), "{out:?}");
}

#[test]
fn invalid_arguments_are_refused_before_connecting() {
    let sshd = Sshd::start();
    let c = client(&sshd);
    let cases = [
        ("", raw(10)),
        ("  \t\n ", raw(10)),
        (
            "true",
            RunOptions {
                timeout: Duration::ZERO,
                ..raw(10)
            },
        ),
        (
            "true",
            RunOptions {
                timeout: Duration::from_millis(999),
                ..raw(10)
            },
        ),
        ("echo \0", raw(10)),
    ];
    for (command, options) in cases {
        let err = c.run(command, &options).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{command:?}: {err}");
        assert!(!err.message().is_empty());
    }
    assert!(!c.is_connected());
}

#[test]
fn stdin_is_closed_so_readers_do_not_hang() {
    let sshd = Sshd::start();
    let c = client(&sshd);
    let out = c.run("cat; echo done", &raw(5)).unwrap();
    assert_eq!(out.stdout, b"done\n");
}

#[test]
fn output_beyond_the_cap_is_discarded_and_flagged_but_the_command_completes() {
    let sshd = Sshd::start();
    let mut cfg = support::config(&sshd);
    cfg.max_output_bytes = 1000;
    let c = smol_ssh::Client::new(cfg).unwrap();
    let out = c
        .run(
            "head -c 300000 /dev/zero; printf 'x%.0s' $(seq 10) >&2; exit 7",
            &raw(10),
        )
        .unwrap();
    assert_eq!(out.exit_code, Some(7));
    assert_eq!(out.stdout.len(), 1000);
    assert!(out.stdout_truncated);
    assert_eq!(out.stderr, b"xxxxxxxxxx");
    assert!(!out.stderr_truncated);
    let out = c.run("head -c 1000 /dev/zero", &raw(10)).unwrap();
    assert_eq!(out.stdout.len(), 1000);
    assert!(!out.stdout_truncated, "exactly the cap is not truncated");
}

#[test]
fn commands_up_to_32_kib_run_and_longer_ones_are_refused_without_hurting_the_connection() {
    let sshd = Sshd::start();
    let c = client(&sshd);
    let fits = format!("echo ok #{}", "x".repeat(smol_ssh::MAX_COMMAND_BYTES - 9));
    assert_eq!(fits.len(), smol_ssh::MAX_COMMAND_BYTES);
    assert_eq!(c.run(&fits, &raw(10)).unwrap().stdout, b"ok\n");
    let connections = sshd.connections();
    for len in [smol_ssh::MAX_COMMAND_BYTES + 1, 40_000, 1 << 20] {
        let err = c.run(&"x".repeat(len), &raw(10)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
        assert!(err.message().contains("32768"), "{err}");
    }
    assert_eq!(c.run("echo same", &raw(10)).unwrap().stdout, b"same\n");
    assert_eq!(sshd.connections(), connections);
}
