//! The fault matrix: every call ends within its deadline with a status that says what
//! happened, and the client recovers by itself.

mod support;

use std::time::{Duration, Instant};

use smol_ssh::{Client, ErrorKind};
use support::proxy::Proxy;
use support::{config_via, raw, Sshd};

fn via_proxy() -> (Sshd, Proxy, Client) {
    let sshd = Sshd::start();
    let proxy = Proxy::start(sshd.port);
    let client = Client::new(config_via(&sshd, &proxy)).unwrap();
    (sshd, proxy, client)
}

/// Asserts that `f` ends within `limit`, and returns what it returned.
fn within<T>(limit: Duration, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    let took = start.elapsed();
    eprintln!(
        "[timing] {:?}: {took:.2?} (limit {limit:?})",
        std::thread::current().name().unwrap_or("?")
    );
    assert!(took <= limit, "took {took:?}, more than {limit:?}");
    out
}

#[test]
fn proxy_forwards() {
    let (_sshd, proxy, c) = via_proxy();
    assert_eq!(
        c.run("echo through", &raw(10)).unwrap().stdout,
        b"through\n"
    );
    assert_eq!(proxy.accepted(), 1);
}

#[test]
fn cut_during_a_command_is_disconnected_and_the_next_run_reconnects() {
    let (_sshd, proxy, c) = via_proxy();
    c.run("true", &raw(10)).unwrap();
    let run = std::thread::scope(|s| {
        let h = s.spawn(|| {
            within(Duration::from_secs(2), || {
                c.run("echo started; sleep 5", &raw(10))
            })
        });
        std::thread::sleep(Duration::from_millis(300));
        proxy.cut();
        h.join().unwrap()
    });
    let err = run.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Disconnected, "{err}");
    assert_eq!(err.partial_output().unwrap().stdout, b"started\n");
    assert_eq!(c.run("echo back", &raw(10)).unwrap().stdout, b"back\n");
}

#[test]
fn cut_after_n_bytes_of_a_large_output_keeps_what_came() {
    let (_sshd, proxy, c) = via_proxy();
    c.run("true", &raw(10)).unwrap();
    proxy.cut_after(200_000);
    proxy.cut(); // the cut-after limit applies to new connections' counters
    let err = within(Duration::from_secs(3), || {
        c.run("head -c 5000000 /dev/zero", &raw(10))
    })
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Disconnected, "{err}");
    let got = err.partial_output().unwrap().stdout.len();
    assert!(got > 0 && got < 200_000, "kept {got} bytes");
    assert!(err.partial_output().unwrap().stdout.iter().all(|b| *b == 0));
}

#[test]
fn stall_at_the_banner_times_out_within_the_connect_timeout() {
    let (_sshd, proxy, c) = via_proxy();
    proxy.stall();
    let err = within(Duration::from_millis(5300), || c.run("true", &raw(30))).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(err.message().contains("connect"), "{err}");
}

#[test]
fn stall_during_output_times_out_at_the_deadline() {
    let (_sshd, proxy, c) = via_proxy();
    c.run("true", &raw(10)).unwrap();
    let err = std::thread::scope(|s| {
        let h = s.spawn(|| {
            within(Duration::from_millis(2300), || {
                c.run("echo a; sleep 0.3; echo b", &raw(2))
            })
        });
        std::thread::sleep(Duration::from_millis(150));
        proxy.stall();
        h.join().unwrap()
    })
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert_eq!(err.partial_output().unwrap().stdout, b"a\n");
}

#[test]
fn a_slow_peer_still_gets_everything_right() {
    let (_sshd, proxy, c) = via_proxy();
    proxy.delay(Duration::from_millis(200));
    let out = c
        .run("printf 'slow\\n'; printf 'err' >&2; exit 4", &raw(30))
        .unwrap();
    assert_eq!(out.stdout, b"slow\n");
    assert_eq!(out.stderr, b"err");
    assert_eq!(out.exit_code, Some(4));
}

fn with_keepalive(sshd: &Sshd, proxy: &Proxy, interval_ms: u64, count: u32) -> Client {
    let mut cfg = config_via(sshd, proxy);
    cfg.keepalive_interval = Duration::from_millis(interval_ms);
    cfg.keepalive_count_max = count;
    Client::new(cfg).unwrap()
}

#[test]
fn an_idle_client_notices_a_dead_peer_within_interval_times_count() {
    let sshd = Sshd::start();
    let proxy = Proxy::start(sshd.port);
    let c = with_keepalive(&sshd, &proxy, 500, 2);
    c.run("true", &raw(10)).unwrap();
    proxy.stall();
    let start = Instant::now();
    while c.is_connected() && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(10));
    }
    let took = start.elapsed();
    assert!(!c.is_connected());
    // Asked after 0.5 s of silence, dead 2 × 0.5 s later.
    assert!(
        took >= Duration::from_millis(1400) && took <= Duration::from_millis(1800),
        "{took:?}"
    );
    proxy.clear();
    assert_eq!(c.run("echo again", &raw(10)).unwrap().stdout, b"again\n");
}

#[test]
fn a_silent_command_on_a_dead_peer_ends_disconnected_before_its_timeout() {
    let sshd = Sshd::start();
    let proxy = Proxy::start(sshd.port);
    let c = with_keepalive(&sshd, &proxy, 500, 2);
    c.run("true", &raw(10)).unwrap();
    let err = std::thread::scope(|s| {
        let h = s.spawn(|| within(Duration::from_millis(2300), || c.run("sleep 20", &raw(30))));
        std::thread::sleep(Duration::from_millis(200));
        proxy.stall();
        h.join().unwrap()
    })
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Disconnected, "{err}");
    assert!(err.message().contains("did not answer"), "{err}");
}

