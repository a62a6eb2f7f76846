//! Runs and transfers submitted without waiting: [`Client::submit`] hands a run to the driver
//! and returns a [`Pending`] at once. Its completion shows on a file descriptor an event loop
//! can watch (readable once the run has ended), and it can be polled, waited on with a
//! timeout, cancelled and dropped. No thread waits for a run: the driver that runs it writes
//! the answer and wakes the descriptor, within the run's own deadline like every run.
//!
//! A transfer ([`Client::submit_put_file`], [`Client::submit_get_file`]) streams a local file
//! from or to disk, which takes a thread: it runs on a thread of its own for as long as it
//! lasts, and its Pending behaves like a run's (its result is the blocking call's, as the C
//! ABI gives it: stdout holds the path written by an upload, nothing for a download).

use std::os::fd::{AsRawFd, RawFd};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::cancel::CancelToken;
use crate::client::{Client, RunOptions};
use crate::driver::{readable_within, Ticket, Waker};
use crate::error::{Error, ErrorKind, Result};
use crate::output::Output;

/// A run in flight (see [`Client::submit`]). Dropping it before it ends cancels it: its
/// command is stopped, as a cancelled run's is.
pub struct Pending {
    source: Source,
    done: Arc<Waker>,
    cancel: CancelToken,
    deadline: Instant,
    taken: bool,
}

/// Where a pending call's answer comes from.
enum Source {
    /// A run's ticket, answered by the driver.
    Run(Arc<Ticket>),
    /// A transfer's thread.
    Thread(Arc<Mutex<Option<Result<Output>>>>),
}

/// The completion descriptor of a submitted call.
fn completion() -> Result<Arc<Waker>> {
    Ok(Arc::new(Waker::new().map_err(|e| {
        Error::new(
            ErrorKind::ChannelFailed,
            format!("cannot make the completion descriptor: {e}"),
        )
    })?))
}

/// Runs `work` on a thread of its own and returns its Pending: `work` gets `options` with a
/// cancel token that `Pending::cancel` (and dropping it unfinished) triggers too.
fn spawn(
    options: &RunOptions,
    work: impl FnOnce(&RunOptions) -> Result<Output> + Send + 'static,
) -> Result<Pending> {
    let cancel = CancelToken::linked(options.cancel.as_ref());
    let mut options = options.clone();
    options.cancel = Some(cancel.clone());
    let deadline = crate::driver::deadline_after(Instant::now(), options.timeout);
    let done = completion()?;
    let slot = Arc::new(Mutex::new(None));
    let (thread_slot, thread_done) = (Arc::clone(&slot), Arc::clone(&done));
    std::thread::Builder::new()
        .name("smol-ssh-transfer".into())
        .spawn(move || {
            let started = Instant::now();
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(&options)));
            let result = outcome
                .unwrap_or_else(|_| {
                    Err(Error::new(
                        ErrorKind::Panic,
                        "internal error: the transfer stopped unexpectedly",
                    ))
                })
                .map(|out| Output {
                    elapsed: started.elapsed(),
                    ..out
                })
                .map_err(|e| e.with_elapsed(started.elapsed()));
            *thread_slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
            thread_done.wake();
        })
        .map_err(|e| {
            Error::new(
                ErrorKind::ChannelFailed,
                format!("cannot start a thread for the transfer: {e}"),
            )
        })?;
    Ok(Pending {
        source: Source::Thread(slot),
        done,
        cancel,
        deadline,
        taken: false,
    })
}

/// A transfer's OK result, as the C ABI gives it: stdout holds `said`.
pub(crate) fn transferred(said: Vec<u8>) -> Output {
    Output {
        exit_code: Some(0),
        stdout: said,
        ..Output::default()
    }
}

/// `put_file` on a thread of its own, through whatever keeps the client alive meanwhile (an
/// `Arc`, or the C ABI's call in progress, which `smol_ssh_free` waits for).
pub(crate) fn put_file_on<C>(
    client: C,
    local: &Path,
    remote: &str,
    options: &RunOptions,
) -> Result<Pending>
where
    C: std::ops::Deref<Target = Client> + Send + 'static,
{
    let (local, remote) = (local.to_path_buf(), remote.to_owned());
    spawn(options, move |o| {
        client
            .put_file(&local, &remote, o)
            .map(|path| transferred(path.into_bytes()))
    })
}

/// `get_file` on a thread of its own (see `put_file_on`).
pub(crate) fn get_file_on<C>(
    client: C,
    remote: &str,
    local: &Path,
    max_bytes: u64,
    options: &RunOptions,
) -> Result<Pending>
where
    C: std::ops::Deref<Target = Client> + Send + 'static,
{
    let (remote, local) = (remote.to_owned(), local.to_path_buf());
    spawn(options, move |o| {
        client
            .get_file(&remote, &local, max_bytes, o)
            .map(|_| transferred(Vec::new()))
    })
}

impl Client {
    /// Starts [`Client::put_file`] and returns at once; the upload runs on a thread of its own
    /// while it lasts. Its result's stdout holds the path written on the guest.
    pub fn submit_put_file(
        self: &Arc<Self>,
        local: &Path,
        remote: &str,
        options: &RunOptions,
    ) -> Result<Pending> {
        put_file_on(Arc::clone(self), local, remote, options)
    }

    /// Starts [`Client::get_file`] and returns at once; the download runs on a thread of its
    /// own while it lasts. Its result's stdout is empty.
    pub fn submit_get_file(
        self: &Arc<Self>,
        remote: &str,
        local: &Path,
        max_bytes: u64,
        options: &RunOptions,
    ) -> Result<Pending> {
        get_file_on(Arc::clone(self), remote, local, max_bytes, options)
    }

    /// Starts `command` as [`Client::run`] would and returns at once. The run obeys
    /// `options.timeout` and `options.cancel` (and [`Pending::cancel`]); its result is taken
    /// with [`Pending::try_result`] or [`Pending::wait`]. Streaming output is not offered
    /// here (there is no thread to hand it to): the output is kept, up to the usual cap.
    pub fn submit(&self, command: &str, options: &RunOptions) -> Result<Pending> {
        let cancel = CancelToken::linked(options.cancel.as_ref());
        let (request, ticket) =
            self.prepare_run(command, options, None, None, false, Some(cancel.clone()))?;
        let deadline = request.job().deadline;
        let done = completion()?;
        ticket.set_notifier(Arc::clone(&done));
        self.submit_request(request)?;
        Ok(Pending {
            source: Source::Run(ticket),
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
        match &self.source {
            Source::Run(ticket) => ticket.is_answered(),
            Source::Thread(slot) => slot.lock().unwrap_or_else(|e| e.into_inner()).is_some(),
        }
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
        let result = match &self.source {
            Source::Run(ticket) => ticket.take_result(),
            Source::Thread(slot) => slot.lock().unwrap_or_else(|e| e.into_inner()).take(),
        }?;
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
