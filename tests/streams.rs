//! Streams through the guest (`Client::open_stream`, a `direct-tcpip` channel) to a real
//! service on the guest's loopback, beside commands on the same connection.

mod support;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener};
use std::thread;
use std::time::Duration;

use smol_ssh::ErrorKind;
use support::echo::{echo_service, pattern};
use support::{raw, Sshd};

/// Writes `data` on one thread while reading everything back; returns what came back.
fn echo_through(stream: std::os::unix::net::UnixStream, data: Vec<u8>) -> Vec<u8> {
    let mut writer = stream.try_clone().unwrap();
    let sender = thread::spawn(move || {
        writer.write_all(&data).unwrap();
        writer.shutdown(Shutdown::Write).unwrap();
    });
    let mut back = Vec::new();
    let mut reader = stream;
    reader.read_to_end(&mut back).unwrap();
    sender.join().unwrap();
    back
}

#[test]
fn a_stream_reaches_a_guest_service_byte_exact_beside_commands() {
    let sshd = Sshd::start();
    let port = echo_service();
    let c = support::client(&sshd);
    let data = pattern(20 << 20, 0);
    let stream = c
        .open_stream("127.0.0.1", port, Duration::from_secs(10))
        .unwrap();
    let runs = thread::scope(|s| {
        let runner = s.spawn(|| {
            (0..20)
                .map(|i| c.run(&format!("echo {i}"), &raw(10)).unwrap().stdout)
                .collect::<Vec<_>>()
        });
        let back = echo_through(stream, data.clone());
        assert!(
            back == data,
            "{} bytes came back of {}",
            back.len(),
            data.len()
        );
        runner.join().unwrap()
    });
    assert_eq!(runs[19], b"19\n");
}

#[test]
fn a_refused_stream_is_its_own_failure_and_the_connection_goes_on() {
    let sshd = Sshd::start();
    let c = support::client(&sshd);
    // Nothing listens on port 1 of the guest.
    let err = c
        .open_stream("127.0.0.1", 1, Duration::from_secs(10))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ChannelFailed, "{err}");
    assert!(err.message().contains("127.0.0.1:1"), "{err}");
    assert_eq!(c.run("echo still", &raw(10)).unwrap().stdout, b"still\n");
    let long = "h".repeat(40_000);
    for (host, port) in [
        ("", 80),
        ("127.0.0.1", 0),
        ("a\0b", 80),
        (long.as_str(), 80),
    ] {
        let err = c
            .open_stream(host, port, Duration::from_secs(10))
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
    }
}

#[test]
fn fifty_streams_at_once() {
    let sshd = Sshd::start();
    let port = echo_service();
    let c = support::client(&sshd);
    thread::scope(|s| {
        let workers: Vec<_> = (0..50)
            .map(|i| {
                let c = &c;
                s.spawn(move || {
                    let stream = c
                        .open_stream("127.0.0.1", port, Duration::from_secs(20))
                        .unwrap();
                    let data = pattern(64 * 1024 + i * 1000, i as u32);
                    assert!(echo_through(stream, data.clone()) == data, "stream {i}");
                })
            })
            .collect();
        for w in workers {
            w.join().unwrap();
        }
    });
    assert!(c.is_connected());
}

#[test]
fn closing_the_client_ends_its_streams() {
    let sshd = Sshd::start();
    let port = echo_service();
    let c = support::client(&sshd);
    let mut stream = c
        .open_stream("127.0.0.1", port, Duration::from_secs(10))
        .unwrap();
    stream.write_all(b"ping").unwrap();
    let mut buf = [0u8; 4];
    stream.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"ping");
    c.close();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut rest = Vec::new();
    assert_eq!(stream.read_to_end(&mut rest).unwrap(), 0, "EOF after close");
}

#[test]
fn a_jump_through_a_second_sshd() {
    let bastion = Sshd::start();
    let target = Sshd::start();
    let jump = std::sync::Arc::new(support::client(&bastion));
    let before = target.connections();
    let mut cfg = support::config(&target);
    cfg.transport = smol_ssh::Transport::jump(jump.clone(), "127.0.0.1", target.port);
    let c = smol_ssh::Client::new(cfg).unwrap();
    assert_eq!(c.run("echo jumped", &raw(10)).unwrap().stdout, b"jumped\n");
    // The jump client's own commands go on beside; a reconnect jumps again.
    assert_eq!(
        jump.run("echo bastion", &raw(10)).unwrap().stdout,
        b"bastion\n"
    );
    c.close();
    assert_eq!(c.run("echo again", &raw(10)).unwrap().stdout, b"again\n");
    assert_eq!(target.connections() - before, 2);
    // Nothing listens there: the connect fails, saying where.
    let mut cfg = support::config(&target);
    cfg.transport = smol_ssh::Transport::jump(jump, "127.0.0.1", 1);
    let err = smol_ssh::Client::new(cfg)
        .unwrap()
        .run("true", &raw(10))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectFailed, "{err}");
    assert!(err.message().contains("jump host"), "{err}");
}

#[test]
fn an_open_the_guest_never_answers_does_not_hold_runs_up() {
    // sshd answers a direct-tcpip open only once its own connect is done. A listener whose
    // accept queue is full makes that connect hang (the SYNs are dropped), on loopback.
    let full = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = full.local_addr().unwrap().port();
    let mut fillers = Vec::new();
    while fillers.len() < 2000 {
        match std::net::TcpStream::connect_timeout(
            &full.local_addr().unwrap(),
            Duration::from_millis(200),
        ) {
            Ok(s) => fillers.push(s),
            Err(_) => break, // the queue is full
        }
    }
    let sshd = Sshd::start();
    let c = support::client(&sshd);
    assert_eq!(c.run("echo up", &raw(10)).unwrap().stdout, b"up\n");
    let err = c
        .open_stream("127.0.0.1", port, Duration::from_secs(2))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    // libssh2 holds that open; the connection is replaced so that runs go on.
    assert_eq!(c.run("echo after", &raw(15)).unwrap().stdout, b"after\n");
    drop(fillers);
}
