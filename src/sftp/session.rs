//! One SFTP session: the guest sshd's `sftp` subsystem on a channel of the client's
//! connection, reached through a local stream the driver bridges (see stream.rs), and spoken
//! to from the caller's thread. Every wait is bounded by the call's deadline and looks at its
//! cancel token at least every 50 ms.

use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use super::wire::{self, Attrs, Reply, Request, Version};
use crate::cancel::CancelToken;
use crate::client::Client;
use crate::error::{Error, ErrorKind, Result};

/// How often a wait looks at the cancel token.
const SLICE: Duration = Duration::from_millis(50);

/// What bounds a call: its deadline, its cancel token, and how to name it in errors.
#[derive(Clone)]
pub(crate) struct Limits {
    pub started: Instant,
    pub deadline: Instant,
    pub cancel: Option<CancelToken>,
    /// "sftp stat /etc/hosts", for messages.
    pub label: String,
}

impl Limits {
    /// The next wait's length, or the error that ends the call (cancelled, deadline passed).
    fn slice(&self) -> Result<Duration> {
        if self.cancel.as_ref().is_some_and(CancelToken::is_cancelled) {
            return Err(Error::new(
                ErrorKind::Cancelled,
                format!("{} was cancelled", self.label),
            ));
        }
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(self.timed_out());
        }
        Ok(left.min(SLICE))
    }

    pub(crate) fn timed_out(&self) -> Error {
        Error::new(
            ErrorKind::Timeout,
            format!(
                "{} timed out after {:.1} s",
                self.label,
                self.deadline
                    .saturating_duration_since(self.started)
                    .as_secs_f64()
            ),
        )
    }

    pub(crate) fn left(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }
}

pub(crate) struct Session {
    stream: UnixStream,
    inbox: Inbox,
    next_id: u32,
    pub version: Version,
    /// A wait was cut short (deadline, cancel, a lost stream): replies may still be on their
    /// way, so this session must not serve another call.
    pub tainted: bool,
    /// The rest of a packet whose sending was cut short (sent first by whoever goes on).
    unsent: Vec<u8>,
}

impl Session {
    /// Opens the subsystem and exchanges versions, within `limits`.
    pub(crate) fn open(client: &Client, limits: &Limits) -> Result<Session> {
        let left = limits.left();
        if left.is_zero() {
            return Err(limits.timed_out());
        }
        let stream = client.open_subsystem("sftp", left).map_err(|e| {
            if e.kind() == ErrorKind::Timeout {
                limits.timed_out()
            } else {
                e
            }
        })?;
        let mut s = Session {
            stream,
            inbox: Inbox::default(),
            next_id: 1,
            version: Version::default(),
            tainted: false,
            unsent: Vec::new(),
        };
        s.send(&Request::init().finish(), limits)?;
        let n = s.packet(limits)?;
        s.version = wire::version(&s.inbox.unread()[..n]).map_err(protocol)?;
        s.inbox.take(n);
        if s.version.version < 3 {
            return Err(Error::new(
                ErrorKind::RemoteFailed,
                format!(
                    "the guest's sftp server speaks version {}; version 3 is needed",
                    s.version.version
                ),
            ));
        }
        Ok(s)
    }

    /// Whether an idle session can serve another call: its stream has nothing to read (a
    /// session whose connection went reads EOF).
    pub(crate) fn idle_and_alive(&self) -> bool {
        !self.tainted && !crate::driver::readable_within(self.stream.as_raw_fd(), Duration::ZERO)
    }

