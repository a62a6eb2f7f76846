//! The ticket a caller waits on: where the caller and the driver meet.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Instant;

use crate::error::Result;
use crate::output::{Output, Stream};

const QUEUED: u8 = 0;
const STARTED: u8 = 1;
const ABANDONED: u8 = 2;

/// Where the caller and the driver meet: the driver claims a job before it sends anything
/// for it, and the caller may abandon a job that was never claimed, so a command whose caller
/// already gave up is never sent. A streaming run's chunks also pass through here, so that the
/// caller's callback runs on the caller's thread, never on the driver's.
#[derive(Default)]
pub(crate) struct Ticket {
    stage: AtomicU8,
    answered: AtomicBool,
    /// The caller asks the driver to stop the run (its output callback said so).
    stop: AtomicBool,
    /// The driver stopped reading because too many chunks wait for the caller.
    paused: AtomicBool,
    slot: Mutex<Slot>,
    ready: Condvar,
    /// Told when the answer is stored (a submitted run's completion pipe); set once, before
    /// the run is submitted, and read without a lock on every run's completion.
    notifier: std::sync::OnceLock<std::sync::Arc<super::poll::Waker>>,
}

#[derive(Default)]
pub(crate) struct Slot {
    result: Option<Result<Output>>,
    chunks: VecDeque<(Stream, Vec<u8>)>,
    queued_bytes: usize,
    /// What a run that keeps its output has read so far. It lives here, not in the driver, so
    /// that whoever ends the call (the driver's verdict, or the caller's own fallback when the
    /// driver is late) hands over every byte that reached the client.
    kept: Output,
    /// Chunks were queued since the caller was last woken.
    unnotified: bool,
}

/// The ticket's slot, locked by the driver while it reads a run's output into it.
pub(crate) struct SlotGuard<'a> {
    slot: std::sync::MutexGuard<'a, Slot>,
    ready: &'a Condvar,
}

impl SlotGuard<'_> {
    /// The output kept so far.
    pub(crate) fn kept(&mut self) -> &mut Output {
        &mut self.slot.kept
    }

    /// Queues a chunk of a streaming run for the caller. False when the backlog is full: the
    /// driver should stop reading until the caller catches up.
    pub(crate) fn push_chunk(&mut self, stream: Stream, bytes: &[u8]) -> bool {
        self.slot.chunks.push_back((stream, bytes.to_vec()));
        self.slot.queued_bytes += bytes.len();
        self.slot.unnotified = true;
        self.slot.queued_bytes < STREAM_BACKLOG
    }

    pub(crate) fn backlog_full(&self) -> bool {
        self.slot.queued_bytes >= STREAM_BACKLOG
    }
}

impl Drop for SlotGuard<'_> {
    fn drop(&mut self) {
        if std::mem::take(&mut self.slot.unnotified) {
            self.ready.notify_all();
        }
    }
}

/// What a waiting caller gets.
pub(crate) enum Event {
    /// Output of a streaming run, in order.
    Chunks(Vec<(Stream, Vec<u8>)>),
    /// The end (after every chunk).
    Done(Result<Output>),
}

/// Bytes of streamed output that may wait for the caller before the driver stops reading the
/// run (the server then holds the rest, as the channel window fills).
pub(crate) const STREAM_BACKLOG: usize = 4 * 1024 * 1024;

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
        self.slot().result = Some(result);
        self.ready.notify_all();
        if let Some(n) = self.notifier.get() {
            n.wake();
        }
    }

    /// Wakes `notifier` when the answer is stored (at once if it already is).
    pub(crate) fn set_notifier(&self, notifier: std::sync::Arc<super::poll::Waker>) {
        let notifier = self.notifier.get_or_init(|| notifier);
        if self.answered.load(Ordering::Acquire) {
            notifier.wake();
        }
    }

    /// Whether the answer is stored.
    pub(crate) fn is_answered(&self) -> bool {
        self.answered.load(Ordering::Acquire) && self.slot().result.is_some()
    }

    /// Takes the answer, if it is stored.
    pub(crate) fn take_result(&self) -> Option<Result<Output>> {
        self.slot().result.take()
    }

    fn slot(&self) -> std::sync::MutexGuard<'_, Slot> {
        self.slot.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Locks the slot for the driver to read a run's output into it.
    pub(crate) fn lock(&self) -> SlotGuard<'_> {
        SlotGuard {
            slot: self.slot(),
            ready: &self.ready,
        }
    }

    /// Takes the output kept so far (for a result, or a call that ends early).
    pub(crate) fn take_kept(&self) -> Output {
        std::mem::take(&mut self.slot().kept)
    }

    pub(crate) fn backlog_full(&self) -> bool {
        self.slot().queued_bytes >= STREAM_BACKLOG
    }

    pub(crate) fn set_paused(&self) {
        self.paused.store(true, Ordering::Release);
    }

    /// The caller drained chunks: true if the driver had paused and needs a wake-up.
    pub(crate) fn take_paused(&self) -> bool {
        self.paused.swap(false, Ordering::AcqRel)
    }

    pub(crate) fn request_stop(&self) {
        self.stop.store(true, Ordering::Release);
    }

    pub(crate) fn stop_requested(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }

    /// Waits until `until` for chunks or the result; `None` if neither came.
    pub(crate) fn wait_event(&self, until: Instant) -> Option<Event> {
        let mut slot = self.slot();
        loop {
            if !slot.chunks.is_empty() {
                slot.queued_bytes = 0;
                return Some(Event::Chunks(slot.chunks.drain(..).collect()));
            }
            if let Some(result) = slot.result.take() {
                return Some(Event::Done(result));
            }
            let left = until.checked_duration_since(Instant::now())?;
            slot = self
                .ready
                .wait_timeout(slot, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Waits for the result until `until`, discarding chunks; `None` if it has not come.
    pub(crate) fn wait_until(&self, until: Instant) -> Option<Result<Output>> {
        loop {
            match self.wait_event(until)? {
                Event::Chunks(_) => continue,
                Event::Done(result) => return Some(result),
            }
        }
    }
}
