//! The latency of a quiet client while another floods: warm `true` on one client alone, then
//! while a second client of the same sshd reads `cat /dev/zero` as fast as it can (its output
//! capped, so that memory stays flat). Measured with both clients on one driver thread (the
//! pool set to 1: issue 13's target, at most 1.5x) and on a driver thread each (pool of 2).
//! No other client of the bench is alive then, so the pool starts empty.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use smol_ssh::{Client, RunOptions, ShellMode};

use super::support::{self, Sshd};

/// Warm `true` in ms: (alone, beside a flood), with the clients on a pool of `drivers`.
pub fn measure(
    sshd: &Sshd,
    rounds: usize,
    per_round: usize,
    drivers: usize,
) -> (Vec<f64>, Vec<f64>) {
    smol_ssh::set_driver_threads(drivers).unwrap();
    let quiet = Client::new(support::config(sshd)).unwrap();
    let mut cfg = support::config(sshd);
    cfg.max_output_bytes = 1 << 20;
    let loud = Client::new(cfg).unwrap();
    let raw = |secs| RunOptions {
        mode: ShellMode::Raw,
        timeout: Duration::from_secs(secs),
        ..RunOptions::default()
    };
    for _ in 0..5 {
        quiet.run("true", &raw(10)).unwrap();
    }
    loud.run("true", &raw(10)).unwrap();
    let sample = |samples: &mut Vec<f64>| {
        for _ in 0..per_round {
            let t = Instant::now();
            assert!(quiet.run("true", &raw(10)).unwrap().ok());
            samples.push(t.elapsed().as_secs_f64() * 1e3);
        }
    };
    let (mut alone, mut beside) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        sample(&mut alone);
        let stop = AtomicBool::new(false);
        std::thread::scope(|s| {
            s.spawn(|| {
                while !stop.load(Ordering::Acquire) {
                    // Ends at its 2 s deadline; the next one starts at once.
                    let _ = loud.run("cat /dev/zero", &raw(2));
                }
            });
            std::thread::sleep(Duration::from_millis(300));
            sample(&mut beside);
            stop.store(true, Ordering::Release);
        });
    }
    smol_ssh::set_driver_threads(0).unwrap();
    (alone, beside)
}
