//! What caller threads and the driver thread share: the inbox of requests, the wake-up
//! pipe, and what the driver reports (connected, cipher).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use super::job::Request;
use super::poll::Waker;
use crate::cancel::Wake;
use crate::hostkey::HostKey;

/// What caller threads and the driver thread share.
pub(crate) struct Shared {
    pub(super) inbox: Mutex<Inbox>,
    pub(super) waker: Waker,
    pub(super) connected: AtomicBool,
    /// The cipher of the current (or last) connection.
    pub(super) cipher: Mutex<Option<String>>,
    /// The host key the server presented at the last connect (accepted or not).
    pub(super) host_key: Mutex<Option<HostKey>>,
}

/// Requests handed to the driver, and whether the client is being freed.
#[derive(Default)]
pub(crate) struct Inbox {
    pub requests: VecDeque<Request>,
    pub shutdown: bool,
}

impl Wake for Shared {
    /// Wakes the driver thread (it then looks at its inbox and every run's state).
    fn wake(&self) {
        self.waker.wake();
    }
}

impl Shared {
    /// Wakes the driver thread (it then looks at its inbox and every run's state).
    pub(crate) fn wake(&self) {
        self.waker.wake();
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

    pub(super) fn set_connected(&self, up: bool) {
        self.connected.store(up, Ordering::Release);
    }
}
