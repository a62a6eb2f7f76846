//! libssh2 reads and writes the connection's socket through these functions: what it may
//! read before it has to come back, and how; and a way to let go of a connection for good.
//!
//! libssh2 reads "until the socket would block": a channel read first processes every packet
//! the socket holds, and the handshake reads banner lines one after another. A server that
//! sends faster than we decrypt (an output flood, endless lines before its banner, a storm of
//! protocol messages) would keep one libssh2 call busy for as long as it likes, and the driver
//! could not look at deadlines, cancels, new runs or `free` meanwhile. So libssh2 receives
//! through this module's function, which hands it at most the bytes granted for the current
//! turn of the driver and then says "would block". The driver grants a new budget each turn;
//! with data still waiting, the next turn starts at once (no sleep), so throughput is unchanged.
//!
//! Two more things only this function can see to:
//! - **The tail of a burst goes in small steps.** libssh2 copies a channel's data out only
//!   after it has processed every packet it holds, and once it processes SSH_MSG_DISCONNECT
//!   nothing can be read any more: output followed by a DISCONNECT in one burst would be lost.
//!   So when the socket holds little (the end of what the server sent so far), libssh2 gets at
//!   most `TAIL_STEP` bytes a turn, less than the smallest encrypted DISCONNECT, and every
//!   channel is read between two steps. Bulk data is not slowed: the bytes before the last
//!   `TAIL` go at full speed.
//! - **Protocol violations libssh2 only notes.** A data packet larger than the client offered
//!   is truncated, and data beyond the window dropped, with nothing but the session's "last
//!   error" to show for it. That error is looked at here, before anything can overwrite it.
//! - **Letting go.** libssh2 answers every send with "would block" while another packet is
//!   half sent, and frees a channel only after sending its close; so a connection dropped with a
//!   packet half out (a stalled peer, a command not reading its input) could never free its
//!   channels nor its session. While the driver drops a connection (its socket already shut
//!   down), these functions claim every send went out and every receive failed: libssh2 then
//!   finishes whatever it was doing at once and frees everything.
//!
//! The state is per thread: a driver thread serves many clients, one turn at a time, and
//! swaps each client's state in for its turn and out after it ([`swap`]). Threads that never
//! grant a budget read without limit (libssh2's own behaviour).
//!
//! With `raw_channel.rs` and `poll.rs`, one of the places outside `ffi` with `unsafe`.

use std::cell::Cell;
use std::ffi::{c_char, c_int, c_void};
use std::ptr;

use libssh2_sys as sys;

extern "C" {
    // In libssh2 ≥ 1.11.1 (the bundled one) but not declared by libssh2-sys 0.3.
    fn libssh2_session_callback_set2(
        session: *mut sys::LIBSSH2_SESSION,
        cbtype: c_int,
        callback: *const c_void,
    ) -> *const c_void;
    fn libssh2_session_set_last_error(
        session: *mut sys::LIBSSH2_SESSION,
        errcode: c_int,
        errmsg: *const c_char,
    ) -> c_int;
}

/// libssh2.h: `LIBSSH2_CALLBACK_SEND`, `LIBSSH2_CALLBACK_RECV`.
const CALLBACK_SEND: c_int = 5;
const CALLBACK_RECV: c_int = 6;
/// Bytes at the end of what the socket holds that are fed in small steps.
const TAIL: usize = 4096;
/// Bytes of the tail fed per turn: less than any encrypted SSH_MSG_DISCONNECT (at least 40
/// bytes with every cipher libssh2 offers), so that one step cannot complete both a data
/// packet and a DISCONNECT after it.
const TAIL_STEP: usize = 32;

thread_local! {
    /// Bytes libssh2 may still receive on this thread before it is told "would block".
    static LEFT: Cell<usize> = const { Cell::new(usize::MAX) };
    /// Feed the tail of a burst in steps (set while channels are read; not while connecting).
    static CAREFUL: Cell<bool> = const { Cell::new(false) };
    /// The session being driven, to read its last error.
    static SESSION: Cell<*mut sys::LIBSSH2_SESSION> = const { Cell::new(ptr::null_mut()) };
    /// A protocol violation libssh2 noted (its error code).
    static VIOLATION: Cell<Option<i32>> = const { Cell::new(None) };
    /// The connection is being dropped: sends "succeed", receives fail.
    static LETTING_GO: Cell<bool> = const { Cell::new(false) };
}

/// One client's receive state between its turns.
pub(crate) struct IoState {
    left: usize,
    careful: bool,
    session: *mut sys::LIBSSH2_SESSION,
    violation: Option<i32>,
}

impl Default for IoState {
    fn default() -> Self {
        IoState {
            left: usize::MAX,
            careful: false,
            session: ptr::null_mut(),
            violation: None,
        }
    }
}

/// Exchanges this thread's receive state with `state`: a client's state goes in before its
/// turn, and comes out after it.
pub(crate) fn swap(state: &mut IoState) {
    state.left = LEFT.with(|l| l.replace(state.left));
    state.careful = CAREFUL.with(|c| c.replace(state.careful));
    state.session = SESSION.with(|s| s.replace(state.session));
    state.violation = VIOLATION.with(|v| v.replace(state.violation));
}

/// Forgets the session this thread was working on (it was freed, or its turn failed).
pub(crate) fn forget() {
    swap(&mut IoState::default());
}

/// Runs `drop` (which frees a connection's session and channels) with sends claimed done and
/// receives failed, so that libssh2 never waits (see the module's doc). The socket must be
/// shut down already: nothing more is sent or received for real.
pub(crate) fn letting_go<T>(drop: impl FnOnce() -> T) -> T {
    LETTING_GO.with(|l| l.set(true));
    let result = drop();
    LETTING_GO.with(|l| l.set(false));
    result
}

