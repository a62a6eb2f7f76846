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

    // Connections dropped in the middle of a turn: while output floods in (libssh2's receive
    // budget is spent then) and while packets wait to be sent (the peer stopped reading, eight
    // runs feeding 4 MiB of input each). libssh2 frees a channel only after its close went
    // out, and answers "would block" to every send while another packet is half out: the
    // driver lets go of such a connection (socket_io.rs), and in debug builds checks that
    // libssh2 freed everything it held for it. Descriptors are counted with one live
    // connection, as at the end (the proxy's sockets are in this process too).
    let c = std::sync::Arc::new(c);
    c.close();
    proxy.cut();
    c.run("true", &raw(10)).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let fds = open_fds();
    for round in 0..6 {
        proxy.clear();
        c.run("true", &raw(10)).unwrap();
        let runs: Vec<_> = if round % 2 == 0 {
            let c = std::sync::Arc::clone(&c);
            vec![std::thread::spawn(move || c.run("exec yes", &raw(30)))]
        } else {
            proxy.freeze();
            (0..8)
                .map(|_| {
                    let c = std::sync::Arc::clone(&c);
                    std::thread::spawn(move || {
                        let options = smol_ssh::RunOptions {
                            stdin: Some(vec![7u8; 4 << 20]),
                            ..raw(30)
                        };
                        c.run("cat > /dev/null", &options)
                    })
                })
                .collect()
        };
        std::thread::sleep(Duration::from_millis(500));
        c.close();
        for run in runs {
            let err = run.join().unwrap().unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Disconnected, "{err}");
        }
        // The proxy lets go of that connection's sockets.
        proxy.cut();
    }
    proxy.clear();
    c.run("true", &raw(10)).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let fds_end = open_fds();
    assert_eq!(
        fds_end, fds,
        "file descriptors {fds} -> {fds_end} after dropping blocked connections"
    );
}
