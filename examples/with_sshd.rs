//! Starts a private loopback sshd (the test fixture), runs the given program with
//! SMOL_SSH_HOST / SMOL_SSH_PORT / SMOL_SSH_USER / SMOL_SSH_KEY pointing at it and
//! SMOL_SSH_HOST_KEY holding its host key's fingerprint (to pin), stops the server
//! and exits with the program's status. Used by `make demo` and `make smoke`.
//!
//! Usage: cargo run --example with_sshd -- PROGRAM [ARGS...]

#[path = "../tests/support/sshd.rs"]
mod sshd;

use std::process::{exit, Command};

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(program) = args.next() else {
        eprintln!("usage: with_sshd PROGRAM [ARGS...]");
        exit(2);
    };
    let server = sshd::Sshd::start();
    eprintln!(
        "with_sshd: private sshd on 127.0.0.1:{} (user {})",
        server.port, server.user
    );
    let status = server.point_at(Command::new(&program).args(args)).status();
    drop(server);
    match status {
        Ok(s) => exit(s.code().unwrap_or(1)),
        Err(e) => {
            eprintln!("with_sshd: cannot run {program}: {e}");
            exit(2);
        }
    }
}
