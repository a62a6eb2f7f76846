//! One `direct-tcpip` channel bridged to a local stream (a socket the caller, a forward's
//! listener or a jump client holds the other side of): the guest's sshd connects to
//! host:port, and bytes flow both ways until both sides have ended, with half-closes passed
//! on (local EOF → channel EOF; channel EOF → `shutdown(SHUT_WR)`).
//!
//! Memory is bounded: at most one buffer of each direction is held here (the local side is not
//! read while the guest's window is full; the channel is not read while the local side has not
//! taken the last chunk, so libssh2 holds at most the window it offered).

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::io::RawFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::job::Job;
use super::poll::{self, Interest};
use super::raw_channel::{ChannelError, RawChannel};
use crate::error::{Error, ErrorKind};
use crate::output::Output;

/// Bytes moved per direction per step before the other tunnels and runs get their turn.
const STEP_BYTES: usize = 256 * 1024;
/// The buffer of each direction (a libssh2 packet carries at most 32 KiB).
const CHUNK: usize = 32 * 1024;

/// Counts shared with whoever asked for tunnels (a forward): what moved, what is open.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub to_guest: AtomicU64,
    pub from_guest: AtomicU64,
    /// Tunnels whose channel is open and not yet ended.
    pub open: AtomicU64,
    /// Tunnels asked for that are over (opened or not): counted when their request goes.
    pub ended: AtomicU64,
    /// Tunnels that never opened (refused, timed out, their connection failed), and open ones
    /// cut by a lost connection.
    pub failed: AtomicU64,
}

/// What a tunnel's channel carries.
pub(crate) enum Target {
    /// A `direct-tcpip` channel: the guest's sshd connects to host:port.
    Tcp { host: CString, port: u16 },
    /// A session channel running a subsystem of the guest's sshd ("sftp").
    Subsystem(&'static str),
}

/// What a caller asks: a stream to `host`:`port` as seen from the guest, or to a subsystem of
/// its sshd, carried over `stream`. However it ends (opened and done, refused, expired in the
/// queue, dropped with the client), it is counted once when it goes.
pub(crate) struct TunnelJob {
    target: Target,
    /// Our end, non-blocking.
    stream: OwnedFd,
    counters: Arc<Counters>,
    opened: bool,
}

impl TunnelJob {
    pub(crate) fn new(host: CString, port: u16, stream: OwnedFd, counters: Arc<Counters>) -> Self {
        Self::to(Target::Tcp { host, port }, stream, counters)
    }

    /// A tunnel to `target`.
    pub(crate) fn to(target: Target, stream: OwnedFd, counters: Arc<Counters>) -> Self {
        TunnelJob {
            target,
            stream,
            counters,
            opened: false,
        }
    }
}

impl Drop for TunnelJob {
    fn drop(&mut self) {
        if !self.opened {
            self.counters.failed.fetch_add(1, Ordering::Relaxed);
        }
        self.counters.ended.fetch_add(1, Ordering::Relaxed);
    }
}

/// Bytes read from one side and not yet all written to the other.
#[derive(Default)]
struct Pending {
    buf: Vec<u8>,
    at: usize,
}

impl Pending {
    fn is_empty(&self) -> bool {
        self.at >= self.buf.len()
    }

    fn rest(&self) -> &[u8] {
        &self.buf[self.at..]
    }

    /// Room for one chunk in the (drained) buffer; then `filled` with what was read.
    fn room(&mut self) -> &mut [u8] {
        self.buf.resize(CHUNK, 0);
        self.at = 0;
        &mut self.buf
    }

    fn filled(&mut self, n: usize) {
        self.buf.truncate(n);
    }
}

/// Where a tunnel's open stands.
pub(crate) enum Opening {
    Pending,
    Open,
    /// Refused, or no longer wanted: the tunnel is over (with a channel to close, if any).
    Gone(Option<RawChannel>),
}

/// How a step of a tunnel ended.
pub(crate) enum Step {
    Progress,
    Blocked,
    /// Both sides ended (or one broke): the channel is to be closed.
    Done,
    /// The connection failed.
    Transport(String),
}

pub(crate) struct Tunnel {
    /// The caller waiting for the open, answered once the channel opens or is refused.
    job: Option<Job>,
    spec: TunnelJob,
    channel: Option<RawChannel>,
    /// libssh2 holds this tunnel's open in progress (the session has one at a time).
    pub open_pending: bool,
    /// A subsystem tunnel whose channel is open and whose subsystem request is not yet
    /// answered (its caller is answered once it is).
    starting: bool,
    to_guest: Pending,
    to_local: Pending,
    local_eof: bool,
    eof_sent: bool,
    remote_eof: bool,
    shut: bool,
    /// A side broke (reset, refused write): end now, whatever is in flight.
    broken: bool,
    /// Cut by the connection's end (counted as failed once).
    cut: bool,
}

impl Tunnel {
    pub(crate) fn new(job: Job, spec: TunnelJob) -> Self {
        Tunnel {
            job: Some(job),
            spec,
            channel: None,
            open_pending: false,
            starting: false,
            to_guest: Pending::default(),
            to_local: Pending::default(),
            local_eof: false,
            eof_sent: false,
            remote_eof: false,
            shut: false,
            broken: false,
            cut: false,
        }
    }

