//! What caller threads and the driver thread share: the inbox of requests, the doorbell that
//! wakes the client's loop, and what the driver reports (connected, cipher, how it ended).

use std::any::Any;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};
use std::thread::JoinHandle;

use super::job::Request;
use super::workers::Bell;
use crate::cancel::Wake;
use crate::hostkey::HostKey;

/// What caller threads and the driver thread share.
pub(crate) struct Shared {
    pub(super) inbox: Mutex<Inbox>,
    pub(super) doorbell: Doorbell,
    pub(super) connected: AtomicBool,
    /// The cipher of the current (or last) connection.
    pub(super) cipher: Mutex<Option<String>>,
    /// The host key the server presented at the last connect (accepted or not).
    pub(super) host_key: Mutex<Option<HostKey>>,
    /// Set by the driver thread when the client's loop has ended.
    pub(super) ended: Mutex<Option<Ended>>,
    /// The same, read without a lock on every call.
    pub(super) has_ended: AtomicBool,
    pub(super) ended_cv: Condvar,
}

/// How a client's loop ended.
pub(crate) struct Ended {
    /// Its turn panicked (the calls it held were answered with PANIC).
    pub panic: Option<Box<dyn Any + Send>>,
    /// The driver thread, when it ended with this client (its last): joined by the one that
    /// frees the client, so that nothing of the client outlives it.
    pub thread: Option<JoinHandle<()>>,
}

/// Requests handed to the driver, and whether the client is being freed.
#[derive(Default)]
pub(crate) struct Inbox {
    pub requests: VecDeque<Request>,
    pub shutdown: bool,
}

/// How a client's loop is woken: a flag, and its driver thread's own wake-up with the list
/// of its clients to look at. One descriptor per driver thread, none per client.
#[derive(Default)]
pub(crate) struct Doorbell {
    rung: AtomicBool,
    /// Where the loop lives, set by its driver thread when it takes the client.
    bell: OnceLock<Bell>,
}

impl Doorbell {
    /// Asks for a turn of the loop (once until the loop answers).
    pub(crate) fn ring(&self) {
        if !self.rung.swap(true, Ordering::AcqRel) {
            if let Some(bell) = self.bell.get() {
                bell.ring();
            }
        }
    }

    /// The loop's turn has begun: later rings ask for another. Call before reading the inbox.
    pub(crate) fn answer(&self) {
        self.rung.store(false, Ordering::Release);
    }

    /// The loop now lives where `bell` rings (driver thread side, once).
    pub(crate) fn hang(&self, bell: Bell) {
        let _ = self.bell.set(bell);
    }
}

impl Wake for Shared {
    /// Wakes the client's loop (it then looks at its inbox and every run's state).
    fn wake(&self) {
        self.doorbell.ring();
    }
}

impl Shared {
    /// Wakes the client's loop (it then looks at its inbox and every run's state).
    pub(crate) fn wake(&self) {
        self.doorbell.ring();
    }

    pub(super) fn inbox(&self) -> MutexGuard<'_, Inbox> {
        self.inbox.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn set_host_key(&self, key: Option<HostKey>) {
        *self.host_key.lock().unwrap_or_else(|e| e.into_inner()) = key;
    }

    pub(super) fn set_cipher(&self, cipher: Option<String>) {
        *self.cipher.lock().unwrap_or_else(|e| e.into_inner()) = cipher;
    }

    /// The client's loop ended (driver thread side).
    pub(super) fn end(&self, ended: Ended) {
        *self.ended.lock().unwrap_or_else(|e| e.into_inner()) = Some(ended);
        self.has_ended.store(true, Ordering::Release);
        self.ended_cv.notify_all();
    }

    /// Whether the client's loop ended (it panicked, or the client is being freed).
    pub(super) fn has_ended(&self) -> bool {
        self.has_ended.load(Ordering::Acquire)
    }

    /// Waits until the client's loop has ended, and takes how.
    pub(super) fn wait_ended(&self) -> Ended {
        let mut ended = self.ended.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(how) = ended.as_mut() {
                return Ended {
                    panic: how.panic.take(),
                    thread: how.thread.take(),
                };
            }
            ended = self.ended_cv.wait(ended).unwrap_or_else(|e| e.into_inner());
        }
    }

    pub(super) fn set_connected(&self, up: bool) {
        self.connected.store(up, Ordering::Release);
    }
}
