//! Work handed from caller threads to the driver: a request, in the envelope its caller
//! waits on.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::input::Input;
use super::ticket::Ticket;
use crate::cancel::CancelToken;
use crate::error::{Error, ErrorKind, Result};
use crate::output::Output;

/// A command to run and what goes with it.
pub(crate) struct RunJob {
    /// The exact command string (environment and shell wrapping applied).
    pub command: String,
    /// Fed to the command's stdin, then EOF (EOF at once when empty).
    pub stdin: Input,
    pub cancel: Option<CancelToken>,
    /// Hand output to the caller chunk by chunk (through the ticket) instead of keeping it.
    pub streaming: bool,
    /// Most bytes kept of stdout (0 = all).
    pub max_output_bytes: usize,
    /// Most bytes kept of stderr (0 = all).
    pub max_stderr_bytes: usize,
    /// The driver's own run (the kill script), not a caller's.
    pub internal: bool,
}

/// What a caller asks of the driver, with the envelope it waits on.
pub(crate) enum Request {
    Run(Job, RunJob),
    /// Make sure the connection is up (handshake and auth), nothing more.
    Connect(Job),
    /// Tear the connection down; requests submitted before this one end as disconnected.
    Close(Job),
    /// A stream to host:port as seen from the guest (a `direct-tcpip` channel) bridged to a
    /// local socket; the job is answered once the channel is open.
    Tunnel(Job, super::tunnel::TunnelJob),
}

impl Request {
    pub(crate) fn job(&self) -> &Job {
        match self {
            Request::Run(job, _)
            | Request::Connect(job)
            | Request::Close(job)
            | Request::Tunnel(job, _) => job,
        }
    }

    /// Why a request not yet started must not start (see [`stop_reason`]).
    pub(crate) fn stop_reason(&self) -> Option<&'static str> {
        match self {
            Request::Run(job, run) => stop_reason(&job.ticket, run.cancel.as_ref()),
            _ => None,
        }
    }
}

/// Why a run must stop: its caller's output callback asked, or its cancel token fired.
pub(crate) fn stop_reason(ticket: &Ticket, cancel: Option<&CancelToken>) -> Option<&'static str> {
    if ticket.stop_requested() {
        Some("stopped by its output callback")
    } else if cancel.is_some_and(CancelToken::is_cancelled) {
        Some("cancelled")
    } else {
        None
    }
}

/// Longest deadline honoured; longer timeouts (up to `u64::MAX` ms from C) mean "this long".
const FOREVER: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// `start + timeout` without overflow: timeouts beyond ten years are ten years.
pub(crate) fn deadline_after(start: Instant, timeout: Duration) -> Instant {
    start + timeout.min(FOREVER)
}

/// The envelope of a request: the ticket its caller waits on, and its deadline. A job
/// dropped without an answer (a bug, or a panic unwinding the driver) answers its caller with
/// a PANIC error on the way out, so that no caller waits for nothing.
pub(crate) struct Job {
    pub submitted: Instant,
    pub deadline: Instant,
    pub ticket: Arc<Ticket>,
}

impl Drop for Job {
    fn drop(&mut self) {
        self.ticket.complete(Err(Error::new(
            ErrorKind::Panic,
            "internal error: smol-ssh dropped this call without an answer",
        )));
    }
}

impl Job {
    pub(crate) fn new(submitted: Instant, deadline: Instant) -> Self {
        Job {
            submitted,
            deadline,
            ticket: Arc::new(Ticket::default()),
        }
    }

    /// Hands the result to the caller, stamping how long the call took.
    pub(crate) fn finish(&self, result: Result<Output>) {
        let elapsed = self.submitted.elapsed();
        let result = match result {
            Ok(mut out) => {
                out.elapsed = elapsed;
                Ok(out)
            }
            Err(err) => Err(err.with_elapsed(elapsed)),
        };
        self.ticket.complete(result);
    }
}