/// Lets libssh2 receive up to `bytes` more on this thread (replacing what was left), for
/// `session`. `careful`: feed the tail of a burst in steps (see the module's doc).
pub(crate) fn grant(session: &ssh2::Session, bytes: usize, careful: bool) {
    let mut guard = session.raw();
    let sess: *mut sys::LIBSSH2_SESSION = &mut *guard;
    SESSION.with(|s| s.set(sess));
    LEFT.with(|l| l.set(bytes));
    CAREFUL.with(|c| c.set(careful));
}

/// True when the budget ran out: the socket may hold more than was read.
pub(crate) fn exhausted() -> bool {
    LEFT.with(|l| l.get() == 0)
}

/// A protocol violation libssh2 noted since the last call, as a message.
pub(crate) fn take_violation() -> Option<String> {
    let code = VIOLATION.with(|v| v.take())?;
    Some(match code {
        sys::LIBSSH2_ERROR_CHANNEL_PACKET_EXCEEDED => {
            "protocol error: the server sent a data packet larger than the client allows \
             (its output would have been silently truncated)"
                .to_owned()
        }
        _ => "protocol error: the server sent more data than the channel window allows \
              (its output would have been silently dropped)"
            .to_owned(),
    })
}

/// Makes `session` send and receive through these functions. Call before the handshake.
pub(crate) fn install(session: &ssh2::Session) {
    let mut guard = session.raw();
    let sess: *mut sys::LIBSSH2_SESSION = &mut *guard;
    let recv: extern "C" fn(c_int, *mut c_void, libc::size_t, c_int, *mut *mut c_void) -> isize =
        budgeted_recv;
    let send: extern "C" fn(c_int, *const c_void, libc::size_t, c_int, *mut *mut c_void) -> isize =
        send_or_let_go;
    // SAFETY: `sess` is live and locked; the callbacks have the signatures libssh2 calls them
    // with (LIBSSH2_RECV_FUNC, LIBSSH2_SEND_FUNC) and live for the whole program.
    unsafe {
        libssh2_session_callback_set2(sess, CALLBACK_RECV, recv as *const c_void);
        libssh2_session_callback_set2(sess, CALLBACK_SEND, send as *const c_void);
    }
}

/// minus errno of the last failed system call, as libssh2 expects (EAGAIN for EWOULDBLOCK).
fn minus_errno() -> isize {
    let errno = std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO);
    // libssh2 knows EAGAIN only (EWOULDBLOCK is the same number on Linux).
    let errno = if errno == libc::EWOULDBLOCK {
        libc::EAGAIN
    } else {
        errno
    };
    -(errno as isize)
}

/// libssh2's send function (`LIBSSH2_SEND_FUNC`): `send(2)` (libssh2 passes MSG_NOSIGNAL), or,
/// while a connection is let go, a claim that everything was sent.
extern "C" fn send_or_let_go(
    socket: c_int,
    buffer: *const c_void,
    length: libc::size_t,
    flags: c_int,
    _abstract: *mut *mut c_void,
) -> isize {
    if LETTING_GO.with(Cell::get) {
        return length as isize;
    }
    // SAFETY: libssh2 passes its socket and `length` readable bytes.
    let n = unsafe { libc::send(socket, buffer, length, flags) };
    if n < 0 {
        return minus_errno();
    }
    n
}

/// Looks at the session's last error for a violation libssh2 only noted since its last
/// receive call (see `take_violation`).
pub(crate) fn check_now() {
    note_violation();
}

/// Looks at the session's last error for a violation libssh2 only noted, and clears it.
fn note_violation() {
    let sess = SESSION.with(Cell::get);
    if sess.is_null() {
        return;
    }
    // SAFETY: the session granted for this thread is the one libssh2 is working on (we are
    // inside its receive call, on its only thread); reading and resetting its error fields
    // does not touch the transport's state.
    unsafe {
        let code = sys::libssh2_session_last_errno(sess);
        if code == sys::LIBSSH2_ERROR_CHANNEL_PACKET_EXCEEDED
            || code == sys::LIBSSH2_ERROR_CHANNEL_WINDOW_EXCEEDED
        {
            VIOLATION.with(|v| v.set(Some(code)));
            libssh2_session_set_last_error(sess, 0, ptr::null());
        }
    }
}

/// Bytes waiting in the socket's receive buffer.
fn waiting(socket: c_int) -> usize {
    let mut n: c_int = 0;
    // SAFETY: FIONREAD writes one int.
    let rc = unsafe { libc::ioctl(socket, libc::FIONREAD, &mut n) };
    if rc < 0 {
        return usize::MAX;
    }
    n.max(0) as usize
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
    if LETTING_GO.with(Cell::get) {
        return -(libc::ECONNRESET as isize);
    }
    note_violation();
    let mut left = LEFT.with(Cell::get);
    if left == 0 {
        return -(libc::EAGAIN as isize);
    }
    let mut want = length.min(left);
    if CAREFUL.with(Cell::get) {
        let waiting = waiting(socket);
        if waiting > TAIL {
            // Full speed up to the tail.
            want = want.min(waiting - TAIL);
        } else {
            // The tail: one step, then the turn's budget is spent.
            want = want.min(TAIL_STEP);
            left = want;
        }
    }
    // SAFETY: libssh2 passes its socket and a buffer writable for `length` bytes; we ask for
    // no more than that.
    let n = unsafe { libc::recv(socket, buffer, want, flags) };
    if n < 0 {
        return minus_errno();
    }
    LEFT.with(|l| l.set(left - n as usize));
    n
}
