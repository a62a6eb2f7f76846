//! The connection's owner. A client's loop, on one of the process's driver threads (see
//! `workers`), owns the libssh2 session in non-blocking mode; callers hand it jobs and wait
//! on their own deadline (see DESIGN §2).

mod connect;
mod dial;
mod epoll;
mod event_loop;
mod expiry;
mod held_memory;
mod input;
mod job;
mod known_hosts;
mod liveness;
mod poll;
mod pool;
mod raw_channel;
mod reaper;
mod shared;
mod sink;
mod socket_io;
mod ssh_error;
mod task;
mod ticket;
mod tunnel;
mod workers;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};

pub(crate) use input::Input;
pub(crate) use job::{deadline_after, Job, Request, RunJob};
pub(crate) use poll::{readable_within, set_nonblocking, shut_down, Waker};
pub(crate) use shared::Shared;
pub(crate) use ticket::{Event, Ticket};
pub(crate) use tunnel::{Counters, Target as TunnelTarget, TunnelJob};
pub use workers::{driver_threads, set_driver_threads, MAX_DRIVER_THREADS};
pub(crate) use Submitter as DriverSubmitter;

use crate::config::Config;
use crate::error::{Error, ErrorKind, Result};
use shared::{Doorbell, Inbox};

/// The handle a client keeps on its loop, handed to a driver thread on first use.
pub(crate) struct Driver {
    shared: Arc<Shared>,
    config: Arc<Config>,
    /// The loop was handed to a driver thread (read without a lock on every call; `attaching`
    /// makes the handing over happen once).
    started: AtomicBool,
    attaching: Mutex<()>,
}

impl Driver {
    pub(crate) fn new(config: Config) -> Result<Self> {
        Ok(Driver {
            shared: Arc::new(Shared {
                inbox: Mutex::new(Inbox::default()),
                doorbell: Doorbell::default(),
                connected: AtomicBool::new(false),
                cipher: Mutex::new(None),
                host_key: Mutex::new(None),
                ended: Mutex::new(None),
                has_ended: AtomicBool::new(false),
                ended_cv: Condvar::new(),
            }),
            config: Arc::new(config),
            started: AtomicBool::new(false),
            attaching: Mutex::new(()),
        })
    }

    pub(crate) fn config(&self) -> &Config {
        &self.config
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    pub(crate) fn wake(&self) {
        self.shared.wake();
    }

    /// Queues a request and wakes the driver, handing the loop to a driver thread on first use.
    pub(crate) fn submit(&self, request: Request) -> Result<()> {
        self.ensure_started()?;
        Submitter(Arc::clone(&self.shared)).submit(request)
    }

    /// What another thread (a forward's listener) submits requests with, the driver started.
    pub(crate) fn submitter(&self) -> Result<Submitter> {
        self.ensure_started()?;
        Ok(Submitter(Arc::clone(&self.shared)))
    }

    /// Starts ending the driver without waiting: runs queued or in flight end as
    /// disconnected at once, and new work is refused. Idempotent; `Drop` then joins.
    pub(crate) fn shutdown(&self) {
        self.shared.inbox().shutdown = true;
        self.shared.wake();
    }

    pub(crate) fn shutting_down(&self) -> bool {
        self.shared.inbox().shutdown
    }

    /// Whether the loop has been started (nothing to close before that).
    pub(crate) fn started(&self) -> bool {
        self.started.load(Ordering::Acquire)
    }

    pub(crate) fn connected(&self) -> bool {
        self.shared.connected.load(Ordering::Acquire)
    }

    pub(crate) fn host_key(&self) -> Option<crate::hostkey::HostKey> {
        self.shared
            .host_key
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(crate) fn cipher(&self) -> Option<String> {
        self.shared
            .cipher
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn ensure_started(&self) -> Result<()> {
        if !self.started() {
            let _once = self.attaching.lock().unwrap_or_else(|e| e.into_inner());
            if !self.started() {
                workers::attach(Arc::clone(&self.shared), Arc::clone(&self.config))?;
                self.started.store(true, Ordering::Release);
            }
        }
        if self.shared.has_ended() && !self.shutting_down() {
            // Only a panic ends the loop before the client is dropped; its state is suspect.
            return Err(Error::new(
                ErrorKind::Panic,
                "this client's driver stopped after an internal error; make a new client",
            ));
        }
        Ok(())
    }
}

/// Submits requests to a started driver from any thread; refused once the client is freed.
#[derive(Clone)]
pub(crate) struct Submitter(Arc<Shared>);

impl Submitter {
    pub(crate) fn submit(&self, request: Request) -> Result<()> {
        {
            let mut inbox = self.0.inbox();
            if inbox.shutdown {
                return Err(Error::new(
                    ErrorKind::Disconnected,
                    "the client is being freed",
                ));
            }
            inbox.requests.push_back(request);
        }
        self.0.wake();
        Ok(())
    }

    /// The client is being freed (or was).
    pub(crate) fn closed(&self) -> bool {
        self.0.inbox().shutdown
    }
}

impl Drop for Driver {
    /// Ends the loop: jobs still queued or running end as disconnected, the connection is
    /// closed, and the driver thread is done with the client before this returns, so that
    /// nothing of the client outlives it.
    fn drop(&mut self) {
        self.shutdown();
        if !self.started() || workers::on_driver_thread() {
            // Freed on the library's own thread (from a log or host-key callback): it cannot
            // wait for itself; the loop ends on its own.
            return;
        }
        let ended = self.shared.wait_ended();
        if let Some(thread) = ended.thread {
            let _ = thread.join();
        }
        // A panic of the loop has answered its calls with PANIC already; in debug builds
        // (the tests) it is raised here too, so that no internal check goes unseen.
        if let Some(panic) = ended.panic {
            if cfg!(debug_assertions) && !std::thread::panicking() {
                std::panic::resume_unwind(panic);
            }
        }
    }
}
