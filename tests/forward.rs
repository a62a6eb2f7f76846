//! Local port forwarding (`ssh -L`) to a real service on the guest's loopback, on the same
//! connection that runs commands.

mod support;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::thread;
use std::time::{Duration, Instant};

use smol_ssh::{ForwardAddr, ForwardOptions};
use support::echo::{echo_service, pattern};
use support::{raw, Sshd};

fn any_port() -> ForwardAddr {
    ForwardAddr::Tcp("127.0.0.1:0".parse().unwrap())
}

fn tcp_addr(addr: &ForwardAddr) -> SocketAddr {
    match addr {
        ForwardAddr::Tcp(a) => *a,
        other => panic!("not TCP: {other:?}"),
    }
}

/// Sends `data` and reads everything back over a TCP connection to the forward.
fn echo_via(addr: SocketAddr, data: &[u8]) -> Vec<u8> {
    let conn = TcpStream::connect(addr).unwrap();
    let mut writer = conn.try_clone().unwrap();
    let owned = data.to_vec();
    let sender = thread::spawn(move || {
        writer.write_all(&owned).unwrap();
        writer.shutdown(Shutdown::Write).unwrap();
    });
    let mut back = Vec::new();
    let mut reader = conn;
    reader.read_to_end(&mut back).unwrap();
    sender.join().unwrap();
    back
}

