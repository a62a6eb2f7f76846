//! Running commands against a real sshd: exact bytes, exit codes, signals, timeouts.

mod support;

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
