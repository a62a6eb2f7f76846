//! A budget on what libssh2 may read from the socket before it has to come back.
//!
//! libssh2 reads "until the socket would block": a channel read first processes every packet
//! the socket holds, and the handshake reads banner lines one after another. A server that
//! sends faster than we decrypt (an output flood, endless lines before its banner, a storm of
//! protocol messages) would keep one libssh2 call busy for as long as it likes, and the driver
//! could not look at deadlines, cancels, new runs or `free` meanwhile. So libssh2 reads through
//! this module's receive function, which hands it at most the bytes granted for the current
//! turn of the driver and then says "would block". The driver grants a new budget each turn;
//! with data still waiting, the next turn starts at once (no sleep), so throughput is unchanged.
//!
//! The budget is per thread: a session is only ever used by its driver thread. Threads that
//! never set one read without limit (libssh2's own behaviour).
//!
//! With `raw_channel.rs` and `poll.rs`, one of the places outside `ffi` with `unsafe`.

use std::cell::Cell;
use std::ffi::{c_int, c_void};

use libssh2_sys as sys;

extern "C" {
    // In libssh2 ≥ 1.11.1 (the bundled one) but not declared by libssh2-sys 0.3.
    fn libssh2_session_callback_set2(
        session: *mut sys::LIBSSH2_SESSION,
        cbtype: c_int,
        callback: *const c_void,
    ) -> *const c_void;
}

/// libssh2.h: `LIBSSH2_CALLBACK_RECV`.
const CALLBACK_RECV: c_int = 6;

thread_local! {
    /// Bytes libssh2 may still receive on this thread before it is told "would block".
    static LEFT: Cell<usize> = const { Cell::new(usize::MAX) };
}

/// Lets libssh2 receive up to `bytes` more on this thread (replacing what was left).
pub(crate) fn grant(bytes: usize) {
    LEFT.with(|l| l.set(bytes));
}

/// True when the budget ran out: the socket may hold more than was read.
pub(crate) fn exhausted() -> bool {
    LEFT.with(|l| l.get() == 0)
}

/// Makes `session` receive through the budget. Call before the handshake.
pub(crate) fn install(session: &ssh2::Session) {
    let mut guard = session.raw();
    let sess: *mut sys::LIBSSH2_SESSION = &mut *guard;
    let recv: extern "C" fn(c_int, *mut c_void, libc::size_t, c_int, *mut *mut c_void) -> isize =
        budgeted_recv;
    // SAFETY: `sess` is live and locked; the callback has the signature libssh2 calls it with
    // (LIBSSH2_RECV_FUNC) and lives for the whole program.
    unsafe { libssh2_session_callback_set2(sess, CALLBACK_RECV, recv as *const c_void) };
}

/// libssh2's receive function (`LIBSSH2_RECV_FUNC`): `recv(2)` within the budget. Returns the
/// byte count, or minus errno (`-EAGAIN` when the budget is spent), as libssh2 expects.
extern "C" fn budgeted_recv(
    socket: c_int,
    buffer: *mut c_void,
    length: libc::size_t,
    flags: c_int,
    _abstract: *mut *mut c_void,
) -> isize {
    let left = LEFT.with(Cell::get);
    if left == 0 {
        return -(libc::EAGAIN as isize);
    }
    // SAFETY: libssh2 passes its socket and a buffer writable for `length` bytes; we ask for
    // no more than that.
    let n = unsafe { libc::recv(socket, buffer, length.min(left), flags) };
    if n < 0 {
        let errno = std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO);
        // libssh2 knows EAGAIN only (EWOULDBLOCK is the same number on Linux).
        let errno = if errno == libc::EWOULDBLOCK {
            libc::EAGAIN
        } else {
            errno
        };
        return -(errno as isize);
    }
    LEFT.with(|l| l.set(left - n as usize));
    n
}