fn settle(mut done: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(10);
    while !done() && Instant::now() < until {
        thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn fifty_connections_at_once_byte_exact_and_counted() {
    let sshd = Sshd::start();
    let service = echo_service();
    let c = support::client(&sshd);
    let fwd = c
        .forward_local(any_port(), "127.0.0.1", service, ForwardOptions::default())
        .unwrap();
    let addr = tcp_addr(fwd.addr());
    let mut total = 0u64;
    thread::scope(|s| {
        let workers: Vec<_> = (0..50)
            .map(|i| {
                s.spawn(move || {
                    let data = pattern(100_000 + i * 777, i as u32);
                    assert!(echo_via(addr, &data) == data, "connection {i}");
                    data.len() as u64
                })
            })
            .collect();
        for w in workers {
            total += w.join().unwrap();
        }
    });
    settle(|| fwd.stats().active == 0);
    let stats = fwd.stats();
    assert_eq!(stats.connections, 50, "{stats:?}");
    assert_eq!(stats.failed, 0, "{stats:?}");
    assert_eq!(stats.active, 0, "{stats:?}");
    assert_eq!(stats.bytes_to_guest, total, "{stats:?}");
    assert_eq!(stats.bytes_from_guest, total, "{stats:?}");
}

#[test]
fn a_hundred_megabytes_through_one_connection_while_commands_run() {
    let sshd = Sshd::start();
    let service = echo_service();
    let c = support::client(&sshd);
    let fwd = c
        .forward_local(any_port(), "127.0.0.1", service, ForwardOptions::default())
        .unwrap();
    let addr = tcp_addr(fwd.addr());
    let data = pattern(100 << 20, 7);
    let runs = thread::scope(|s| {
        let runner = s.spawn(|| {
            let mut n = 0;
            for i in 0..30 {
                let out = c.run(&format!("echo {i}"), &raw(20)).unwrap();
                assert_eq!(out.stdout, format!("{i}\n").as_bytes());
                n += 1;
            }
            n
        });
        let back = echo_via(addr, &data);
        assert!(
            back.len() == data.len() && back == data,
            "{} of {} bytes",
            back.len(),
            data.len()
        );
        runner.join().unwrap()
    });
    assert_eq!(runs, 30);
    assert_eq!(fwd.stats().bytes_from_guest, 100 << 20);
}

#[test]
fn a_unix_socket_listener_and_stop() {
    let sshd = Sshd::start();
    let service = echo_service();
    let c = support::client(&sshd);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fwd.sock");
    let mut fwd = c
        .forward_local(
            ForwardAddr::Unix(path.clone()),
            "127.0.0.1",
            service,
            ForwardOptions::default(),
        )
        .unwrap();
    let mut conn = UnixStream::connect(&path).unwrap();
    conn.write_all(b"over unix").unwrap();
    conn.shutdown(Shutdown::Write).unwrap();
    let mut back = String::new();
    conn.read_to_string(&mut back).unwrap();
    assert_eq!(back, "over unix");
    // An existing path is not taken over.
    let err = c
        .forward_local(
            ForwardAddr::Unix(path.clone()),
            "127.0.0.1",
            service,
            ForwardOptions::default(),
        )
        .err()
        .unwrap();
    assert_eq!(err.kind(), smol_ssh::ErrorKind::InvalidArgument, "{err}");
    let started = Instant::now();
    fwd.stop();
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(!path.exists(), "stop removes the socket it made");
    assert!(UnixStream::connect(&path).is_err());
    fwd.stop();
}

#[test]
fn a_refused_guest_port_closes_that_connection_only() {
    let sshd = Sshd::start();
    let c = support::client(&sshd);
    let fwd = c
        .forward_local(any_port(), "127.0.0.1", 1, ForwardOptions::default())
        .unwrap();
    let mut conn = TcpStream::connect(tcp_addr(fwd.addr())).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut buf = Vec::new();
    assert_eq!(conn.read_to_end(&mut buf).unwrap_or(0), 0);
    settle(|| fwd.stats().failed == 1);
    assert_eq!(fwd.stats().failed, 1);
    assert_eq!(c.run("echo fine", &raw(10)).unwrap().stdout, b"fine\n");
    for (host, port) in [("", 80), ("127.0.0.1", 0)] {
        assert!(c
            .forward_local(any_port(), host, port, ForwardOptions::default())
            .is_err());
    }
}

#[test]
fn concurrency_is_bounded_and_the_rest_wait() {
    let sshd = Sshd::start();
    let service = echo_service();
    let c = support::client(&sshd);
    let options = ForwardOptions {
        max_connections: 2,
        ..ForwardOptions::default()
    };
    let fwd = c
        .forward_local(any_port(), "127.0.0.1", service, options)
        .unwrap();
    let addr = tcp_addr(fwd.addr());
    let mut held: Vec<TcpStream> = (0..3).map(|_| TcpStream::connect(addr).unwrap()).collect();
    for conn in &mut held {
        conn.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
    }
    // The first two are carried; the third waits in the backlog.
    for conn in &mut held[..2] {
        conn.write_all(b"x").unwrap();
        let mut one = [0u8; 1];
        conn.read_exact(&mut one).unwrap();
    }
    thread::sleep(Duration::from_millis(300));
    assert_eq!(fwd.stats().connections, 2);
    assert_eq!(fwd.stats().active, 2);
    drop(held.remove(0));
    let mut third = held.pop().unwrap();
    third.write_all(b"y").unwrap();
    let mut one = [0u8; 1];
    third.read_exact(&mut one).unwrap();
    assert_eq!(&one, b"y");
    assert!(fwd.stats().active <= 2);
}

#[test]
fn freeing_the_client_stops_its_forwards() {
    let sshd = Sshd::start();
    let service = echo_service();
    let c = support::client(&sshd);
    let fwd = c
        .forward_local(any_port(), "127.0.0.1", service, ForwardOptions::default())
        .unwrap();
    let addr = tcp_addr(fwd.addr());
    assert_eq!(echo_via(addr, b"before"), b"before");
    drop(c);
    thread::sleep(Duration::from_millis(300));
    // The listener no longer carries anything: a connection is refused or closed at once.
    let started = Instant::now();
    if let Ok(mut conn) = TcpStream::connect(addr) {
        conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let _ = conn.write_all(b"after");
        let mut buf = Vec::new();
        assert_eq!(conn.read_to_end(&mut buf).unwrap_or(0), 0);
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "not left hanging"
    );
    drop(fwd);
}
