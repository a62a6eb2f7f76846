//! Test stand-ins for what a VMM exposes: a Unix socket that leads to the loopback sshd, and
//! Firecracker's hybrid vsock (`CONNECT <port>\n` → `OK <n>\n`), with misbehaving variants.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::thread;
use std::time::Duration;

/// How the socket answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// A plain Unix socket to sshd.
    Plain,
    /// Hybrid vsock that lets the stream through.
    HybridOk,
    /// Hybrid vsock that refuses (a line that is not OK).
    HybridRefuse,
    /// Hybrid vsock that answers bytes without a line end.
    HybridGarble,
    /// Hybrid vsock that never answers.
    HybridStall,
}

/// A listening socket in its own temporary directory; its threads end with the process.
pub struct Bridge {
    pub path: PathBuf,
    _dir: tempfile::TempDir,
}

impl Bridge {
    pub fn start(sshd_port: u16, mode: Mode) -> Bridge {
        let dir = tempfile::Builder::new()
            .prefix("smol-ssh-bridge-")
            .tempdir()
            .unwrap();
        let path = dir.path().join("vm.sock");
        let listener = UnixListener::bind(&path).unwrap();
        thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { break };
                thread::spawn(move || serve(conn, sshd_port, mode));
            }
        });
        Bridge { path, _dir: dir }
    }
}

fn serve(conn: UnixStream, sshd_port: u16, mode: Mode) {
    let mut conn = conn;
    if mode != Mode::Plain {
        let mut line = String::new();
        let mut reader = BufReader::new(conn.try_clone().unwrap());
        if reader.read_line(&mut line).is_err() || !line.starts_with("CONNECT ") {
            return;
        }
        match mode {
            Mode::HybridOk => conn.write_all(b"OK 1073741824\n").unwrap(),
            Mode::HybridRefuse => {
                let _ = conn.write_all(b"FAILURE no such port\n");
                return;
            }
            Mode::HybridGarble => {
                let _ = conn.write_all(&[b'x'; 200]);
                thread::sleep(Duration::from_secs(10));
                return;
            }
            Mode::HybridStall => {
                thread::sleep(Duration::from_secs(10));
                return;
            }
            Mode::Plain => unreachable!(),
        }
    }
    let Ok(tcp) = TcpStream::connect(("127.0.0.1", sshd_port)) else {
        return;
    };
    let _ = tcp.set_nodelay(true);
    pipe(conn.try_clone().unwrap(), tcp.try_clone().unwrap());
    pipe_back(tcp, conn);
}

fn pipe(mut from: UnixStream, mut to: TcpStream) {
    thread::spawn(move || {
        let mut buf = [0u8; 64 * 1024];
        while let Ok(n) = from.read(&mut buf) {
            if n == 0 || to.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = to.shutdown(std::net::Shutdown::Write);
    });
}

fn pipe_back(mut from: TcpStream, mut to: UnixStream) {
    let mut buf = [0u8; 64 * 1024];
    while let Ok(n) = from.read(&mut buf) {
        if n == 0 || to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(std::net::Shutdown::Write);
}

/// Bridges `conn` (one end of a socketpair) to the sshd on `port`, on threads of its own.
pub fn bridge_to_tcp(conn: UnixStream, sshd_port: u16) {
    thread::spawn(move || serve(conn, sshd_port, Mode::Plain));
}

/// Listens on vsock `port` (any CID) and bridges each connection to the sshd on `tcp_port`;
/// false when vsock listening is not possible here.
pub fn vsock_to_tcp(port: u32, tcp_port: u16) -> bool {
    use std::os::fd::{FromRawFd, OwnedFd};
    // SAFETY: plain socket/bind/listen on a fresh descriptor, owned right after.
    unsafe {
        let fd = libc::socket(libc::AF_VSOCK, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return false;
        }
        let listener = OwnedFd::from_raw_fd(fd);
        let mut addr: libc::sockaddr_vm = std::mem::zeroed();
        addr.svm_family = libc::AF_VSOCK as libc::sa_family_t;
        addr.svm_cid = libc::VMADDR_CID_ANY;
        addr.svm_port = port;
        let len = std::mem::size_of::<libc::sockaddr_vm>() as libc::socklen_t;
        if libc::bind(fd, (&addr as *const libc::sockaddr_vm).cast(), len) < 0
            || libc::listen(fd, 16) < 0
        {
            return false;
        }
        thread::spawn(move || {
            use std::os::unix::io::AsRawFd;
            loop {
                let conn = libc::accept(
                    listener.as_raw_fd(),
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                );
                if conn < 0 {
                    break;
                }
                // A vsock stream behaves as a stream socket: reuse the Unix bridging.
                let conn = UnixStream::from_raw_fd(conn);
                bridge_to_tcp(conn, tcp_port);
            }
        });
    }
    true
}