    /// "a stream to host:port through the guest", for messages.
    pub(crate) fn describe(&self) -> String {
        match &self.spec.target {
            Target::Tcp { host, port } => {
                format!(
                    "a stream to {}:{port} through the guest",
                    host.to_string_lossy()
                )
            }
            Target::Subsystem(name) => format!("its {name} subsystem"),
        }
    }

    pub(crate) fn wants_channel(&self) -> bool {
        self.channel.is_none()
    }

    /// Whether this tunnel needs a session channel (a subsystem), not a direct-tcpip one.
    pub(crate) fn needs_session(&self) -> bool {
        matches!(self.spec.target, Target::Subsystem(_))
    }

    /// Whether this tunnel holds a session channel (open, or being opened).
    pub(crate) fn holds_session(&self) -> bool {
        self.needs_session() && (self.channel.is_some() || self.open_pending)
    }

    /// The caller waiting for the open, while it waits.
    pub(crate) fn job(&self) -> Option<&Job> {
        self.job.as_ref()
    }

    /// Drives this tunnel's open. `Err` when the transport failed.
    pub(crate) fn open(&mut self, session: &ssh2::Session) -> Result<Opening, String> {
        let opened = match &self.spec.target {
            Target::Tcp { host, port } => RawChannel::open_direct_tcpip(session, host, *port),
            Target::Subsystem(_) => RawChannel::open(session),
        };
        match opened {
            Ok(None) => {
                self.open_pending = true;
                Ok(Opening::Pending)
            }
            // Its caller was answered already (timed out): the channel goes.
            Ok(Some(channel)) if self.job.is_none() => {
                self.open_pending = false;
                Ok(Opening::Gone(Some(channel)))
            }
            Ok(Some(channel)) => {
                self.open_pending = false;
                self.channel = Some(channel);
                self.spec.opened = true;
                self.spec.counters.open.fetch_add(1, Ordering::Relaxed);
                match self.spec.target {
                    // Answered once the subsystem runs (see `start`).
                    Target::Subsystem(_) => self.starting = true,
                    Target::Tcp { .. } => {
                        if let Some(job) = self.job.take() {
                            job.finish(Ok(Output::default()));
                        }
                    }
                }
                Ok(Opening::Open)
            }
            Err(e) if e.is_channel_level() => {
                self.open_pending = false;
                self.fail(Error::new(
                    ErrorKind::ChannelFailed,
                    format!(
                        "the guest's sshd refused {}: {}",
                        self.describe(),
                        e.message
                    ),
                ));
                Ok(Opening::Gone(None))
            }
            Err(e) => Err(e.message),
        }
    }

    /// Whether this tunnel's caller was answered before its channel opened (it is kept only
    /// while libssh2 finishes its open).
    pub(crate) fn failed(&self) -> bool {
        self.job.is_none() && self.channel.is_none()
    }

