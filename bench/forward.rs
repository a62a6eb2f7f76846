//! Forward throughput: 100 MB from a service on the guest's loopback read through a smol-ssh
//! forward, beside the same connection's command stdout (`head -c`), and through `ssh -N -L`
//! on the same sshd (MB/s, one sample per round each); and warm `true` on the same client
//! alone and while its forward moves data at full speed.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use smol_ssh::{Client, ForwardAddr, ForwardOptions, RunOptions, ShellMode};

use super::support::{self, Sshd};

const BYTES: usize = 100 * 1000 * 1000;

/// A service that sends `BYTES` to each connection, then closes it.
fn source_service() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        let chunk = vec![0x5au8; 1 << 20];
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { break };
            let chunk = chunk.clone();
            thread::spawn(move || {
                let mut left = BYTES;
                while left > 0 {
                    let n = left.min(chunk.len());
                    if conn.write_all(&chunk[..n]).is_err() {
                        return;
                    }
                    left -= n;
                }
            });
        }
    });
    port
}

/// MB/s reading everything from `addr`.
fn read_all_from(addr: SocketAddr) -> f64 {
    let t = Instant::now();
    let mut conn = TcpStream::connect(addr).unwrap();
    let mut buf = vec![0u8; 1 << 20];
    let mut got = 0;
    loop {
        match conn.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) => panic!("forward read: {e}"),
        }
    }
    assert_eq!(got, BYTES, "the forward carried {got} bytes");
    BYTES as f64 / 1e6 / t.elapsed().as_secs_f64()
}

/// Throughput per client, and the latency of commands beside a forward.
pub fn measure(sshd: &Sshd, rounds: usize) -> Measured {
    let service = source_service();
    let mut cfg = support::config(sshd);
    cfg.max_output_bytes = 0;
    let client = Client::new(cfg).unwrap();
    let fwd = client
        .forward_local(
            ForwardAddr::Tcp("127.0.0.1:0".parse().unwrap()),
            "127.0.0.1",
            service,
            ForwardOptions::default(),
        )
        .unwrap();
    let ForwardAddr::Tcp(smol_addr) = *fwd.addr() else {
        unreachable!()
    };
    let raw = RunOptions {
        mode: ShellMode::Raw,
        timeout: Duration::from_secs(120),
        ..RunOptions::default()
    };
    let ssh = SshForward::start(sshd, service);
    let mut stdout = Vec::new();
    let mut forward = Vec::new();
    let mut openssh = Vec::new();
    let (mut idle, mut beside) = (Vec::new(), Vec::new());
    let warm_true = |samples: &mut Vec<f64>, n: usize| {
        for _ in 0..n {
            let t = Instant::now();
            client.run("true", &raw).unwrap();
            samples.push(t.elapsed().as_secs_f64() * 1e3);
        }
    };
    for _ in 0..rounds {
        // Warm `true` alone, then while the forward moves 100 MB at full speed.
        warm_true(&mut idle, 50);
        thread::scope(|s| {
            let reader = s.spawn(|| read_all_from(smol_addr));
            thread::sleep(Duration::from_millis(20));
            while !reader.is_finished() {
                warm_true(&mut beside, 1);
            }
            forward.push(reader.join().unwrap());
        });
        let t = Instant::now();
        let out = client
            .run(&format!("head -c {BYTES} /dev/zero"), &raw)
            .unwrap();
        assert_eq!(out.stdout.len(), BYTES);
        stdout.push(BYTES as f64 / 1e6 / t.elapsed().as_secs_f64());
        openssh.push(read_all_from(ssh.addr));
    }
    Measured {
        rates: vec![
            ("smol-ssh command stdout", stdout),
            ("smol-ssh forward (while commands run)", forward),
            ("ssh -N -L", openssh),
        ],
        warm_idle: idle,
        warm_beside: beside,
    }
}

/// MB/s per client, and warm `true` ms alone and beside a forward at full speed.
pub struct Measured {
    pub rates: Vec<(&'static str, Vec<f64>)>,
    pub warm_idle: Vec<f64>,
    pub warm_beside: Vec<f64>,
}

/// `ssh -N -L` to the service, ended by its PID.
struct SshForward {
    child: std::process::Child,
    addr: SocketAddr,
}

impl SshForward {
    fn start(sshd: &Sshd, service: u16) -> SshForward {
        let port = support::sshd::free_port();
        let child = Command::new("ssh")
            .args(["-N", "-o", "StrictHostKeyChecking=no"])
            .args(["-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes"])
            .args(["-o", "ExitOnForwardFailure=yes", "-o", "LogLevel=ERROR"])
            .arg("-i")
            .arg(&sshd.key)
            .args(["-p", &sshd.port.to_string()])
            .args(["-L", &format!("127.0.0.1:{port}:127.0.0.1:{service}")])
            .arg(format!("{}@127.0.0.1", sshd.user))
            .stdin(Stdio::null())
            .spawn()
            .expect("ssh (openssh-client)");
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let until = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(addr).is_err() {
            assert!(Instant::now() < until, "ssh -L did not listen");
            thread::sleep(Duration::from_millis(20));
        }
        SshForward { child, addr }
    }
}

impl Drop for SshForward {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
