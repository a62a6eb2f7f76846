//! Runs submitted without waiting: [`Client::submit`] hands a run to the driver and returns a
//! [`Pending`] at once. Its completion shows on a file descriptor an event loop can watch
//! (readable once the run has ended), and it can be polled, waited on with a timeout,
//! cancelled and dropped. No thread waits for it: the driver that runs it writes the answer
//! and wakes the descriptor, within the run's own deadline like every run.

use std::os::fd::{AsRawFd, RawFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::cancel::CancelToken;
use crate::client::{Client, RunOptions};
use crate::driver::{readable_within, Ticket, Waker};
use crate::error::{Error, ErrorKind, Result};
use crate::output::Output;

/// A run in flight (see [`Client::submit`]). Dropping it before it ends cancels it: its
/// command is stopped, as a cancelled run's is.
pub struct Pending {
    ticket: Arc<Ticket>,
    done: Arc<Waker>,
    cancel: CancelToken,
    deadline: Instant,
    taken: bool,
}

impl Client {
    /// Starts `command` as [`Client::run`] would and returns at once. The run obeys
    /// `options.timeout` and `options.cancel` (and [`Pending::cancel`]); its result is taken
    /// with [`Pending::try_result`] or [`Pending::wait`]. Streaming output is not offered
    /// here (there is no thread to hand it to): the output is kept, up to the usual cap.
    pub fn submit(&self, command: &str, options: &RunOptions) -> Result<Pending> {
        let cancel = CancelToken::linked(options.cancel.as_ref());
        let (request, ticket) =
            self.prepare_run(command, options, None, None, false, Some(cancel.clone()))?;
        let deadline = request.job().deadline;
        let done = Arc::new(Waker::new().map_err(|e| {
            Error::new(
                ErrorKind::ChannelFailed,
                format!("cannot make the completion pipe: {e}"),
            )
        })?);
        ticket.set_notifier(Arc::clone(&done));
        self.submit_request(request)?;
        Ok(Pending {
            ticket,
            done,
            cancel,
            deadline,
            taken: false,
        })
    }
}

impl Pending {
    /// Whether the run has ended (its result is ready to take).
    pub fn is_done(&self) -> bool {
        self.ticket.is_answered()
    }

    /// Waits up to `timeout` for the run to end; true when it has.
    pub fn wait_for(&self, timeout: Duration) -> bool {
        let until = Instant::now() + timeout;
        loop {
            if self.is_done() {
                return true;
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            readable_within(self.done.fd(), left);
        }
    }

    /// The result, once the run has ended (None before, and after it was taken). The
    /// descriptor stops being readable once the result is taken.
    pub fn try_result(&mut self) -> Option<Result<Output>> {
        if self.taken {
            return None;
        }
        let result = self.ticket.take_result()?;
        self.taken = true;
        self.done.drain();
        Some(result)
    }

    /// Waits for the run to end (at most until its deadline and a grace) and returns its
    /// result.
    pub fn wait(mut self) -> Result<Output> {
        // The driver answers every run by its deadline; the grace covers a driver busy with a
        // connect at that instant.
        let grace = Duration::from_secs(2);
        let until = self.deadline + grace;
        self.wait_for(until.saturating_duration_since(Instant::now()));
        match self.try_result() {
            Some(result) => result,
            None => Err(Error::new(
                ErrorKind::Timeout,
                "the driver did not answer the run by its deadline",
            )),
        }
    }

    /// Cancels the run: it ends with `Cancelled` and its command is stopped (one not yet
    /// started is never sent). Idempotent.
    pub fn cancel(&self) {
        self.cancel.cancel();
    }
}

impl AsRawFd for Pending {
    /// Readable once the run has ended, until its result is taken.
    fn as_raw_fd(&self) -> RawFd {
        self.done.fd()
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if !self.taken && !self.is_done() {
            self.cancel.cancel();
        }
    }
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending")
            .field("done", &self.is_done())
            .finish()
    }
}
