//! Warm `true` over each transport, from one smol-ssh client per transport against the same
//! sshd: TCP to its listener, a Unix socket and a caller's descriptor (a socketpair) each
//! served by `sshd -i` straight on the stream (no proxy hop). Interleaved by round.

use std::time::{Duration, Instant};

use smol_ssh::{Client, FdSource, RunOptions, ShellMode, Transport};

use super::support::{self, inetd::Inetd, Sshd};

/// Per transport: its name and the warm `true` samples in ms.
pub fn measure(sshd: &Sshd, rounds: usize, per_round: usize) -> Vec<(&'static str, Vec<f64>)> {
    let inetd = Inetd::new(sshd);
    let dir = tempfile::Builder::new()
        .prefix("smol-ssh-bench-")
        .tempdir()
        .unwrap();
    let listening = inetd.listen(&dir.path().join("guest.sock"));
    let pairs = inetd.clone();
    let transports = [
        ("TCP loopback", Transport::Tcp),
        ("Unix socket", Transport::Unix(listening.path.clone())),
        (
            "caller's descriptor (socketpair)",
            Transport::Fd(FdSource::new(move || pairs.pair())),
        ),
    ];
    let raw = RunOptions {
        mode: ShellMode::Raw,
        timeout: Duration::from_secs(10),
        ..RunOptions::default()
    };
    let mut samples: Vec<(&'static str, Vec<f64>)> =
        transports.iter().map(|(n, _)| (*n, Vec::new())).collect();
    for _ in 0..rounds {
        for (i, (_, transport)) in transports.iter().enumerate() {
            let mut cfg = support::config(sshd);
            cfg.transport = transport.clone();
            let client = Client::new(cfg).unwrap();
            for _ in 0..5 {
                client.run("true", &raw).expect("warm-up run");
            }
            for _ in 0..per_round {
                let t = Instant::now();
                let out = client.run("true", &raw).expect("run");
                assert!(out.ok());
                samples[i].1.push(t.elapsed().as_secs_f64() * 1e3);
            }
        }
    }
    drop(listening);
    samples
}
