//! The driver threads. A small pool of threads (by default as many as the machine has cores)
//! serves every client of the process: a client's loop lives on one of them from its first
//! call to its free, and each thread runs its clients' turns one at a time and sleeps on all
//! of them at once (epoll). So threads do not grow with clients, and a client costs its
//! connection's memory, not a thread's.
//!
//! A client goes to a new thread while there are fewer than the pool's size, then to the one
//! with the fewest clients. A thread ends when its last client is freed (the next client
//! starts one again), so a process without clients keeps none.
//!
//! What one client does cannot hold up another on the same thread beyond a turn's share:
//! a turn steps channels for at most `TURN_SLICE` and lets libssh2 receive at most
//! `TURN_RECV_BUDGET` (see event_loop), connects run on threads of their own (see
//! event_loop/connecting.rs), and a flooding client's next turn waits behind every other
//! client that is ready.

mod worker;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

use super::poll::Waker;
use super::shared::Shared;
use crate::config::Config;
use crate::error::{Error, ErrorKind, Result};

/// The most driver threads one may ask for.
pub const MAX_DRIVER_THREADS: usize = 1024;

/// The environment variable that sets the pool's size (when the program sets none).
const ENV_THREADS: &str = "SMOL_SSH_DRIVER_THREADS";

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    size: 0,
    workers: Vec::new(),
});

struct Registry {
    /// The pool's size set by the program (0: not set).
    size: usize,
    workers: Vec<Arc<Handle>>,
}

/// What the rest of the process holds of a driver thread.
struct Handle {
    /// Clients handed to the thread and not yet taken by it.
    inbox: Mutex<Vec<(Arc<Shared>, Arc<Config>)>>,
    /// The clients whose doorbell rang since the thread last looked (their slots).
    rung: Mutex<Vec<usize>>,
    waker: Waker,
    /// Clients on the thread (for choosing the least busy).
    clients: AtomicUsize,
    thread: Mutex<Option<JoinHandle<()>>>,
}

/// Where a client's doorbell rings: its slot on its driver thread.
pub(crate) struct Bell {
    handle: Arc<Handle>,
    slot: usize,
}

impl Bell {
    pub(crate) fn ring(&self) {
        self.handle
            .rung
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(self.slot);
        self.handle.waker.wake();
    }
}

fn registry() -> MutexGuard<'static, Registry> {
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

/// Sets how many driver threads serve the process's clients (0: the default, the number of
/// cores, or `SMOL_SSH_DRIVER_THREADS`). Clients already started stay where they are; new
/// ones go to the pool as sized now.
pub fn set_driver_threads(threads: usize) -> Result<()> {
    if threads > MAX_DRIVER_THREADS {
        return Err(Error::invalid(format!(
            "driver threads: {threads} is more than {MAX_DRIVER_THREADS}"
        )));
    }
    registry().size = threads;
    Ok(())
}

/// How many driver threads serve the process's clients at most (see `set_driver_threads`).
pub fn driver_threads() -> usize {
    size(&registry())
}

fn size(registry: &Registry) -> usize {
    if registry.size > 0 {
        return registry.size;
    }
    let from_env = std::env::var(ENV_THREADS)
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|n| (1..=MAX_DRIVER_THREADS).contains(n));
    from_env.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    })
}

/// Hands a client to a driver thread, starting one if the pool is not full.
pub(crate) fn attach(shared: Arc<Shared>, config: Arc<Config>) -> Result<()> {
    let mut registry = registry();
    let handle = if registry.workers.len() < size(&registry) {
        let handle = start()?;
        registry.workers.push(Arc::clone(&handle));
        handle
    } else {
        let least = registry
            .workers
            .iter()
            .min_by_key(|w| w.clients.load(Ordering::Relaxed))
            .expect("the pool has a thread");
        Arc::clone(least)
    };
    handle.clients.fetch_add(1, Ordering::Relaxed);
    handle
        .inbox
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push((shared, config));
    handle.waker.wake();
    Ok(())
}

/// Starts a driver thread (called with the registry locked, so that the thread cannot look
/// for its handle's join handle before it is stored).
fn start() -> Result<Arc<Handle>> {
    let failed = |what: &str, e: std::io::Error| {
        Error::new(
            ErrorKind::ConnectFailed,
            format!("cannot start a driver thread ({what}): {e}"),
        )
    };
    let handle = Arc::new(Handle {
        inbox: Mutex::new(Vec::new()),
        rung: Mutex::new(Vec::new()),
        waker: Waker::new().map_err(|e| failed("wake-up eventfd", e))?,
        clients: AtomicUsize::new(0),
        thread: Mutex::new(None),
    });
    let epoll = worker::watching(&handle).map_err(|e| failed("epoll", e))?;
    let for_thread = Arc::clone(&handle);
    let thread = std::thread::Builder::new()
        .name("smol-ssh-driver".into())
        .spawn(move || worker::Worker::new(for_thread, epoll).serve())
        .map_err(|e| failed("thread", e))?;
    *handle.thread.lock().unwrap_or_else(|e| e.into_inner()) = Some(thread);
    Ok(handle)
}

/// A driver thread with no client left leaves the pool, unless a client was handed to it
/// meanwhile. Returns its own join handle when it leaves.
fn leave(handle: &Arc<Handle>) -> Option<JoinHandle<()>> {
    let mut registry = registry();
    if !handle
        .inbox
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .is_empty()
    {
        return None;
    }
    registry.workers.retain(|w| !Arc::ptr_eq(w, handle));
    let thread = handle
        .thread
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take();
    thread
}

/// A driver thread that broke (a panic outside any client's turn) leaves the pool at once,
/// with the clients handed to it and not yet taken: they end as if their turn had panicked.
fn abandon(handle: &Arc<Handle>) -> Vec<(Arc<Shared>, Arc<Config>)> {
    let mut registry = registry();
    registry.workers.retain(|w| !Arc::ptr_eq(w, handle));
    std::mem::take(&mut *handle.inbox.lock().unwrap_or_else(|e| e.into_inner()))
}

/// True on a driver thread or a connect's thread (a client freed there, from one of its
/// callbacks, cannot wait for its own loop).
pub(crate) fn on_driver_thread() -> bool {
    worker::ON_DRIVER.with(|d| d.get())
}

/// Marks this thread as the library's own (see `on_driver_thread`).
pub(crate) fn mark_driver_thread() {
    worker::ON_DRIVER.with(|d| d.set(true));
}