#[test]
fn a_healthy_idle_client_stays_connected_with_frequent_checks() {
    let sshd = Sshd::start();
    let proxy = Proxy::start(sshd.port);
    let c = with_keepalive(&sshd, &proxy, 200, 1);
    c.run("true", &raw(10)).unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(c.is_connected());
    assert_eq!(c.run("echo still", &raw(10)).unwrap().stdout, b"still\n");
    assert_eq!(proxy.accepted(), 1);
}

/// Sizes of the server's chunks during one full connect (banner, KEXINIT, key exchange reply,
/// SERVICE_ACCEPT, authentication answers), measured through a recording proxy.
fn handshake_profile(sshd: &Sshd) -> Vec<usize> {
    let proxy = Proxy::start(sshd.port);
    let c = Client::new(config_via(sshd, &proxy)).unwrap();
    c.wait_for_ssh(Duration::from_secs(10), Duration::from_millis(100))
        .unwrap();
    let mut chunks = proxy.server_chunks();
    chunks.remove(0); // the banner probe's own connection
    assert!(chunks.len() >= 5, "unexpected handshake shape {chunks:?}");
    chunks
}

/// A client whose connections stall for good after `n` bytes from the server.
fn stalled_after(sshd: &Sshd, n: usize) -> (Proxy, Client) {
    let proxy = Proxy::start(sshd.port);
    proxy.stall_after(n as u64);
    let mut cfg = config_via(sshd, &proxy);
    cfg.connect_timeout = Duration::from_secs(2);
    (proxy, Client::new(cfg).unwrap())
}

#[test]
fn stalls_at_each_handshake_stage_time_out_naming_the_stage() {
    let sshd = Sshd::start();
    let p = handshake_profile(&sshd);
    let banner = p[0];
    let kex = p[0] + p[1]; // banner and KEXINIT came; the key exchange reply never does
    let auth = p[..4].iter().sum::<usize>(); // through SERVICE_ACCEPT; no auth answer
    for (n, stage) in [
        (0, "during key exchange"),
        (banner, "during key exchange"),
        (kex, "during key exchange"),
        (auth, "during authentication"),
    ] {
        let (_proxy, c) = stalled_after(&sshd, n);
        let err = within(Duration::from_millis(2300), || c.run("true", &raw(30))).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Timeout, "stall after {n}: {err}");
        assert!(err.message().contains(stage), "stall after {n}: {err}");
        assert!(!c.is_connected());
    }
}

#[test]
fn a_stall_at_channel_open_times_out_at_the_run_deadline() {
    let sshd = Sshd::start();
    let connected = handshake_profile(&sshd).iter().sum::<usize>();
    let (_proxy, c) = stalled_after(&sshd, connected);
    c.wait_for_ssh(Duration::from_secs(5), Duration::from_millis(100))
        .unwrap();
    let err = within(Duration::from_millis(2300), || c.run("true", &raw(2))).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(err.message().contains("opening a channel"), "{err}");
}

#[test]
fn a_stall_at_tcp_connect_times_out_within_the_connect_timeout() {
    // A listener that never accepts: once its backlog is full, the kernel drops new SYNs.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let addr = listener.local_addr().unwrap();
    let mut held = vec![];
    while let Ok(s) = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
        held.push(s);
        assert!(held.len() < 5000, "the backlog never filled");
    }
    let sshd = Sshd::start();
    let mut cfg = support::config(&sshd);
    cfg.port = port;
    cfg.connect_timeout = Duration::from_secs(1);
    let c = Client::new(cfg).unwrap();
    let err = within(Duration::from_millis(1300), || c.run("true", &raw(30))).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(err.message().contains("TCP connect"), "{err}");
}

#[test]
fn sshd_killed_during_a_command_is_disconnected_then_recovers() {
    let (sshd, _proxy, c) = via_proxy();
    c.run("true", &raw(10)).unwrap();
    let err = std::thread::scope(|s| {
        let h = s.spawn(|| {
            within(Duration::from_secs(2), || {
                c.run("echo before; sleep 10", &raw(20))
            })
        });
        std::thread::sleep(Duration::from_millis(300));
        for pid in sshd.session_processes() {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
        h.join().unwrap()
    })
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Disconnected, "{err}");
    assert_eq!(err.partial_output().unwrap().stdout, b"before\n");
    assert_eq!(
        c.run("echo recovered", &raw(10)).unwrap().stdout,
        b"recovered\n"
    );
}

#[test]
fn a_cut_just_before_a_command_is_healed_by_one_retry() {
    let (_sshd, proxy, c) = via_proxy();
    c.run("true", &raw(10)).unwrap();
    proxy.cut();
    // The client may not have seen the hang-up yet: the run's channel open fails on the dead
    // transport, and since the command was never sent it is retried once on a new connection.
    assert_eq!(c.run("echo once", &raw(10)).unwrap().stdout, b"once\n");
    assert_eq!(proxy.accepted(), 2);
}

#[test]
fn a_cut_after_a_command_is_noticed_while_idle() {
    let (_sshd, proxy, c) = via_proxy();
    c.run("true", &raw(10)).unwrap();
    proxy.cut();
    let start = Instant::now();
    while c.is_connected() && start.elapsed() < Duration::from_secs(2) {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(!c.is_connected());
    assert!(
        start.elapsed() < Duration::from_millis(300),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(c.run("echo new", &raw(10)).unwrap().stdout, b"new\n");
}
