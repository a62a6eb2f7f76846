//! `wait_for_ssh`: wait for a booting guest's sshd, then connect.

use std::io::Read;
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use crate::client::Client;
use crate::error::{Error, ErrorKind, Result};
use crate::log::{self, LogLevel};

/// The reference's first sleep between misses.
const FIRST_BACKOFF: Duration = Duration::from_millis(20);
/// How often a wait looks whether its client is being freed.
const SLICE: Duration = Duration::from_millis(20);
/// The reference's bound on one probe.
const PROBE_TIMEOUT: Duration = Duration::from_millis(500);

/// The reference's default interval (the backoff cap).
pub const DEFAULT_WAIT_INTERVAL: Duration = Duration::from_millis(100);
/// The reference's default timeout.
pub const DEFAULT_WAIT_TIMEOUT: Duration = Duration::from_secs(60);

impl Client {
    /// The reference `wait_for_ssh`: probes the port until it answers with an SSH banner, then
    /// retries a full connect (handshake and auth) until one succeeds, with backoff from
    /// 20 ms growing ×1.5 up to `interval`, all within `timeout`. The connection stays open.
    ///
    /// Failures that waiting cannot cure (a rejected host key, invalid options) return at once.
    pub fn wait_for_ssh(&self, timeout: Duration, interval: Duration) -> Result<()> {
        wait_for_ssh(self, timeout, interval)
    }
}

fn wait_for_ssh(client: &Client, timeout: Duration, interval: Duration) -> Result<()> {
    if timeout.is_zero() {
        return Err(Error::invalid("wait timeout must be greater than 0"));
    }
    if interval.is_zero() {
        return Err(Error::invalid("wait interval must be greater than 0"));
    }
    let start = Instant::now();
    let deadline = crate::driver::deadline_after(start, timeout);
    let config = client.config();
    let server = format!("{}:{}", config.host, config.port);
    // A client being freed (from another thread, through the C ABI) ends the wait within a
    // probe's connect (at most 0.5 s) instead of at its deadline.
    let stop = || client.shutting_down();
    let freed = || {
        Error::new(
            ErrorKind::Disconnected,
            "the client was freed during wait_for_ssh",
        )
    };
    let mut backoff = Backoff::new(interval);
    let say = |level, message: &dyn Fn() -> String| log::log(&config.log, level, message);

    let mut probes = 1u32;
    while !probe(config, deadline, &stop) {
        say(LogLevel::Debug, &|| {
            format!("wait_for_ssh: no SSH banner from {server} yet (probe {probes})")
        });
        probes += 1;
        if stop() {
            return Err(freed());
        }
        if !backoff.sleep(deadline, &stop) {
            return Err(Error::new(
                ErrorKind::Timeout,
                format!(
                    "port never opened: {server} did not answer with an SSH banner within {:.1} s",
                    timeout.as_secs_f64()
                ),
            ));
        }
    }

    say(LogLevel::Info, &|| {
        format!(
            "wait_for_ssh: {server} sent an SSH banner after {} ms (probe {probes})",
            start.elapsed().as_millis()
        )
    });
    let mut backoff = Backoff::new(interval);
    let mut attempts = 0u32;
    loop {
        attempts += 1;
        let last = match client.connect_once(deadline) {
            Ok(()) => return Ok(()),
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::HostKeyRejected | ErrorKind::InvalidArgument
                ) =>
            {
                return Err(e)
            }
            Err(e) => e,
        };
        if stop() {
            return Err(freed());
        }
        if !backoff.sleep(deadline, &stop) {
            return Err(Error::new(
                ErrorKind::Timeout,
                format!(
                    "{server} answered but no connect succeeded within {:.1} s ({attempts} \
                     attempt{}; a log function shows each); last error: {last}",
                    timeout.as_secs_f64(),
                    if attempts == 1 { "" } else { "s" }
                ),
            ));
        }
    }
}

/// Most bytes of lines before the version string a probe reads before it gives up.
const PROBE_MAX_BYTES: usize = 8 * 1024;

