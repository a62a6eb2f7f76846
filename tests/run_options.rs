//! stdin, environment, streaming and cancellation, against a real sshd.

mod support;

use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::{Duration, Instant};

use smol_ssh::{CancelToken, ErrorKind, RunOptions, ShellMode, Stream};
use support::{client, raw, Sshd};

fn with_stdin(bytes: Vec<u8>, timeout: u64) -> RunOptions {
    RunOptions {
        stdin: Some(bytes),
        ..raw(timeout)
    }
}

#[test]
fn stdin_is_fed_exactly() {
    let sshd = Sshd::start();
    let c = client(&sshd);
    let input = b"line one\nline \x00 two\xff\n".to_vec();
    let out = c
        .run("cat; echo done >&2", &with_stdin(input.clone(), 10))
        .unwrap();
    assert_eq!(out.stdout, input);
    assert_eq!(out.stderr, b"done\n");
    let out = c
        .run("wc -c", &with_stdin(vec![b'x'; 100_000], 10))
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "100000");
}

#[test]
fn fifty_mib_in_and_out_at_once_does_not_deadlock() {
    let sshd = Sshd::start();
    let c = client(&sshd);
    let input: Vec<u8> = (0..50 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 24) as u8)
        .collect();
    let out = c.run("cat", &with_stdin(input.clone(), 120)).unwrap();
    assert_eq!(out.exit_code, Some(0));
    assert!(out.stdout == input, "{} bytes back", out.stdout.len());
}

#[test]
fn a_command_that_ignores_its_input_still_ends() {
    let sshd = Sshd::start();
    let c = client(&sshd);
    let out = c
        .run(
            "echo ignored",
            &with_stdin(vec![b'x'; 10 * 1024 * 1024], 20),
        )
        .unwrap();
    assert_eq!(out.stdout, b"ignored\n");
    assert_eq!(out.exit_code, Some(0));
}

#[test]
fn environment_variables_reach_the_command_in_both_shell_modes() {
    let sshd = Sshd::start();
    let c = client(&sshd);
    let tricky = "it's \"quoted\" $HOME `x` \\ ; | & \n newline";
    for mode in [ShellMode::Login, ShellMode::Raw] {
        let options = RunOptions {
            mode,
            env: vec![
                ("SMOL_A".into(), tricky.into()),
                ("SMOL_B".into(), "".into()),
            ],
            ..raw(10)
        };
        let out = c
            .run("printf '%s|%s|' \"$SMOL_A\" \"${SMOL_B-unset}\"", &options)
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            format!("{tricky}||"),
            "{mode:?}"
        );
    }
    let bad = RunOptions {
        env: vec![("NOT-A-NAME".into(), "x".into())],
        ..raw(10)
    };
    assert_eq!(
        c.run("true", &bad).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
}

#[test]
fn streaming_delivers_chunks_in_order_as_they_come() {
    let sshd = Sshd::start();
    let c = client(&sshd);
    let start = Instant::now();
    let mut seen: Vec<(Stream, Vec<u8>, Duration)> = vec![];
    let out = c
        .run_streaming(
            "echo one; sleep 0.3; echo two >&2; sleep 0.3; echo three",
            &raw(10),
            |stream, bytes| {
                seen.push((stream, bytes.to_vec(), start.elapsed()));
                ControlFlow::Continue(())
            },
        )
        .unwrap();
    assert_eq!(out.exit_code, Some(0));
    assert!(
        out.stdout.is_empty() && out.stderr.is_empty(),
        "streamed output is not kept"
    );
    let text: Vec<(Stream, String)> = seen
        .iter()
        .map(|(s, b, _)| (*s, String::from_utf8_lossy(b).into_owned()))
        .collect();
    assert_eq!(
        text,
        vec![
            (Stream::Stdout, "one\n".into()),
            (Stream::Stderr, "two\n".into()),
            (Stream::Stdout, "three\n".into())
        ]
    );
    // "one" arrived well before the command ended.
    assert!(seen[0].2 < Duration::from_millis(250), "{:?}", seen[0].2);
}

