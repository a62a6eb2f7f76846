//! What a client tells its caller about the decisions it made on its own: which host key it
//! accepted and why (loudly when nothing was checked), and which identity authenticated. A
//! function the caller gives (Rust `Config::log`, C `smol_ssh_options_set_log_callback`); it
//! runs on the client's internal thread and must not block. No secret is ever in a message.

use std::fmt;
use std::sync::Arc;

/// How much a message matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogLevel {
    Info,
    /// Something the caller chose that weakens security (a host key accepted unchecked).
    Warning,
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
