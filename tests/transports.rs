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
        ..Default::default()
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

/// A caller's descriptor: one end of a socketpair, the other bridged to sshd; a fresh pair for
/// every connect (the reconnect after close() asks again).
#[test]
fn a_callers_descriptor_and_a_fresh_one_at_each_reconnect() {
    use std::os::fd::OwnedFd;
    use std::os::unix::net::UnixStream;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let sshd = Sshd::start();
    let port = sshd.port;
    let asked = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&asked);
    let source = smol_ssh::FdSource::new(move || {
        counter.fetch_add(1, Ordering::SeqCst);
        let (ours, theirs) = UnixStream::pair()?;
        support::bridge::bridge_to_tcp(theirs, port);
        Ok(OwnedFd::from(ours))
    });
    let c = client_via(&sshd, Transport::Fd(source));
    c.wait_for_ssh(Duration::from_secs(5), Duration::from_millis(50))
        .unwrap();
    assert_eq!(c.run("echo fd", &raw(10)).unwrap().stdout, b"fd\n");
    c.close();
    assert_eq!(c.run("echo again", &raw(10)).unwrap().stdout, b"again\n");
    assert_eq!(asked.load(Ordering::SeqCst), 2);
    // A source that fails fails the connect, clearly.
    let failing = smol_ssh::FdSource::new(|| Err(std::io::Error::other("no VM")));
    let err = client_via(&sshd, Transport::Fd(failing))
        .run("true", &raw(10))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectFailed, "{err}");
    assert!(err.message().contains("no VM"), "{err}");
}

/// AF_VSOCK: the error path everywhere (no such CID; CID 2, the host, refused before any
/// connect); end to end only where the kernel offers a vsock loopback.
#[test]
fn vsock_errors_are_clear_and_loopback_works_where_the_kernel_has_it() {
    let sshd = Sshd::start();
    let t = Instant::now();
    // CID 1 (local) without a vsock loopback is a CID nobody has, and nothing leaves this
    // machine trying it.
    let err = client_via(&sshd, Transport::Vsock { cid: 1, port: 22 })
        .run("true", &raw(10))
        .unwrap_err();
    eprintln!("vsock to CID 1, port 22: {err} after {:?}", t.elapsed());
    assert!(
        matches!(err.kind(), ErrorKind::ConnectFailed | ErrorKind::Timeout),
        "{err}"
    );
    assert!(t.elapsed() < Duration::from_millis(2300));
    let err = client_via(&sshd, Transport::Vsock { cid: 2, port: 22 })
        .run("true", &raw(10))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
    if !std::path::Path::new("/sys/module/vsock_loopback").exists() {
        eprintln!(
            "skipped vsock end to end: this kernel has no vsock_loopback module (on a \
             Firecracker guest there is no vsock loopback; never CID 2, the host)"
        );
        return;
    }
    // With vsock_loopback (CID 1), an sshd on vsock port 22 is not something the test sshd
    // can do: OpenSSH listens on TCP only. Bridge vsock port 2222 to its TCP port instead.
    let port = 2222u32;
    if !support::bridge::vsock_to_tcp(port, sshd.port) {
        eprintln!("skipped vsock end to end: cannot listen on vsock port {port}");
        return;
    }
    let c = client_via(&sshd, Transport::Vsock { cid: 1, port });
    assert_eq!(c.run("echo vsock", &raw(10)).unwrap().stdout, b"vsock\n");
}

#[test]
fn sshd_straight_on_a_unix_socket_or_a_socketpair() {
    // No proxy in between: each stream is served by its own `sshd -i`, as a guest agent that
    // hands its sshd the vsock or virtio-serial stream would do.
    let sshd = Sshd::start();
    let inetd = support::inetd::Inetd::new(&sshd);
    let dir = tempfile::tempdir().unwrap();
    let listening = inetd.listen(&dir.path().join("sshd.sock"));
    let pairs = inetd.clone();
    for transport in [
        Transport::Unix(listening.path.clone()),
        Transport::Fd(smol_ssh::FdSource::new(move || pairs.pair())),
    ] {
        let c = client_via(&sshd, transport);
        let out = c.run("echo $((6 * 7))", &raw(10)).unwrap();
        assert_eq!(out.stdout, b"42\n");
        c.close();
        assert_eq!(c.run("echo again", &raw(10)).unwrap().stdout, b"again\n");
    }
}
