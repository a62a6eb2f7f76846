//! The error type of the core. (The C ABI's stable status numbers belong to `ffi::status`.)

use std::fmt;
use std::time::Duration;

use crate::output::Output;

/// What kind of failure an [`Error`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// A caller's argument or option is invalid (empty command, timeout below 1 s, NULL, ...).
    InvalidArgument,
    /// A deadline passed; the message names the operation and the timeout.
    Timeout,
    /// The TCP connection or the SSH handshake failed (refused, unreachable, protocol error).
    ConnectFailed,
    /// The server refused every credential we had, or a key file could not be used.
    AuthFailed,
    /// The server's host key did not match the pinned or remembered key.
    HostKeyRejected,
    /// The server refused to open a channel or to start the command.
    ChannelFailed,
    /// The transport died (or the handle was closed) while the call was in flight.
    Disconnected,
    /// A panic was caught inside the library, or the driver dropped a call.
    Panic,
    /// The run was cancelled (a cancel token, or an output callback that asked to stop).
    Cancelled,
    /// A file operation failed on the guest (no such file, permission denied, is a directory);
    /// the message carries the guest's own words.
    RemoteFailed,
    /// A file to fetch is larger than the caller's `max_bytes`; nothing was written.
    TooLarge,
    /// A file operation's path does not exist on the guest (file operations and SFTP
    /// transfers; the exec path says RemoteFailed).
    NotFound,
    /// The guest refused a file operation for lack of permission.
    PermissionDenied,
    /// A path that had to be a directory is not one (listing a file, a file where `mkdir`
    /// needs a parent).
    NotADirectory,
}

impl ErrorKind {
    /// Every kind.
    pub const ALL: [ErrorKind; 14] = [
        ErrorKind::InvalidArgument,
        ErrorKind::Timeout,
        ErrorKind::ConnectFailed,
        ErrorKind::AuthFailed,
        ErrorKind::HostKeyRejected,
        ErrorKind::ChannelFailed,
        ErrorKind::Disconnected,
        ErrorKind::Panic,
        ErrorKind::Cancelled,
        ErrorKind::RemoteFailed,
        ErrorKind::TooLarge,
        ErrorKind::NotFound,
        ErrorKind::PermissionDenied,
        ErrorKind::NotADirectory,
    ];

    /// A short, stable, human-readable name of the kind.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidArgument => "invalid argument",
            ErrorKind::Timeout => "timeout",
            ErrorKind::ConnectFailed => "connect failed",
            ErrorKind::AuthFailed => "authentication failed",
            ErrorKind::HostKeyRejected => "host key rejected",
            ErrorKind::ChannelFailed => "channel or exec failed",
            ErrorKind::Disconnected => "disconnected",
            ErrorKind::Panic => "panic inside smol-ssh",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::RemoteFailed => "failed on the guest",
            ErrorKind::TooLarge => "larger than allowed",
            ErrorKind::NotFound => "no such file or directory",
            ErrorKind::PermissionDenied => "permission denied",
            ErrorKind::NotADirectory => "not a directory",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error of the core: a kind to branch on, a message for people, and for a failed run what
/// the command had written before it failed (output is never silently dropped).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct Error {
    kind: ErrorKind,
    message: String,
    partial: Option<Box<Output>>,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            partial: None,
        }
    }

    /// For a run that failed after it started (a timeout, a lost connection): the bytes the
    /// command wrote before that, and the call's elapsed time. Exit fields are unset.
    pub fn partial_output(&self) -> Option<&Output> {
        self.partial.as_deref()
    }

    /// Attaches the output a run had before it failed (its exit fields are ignored).
    pub(crate) fn with_partial(mut self, partial: Output) -> Self {
        self.partial = Some(Box::new(Output {
            exit_code: None,
            exit_signal: None,
            ..partial
        }));
        self
    }

    /// Appends output to the partial output (creating it if needed).
    pub(crate) fn with_more_output(mut self, more: &Output) -> Self {
        let partial = self.partial.get_or_insert_with(Default::default);
        partial.stdout.extend_from_slice(&more.stdout);
        partial.stderr.extend_from_slice(&more.stderr);
        self
    }

    pub(crate) fn with_elapsed(mut self, elapsed: Duration) -> Self {
        self.partial.get_or_insert_with(Default::default).elapsed = elapsed;
        self
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message without the kind prefix.
    pub fn message(&self) -> &str {
        &self.message
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::InvalidArgument, message)
    }
}

/// The result type of the core API.
pub type Result<T, E = Error> = std::result::Result<T, E>;
