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
//! The count is per thread: a session is only ever used, and freed, by its driver thread.
//!
//! With `raw_channel.rs`, `socket_io.rs` and `poll.rs`, one of the places outside `ffi` with
//! `unsafe`.

use std::cell::Cell;
use std::ffi::c_void;

use libssh2_sys as sys;

/// Most bytes libssh2 may hold for one connection. A well-behaved server makes it hold at most
/// the data of the open channels' windows (2 MiB each, 8 runs and as many closing channels),
/// so 32 MiB, plus buffers.
pub(crate) const LIMIT: usize = 64 * 1024 * 1024;

thread_local! {
    /// Bytes allocated by libssh2 on this thread, minus those it freed.
    static HELD: Cell<isize> = const { Cell::new(0) };
}

/// What libssh2 holds now for this thread's connection.
pub(crate) fn held() -> usize {
    HELD.with(|h| h.get().max(0) as usize)
}

/// Makes `session` allocate through the counters, and starts the count afresh (the previous
/// connection of this thread is gone). Call right after the session is made.
pub(crate) fn install(session: &ssh2::Session) {
    HELD.with(|h| h.set(0));
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
    HELD.with(|h| h.set(h.get().saturating_add(bytes)));
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
