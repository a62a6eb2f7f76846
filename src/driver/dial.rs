//! Opening the byte stream to the guest's sshd over the configured transport, without
//! blocking: every wait is the connect attempt's, so close, free and deadlines are heard.

use std::io::{Read, Write};
use std::net::ToSocketAddrs;
use std::os::fd::OwnedFd;
use std::os::unix::io::AsRawFd;
use std::os::unix::net::UnixStream;
use std::path::Path;

use super::connect::Attempt;
use super::poll::{self, Interest};
use crate::config::Config;
use crate::error::{Error, ErrorKind, Result};
use crate::transport::{unbracket, Transport};

/// The longest answer line a hybrid-vsock VMM may send (`OK 1073741824\n` is 14 bytes).
const MAX_ANSWER: usize = 64;

fn failed(what: String) -> Error {
    Error::new(ErrorKind::ConnectFailed, what)
}

/// A connected, non-blocking stream to the guest's sshd.
pub(crate) fn dial(config: &Config, attempt: &Attempt<'_>, server: &str) -> Result<OwnedFd> {
    match &config.transport {
        Transport::Tcp => tcp_connect(server, config, attempt).map(OwnedFd::from),
        Transport::Unix(path) => unix(path).map(OwnedFd::from),
        Transport::HybridVsock { path, port } => {
            let stream = unix(path)?;
            hybrid_handshake(&stream, path, *port, attempt, server)?;
            Ok(OwnedFd::from(stream))
        }
        Transport::Vsock { cid, port } => vsock(*cid, *port, attempt, server),
        Transport::Fd(source) => {
            let fd = source
                .open()
                .map_err(|e| failed(format!("the caller's descriptor for {server}: {e}")))?;
            poll::set_nonblocking(fd.as_raw_fd())
                .map_err(|e| failed(format!("the caller's descriptor for {server}: {e}")))?;
            Ok(fd)
        }
    }
}

/// `AF_VSOCK` to (cid, port), without blocking.
fn vsock(cid: u32, port: u32, attempt: &Attempt<'_>, server: &str) -> Result<OwnedFd> {
    if cid == libc::VMADDR_CID_HOST {
        return Err(Error::invalid(
            "vsock CID 2 is the host itself, not a guest",
        ));
    }
    let fd = poll::start_vsock_connect(cid, port)
        .map_err(|e| failed(format!("vsock connect to {cid}:{port} failed: {e}")))?;
    let writable = Interest {
        write: true,
        ..Interest::default()
    };
    while !attempt.wait(fd.as_raw_fd(), writable, server, "vsock connect")? {}
    match poll::take_error(fd.as_raw_fd()) {
        None => Ok(fd),
        Some(e) => Err(failed(format!("vsock connect to {cid}:{port} failed: {e}"))),
    }
}

fn unix(path: &Path) -> Result<UnixStream> {
    // A local connect completes (or fails) at once.
    let stream = UnixStream::connect(path).map_err(|e| {
        failed(format!(
            "cannot connect to the unix socket {}: {e}",
            path.display()
        ))
    })?;
    stream
        .set_nonblocking(true)
        .map_err(|e| failed(format!("unix socket {}: {e}", path.display())))?;
    Ok(stream)
}

/// `CONNECT <port>\n`, then one answer line: `OK <n>` lets the stream through; anything else
/// is a refusal. Read a byte at a time: the guest's SSH banner follows the line at once.
fn hybrid_handshake(
    stream: &UnixStream,
    path: &Path,
    port: u32,
    attempt: &Attempt<'_>,
    server: &str,
) -> Result<()> {
    let fd = stream.as_raw_fd();
    let stage = "the vsock CONNECT handshake";
    let request = format!("CONNECT {port}\n");
    let mut sent = 0;
    while sent < request.len() {
        match (&*stream).write(&request.as_bytes()[sent..]) {
            Ok(n) => sent += n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                let writable = Interest {
                    write: true,
                    ..Interest::default()
                };
                attempt.wait(fd, writable, server, stage)?;
            }
            Err(e) => return Err(failed(format!("{}: sending CONNECT: {e}", path.display()))),
        }
    }
    let mut line = Vec::new();
    let readable = Interest {
        read: true,
        ..Interest::default()
    };
    loop {
        let mut byte = [0u8; 1];
        match (&*stream).read(&mut byte) {
            Ok(0) => {
                return Err(failed(format!(
                    "{} closed the connection instead of answering CONNECT {port} (no guest \
                     listening on vsock port {port}?)",
                    path.display()
                )))
            }
            Ok(_) if byte[0] == b'\n' => break,
            Ok(_) if line.len() >= MAX_ANSWER => {
                return Err(failed(format!(
                    "{} answered CONNECT {port} with something that is not a line: {:?}...",
                    path.display(),
                    String::from_utf8_lossy(&line)
                )))
            }
            Ok(_) => line.push(byte[0]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                attempt.wait(fd, readable, server, stage)?;
            }
            Err(e) => {
                return Err(failed(format!(
                    "{}: reading the answer: {e}",
                    path.display()
                )))
            }
        }
    }
    let answer = String::from_utf8_lossy(&line);
    let answer = answer.trim_end_matches('\r');
    match answer.strip_prefix("OK ") {
        Some(n) if n.trim().parse::<u64>().is_ok() => Ok(()),
        _ => Err(failed(format!(
            "{} refused CONNECT {port}: {answer:?}",
            path.display()
        ))),
    }
}

/// Connects to the first address of `config.host` that answers, without blocking: the wait
/// in between is the attempt's, so close, free and the waiting calls' deadlines are heard.
fn tcp_connect(
    server: &str,
    config: &Config,
    attempt: &Attempt<'_>,
) -> Result<std::net::TcpStream> {
    let failed = |what: String| Error::new(ErrorKind::ConnectFailed, what);
    let addrs: Vec<_> = (unbracket(&config.host), config.port)
        .to_socket_addrs()
        .map_err(|e| failed(format!("cannot resolve {}: {e}", config.host)))?
        .collect();
    let mut last = failed(format!("{} resolved to no address", config.host));
    let writable = Interest {
        write: true,
        ..Interest::default()
    };
    for addr in addrs {
        let tcp = match poll::start_connect(&addr) {
            Ok(tcp) => tcp,
            Err(e) => {
                last = failed(format!("TCP connect to {addr} failed: {e}"));
                continue;
            }
        };
        while !attempt.wait(tcp.as_raw_fd(), writable, server, "TCP connect")? {}
        match tcp.take_error() {
            Ok(None) => {
                tcp.set_nodelay(true)
                    .map_err(|e| failed(format!("TCP_NODELAY on {server}: {e}")))?;
                return Ok(tcp);
            }
            Ok(Some(e)) | Err(e) => last = failed(format!("TCP connect to {addr} failed: {e}")),
        }
    }
    Err(last)
}
