//! Reconnects through faults leak no file descriptors and no threads. A test binary of its
//! own, so that nothing else runs in the process while it counts.

mod support;

use std::time::Duration;

use smol_ssh::{Client, ErrorKind};
use support::proxy::Proxy;
use support::{config_via, raw, Sshd};

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}

#[test]
fn cuts_timeouts_and_reconnects_leak_no_descriptors_or_threads() {
    let sshd = Sshd::start();
    let proxy = Proxy::start(sshd.port);
    let c = Client::new(config_via(&sshd, &proxy)).unwrap();
    c.run("true", &raw(10)).unwrap();
    let cycle = |i: usize| {
        proxy.cut();
        let out = c.run(&format!("echo {i}"), &raw(10)).unwrap();
        assert_eq!(out.stdout, format!("{i}\n").as_bytes());
        let timed_out = c.run("sleep 5", &raw(1)).unwrap_err();
        assert_eq!(timed_out.kind(), ErrorKind::Timeout);
    };
    cycle(0);
    // The proxy's own threads for cut connections wind down asynchronously.
    std::thread::sleep(Duration::from_millis(300));
    let (fds, threads_before) = (open_fds(), threads());
    for i in 1..=6 {
        cycle(i);
    }
    std::thread::sleep(Duration::from_millis(300));
    let (fds_after, threads_after) = (open_fds(), threads());
    assert_eq!(fds_after, fds, "file descriptors {fds} -> {fds_after}");
    assert_eq!(
        threads_after, threads_before,
        "threads {threads_before} -> {threads_after}"
    );
    assert_eq!(proxy.accepted(), 8);
}
