//! Local port forwarding (`ssh -L`): a listener on the host (TCP or a Unix socket) whose every
//! accepted connection becomes a stream to host:port through the guest (a `direct-tcpip`
//! channel), on the same connection that runs commands.

use std::ffi::CString;
use std::net::{SocketAddr, TcpListener};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::client::Client;
use crate::driver::{self, Counters, DriverSubmitter, Job, Request, TunnelJob};
use crate::error::{Error, ErrorKind, Result};

/// Where a forward listens on the host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ForwardAddr {
    /// A TCP address; port 0 picks a free one (see [`Forward::addr`]).
    Tcp(SocketAddr),
    /// A Unix socket path, created by the forward (it must not exist) and removed by `stop`.
    Unix(PathBuf),
}

/// Options of a forward.
#[derive(Clone, Debug)]
pub struct ForwardOptions {
    /// Most connections carried at once; more wait in the listen backlog until one ends.
    /// Default 64.
    pub max_connections: usize,
    /// How long each connection's stream may take to open through the guest (connecting the
    /// client first if needed); past it the connection is closed and counted as failed.
    /// Default 10 s.
    pub open_timeout: Duration,
}

impl Default for ForwardOptions {
    fn default() -> Self {
        ForwardOptions {
            max_connections: 64,
            open_timeout: Duration::from_secs(10),
        }
    }
}

/// What a forward has carried so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ForwardStats {
    /// Connections accepted.
    pub connections: u64,
    /// Streams open now.
    pub active: u64,
    /// Connections whose stream the guest refused or that did not open in time, and streams
    /// cut by a lost connection.
    pub failed: u64,
    pub bytes_to_guest: u64,
    pub bytes_from_guest: u64,
}

/// A running forward. Stopped by [`Forward::stop`], when dropped, or when its client is
/// freed. Stopping stops accepting; streams already open go on until either side ends them
/// (as OpenSSH's `-O cancel`), or until the client's connection goes.
pub struct Forward {
    addr: ForwardAddr,
    counters: Arc<Counters>,
    accepted: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    /// Shared with the thread, so that the descriptor `stop` shuts down is still this one.
    listener: Arc<Listener>,
    thread: Option<JoinHandle<()>>,
}

/// How often the listener looks at its stop flag and its client while idle.
const IDLE_LOOK: Duration = Duration::from_millis(100);

enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener),
}

impl Listener {
    fn fd(&self) -> std::os::unix::io::RawFd {
        match self {
            Listener::Tcp(l) => l.as_raw_fd(),
            Listener::Unix(l) => l.as_raw_fd(),
        }
    }

    /// A waiting connection, if any (the listener is non-blocking).
    fn accept(&self) -> std::io::Result<OwnedFd> {
        match self {
            Listener::Tcp(l) => {
                let (conn, _) = l.accept()?;
                let _ = conn.set_nodelay(true);
                Ok(conn.into())
            }
            Listener::Unix(l) => Ok(l.accept()?.0.into()),
        }
    }
}

