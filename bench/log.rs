//! Warm `true` with the log function off (the default) and on (a function that counts the
//! lines), from two smol-ssh clients of the same sshd, alternating command by command: the log costs
//! nothing when off, and nothing per command when on (it speaks only of connects, timeouts,
//! kills and the like).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use smol_ssh::{Client, LogCallback, RunOptions, ShellMode};

use super::support::{self, Sshd};

/// The warm `true` samples in ms with the log off, then on, and the lines the log was told.
pub fn measure(sshd: &Sshd, rounds: usize, per_round: usize) -> (Vec<f64>, Vec<f64>, usize) {
    let lines = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&lines);
    let off = Client::new(support::config(sshd)).unwrap();
    let mut cfg = support::config(sshd);
    cfg.log = Some(LogCallback::new(move |_, _| {
        counter.fetch_add(1, Ordering::Relaxed);
    }));
    let on = Client::new(cfg).unwrap();
    let raw = RunOptions {
        mode: ShellMode::Raw,
        timeout: Duration::from_secs(10),
        ..RunOptions::default()
    };
    let (mut off_ms, mut on_ms) = (Vec::new(), Vec::new());
    for client in [&off, &on] {
        for _ in 0..5 {
            client.run("true", &raw).expect("warm-up run");
        }
    }
    // Alternating command by command, so that drift in the machine's load falls on both.
    for _ in 0..rounds * per_round {
        for (client, samples) in [(&off, &mut off_ms), (&on, &mut on_ms)] {
            let t = Instant::now();
            assert!(client.run("true", &raw).expect("run").ok());
            samples.push(t.elapsed().as_secs_f64() * 1e3);
        }
    }
    (off_ms, on_ms, lines.load(Ordering::Relaxed))
}
