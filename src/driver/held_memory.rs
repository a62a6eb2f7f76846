//! How much memory libssh2 holds for the connection, so that a server cannot make it grow
//! without bound.
//!
//! libssh2 keeps every message it has no use for yet in the session's packet list: data of a
//! channel nobody reads, but also unsolicited CHANNEL_SUCCESS messages, unknown message types,
//! replies to nothing, each as big as the server likes, for the life of the connection. Only
//! ending the connection frees them. So the driver counts the bytes libssh2 has allocated and
//! ends the connection when they pass [`LIMIT`].
//!
//! ssh2-rs makes the session with libssh2's default allocator and offers no other; libssh2
//! keeps its allocator in the first fields of the session (`abstract`, `alloc`, `realloc`,
//! `free`, the same since libssh2 1.0). Right after the session is made, they are pointed at
//! counting wrappers around the same malloc. The layout is checked at run time (the address of
//! `abstract` must be the session's own); if it ever differs, nothing is changed and the count
//! stays at zero (no bound, but no harm).
//!
//! The count is per client ([`Account`]): a client's libssh2 calls, on the thread that
//! connects it and then on the driver thread that serves it among others, run inside
//! [`Account::enter`], which makes its account the one this thread's allocations count into.
//!
//! With `raw_channel.rs`, `socket_io.rs` and `poll.rs`, one of the places outside `ffi` with
//! `unsafe`.

use std::cell::Cell;
use std::ffi::c_void;
use std::ptr;
use std::sync::atomic::{AtomicIsize, Ordering};

use libssh2_sys as sys;

/// Most bytes libssh2 may hold for one connection. A well-behaved server makes it hold at most
/// the data of the open channels' windows (2 MiB each, 8 runs and as many closing channels),
/// so 32 MiB, plus buffers.
pub(crate) const LIMIT: usize = 64 * 1024 * 1024;

/// Bytes libssh2 allocated for one client's connection, minus those it freed.
#[derive(Default)]
pub(crate) struct Account(AtomicIsize);

thread_local! {
    /// The account this thread's libssh2 allocations count into now (none: not counted).
    static CURRENT: Cell<*const Account> = const { Cell::new(ptr::null()) };
}

/// While it lives, this thread's libssh2 allocations count into one account.
pub(crate) struct Entered<'a> {
    before: *const Account,
    account: std::marker::PhantomData<&'a Account>,
}

impl Account {
    /// Counts this thread's libssh2 allocations into this account until the guard goes.
    pub(crate) fn enter(&self) -> Entered<'_> {
        Entered {
            before: CURRENT.with(|c| c.replace(self)),
            account: std::marker::PhantomData,
        }
    }
}

impl Drop for Entered<'_> {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.before));
    }
}

/// Runs `f` on the account this thread counts into (if any).
fn with_current<T>(f: impl FnOnce(&Account) -> T) -> Option<T> {
    let current = CURRENT.with(Cell::get);
    // SAFETY: CURRENT is set only by `Account::enter`, whose guard borrows the account and
    // restores the previous value when it goes, so a non-null pointer is a live account.
    unsafe { current.as_ref() }.map(f)
}

/// What libssh2 holds now for the connection of the account entered on this thread.
pub(crate) fn held() -> usize {
    with_current(|a| a.0.load(Ordering::Relaxed).max(0) as usize).unwrap_or(0)
}

/// Makes `session` allocate through the counters, and starts the count afresh (the client's
/// previous connection is gone). Call right after the session is made, inside `enter`.
pub(crate) fn install(session: &ssh2::Session) {
    with_current(|a| a.0.store(0, Ordering::Relaxed));
    let mut guard = session.raw();
    let sess: *mut sys::LIBSSH2_SESSION = &mut *guard;
    // SAFETY: `sess` is live and locked. libssh2_session_abstract returns the address of the
    // session's first field when the layout is the one described above; only then are the
    // three function pointers that follow it replaced, with functions of the same signatures
    // that allocate with the same malloc as libssh2's defaults (so blocks allocated before
    // the switch are freed correctly after it).
    unsafe {
        let fields = sess.cast::<*const c_void>();
        if sys::libssh2_session_abstract(sess).cast::<*const c_void>() != fields {
            return;
        }
        let alloc: extern "C" fn(libc::size_t, *mut *mut c_void) -> *mut c_void = counted_alloc;
        let realloc: extern "C" fn(*mut c_void, libc::size_t, *mut *mut c_void) -> *mut c_void =
            counted_realloc;
        let free: extern "C" fn(*mut c_void, *mut *mut c_void) = counted_free;
        fields.add(1).write(alloc as *const c_void);
        fields.add(2).write(realloc as *const c_void);
        fields.add(3).write(free as *const c_void);
    }
}

fn add(bytes: isize) {
    with_current(|a| a.0.fetch_add(bytes, Ordering::Relaxed));
}

/// The usable size of a malloc block (0 for NULL).
fn size_of_block(ptr: *mut c_void) -> isize {
    if ptr.is_null() {
        return 0;
    }
    // SAFETY: `ptr` is a live block from this process's malloc.
    unsafe { libc::malloc_usable_size(ptr) as isize }
}

extern "C" fn counted_alloc(size: libc::size_t, _abstract: *mut *mut c_void) -> *mut c_void {
    // SAFETY: plain malloc.
    let ptr = unsafe { libc::malloc(size) };
    add(size_of_block(ptr));
    ptr
}

extern "C" fn counted_realloc(
    ptr: *mut c_void,
    size: libc::size_t,
    _abstract: *mut *mut c_void,
) -> *mut c_void {
    let before = size_of_block(ptr);
    // SAFETY: `ptr` is NULL or a live block of this malloc, as libssh2 guarantees.
    let new = unsafe { libc::realloc(ptr, size) };
    if !new.is_null() || size == 0 {
        add(size_of_block(new) - before);
    }
    new
}

extern "C" fn counted_free(ptr: *mut c_void, _abstract: *mut *mut c_void) {
    add(-size_of_block(ptr));
    // SAFETY: `ptr` is NULL or a live block of this malloc, freed once by libssh2.
    unsafe { libc::free(ptr) };
}
