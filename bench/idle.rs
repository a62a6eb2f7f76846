//! RSS and threads per idle connected handle, at each count of BENCH_HANDLES (default 1, 1,000
//! and 10,000), measured in a child process (`bench peer smol rss N`) that connects N clients
//! and compares its RSS and thread count with those before.
//!
//! Up to 1,000 handles the server is the bench's OpenSSH sshd. Beyond, it is a one-process
//! server (`peers/idle_server.py`, asyncssh): sshd costs two processes per connection (~5 MB
//! each), and 10,000 of them do not fit the bench machine. The figures are the client's
//! either way.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use crate::peers::{parse_rss, run_peer, self_peer};
use crate::Target;

/// The most handles measured against the bench's sshd.
const ON_SSHD: usize = 1000;

/// (handles, KiB of RSS per handle, threads per handle, the server).
pub fn measure(target: &Target, root: &Path, counts: &[usize]) -> Vec<(usize, f64, f64, String)> {
    let mut rows = Vec::new();
    for &n in counts {
        eprintln!("bench: {n} idle connected handles");
        let (out, server) = if n <= ON_SSHD {
            let out = run_peer(&self_peer("smol"), target, "rss", n, None);
            (out, "OpenSSH sshd".to_owned())
        } else {
            (
                on_idle_server(target, root, n),
                "asyncssh, one process".to_owned(),
            )
        };
        let (kib, threads) = parse_rss(&out);
        rows.push((n, kib, threads, server));
    }
    rows
}

fn on_idle_server(target: &Target, root: &Path, n: usize) -> String {
    let python = root.join("build/bench-venv/bin/python");
    let mut public = target.key.clone().into_os_string();
    public.push(".pub");
    let mut server = Command::new(&python)
        .arg(root.join("bench/peers/idle_server.py"))
        .arg(&public)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", python.display()));
    let mut line = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port: u16 = line
        .trim()
        .strip_prefix("port ")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("idle server said {line:?}"));
    let on_server = Target {
        host: target.host.clone(),
        port,
        user: target.user.clone(),
        key: target.key.clone(),
    };
    let out = run_peer(&self_peer("smol"), &on_server, "rss", n, None);
    drop(server.stdin.take());
    let _ = server.wait();
    out
}
