//! The connection's owner. One driver thread per client owns the libssh2 session in
//! non-blocking mode; callers hand it jobs and wait on their own deadline (see DESIGN §2).

mod connect;
mod dial;
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

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

pub(crate) use input::Input;
pub(crate) use job::{deadline_after, Job, Request, RunJob};
pub(crate) use poll::{readable_within, set_nonblocking, shut_down, Waker};
pub(crate) use shared::Shared;
pub(crate) use ticket::{Event, Ticket};
pub(crate) use tunnel::{Counters, Target as TunnelTarget, TunnelJob};
pub(crate) use Submitter as DriverSubmitter;

use crate::config::Config;
use crate::error::{Error, ErrorKind, Result};
use shared::Inbox;

/// The handle a client keeps on its driver thread, started on first use.
pub(crate) struct Driver {
    shared: Arc<Shared>,
    config: Arc<Config>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Driver {
    pub(crate) fn new(config: Config) -> Result<Self> {
        let waker = poll::Waker::new().map_err(|e| {
            Error::new(
                ErrorKind::ConnectFailed,
                format!("cannot create the driver's wake-up socket pair: {e}"),
            )
        })?;
        Ok(Driver {
            shared: Arc::new(Shared {
                inbox: Mutex::new(Inbox::default()),
                waker,
                connected: AtomicBool::new(false),
                cipher: Mutex::new(None),
                host_key: Mutex::new(None),
            }),
            config: Arc::new(config),
            thread: Mutex::new(None),
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

    /// Queues a request and wakes the driver, starting its thread on first use.
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
        self.shared.waker.wake();
    }

    /// Whether the driver thread has been started (nothing to close before that).
    pub(crate) fn shutting_down(&self) -> bool {
        self.shared.inbox().shutdown
    }

    pub(crate) fn started(&self) -> bool {
        self.thread
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
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
        let mut thread = self.thread.lock().unwrap_or_else(|e| e.into_inner());
        if thread.as_ref().is_some_and(|t| t.is_finished()) {
            // Only a panic ends the driver before the client is dropped; its state is suspect.
            return Err(Error::new(
                ErrorKind::Panic,
                "this client's driver stopped after an internal error; make a new client",
            ));
        }
        if thread.is_none() {
            let shared = Arc::clone(&self.shared);
            let config = Arc::clone(&self.config);
            let handle = std::thread::Builder::new()
                .name("smol-ssh-driver".into())
                .spawn(move || event_loop::run(shared, config))
                .map_err(|e| {
                    Error::new(
                        ErrorKind::ConnectFailed,
                        format!("cannot start the driver thread: {e}"),
                    )
                })?;
            *thread = Some(handle);
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
        self.0.waker.wake();
        Ok(())
    }

    /// The client is being freed (or was).
    pub(crate) fn closed(&self) -> bool {
        self.0.inbox().shutdown
    }
}

impl Drop for Driver {
    /// Ends the driver: jobs still queued or running end as disconnected, the connection is
    /// closed, and the thread is joined, so nothing of the client outlives it.
    fn drop(&mut self) {
        self.shutdown();
        let handle = self
            .thread
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(handle) = handle {
            // A panic of the driver thread has answered its calls with PANIC already; in debug
            // builds (the tests) it is raised here too, so that no internal check goes unseen.
            if let Err(panic) = handle.join() {
                if cfg!(debug_assertions) && !std::thread::panicking() {
                    std::panic::resume_unwind(panic);
                }
            }
        }
    }
}