    /// A fresh request id.
    pub(crate) fn id(&mut self) -> u32 {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1).max(1);
        id
    }

    /// Takes this session's stream and state out (for a background thread to finish its
    /// business), leaving a tainted husk; Err when no stream can stand in.
    pub(crate) fn detach(&mut self) -> std::result::Result<Session, ()> {
        let (husk, _) = UnixStream::pair().map_err(|_| ())?;
        let stream = std::mem::replace(&mut self.stream, husk);
        self.tainted = true;
        Ok(Session {
            stream,
            inbox: std::mem::take(&mut self.inbox),
            next_id: self.next_id,
            version: self.version.clone(),
            tainted: false,
            unsent: std::mem::take(&mut self.unsent),
        })
    }

    /// Sends a whole packet (after the rest of one cut short, if any).
    pub(crate) fn send(&mut self, packet: &[u8], limits: &Limits) -> Result<()> {
        if !self.unsent.is_empty() {
            let rest = std::mem::take(&mut self.unsent);
            self.send(&rest, limits)?;
        }
        let mut at = 0;
        while at < packet.len() {
            let slice = match self.wait(limits) {
                Ok(slice) => slice,
                Err(e) => {
                    if at > 0 {
                        self.unsent = packet[at..].to_vec();
                    }
                    return Err(e);
                }
            };
            self.stream
                .set_write_timeout(Some(slice))
                .map_err(|e| self.lost(e))?;
            match self.stream.write(&packet[at..]) {
                Ok(0) => return Err(self.lost(io::ErrorKind::WriteZero.into())),
                Ok(n) => at += n,
                Err(e) if retry(&e) => {}
                Err(e) => return Err(self.lost(e)),
            }
        }
        Ok(())
    }

    /// Waits until a whole packet from the server is in the inbox; its length (the length
    /// field included). Take it with `inbox.take`.
    fn packet(&mut self, limits: &Limits) -> Result<usize> {
        loop {
            match wire::packet_len(self.inbox.unread()) {
                Err(e) => return Err(self.bad(e)),
                Ok(Some(n)) if self.inbox.unread().len() >= n => return Ok(n),
                Ok(_) => {}
            }
            let slice = self.wait(limits)?;
            self.stream
                .set_read_timeout(Some(slice))
                .map_err(|e| self.lost(e))?;
            match self.stream.read(self.inbox.room()) {
                Ok(0) => {
                    return Err(self.lost(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the session ended",
                    )))
                }
                Ok(n) => self.inbox.filled(n),
                Err(e) if retry(&e) => {}
                Err(e) => return Err(self.lost(e)),
            }
        }
    }

    /// The next response, whatever request it answers.
    pub(crate) fn response(&mut self, limits: &Limits) -> Result<wire::Response> {
        let n = self.packet(limits)?;
        let parsed = wire::response(&self.inbox.unread()[..n]);
        self.inbox.take(n);
        parsed.map_err(|e| self.bad(e))
    }

    /// Sends one request and waits for its reply (no other request may be outstanding).
    pub(crate) fn call(&mut self, request: Request, id: u32, limits: &Limits) -> Result<Reply> {
        self.send(&request.finish(), limits)?;
        let r = self.response(limits)?;
        if r.id != id {
            return Err(self.bad(wire::Malformed(format!(
                "the guest's sftp server answered request {} when {id} was asked",
                r.id
            ))));
        }
        Ok(r.reply)
    }

    /// A request on `path` whose answer is a status: Ok for SSH_FX_OK, else the error.
    pub(crate) fn simple(&mut self, kind: u8, path: &str, limits: &Limits) -> Result<()> {
        let id = self.id();
        let reply = self.call(Request::new(kind, id).bytes(path.as_bytes()), id, limits)?;
        self.expect_ok(reply, path)
    }

    /// Ok for a status of SSH_FX_OK; the status's error, or a protocol error, otherwise.
    pub(crate) fn expect_ok(&mut self, reply: Reply, path: &str) -> Result<()> {
        match reply {
            Reply::Status {
                code: wire::FX_OK, ..
            } => Ok(()),
            Reply::Status { code, message } => Err(status_error(code, &message, path)),
            other => Err(self.unexpected(&other)),
        }
    }

    /// STAT (follows links) or LSTAT of `path`.
    pub(crate) fn stat(&mut self, path: &str, follow: bool, limits: &Limits) -> Result<Attrs> {
        let id = self.id();
        let kind = if follow { wire::STAT } else { wire::LSTAT };
        match self.call(Request::new(kind, id).bytes(path.as_bytes()), id, limits)? {
            Reply::Attrs(a) => Ok(a),
            Reply::Status { code, message } => Err(status_error(code, &message, path)),
            other => Err(self.unexpected(&other)),
        }
    }

    /// Opens `path` with `pflags` (and `permissions` for a file it creates): the handle.
    pub(crate) fn open_file(
        &mut self,
        path: &str,
        pflags: u32,
        permissions: Option<u32>,
        limits: &Limits,
    ) -> Result<Vec<u8>> {
        let id = self.id();
        let request = Request::new(wire::OPEN, id)
            .bytes(path.as_bytes())
            .u32(pflags)
            .attrs(permissions);
        self.handle_reply(request, id, path, limits)
    }

    /// Opens the directory `path`: the handle.
    pub(crate) fn open_dir(&mut self, path: &str, limits: &Limits) -> Result<Vec<u8>> {
        let id = self.id();
        let request = Request::new(wire::OPENDIR, id).bytes(path.as_bytes());
        self.handle_reply(request, id, path, limits)
    }

    fn handle_reply(
        &mut self,
        request: Request,
        id: u32,
        path: &str,
        limits: &Limits,
    ) -> Result<Vec<u8>> {
        match self.call(request, id, limits)? {
            Reply::Handle(h) if h.len() <= 256 => Ok(h),
            Reply::Status { code, message } => Err(status_error(code, &message, path)),
            other => Err(self.unexpected(&other)),
        }
    }

    /// Closes a handle.
    pub(crate) fn close_handle(
        &mut self,
        handle: &[u8],
        path: &str,
        limits: &Limits,
    ) -> Result<()> {
        let id = self.id();
        let reply = self.call(Request::new(wire::CLOSE, id).bytes(handle), id, limits)?;
        self.expect_ok(reply, path)
    }

    /// A reply of a kind the request cannot have.
    pub(crate) fn unexpected(&mut self, reply: &Reply) -> Error {
        let kind = match reply {
            Reply::Status { .. } => "a status",
            Reply::Handle(_) => "a handle",
            Reply::Data(_) => "data",
            Reply::Name(_) => "names",
            Reply::Attrs(_) => "attributes",
        };
        self.bad(wire::Malformed(format!(
            "the guest's sftp server answered with {kind} where it could not"
        )))
    }

    /// A protocol error: this session is not to be trusted with another call.
    pub(crate) fn bad(&mut self, e: wire::Malformed) -> Error {
        self.tainted = true;
        protocol(e)
    }

    fn wait(&mut self, limits: &Limits) -> Result<Duration> {
        limits.slice().inspect_err(|_| self.tainted = true)
    }

    fn lost(&mut self, e: io::Error) -> Error {
        self.tainted = true;
        Error::new(
            ErrorKind::Disconnected,
            format!("the sftp session ended ({e}): the connection was closed or lost"),
        )
    }
}

