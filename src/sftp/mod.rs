//! Files over SFTP: the guest sshd's `sftp` subsystem, on a channel of the client's one
//! connection (beside its commands), spoken from the caller's thread through a local stream
//! the driver bridges (the same machinery as `open_stream`). No shell is involved, so it
//! serves guests without a POSIX shell (`powershell`, `cmd`) and paths need no quoting.
//!
//! Every call is bounded by its `RunOptions::timeout` (opening the session included) and
//! stops within 50 ms of its cancel token firing. A session that served a call cleanly is
//! kept for the next one (at most `IDLE_SESSIONS`); one cut short is dropped, which ends its
//! channel. Statuses: `NotFound`, `PermissionDenied`, `NotADirectory`, else `RemoteFailed`
//! with the server's words; a guest whose sshd has no `sftp` subsystem is `ChannelFailed`.

mod ops;
mod session;
mod transfer;
mod wire;

use std::sync::Mutex;
use std::time::Instant;

pub use ops::{DirEntry, FileInfo, FileType};
use session::{Limits, Session};
pub(crate) use transfer::Source;

use crate::client::{Client, RunOptions};
use crate::error::{Error, Result};

/// Idle sessions kept per client (each holds one of the connection's session channels, see
/// the driver's MAX_CHANNELS).
const IDLE_SESSIONS: usize = 1;

/// A client's idle SFTP sessions.
#[derive(Default)]
pub(crate) struct Pool(Mutex<Vec<Session>>);

impl Pool {
    fn take(&self) -> Option<Session> {
        let mut idle = self.0.lock().unwrap_or_else(|e| e.into_inner());
        while let Some(s) = idle.pop() {
            if s.idle_and_alive() {
                return Some(s);
            }
        }
        None
    }

    fn put(&self, s: Session) {
        if s.tainted {
            return;
        }
        let mut idle = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < IDLE_SESSIONS {
            idle.push(s);
        }
    }
}

impl Client {
    /// Runs `f` on an SFTP session (an idle one, or a new one) within `options`' timeout and
    /// cancel token; `label` names the call in errors.
    fn with_sftp<T>(
        &self,
        label: String,
        options: &RunOptions,
        f: impl FnOnce(&mut Session, &Limits) -> Result<T>,
    ) -> Result<T> {
        if options.timeout.is_zero() {
            return Err(Error::invalid("timeout must be positive"));
        }
        let started = Instant::now();
        let limits = Limits {
            started,
            deadline: crate::driver::deadline_after(started, options.timeout),
            cancel: options.cancel.clone(),
            label,
        };
        let mut session = match self.sftp.take() {
            Some(s) => s,
            None => Session::open(self, &limits)?,
        };
        let result = f(&mut session, &limits);
        self.sftp.put(session);
        result
    }
}

impl Client {
    /// Uploads over SFTP (see transfer.rs here).
    pub(crate) fn sftp_put(
        &self,
        source: Source<'_>,
        remote: &str,
        name: Option<&str>,
        mode: u32,
        options: &RunOptions,
    ) -> Result<String> {
        let remote = remote_path(remote)?;
        self.with_sftp(format!("sftp upload to {remote}"), options, |s, limits| {
            transfer::put(s, limits, source, remote, name, mode)
        })
    }

    /// Downloads over SFTP into `sink`: the bytes delivered.
    pub(crate) fn sftp_get(
        &self,
        remote: &str,
        max_bytes: u64,
        options: &RunOptions,
        sink: &mut dyn FnMut(&[u8]) -> Result<()>,
    ) -> Result<u64> {
        let remote = remote_path(remote)?;
        self.with_sftp(
            format!("sftp download of {remote}"),
            options,
            |s, limits| transfer::get(s, limits, remote, max_bytes, sink),
        )
    }
}

/// `path`, checked: not empty, no NUL.
fn remote_path(path: &str) -> Result<&str> {
    if path.is_empty() {
        return Err(Error::invalid("remote path must not be empty"));
    }
    if path.contains('\0') {
        return Err(Error::invalid("remote path must not contain NUL"));
    }
    Ok(path)
}
