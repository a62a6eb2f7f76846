//! Commands/s with 1,000 clients, each running one command (`true`) at a time, all driven
//! from one thread through the submission API as an event loop would: submit one run per
//! client, poll(2) on their descriptors, take each result and submit that client's next run.
//! The clients share the process's driver threads (one per core).

use std::os::unix::io::AsRawFd;
use std::time::{Duration, Instant};

use smol_ssh::{Client, Pending, RunOptions, ShellMode};

use super::support::{self, Sshd};

pub struct Figures {
    pub clients: usize,
    /// Seconds to connect them all (16 threads connecting).
    pub connect_secs: f64,
    pub per_second: f64,
    /// Threads of the process beyond those before the clients, while they ran.
    pub threads: usize,
}

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}

pub fn measure(sshd: &Sshd, clients: usize, seconds: f64) -> Figures {
    let raw = RunOptions {
        mode: ShellMode::Raw,
        timeout: Duration::from_secs(30),
        ..RunOptions::default()
    };
    let before = threads();
    let all: Vec<Client> = (0..clients)
        .map(|_| Client::new(support::config(sshd)).unwrap())
        .collect();
    let t = Instant::now();
    std::thread::scope(|s| {
        for chunk in all.chunks(clients.div_ceil(16).max(1)) {
            let raw = &raw;
            s.spawn(move || {
                for c in chunk {
                    assert!(c.run("true", raw).unwrap().ok());
                }
            });
        }
    });
    let connect_secs = t.elapsed().as_secs_f64();
    let submit = |c: &Client| c.submit("true", &raw).unwrap();
    let mut pending: Vec<Pending> = all.iter().map(submit).collect();
    let mut fds: Vec<libc::pollfd> = pending
        .iter()
        .map(|p| libc::pollfd {
            fd: p.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    let mut done = 0usize;
    let mut most_threads = threads();
    let t = Instant::now();
    let until = t + Duration::from_secs_f64(seconds);
    while Instant::now() < until {
        // SAFETY: `fds` is a valid array of pollfd for the duration of the call.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, 1000) };
        assert!(n >= 0, "poll: {}", std::io::Error::last_os_error());
        for i in 0..fds.len() {
            if fds[i].revents == 0 {
                continue;
            }
            let out = pending[i].try_result().expect("readable means done");
            assert!(out.unwrap().ok());
            done += 1;
            pending[i] = submit(&all[i]);
            fds[i].fd = pending[i].as_raw_fd();
            fds[i].revents = 0;
        }
        most_threads = most_threads.max(threads());
    }
    let per_second = done as f64 / t.elapsed().as_secs_f64();
    for p in pending {
        let _ = p.wait();
    }
    Figures {
        clients,
        connect_secs,
        per_second,
        threads: most_threads - before,
    }
}