    /// Answers the caller waiting for the open with `err` (a tunnel that never opened, or
    /// whose connection went), counting it as failed.
    pub(crate) fn fail(&mut self, err: Error) {
        if let Some(job) = self.job.take() {
            job.finish(Err(err));
        } else if self.channel.is_some() && !self.cut {
            self.cut = true;
            self.spec.counters.failed.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Takes the channel out for closing; the tunnel is over (its stream closes with it).
    pub(crate) fn finish(&mut self) -> Option<RawChannel> {
        let channel = self.channel.take();
        if channel.is_some() {
            self.spec.counters.open.fetch_sub(1, Ordering::Relaxed);
        }
        channel
    }

    /// Asks the guest's sshd to run the subsystem on the open channel; the caller is answered
    /// when it does (or refuses: `ChannelFailed`, and the tunnel is done).
    fn start(&mut self) -> Step {
        let (Some(ch), Target::Subsystem(name)) = (self.channel.as_mut(), &self.spec.target) else {
            unreachable!("only an open subsystem tunnel starts");
        };
        match ch.subsystem(name) {
            Ok(None) => Step::Blocked,
            Ok(Some(())) => {
                self.starting = false;
                if let Some(job) = self.job.take() {
                    job.finish(Ok(Output::default()));
                }
                Step::Progress
            }
            Err(e) if e.is_channel_level() => {
                let err = Error::new(
                    ErrorKind::ChannelFailed,
                    format!(
                        "the guest's sshd refused its {name} subsystem (is `Subsystem {name}` \
                         configured?): {}",
                        e.message
                    ),
                );
                self.fail(err);
                Step::Done
            }
            Err(e) => Step::Transport(e.message),
        }
    }

    /// What to wait for on the local stream (none before the channel opens).
    pub(crate) fn interest(&self) -> Option<(RawFd, Interest)> {
        self.channel.as_ref()?;
        if self.starting {
            return None;
        }
        let read = self.to_guest.is_empty() && !self.local_eof;
        let write = !self.to_local.is_empty();
        (read || write).then(|| {
            (
                self.spec.stream.as_raw_fd(),
                Interest {
                    read,
                    write,
                    hangup: false,
                },
            )
        })
    }

    /// Whether this tunnel waits on the SSH socket (an open, data from the guest, window).
    pub(crate) fn wants_socket(&self) -> bool {
        match self.channel {
            None => true,
            Some(_) if self.starting => true,
            Some(_) => {
                (self.to_local.is_empty() && !self.remote_eof)
                    || (!self.to_guest.is_empty() && !self.broken)
            }
        }
    }

    /// Moves bytes both ways, a bounded share.
    pub(crate) fn step(&mut self) -> Step {
        if self.starting {
            return self.start();
        }
        let Some(ch) = self.channel.as_mut() else {
            return Step::Blocked;
        };
        let fd = self.spec.stream.as_raw_fd();
        let counters = &self.spec.counters;
        let mut progress = false;

        // Local → guest.
        let mut budget = STEP_BYTES;
        while budget > 0 && !self.broken {
            if self.to_guest.is_empty() {
                if self.local_eof {
                    break;
                }
                let got = poll::recv(fd, self.to_guest.room());
                self.to_guest.filled(*got.as_ref().unwrap_or(&0));
                match got {
                    Ok(0) => {
                        self.local_eof = true;
                        progress = true;
                        break;
                    }
                    Ok(_) => progress = true,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(_) => {
                        self.broken = true;
                        break;
                    }
                }
            }
            match ch.write(self.to_guest.rest()) {
                Ok(Some(n)) if n > 0 => {
                    self.to_guest.at += n;
                    budget = budget.saturating_sub(n);
                    counters.to_guest.fetch_add(n as u64, Ordering::Relaxed);
                    progress = true;
                }
                Ok(_) => break,
                // The guest's side closed the channel: nothing more goes there.
                Err(e) if e.is_channel_level() => {
                    self.broken = true;
                    break;
                }
                Err(e) => {
                    return Step::Transport(format!("forwarding to the guest: {}", e.message))
                }
            }
        }
        if self.local_eof && self.to_guest.is_empty() && !self.eof_sent && !self.broken {
            match ch.send_eof() {
                Ok(Some(())) => {
                    self.eof_sent = true;
                    progress = true;
                }
                Ok(None) => {}
                Err(e) if e.is_channel_level() => self.eof_sent = true,
                Err(e) => return Step::Transport(e.message),
            }
        }

        // Guest → local.
        let mut budget = STEP_BYTES;
        while budget > 0 && !self.broken {
            if self.to_local.is_empty() {
                if self.remote_eof {
                    break;
                }
                let got = ch.read(0, self.to_local.room());
                self.to_local.filled(match got {
                    Ok(Some(n)) => n,
                    _ => 0,
                });
                match got {
                    Ok(Some(0)) => {
                        if ch.eof() {
                            self.remote_eof = true;
                            progress = true;
                        }
                        break;
                    }
                    Ok(Some(_)) => progress = true,
                    Ok(None) => {
                        // Extended data (a direct-tcpip stream has none) would hide EOF.
                        if ch.queued() > 0 {
                            if let Err(e) = ch.discard_extended() {
                                if !e.is_channel_level() {
                                    return Step::Transport(e.message);
                                }
                            }
                        }
                        break;
                    }
                    Err(e) if e.is_channel_level() => {
                        self.remote_eof = true;
                        break;
                    }
                    Err(e) => return Step::Transport(transport_read(&e)),
                }
            }
            match poll::send(fd, self.to_local.rest()) {
                Ok(n) => {
                    self.to_local.at += n;
                    budget = budget.saturating_sub(n);
                    counters.from_guest.fetch_add(n as u64, Ordering::Relaxed);
                    progress = true;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => {
                    self.broken = true;
                    break;
                }
            }
        }
        if self.remote_eof && self.to_local.is_empty() && !self.shut {
            poll::shut_write(fd);
            self.shut = true;
            progress = true;
        }

        if self.broken || (self.eof_sent && self.shut) {
            Step::Done
        } else if progress {
            Step::Progress
        } else {
            Step::Blocked
        }
    }
}

fn transport_read(e: &ChannelError) -> String {
    format!("forwarding from the guest: {}", e.message)
}
