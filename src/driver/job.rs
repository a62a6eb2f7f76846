//! Work handed from caller threads to the driver, and the ticket a caller waits on.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::error::{Error, ErrorKind, Result};
use crate::output::Output;

/// What a job asks of the driver.
pub(crate) enum JobKind {
    /// Run this exact command string (already wrapped for the shell).
    Run(String),
    /// Make sure the connection is up (handshake and auth), nothing more.
    Connect,
    /// Tear the connection down; jobs submitted before this one end as disconnected.
    Close,
}

/// Longest deadline honoured; longer timeouts (up to `u64::MAX` ms from C) mean "this long".
const FOREVER: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// `start + timeout` without overflow: timeouts beyond ten years are ten years.
pub(crate) fn deadline_after(start: Instant, timeout: Duration) -> Instant {
    start + timeout.min(FOREVER)
}

/// One unit of work and the ticket its caller waits on. A job dropped without an answer (a
/// bug, or a panic unwinding the driver) answers its caller with a PANIC error on the way out,
/// so that no caller waits for nothing.
pub(crate) struct Job {
    pub kind: JobKind,
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
    pub(crate) fn new(kind: JobKind, submitted: Instant, deadline: Instant) -> Self {
        Job {
            kind,
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

const QUEUED: u8 = 0;
const STARTED: u8 = 1;
const ABANDONED: u8 = 2;

/// Where the caller and the driver meet: the driver claims a job before it sends anything
/// for it, and the caller may abandon a job that was never claimed, so a command whose caller
/// already gave up is never sent.
#[derive(Default)]
pub(crate) struct Ticket {
    stage: AtomicU8,
    answered: AtomicBool,
    result: Mutex<Option<Result<Output>>>,
    ready: Condvar,
}

impl Ticket {
    /// The driver is about to send something for this job. False when the caller gave up.
    pub(crate) fn claim(&self) -> bool {
        self.stage
            .compare_exchange(QUEUED, STARTED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// The caller gives up on a job the driver has not started. False when it has started.
    pub(crate) fn abandon(&self) -> bool {
        self.stage
            .compare_exchange(QUEUED, ABANDONED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    pub(crate) fn is_abandoned(&self) -> bool {
        self.stage.load(Ordering::Acquire) == ABANDONED
    }

    /// Stores the answer; only the first one counts.
    pub(crate) fn complete(&self, result: Result<Output>) {
        if self.answered.swap(true, Ordering::AcqRel) {
            return;
        }
        *self.result.lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
        self.ready.notify_all();
    }

    /// Waits for the result until `until`; `None` if it has not come by then.
    pub(crate) fn wait_until(&self, until: Instant) -> Option<Result<Output>> {
        let mut slot = self.result.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(result) = slot.take() {
                return Some(result);
            }
            let left = until.checked_duration_since(Instant::now())?;
            slot = self
                .ready
                .wait_timeout(slot, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}
