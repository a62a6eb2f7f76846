//! Warm `true` through the submission API (`Client::submit`, then waiting on its descriptor)
//! beside the blocking `run`, alternating command by command on one client; and from Python,
//! the asyncio client (`await run`) beside the thread-based one (`bench/peers/aio_peer.py`).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use smol_ssh::{Client, RunOptions, ShellMode};

use super::support::{self, Sshd};

/// Warm `true` in ms: (blocking run, submitted run) samples.
pub fn measure(sshd: &Sshd, rounds: usize, per_round: usize) -> (Vec<f64>, Vec<f64>) {
    let c = Client::new(support::config(sshd)).unwrap();
    let raw = RunOptions {
        mode: ShellMode::Raw,
        timeout: Duration::from_secs(10),
        ..RunOptions::default()
    };
    for _ in 0..5 {
        c.run("true", &raw).unwrap();
    }
    let (mut blocking, mut submitted) = (Vec::new(), Vec::new());
    for _ in 0..rounds * per_round {
        let t = Instant::now();
        assert!(c.run("true", &raw).unwrap().ok());
        blocking.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        let mut p = c.submit("true", &raw).unwrap();
        // As an event loop would: wait for the descriptor (poll), then take the result.
        assert!(p.wait_for(Duration::from_secs(10)));
        assert!(p.try_result().unwrap().unwrap().ok());
        submitted.push(t.elapsed().as_secs_f64() * 1e3);
    }
    (blocking, submitted)
}

/// Python's warm `true` in ms: (thread-based `run`, asyncio `await run`), from the bench venv.
pub fn python(sshd: &Sshd, root: &Path, n: usize) -> (f64, f64) {
    let out = sshd
        .point_at(
            Command::new(root.join("build/bench-venv/bin/python"))
                .arg(root.join("bench/peers/aio_peer.py"))
                .arg(n.to_string())
                .env("PYTHONPATH", root.join("bindings/python"))
                .env("SMOL_SSH_LIBRARY", root.join("target/release")),
        )
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |name: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("aio_peer: {}", String::from_utf8_lossy(&out.stderr)))
    };
    (field("sync "), field("async "))
}
