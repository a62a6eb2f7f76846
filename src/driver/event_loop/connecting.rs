//! The loop's connect: one attempt against the connect deadline (or a wait_for_ssh call's).
//!
//! A driver thread serves many clients, and a connect waits (on the network, the guest's
//! sshd, an ssh-agent, a host-key callback): so the attempt runs on a thread of its own that
//! lives only as long as it does, while the client's turns go on on the driver thread. Those
//! turns take new calls, end on time those waiting for the connection, and abandon the
//! attempt when the client is closed or freed. The connecting thread wakes the client when it
//! is done, and the next turn takes the connection (or the error) from it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use super::super::connect::{self, Attempt, Conn};
use super::super::expiry::{expire_queued, expire_unsent};
use super::super::job::{deadline_after, Request};
use super::super::liveness::Liveness;
use super::super::poll::Waker;
use super::{Loop, Next};
use crate::error::{Error, ErrorKind, Result};
use crate::hostkey::HostKey;
use crate::log::LogLevel;

/// A connect attempt in progress on its own thread.
pub(super) struct Connecting {
    thread: JoinHandle<Outcome>,
    /// Set (and `waker` woken) to make the attempt give up: the client is closed or freed.
    abandon: Arc<AtomicBool>,
    waker: Arc<Waker>,
    /// Set when the attempt is over (returned or panicked), before the client is woken.
    over: Arc<AtomicBool>,
    started: Instant,
}

/// Tells the client the attempt is over when it goes, however it ends.
struct Over(Arc<AtomicBool>, Arc<super::super::shared::Shared>);

impl Drop for Over {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
        self.1.wake();
    }
}

/// What an attempt ends with.
struct Outcome {
    result: Result<Conn>,
    remembered: Option<[u8; 32]>,
    seen: Option<HostKey>,
}

impl Loop {
    /// Starts a connect attempt on a thread of its own.
    pub(super) fn start_connect(&mut self) {
        let started = Instant::now();
        self.log(LogLevel::Info, || match self.connects {
            0 => format!("connecting to {}", self.target()),
            n => format!("reconnecting to {} (connection {})", self.target(), n + 1),
        });
        let budget = self.config.connect_timeout;
        let mut deadline = deadline_after(started, budget);
        // A wait_for_ssh attempt bounds the connect by its own deadline.
        if self.active.is_empty() && self.queue.iter().all(|r| matches!(r, Request::Connect(_))) {
            if let Some(latest) = self.queue.iter().map(|r| r.job().deadline).max() {
                deadline = deadline.min(latest);
            }
        }
        let waker = match Waker::new() {
            Ok(waker) => Arc::new(waker),
            Err(e) => return self.connect_failed(cannot_start(&e)),
        };
        let abandon = Arc::new(AtomicBool::new(false));
        let (config, shared, account) = (
            Arc::clone(&self.config),
            Arc::clone(&self.shared),
            Arc::clone(&self.account),
        );
        let over = Arc::new(AtomicBool::new(false));
        let (thread_waker, thread_abandon) = (Arc::clone(&waker), Arc::clone(&abandon));
        let thread_over = Over(Arc::clone(&over), shared);
        let mut remembered = self.remembered_key;
        // Rust's default stack: host-key, descriptor and log callbacks (a Python one with its
        // interpreter frames) run on it.
        let spawned = std::thread::Builder::new()
            .name("smol-ssh-connect".into())
            .spawn(move || {
                super::super::workers::mark_driver_thread();
                let _over = thread_over;
                let _counted = account.enter();
                let abort = || thread_abandon.load(Ordering::Acquire);
                let attempt = Attempt {
                    deadline,
                    budget: budget.min(deadline.saturating_duration_since(Instant::now())),
                    waker: &thread_waker,
                    abort: &abort,
                };
                let mut seen = None;
                let result = connect::connect(&config, &mut remembered, &mut seen, &attempt);
                Outcome {
                    result,
                    remembered,
                    seen,
                }
            });
        match spawned {
            Ok(thread) => {
                self.connecting = Some(Connecting {
                    thread,
                    abandon,
                    waker,
                    over,
                    started,
                })
            }
            Err(e) => self.connect_failed(cannot_start(&e)),
        }
    }

    /// A turn while connecting: new calls are queued (a close stays in the inbox until the
    /// attempt ends, and abandons it), and the calls waiting for the connection end on time.
    /// `None` once the attempt has ended (its outcome taken): the turn goes on as usual.
    pub(super) fn while_connecting(&mut self) -> Option<Next> {
        let connecting = self.connecting.as_mut()?;
        self.shared.doorbell.answer();
        let give_up = {
            let mut inbox = self.shared.inbox();
            let until_close = inbox
                .requests
                .iter()
                .position(|r| matches!(r, Request::Close(_)))
                .unwrap_or(inbox.requests.len());
            self.queue.extend(inbox.requests.drain(..until_close));
            inbox.shutdown || !inbox.requests.is_empty()
        };
        if give_up && !connecting.abandon.swap(true, Ordering::AcqRel) {
            connecting.waker.wake();
        }
        let now = Instant::now();
        expire_queued(&mut self.queue, now);
        expire_unsent(&mut self.active, now);
        if !connecting.over.load(Ordering::Acquire) {
            let queued = self.queue.iter().map(|r| r.job().deadline);
            let deadline = queued
                .chain(self.active.iter().map(|t| t.job.deadline))
                .min();
            self.watched.clear();
            self.watching_idle = false;
            return Some(Next::Sleep(deadline));
        }
        let connecting = self.connecting.take().expect("checked above");
        match connecting.thread.join() {
            Ok(outcome) => self.connect_ended(outcome, connecting.started),
            // In debug builds (the tests) the connect's panic is the loop's, so none goes
            // unseen; otherwise the calls waiting for the connection get it as an error.
            Err(panic) if cfg!(debug_assertions) => std::panic::resume_unwind(panic),
            Err(_) => self.connect_failed(Error::new(
                ErrorKind::Panic,
                "internal error: the connect stopped unexpectedly",
            )),
        }
        None
    }

    fn connect_ended(&mut self, outcome: Outcome, started: Instant) {
        self.remembered_key = outcome.remembered;
        if outcome.seen.is_some() {
            self.shared.set_host_key(outcome.seen);
        }
        match outcome.result {
            Ok(conn) => {
                self.connects += 1;
                self.log(LogLevel::Info, || {
                    format!(
                        "connected to {} in {} ms (cipher {})",
                        self.target(),
                        started.elapsed().as_millis(),
                        conn.cipher().as_deref().unwrap_or("unknown")
                    )
                });
                self.shared.set_cipher(conn.cipher());
                self.conn = Some(conn);
                self.shared.set_connected(true);
                let c = &self.config;
                self.liveness = Some(Liveness::new(
                    c.keepalive_interval,
                    c.keepalive_count_max,
                    Instant::now(),
                ));
            }
            Err(err) => self.connect_failed(err),
        }
    }

    fn connect_failed(&mut self, err: Error) {
        let level = match err.kind() {
            ErrorKind::HostKeyRejected | ErrorKind::AuthFailed => LogLevel::Error,
            _ => LogLevel::Warning,
        };
        self.log(level, || format!("connect failed: {err}"));
        self.fail_all(&err);
    }

    /// The server, as messages name it.
    fn target(&self) -> String {
        self.config
            .transport
            .describe(&self.config.host, self.config.port)
    }
}

fn cannot_start(e: &std::io::Error) -> Error {
    Error::new(
        ErrorKind::ConnectFailed,
        format!("cannot start a thread for the connect: {e}"),
    )
}
