//! Reaching the guest however the hypervisor exposes it: a Unix socket, Firecracker's hybrid
//! vsock (and its refusals), TCP over IPv6 literals. Each against the real sshd.

mod support;

use std::time::{Duration, Instant};

use smol_ssh::{Client, ErrorKind, Transport};
use support::bridge::{Bridge, Mode};
use support::{raw, Sshd};

fn client_via(sshd: &Sshd, transport: Transport) -> Client {
    let mut cfg = support::config(sshd);
    cfg.transport = transport;
    cfg.connect_timeout = Duration::from_secs(2);
    Client::new(cfg).unwrap()
}

#[test]
fn a_unix_socket_leads_to_the_guest() {
    let sshd = Sshd::start();
    let bridge = Bridge::start(sshd.port, Mode::Plain);
    let c = client_via(&sshd, Transport::Unix(bridge.path.clone()));
    c.wait_for_ssh(Duration::from_secs(5), Duration::from_millis(50))
        .unwrap();
    assert_eq!(c.run("echo unix", &raw(10)).unwrap().stdout, b"unix\n");
    // Reconnects over the same transport.
    c.close();
    assert_eq!(c.run("echo again", &raw(10)).unwrap().stdout, b"again\n");
}

#[test]
fn hybrid_vsock_speaks_connect_then_ssh() {
    let sshd = Sshd::start();
    let bridge = Bridge::start(sshd.port, Mode::HybridOk);
    let c = client_via(
        &sshd,
        Transport::HybridVsock {
            path: bridge.path.clone(),
            port: 22,
        },
    );
    c.wait_for_ssh(Duration::from_secs(5), Duration::from_millis(50))
        .unwrap();
    assert_eq!(c.run("echo vsock", &raw(10)).unwrap().stdout, b"vsock\n");
}

#[test]
fn hybrid_vsock_refusals_garbage_and_stalls_end_clearly_on_time() {
    let sshd = Sshd::start();
    for (mode, kind, words) in [
        (
            Mode::HybridRefuse,
            ErrorKind::ConnectFailed,
            "refused CONNECT 22",
        ),
        (Mode::HybridGarble, ErrorKind::ConnectFailed, "not a line"),
        (
            Mode::HybridStall,
            ErrorKind::Timeout,
            "vsock CONNECT handshake",
        ),
    ] {
        let bridge = Bridge::start(sshd.port, mode);
        let c = client_via(
            &sshd,
            Transport::HybridVsock {
                path: bridge.path.clone(),
                port: 22,
            },
        );
        let t = Instant::now();
        let err = c.run("true", &raw(10)).unwrap_err();
        let took = t.elapsed();
        eprintln!("{mode:?}: {err} after {took:?}");
        assert_eq!(err.kind(), kind, "{mode:?}: {err}");
        assert!(err.message().contains(words), "{mode:?}: {err}");
        assert!(took < Duration::from_millis(2300), "{mode:?}: {took:?}");
    }
    // No socket at all.
    let c = client_via(
        &sshd,
        Transport::HybridVsock {
            path: sshd.dir().join("no-such.sock"),
            port: 22,
        },
    );
    let err = c.run("true", &raw(10)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectFailed, "{err}");
}

#[test]
fn ipv6_literals_with_or_without_brackets() {
    let sshd = Sshd::start_with(support::sshd::Options {
        extra_config: vec!["ListenAddress ::1".into()],
    });
    for host in ["::1", "[::1]"] {
        let mut cfg = support::config(&sshd);
        cfg.host = host.into();
        let c = Client::new(cfg).unwrap();
        c.wait_for_ssh(Duration::from_secs(5), Duration::from_millis(50))
            .unwrap_or_else(|e| panic!("{host}: {e}"));
        assert_eq!(c.run("echo six", &raw(10)).unwrap().stdout, b"six\n");
    }
}