#[test]
fn streaming_a_lot_through_a_slow_callback_keeps_every_byte() {
    let sshd = Sshd::start();
    let c = client(&sshd);
    let mut total = 0usize;
    let mut calls = 0;
    let out = c
        .run_streaming("head -c 20000000 /dev/zero", &raw(60), |_, bytes| {
            total += bytes.len();
            calls += 1;
            if calls % 50 == 0 {
                std::thread::sleep(Duration::from_millis(5));
            }
            ControlFlow::Continue(())
        })
        .unwrap();
    assert_eq!(out.exit_code, Some(0));
    assert_eq!(total, 20_000_000);
}

#[test]
fn a_callback_that_says_stop_cancels_the_command() {
    let sshd = Sshd::start();
    let c = client(&sshd);
    let marker = format!("41.{}", std::process::id());
    let start = Instant::now();
    let err = c
        .run_streaming(&format!("echo go; sleep {marker}"), &raw(30), |_, _| {
            ControlFlow::Break(())
        })
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cancelled, "{err}");
    assert!(start.elapsed() < Duration::from_secs(2));
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        support::sshd::live_processes_with(&marker).is_empty(),
        "the command was not stopped"
    );
    assert_eq!(c.run("echo next", &raw(10)).unwrap().stdout, b"next\n");
}

#[test]
fn another_thread_cancels_a_running_command() {
    let sshd = Sshd::start();
    let c = Arc::new(client(&sshd));
    let token = CancelToken::new();
    let marker = format!("42.{}", std::process::id());
    let options = RunOptions {
        cancel: Some(token.clone()),
        ..raw(30)
    };
    let runner = {
        let c = Arc::clone(&c);
        let marker = marker.clone();
        std::thread::spawn(move || {
            let start = Instant::now();
            (
                c.run(&format!("echo started; sleep {marker}"), &options),
                start.elapsed(),
            )
        })
    };
    std::thread::sleep(Duration::from_millis(400));
    token.cancel();
    let (result, took) = runner.join().unwrap();
    let err = result.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cancelled, "{err}");
    assert_eq!(err.partial_output().unwrap().stdout, b"started\n");
    assert!(took < Duration::from_millis(700), "{took:?}");
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        support::sshd::live_processes_with(&marker).is_empty(),
        "the command was not stopped"
    );
    // A cancelled token refuses new work at once; the client goes on with other runs.
    let again = RunOptions {
        cancel: Some(token),
        ..raw(10)
    };
    assert_eq!(
        c.run("true", &again).unwrap_err().kind(),
        ErrorKind::Cancelled
    );
    assert_eq!(c.run("echo fine", &raw(10)).unwrap().stdout, b"fine\n");
}

#[test]
fn close_ends_runs_in_flight_promptly() {
    let sshd = Sshd::start();
    let c = Arc::new(client(&sshd));
    c.run("true", &raw(10)).unwrap();
    let runner = {
        let c = Arc::clone(&c);
        std::thread::spawn(move || c.run("sleep 20", &raw(30)))
    };
    std::thread::sleep(Duration::from_millis(300));
    let start = Instant::now();
    c.close();
    let err = runner.join().unwrap().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Disconnected, "{err}");
    assert!(
        start.elapsed() < Duration::from_millis(500),
        "{:?}",
        start.elapsed()
    );
}

/// Secret environment values reach the command but never its command line (the guest's
/// process table); the command's own stdin follows them intact.
#[test]
fn secret_env_values_stay_out_of_the_process_table() {
    let sshd = support::Sshd::start();
    let c = support::client(&sshd);
    let secret = "s3cr3t-token\nwith 'quotes' and a trailing newline\n";
    let options = RunOptions {
        secret_env: vec![
            ("API_TOKEN".into(), secret.into()),
            ("EMPTY".into(), "".into()),
        ],
        stdin: Some(b"own input".to_vec()),
        ..support::raw(10)
    };
    let out = c
        .run(
            "printf '%s|%s|' \"$API_TOKEN\" \"$EMPTY\"; cat; echo; cat /proc/$$/cmdline | tr '\\0' ' '",
            &options,
        )
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let (values, cmdline) = text.split_once("own input\n").unwrap();
    assert_eq!(values, format!("{secret}||"));
    assert!(!cmdline.contains("s3cr3t"), "{cmdline}");
    assert!(cmdline.contains("head -c"), "{cmdline}");
    // Login mode too.
    let login = RunOptions {
        secret_env: vec![("T".into(), "x y".into())],
        ..RunOptions::default()
    };
    assert_eq!(c.run("printf %s \"$T\"", &login).unwrap().stdout, b"x y");
}
