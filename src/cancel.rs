//! Cancel tokens: one thread cancels runs that others are waiting on.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};

/// Something a cancel wakes up (a client's driver), so that it looks at its runs' tokens.
pub(crate) trait Wake: Send + Sync {
    fn wake(&self);
}

/// Cancels every run it is given to (through `RunOptions::cancel`), from any thread. A run
/// whose token is cancelled ends with [`ErrorKind::Cancelled`](crate::ErrorKind::Cancelled) and
/// its remote command is stopped; one not started yet is never sent. Cancelling is permanent:
/// use a new token for new work. Cloning shares the token.
#[derive(Clone, Default)]
pub struct CancelToken(Arc<Inner>);

#[derive(Default)]
struct Inner {
    cancelled: AtomicBool,
    /// A token whose cancel cancels this one too (a submitted run's own token, linked to the
    /// caller's).
    parent: Option<CancelToken>,
    /// The drivers running work with this token, to wake when it is cancelled.
    drivers: Mutex<Vec<Weak<dyn Wake>>>,
}

impl CancelToken {
    pub fn new() -> Self {
        Self::default()
    }

    /// Cancels every run using this token, now and later.
    pub fn cancel(&self) {
        self.0.cancelled.store(true, Ordering::Release);
        let drivers =
            std::mem::take(&mut *self.0.drivers.lock().unwrap_or_else(|e| e.into_inner()));
        for driver in drivers.iter().filter_map(Weak::upgrade) {
            driver.wake();
        }
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.cancelled.load(Ordering::Acquire)
            || self
                .0
                .parent
                .as_ref()
                .is_some_and(CancelToken::is_cancelled)
    }

    /// A token of its own that `parent`'s cancel also cancels.
    pub(crate) fn linked(parent: Option<&CancelToken>) -> Self {
        CancelToken(Arc::new(Inner {
            parent: parent.cloned(),
            ..Inner::default()
        }))
    }

    /// Asks to wake `driver` on cancellation (dead drivers are pruned as we go).
    pub(crate) fn register(&self, driver: Weak<dyn Wake>) {
        let mut drivers = self.0.drivers.lock().unwrap_or_else(|e| e.into_inner());
        drivers.retain(|d| d.strong_count() > 0);
        if !drivers.iter().any(|d| Weak::ptr_eq(d, &driver)) {
            drivers.push(driver.clone());
        }
        drop(drivers);
        if let Some(parent) = &self.0.parent {
            parent.register(driver);
        }
    }
}

impl std::fmt::Debug for CancelToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CancelToken")
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}