impl Client {
    /// Listens on `listen` and carries each accepted connection to `host`:`port` as the guest
    /// sees them (`"127.0.0.1"` is the guest itself), like `ssh -L`. The listener is bound
    /// before this returns (so a bad or busy address is an error here); the client connects
    /// when the first connection comes, if it is not connected already.
    pub fn forward_local(
        &self,
        listen: ForwardAddr,
        host: &str,
        port: u16,
        options: ForwardOptions,
    ) -> Result<Forward> {
        let host = crate::stream::guest_target(host, port)?;
        if options.max_connections == 0 || options.open_timeout.is_zero() {
            return Err(Error::invalid(
                "max_connections and open_timeout must be positive",
            ));
        }
        let bind_failed = |e: std::io::Error| {
            Error::new(
                ErrorKind::InvalidArgument,
                format!("cannot listen on {listen:?}: {e}"),
            )
        };
        let (listener, addr) = match &listen {
            ForwardAddr::Tcp(a) => {
                let l = TcpListener::bind(a).map_err(bind_failed)?;
                let bound = l.local_addr().map_err(bind_failed)?;
                (Listener::Tcp(l), ForwardAddr::Tcp(bound))
            }
            ForwardAddr::Unix(p) => {
                let l = UnixListener::bind(p).map_err(bind_failed)?;
                (Listener::Unix(l), listen.clone())
            }
        };
        driver::set_nonblocking(listener.fd()).map_err(bind_failed)?;
        let submitter = self.submitter()?;
        let counters = Arc::new(Counters::default());
        let accepted = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let listener = Arc::new(listener);
        let worker = Worker {
            listener: Arc::clone(&listener),
            submitter,
            host,
            port,
            options,
            counters: Arc::clone(&counters),
            accepted: Arc::clone(&accepted),
            stop: Arc::clone(&stop),
        };
        let thread = std::thread::Builder::new()
            .name("smol-ssh-forward".into())
            .spawn(move || worker.run())
            .map_err(|e| {
                Error::new(
                    ErrorKind::InvalidArgument,
                    format!("cannot start the forward's thread: {e}"),
                )
            })?;
        Ok(Forward {
            addr,
            counters,
            accepted,
            stop,
            listener,
            thread: Some(thread),
        })
    }
}

impl Forward {
    /// Where it listens (for TCP port 0, the port picked).
    pub fn addr(&self) -> &ForwardAddr {
        &self.addr
    }

    pub fn stats(&self) -> ForwardStats {
        let c = &self.counters;
        ForwardStats {
            connections: self.accepted.load(Ordering::Relaxed),
            active: c.open.load(Ordering::Relaxed),
            failed: c.failed.load(Ordering::Relaxed),
            bytes_to_guest: c.to_guest.load(Ordering::Relaxed),
            bytes_from_guest: c.from_guest.load(Ordering::Relaxed),
        }
    }

    /// Stops accepting (promptly) and closes the listener, removing a Unix socket it made.
    /// Idempotent.
    pub fn stop(&mut self) {
        let Some(thread) = self.thread.take() else {
            return;
        };
        self.stop.store(true, Ordering::Release);
        // Wakes the listener's poll at once (the thread still owns the descriptor).
        driver::shut_down(self.listener.fd());
        let _ = thread.join();
        if let ForwardAddr::Unix(path) = &self.addr {
            let _ = std::fs::remove_file(path);
        }
    }
}

impl Drop for Forward {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The listener's thread.
struct Worker {
    listener: Arc<Listener>,
    submitter: DriverSubmitter,
    host: CString,
    port: u16,
    options: ForwardOptions,
    counters: Arc<Counters>,
    accepted: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl Worker {
    fn run(self) {
        let fd = self.listener.fd();
        while !self.stop.load(Ordering::Acquire) && !self.submitter.closed() {
            let in_flight =
                self.accepted.load(Ordering::Relaxed) - self.counters.ended.load(Ordering::Relaxed);
            if in_flight >= self.options.max_connections as u64 {
                // Connections wait in the backlog until a stream ends.
                std::thread::sleep(Duration::from_millis(5));
                continue;
            }
            if !driver::readable_within(fd, IDLE_LOOK) {
                continue;
            }
            let conn = match self.listener.accept() {
                Ok(conn) => conn,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                // Out of descriptors, or the listener was shut down: look again shortly.
                Err(_) => {
                    std::thread::sleep(Duration::from_millis(20));
                    continue;
                }
            };
            self.accepted.fetch_add(1, Ordering::Relaxed);
            if driver::set_nonblocking(conn.as_raw_fd()).is_err() {
                self.counters.failed.fetch_add(1, Ordering::Relaxed);
                self.counters.ended.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            let now = Instant::now();
            let job = Job::new(now, driver::deadline_after(now, self.options.open_timeout));
            let tunnel = TunnelJob::new(
                self.host.clone(),
                self.port,
                conn,
                Arc::clone(&self.counters),
            );
            // Refused once the client is freed; the request, dropped, counts itself.
            if self.submitter.submit(Request::Tunnel(job, tunnel)).is_err() {
                break;
            }
        }
        // No more connections are taken: waiting and new ones are refused, not left hanging.
        driver::shut_down(fd);
    }
}
