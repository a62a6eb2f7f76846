//! Client handles: the `smol_ssh_client*` a C caller holds is a key into a registry, not the
//! address of the client, so that a call racing `smol_ssh_free` (or made after it) finds no
//! client and fails cleanly instead of touching freed memory. Keys are never reused.
//!
//! Every call goes through [`client_call`]: it looks the key up and counts itself in under the
//! registry's lock, so `smol_ssh_free`, which removes the key under that lock, then waits for
//! exactly the calls that got in. A poisoned client (a panic was caught in a call on it)
//! refuses further work.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};

use crate::error::{Error, ErrorKind};
use crate::Client;

/// A client of one guest: one persistent SSH connection, made on first use and remade when it
/// dies. Made by `smol_ssh_new`, freed by `smol_ssh_free`. The pointer is an opaque handle,
/// never dereferenced: using it after `smol_ssh_free` (even from a thread racing the free)
/// returns SMOL_SSH_STATUS_INVALID_ARGUMENT instead of touching freed memory. If an internal
/// error (a panic) is ever caught in a call on a client, that call returns
/// SMOL_SSH_STATUS_PANIC and every later call on the client does too, since its state may be
/// damaged; free it and make a new one.
///
/// Thread safety: every function taking a client may be called from any thread, and from many
/// threads at once on the same client (runs share the one connection), `smol_ssh_free`
/// included: calls in progress end at once (DISCONNECTED) and free waits for them.
pub struct smol_ssh_client {
    _opaque: [u8; 0],
}

/// What a handle names.
struct Entry {
    client: Client,
    /// Calls in progress, so that `smol_ssh_free` can wait for them.
    calls: Mutex<usize>,
    idle: Condvar,
    poisoned: AtomicBool,
}

#[derive(Default)]
struct Registry {
    entries: HashMap<usize, Arc<Entry>>,
    /// The last key handed out (keys start at 1, so a handle is never NULL).
    last: usize,
}

fn registry() -> MutexGuard<'static, Registry> {
    static REGISTRY: OnceLock<Mutex<Registry>> = OnceLock::new();
    REGISTRY
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

fn key(handle: *const smol_ssh_client) -> usize {
    handle as usize
}

/// Registers a client; the handle to give to C.
pub(crate) fn register(client: Client) -> *mut smol_ssh_client {
    let mut reg = registry();
    reg.last += 1;
    let key = reg.last;
    reg.entries.insert(
        key,
        Arc::new(Entry {
            client,
            calls: Mutex::new(0),
            idle: Condvar::new(),
            poisoned: AtomicBool::new(false),
        }),
    );
    key as *mut smol_ssh_client
}

/// A call in progress on a client; `smol_ssh_free` waits until none is left.
pub(crate) struct Call {
    entry: Arc<Entry>,
}

impl Call {
    pub(crate) fn client(&self) -> &Client {
        &self.entry.client
    }
}

/// A call in progress hands out its client, so that work it moves to another thread (a
/// submitted transfer) keeps counting as the call `smol_ssh_free` waits for.
impl std::ops::Deref for Call {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.entry.client
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        let mut calls = self.entry.calls.lock().unwrap_or_else(|e| e.into_inner());
        *calls -= 1;
        if *calls == 0 {
            self.entry.idle.notify_all();
        }
    }
}

fn unknown(handle: *const smol_ssh_client) -> Error {
    if handle.is_null() {
        Error::invalid("client is NULL")
    } else {
        Error::invalid("client is not a live client (freed, or never made by smol_ssh_new)")
    }
}

/// Enters a call on the client behind `handle`, refusing an unknown or poisoned one.
pub(crate) fn client_call(handle: *const smol_ssh_client) -> Result<Call, Error> {
    let reg = registry();
    let entry = reg
        .entries
        .get(&key(handle))
        .cloned()
        .ok_or_else(|| unknown(handle))?;
    if entry.poisoned.load(Ordering::Acquire) {
        return Err(Error::new(
            ErrorKind::Panic,
            "this client is unusable after an internal error (a caught panic); free it and make a new one",
        ));
    }
    *entry.calls.lock().unwrap_or_else(|e| e.into_inner()) += 1;
    drop(reg);
    Ok(Call { entry })
}

/// Marks the client unusable after a panic was caught in a call on it.
pub(crate) fn poison(handle: *const smol_ssh_client) {
    if let Some(entry) = registry().entries.get(&key(handle)) {
        entry.poisoned.store(true, Ordering::Release);
    }
}

/// Frees the client behind `handle`: it is unregistered at once (no new call gets in), its
/// runs end, and, unless `from_callback` (a call in progress on this very thread would wait for
/// itself), this waits for the calls in progress; the client is dropped with the last of them.
pub(crate) fn free(handle: *const smol_ssh_client, from_callback: bool) {
    let Some(entry) = registry().entries.remove(&key(handle)) else {
        return;
    };
    entry.client.shutdown();
    if from_callback {
        return;
    }
    let mut calls = entry.calls.lock().unwrap_or_else(|e| e.into_inner());
    while *calls > 0 {
        calls = entry.idle.wait(calls).unwrap_or_else(|e| e.into_inner());
    }
}