/// Bytes received from the server: `buf[start..end]` not yet taken. Allocated once, large
/// enough for the largest packet accepted and a read beside it.
#[derive(Default)]
struct Inbox {
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

/// Bytes asked of the stream per read.
const READ_AHEAD: usize = 256 * 1024;

impl Inbox {
    fn unread(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    fn take(&mut self, n: usize) {
        self.start += n;
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Free space after what is unread (moving it to the front when the end is near).
    fn room(&mut self) -> &mut [u8] {
        if self.buf.is_empty() {
            self.buf = vec![0; wire::MAX_PACKET + READ_AHEAD];
        }
        if self.buf.len() - self.end < READ_AHEAD {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        let end = (self.end + READ_AHEAD).min(self.buf.len());
        &mut self.buf[self.end..end]
    }

    fn filled(&mut self, n: usize) {
        self.end += n;
    }
}

fn retry(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}

fn protocol(e: wire::Malformed) -> Error {
    Error::new(ErrorKind::RemoteFailed, format!("SFTP protocol error: {e}"))
}

/// The error of an SFTP status about `path`.
pub(crate) fn status_error(code: u32, message: &str, path: &str) -> Error {
    let said = if message.is_empty() {
        String::new()
    } else {
        format!(" ({message})")
    };
    match code {
        wire::FX_NO_SUCH_FILE => Error::new(
            ErrorKind::NotFound,
            format!("{path}: no such file or directory{said}"),
        ),
        wire::FX_PERMISSION_DENIED => Error::new(
            ErrorKind::PermissionDenied,
            format!("{path}: permission denied{said}"),
        ),
        wire::FX_EOF => Error::new(
            ErrorKind::RemoteFailed,
            format!("{path}: end of file{said}"),
        ),
        wire::FX_OP_UNSUPPORTED => Error::new(
            ErrorKind::RemoteFailed,
            format!("{path}: the guest's sftp server does not support this{said}"),
        ),
        _ => Error::new(
            ErrorKind::RemoteFailed,
            format!("{path}: failed on the guest (SFTP status {code}){said}"),
        ),
    }
}