/// True when the port accepts a TCP connection and sends a line beginning with `SSH-`. Lines
/// before it are skipped (RFC 4253 §4.2 allows a server to send other lines first).
fn probe(config: &crate::Config, deadline: Instant, stop: &dyn Fn() -> bool) -> bool {
    let left = deadline.saturating_duration_since(Instant::now());
    let limit = PROBE_TIMEOUT.min(left);
    if limit.is_zero() {
        return false;
    }
    let until = Instant::now() + limit;
    // A vsock or a caller's descriptor: no separate probe (a caller's descriptors are each
    // for one connect); the connect attempts below, with their backoff, do the waiting.
    if matches!(
        config.transport,
        crate::Transport::Vsock { .. } | crate::Transport::Fd(_)
    ) {
        return true;
    }
    let Some(mut tcp) = open_probe(config, limit) else {
        return false;
    };
    let mut seen = Vec::new();
    let mut buf = [0u8; 512];
    while seen.len() < PROBE_MAX_BYTES {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() || stop() || tcp.set_read_timeout(Some(left.min(SLICE))).is_err() {
            return false;
        }
        match tcp.read(&mut buf) {
            Ok(0) => return false,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                continue
            }
            Err(_) => return false,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
        if has_version_line(&seen) {
            return true;
        }
    }
    false
}

/// A stream a probe reads from: over the client's own transport.
enum ProbeStream {
    Tcp(TcpStream),
    Unix(std::os::unix::net::UnixStream),
}

impl ProbeStream {
    fn set_read_timeout(&self, t: Option<Duration>) -> std::io::Result<()> {
        match self {
            ProbeStream::Tcp(s) => s.set_read_timeout(t),
            ProbeStream::Unix(s) => s.set_read_timeout(t),
        }
    }

    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            ProbeStream::Tcp(s) => s.read(buf),
            ProbeStream::Unix(s) => s.read(buf),
        }
    }
}

/// Opens the probe's stream (for hybrid vsock, through its CONNECT handshake).
fn open_probe(config: &crate::Config, limit: Duration) -> Option<ProbeStream> {
    use crate::transport::{unbracket, Transport};
    use std::os::unix::net::UnixStream;
    match &config.transport {
        Transport::Tcp => {
            let addr = (unbracket(&config.host), config.port)
                .to_socket_addrs()
                .ok()?
                .next()?;
            TcpStream::connect_timeout(&addr, limit)
                .ok()
                .map(ProbeStream::Tcp)
        }
        Transport::Unix(path) => UnixStream::connect(path).ok().map(ProbeStream::Unix),
        Transport::HybridVsock { path, port } => {
            let mut s = UnixStream::connect(path).ok()?;
            s.set_read_timeout(Some(limit)).ok()?;
            std::io::Write::write_all(&mut s, format!("CONNECT {port}\n").as_bytes()).ok()?;
            // The answer line, a byte at a time (the banner follows it).
            let mut line = Vec::new();
            let mut byte = [0u8; 1];
            while line.len() < 64 {
                if s.read(&mut byte).ok()? == 0 {
                    return None;
                }
                if byte[0] == b'\n' {
                    break;
                }
                line.push(byte[0]);
            }
            line.starts_with(b"OK ").then_some(ProbeStream::Unix(s))
        }
        Transport::Vsock { .. } | Transport::Fd(_) => None,
    }
}

/// Whether `bytes` hold a line that begins with `SSH-` (the last line may be incomplete).
fn has_version_line(bytes: &[u8]) -> bool {
    bytes
        .split(|b| *b == b'\n')
        .any(|line| line.starts_with(b"SSH-"))
}

/// Sleeps of 20 ms growing ×1.5, capped at the interval, never past the deadline.
struct Backoff {
    next: Duration,
    cap: Duration,
}

impl Backoff {
    fn new(cap: Duration) -> Self {
        Backoff {
            next: FIRST_BACKOFF.min(cap),
            cap,
        }
    }

    /// Sleeps (in slices, watching `stop`); false (without sleeping) when the deadline has
    /// passed.
    fn sleep(&mut self, deadline: Instant, stop: &dyn Fn() -> bool) -> bool {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        let until = Instant::now() + self.next.min(left);
        while !stop() {
            let now = Instant::now();
            if now >= until {
                break;
            }
            std::thread::sleep((until - now).min(SLICE));
        }
        self.next = self.next.mul_f64(1.5).min(self.cap);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::has_version_line;

    #[test]
    fn version_line_after_other_lines() {
        assert!(has_version_line(b"SSH-2.0-OpenSSH_9.2"));
        assert!(has_version_line(b"welcome\r\nplease wait\r\nSSH-2.0-x\r\n"));
        assert!(has_version_line(b"hello\r\nSSH-"));
        assert!(!has_version_line(b"hello\r\nSSH"));
        assert!(!has_version_line(b"not SSH-2.0 at the start\r\n"));
    }
}
