//! What a client tells its caller about what it does on its own: connect attempts and their
//! errors, which host key it saw and how it was accepted (loudly when nothing was checked),
//! which identity authenticated, lost connections and reconnects, keepalive verdicts, calls
//! that timed out and the commands killed for them, and wait_for_ssh's probes. A function the
//! caller gives (Rust `Config::log`, C `smol_ssh_options_set_log_callback`, Go
//! `Options.Log`, Python `logger=`); it runs on the client's internal thread and must not
//! block. Off by default: without a function no message is even formatted. No secret is ever
//! in a message (passwords, passphrases, secret env and command lines are never logged).

use std::fmt;
use std::sync::Arc;

/// How much a message matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogLevel {
    /// Progress worth keeping: connected, authenticated, the host key accepted.
    Info,
    /// Something went wrong or weakens security: a connect attempt failed, a connection was
    /// lost, a call timed out and its command was killed, a host key accepted unchecked.
    Warning,
    /// A call fails because of it: a host key refused, no connect possible.
    Error,
    /// Detail: each wait_for_ssh probe, kill scripts.
    Debug,
}

/// A function told about a decision.
type LogFn = dyn Fn(LogLevel, &str) + Send + Sync;

/// The caller's log function.
#[derive(Clone)]
pub struct LogCallback(Arc<LogFn>);

impl LogCallback {
    pub fn new(f: impl Fn(LogLevel, &str) + Send + Sync + 'static) -> Self {
        LogCallback(Arc::new(f))
    }
}

impl fmt::Debug for LogCallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LogCallback(..)")
    }
}

impl PartialEq for LogCallback {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for LogCallback {}

/// Sends `message` to `log`, if the caller gave one.
pub(crate) fn log(log: &Option<LogCallback>, level: LogLevel, message: impl FnOnce() -> String) {
    if let Some(LogCallback(f)) = log {
        f(level, &message());
    }
}
