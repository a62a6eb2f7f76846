//! The one place that touches raw libssh2: a session channel driven through libssh2-sys.
//!
//! ssh2-rs's `Channel` hides the channel pointer, so it cannot send a `signal` request (needed
//! to stop a timed-out command), and it takes an `Arc` and two locks per read. This wrapper
//! keeps only what the driver needs. Every call is non-blocking: `Ok(None)` means "would
//! block, call again with the same arguments once the socket is ready".

use std::ffi::{c_char, c_int, c_uint, c_void};
use std::ptr::{self, NonNull};

use libssh2_sys as sys;

extern "C" {
    // In libssh2 ≥ 1.11 (the bundled one) but not declared by libssh2-sys 0.3.
    fn libssh2_channel_has_exit_status(channel: *mut sys::LIBSSH2_CHANNEL) -> c_int;
    fn libssh2_channel_signal_ex(
        channel: *mut sys::LIBSSH2_CHANNEL,
        signame: *const c_char,
        signame_len: usize,
    ) -> c_int;
}

/// The receive window of a `direct-tcpip` channel (see `open_direct_tcpip`).
const TUNNEL_WINDOW: c_uint = 2 * 1024 * 1024;

/// libssh2.h: `LIBSSH2_CHANNEL_FLUSH_EXTENDED_DATA` (every extended data stream).
const FLUSH_EXTENDED_DATA: c_int = -1;

/// A failed libssh2 call: its code and libssh2's message.
#[derive(Clone, Debug)]
pub(crate) struct ChannelError {
    pub code: i32,
    pub message: String,
}

impl ChannelError {
    /// Errors that concern this channel only and leave the connection usable (out of order,
    /// failure, request denied, unknown, window or packet exceeded, closed, EOF sent, window
    /// full). Anything else means the transport is broken.
    pub(crate) fn is_channel_level(&self) -> bool {
        (-27..=-20).contains(&self.code) || self.code == -47
    }

    /// `wait_closed` called while the channel is not at EOF (libssh2's LIBSSH2_ERROR_INVAL):
    /// data came after the server's EOF.
    pub(crate) fn is_not_at_eof(&self) -> bool {
        self.code == sys::LIBSSH2_ERROR_INVAL
    }
}

/// `Ok(Some(v))` done, `Ok(None)` would block, `Err` failed.
pub(crate) type Step<T> = Result<Option<T>, ChannelError>;

/// An open session channel. It keeps its session alive (a clone shares the same libssh2
/// session), so the channel is always freed before the session.
pub(crate) struct RawChannel {
    ptr: NonNull<sys::LIBSSH2_CHANNEL>,
    session: ssh2::Session,
}

/// Turns a libssh2 return code into a step, reading the message of an error.
fn step(session: *mut sys::LIBSSH2_SESSION, rc: isize) -> Step<usize> {
    if rc >= 0 {
        return Ok(Some(rc as usize));
    }
    if rc == sys::LIBSSH2_ERROR_EAGAIN as isize {
        return Ok(None);
    }
    Err(last_error(session, rc as i32))
}

fn last_error(session: *mut sys::LIBSSH2_SESSION, code: i32) -> ChannelError {
    let mut msg: *mut c_char = ptr::null_mut();
    let mut len: c_int = 0;
    // SAFETY: `session` is live (the caller holds its lock); with want_buf = 0 libssh2 lends
    // a pointer to its own buffer, valid until the next call on the session.
    unsafe { sys::libssh2_session_last_error(session, &mut msg, &mut len, 0) };
    let said = if msg.is_null() || len <= 0 {
        format!("libssh2 error {code}")
    } else {
        // SAFETY: libssh2 gives `len` readable bytes at `msg`.
        let bytes = unsafe { std::slice::from_raw_parts(msg.cast::<u8>(), len as usize) };
        String::from_utf8_lossy(bytes).into_owned()
    };
    let message = match meaning(code) {
        Some(meaning) => format!("{meaning} ({said})"),
        None => said,
    };
    ChannelError { code, message }
}

/// What a transport-level libssh2 error means, where its own message ("transport read") does
/// not say.
fn meaning(code: i32) -> Option<&'static str> {
    Some(match code {
        sys::LIBSSH2_ERROR_SOCKET_DISCONNECT => "the server ended the connection",
        sys::LIBSSH2_ERROR_SOCKET_RECV => "the connection was closed or reset",
        sys::LIBSSH2_ERROR_SOCKET_SEND => "sending to the server failed",
        sys::LIBSSH2_ERROR_OUT_OF_BOUNDARY => {
            "protocol error: the server sent a packet larger than SSH allows"
        }
        sys::LIBSSH2_ERROR_DECRYPT => "protocol error: a packet from the server did not decrypt",
        sys::LIBSSH2_ERROR_INVALID_MAC => "protocol error: a packet from the server failed its MAC",
        sys::LIBSSH2_ERROR_PROTO => "protocol error",
        _ => return None,
    })
}

impl RawChannel {
    /// Opens a session channel (default window 2 MiB, packets of 32 KiB). libssh2 keeps the
    /// state of a pending open in the session: only one open may be in progress at a time.
    pub(crate) fn open(session: &ssh2::Session) -> Step<RawChannel> {
        let mut guard = session.raw();
        let sess: *mut sys::LIBSSH2_SESSION = &mut *guard;
        // SAFETY: `sess` is the live session, locked for the call; the type string is static.
        let ptr = unsafe {
            sys::libssh2_channel_open_ex(
                sess,
                c"session".as_ptr(),
                7,
                sys::LIBSSH2_CHANNEL_WINDOW_DEFAULT,
                sys::LIBSSH2_CHANNEL_PACKET_DEFAULT,
                ptr::null(),
                0,
            )
        };
        Self::opened(session, sess, ptr)
    }

    /// Opens a `direct-tcpip` channel: the server connects to `host`:`port` (as seen from
    /// the guest) and the channel carries that stream. Shares the session's one pending open
    /// with `open` (call again with the same arguments until it is not `None`).
    ///
    /// The window offered is `TUNNEL_WINDOW`, libssh2's default, kept for throughput: 256 KiB
    /// and 512 KiB windows cut a forward to 0.72-0.77x of command stdout (one `make bench`
    /// round each), against 0.98x at 2 MiB. The cost: what the guest sends ahead of a slow
    /// local reader stays in libssh2's memory, up to the window per stream, so more than 32
    /// streams whose readers are all behind can reach the connection's 64 MiB bound
    /// (held_memory.rs), which ends the connection.
    pub(crate) fn open_direct_tcpip(
        session: &ssh2::Session,
        host: &std::ffi::CStr,
        port: u16,
    ) -> Step<RawChannel> {
        // RFC 4254 §7.2: host to connect, port, originator address, originator port.
        let host = host.to_bytes();
        let originator: &[u8] = b"127.0.0.1";
        let mut message = Vec::with_capacity(16 + host.len() + originator.len());
        for (field, number) in [(host, u32::from(port)), (originator, 22)] {
            message.extend_from_slice(&(field.len() as u32).to_be_bytes());
            message.extend_from_slice(field);
            message.extend_from_slice(&number.to_be_bytes());
        }
        let mut guard = session.raw();
        let sess: *mut sys::LIBSSH2_SESSION = &mut *guard;
        // SAFETY: `sess` is the live session, locked for the call; the type and the message
        // outlive the call, and libssh2 copies the message on the first call of an open.
        let ptr = unsafe {
            sys::libssh2_channel_open_ex(
                sess,
                c"direct-tcpip".as_ptr(),
                12,
                TUNNEL_WINDOW,
                sys::LIBSSH2_CHANNEL_PACKET_DEFAULT,
                message.as_ptr().cast(),
                message.len() as c_uint,
            )
        };
        Self::opened(session, sess, ptr)
    }

    /// The outcome of an open call: the channel, would-block, or the session's error.
    fn opened(
        session: &ssh2::Session,
        sess: *mut sys::LIBSSH2_SESSION,
        ptr: *mut sys::LIBSSH2_CHANNEL,
    ) -> Step<RawChannel> {
        if let Some(ptr) = NonNull::new(ptr) {
            return Ok(Some(RawChannel {
                ptr,
                session: session.clone(),
            }));
        }
        // SAFETY: `sess` is live and locked by our caller.
        let code = unsafe { sys::libssh2_session_last_errno(sess) };
        step(sess, code as isize).map(|_| None)
    }

    /// Runs `f` on the channel with the session locked, turning its return code into a step.
    fn call(&self, f: impl FnOnce(*mut sys::LIBSSH2_CHANNEL) -> isize) -> Step<usize> {
        let mut guard = self.session.raw();
        let sess: *mut sys::LIBSSH2_SESSION = &mut *guard;
        step(sess, f(self.ptr.as_ptr()))
    }

    /// Starts `command` (an "exec" request, waiting for the server's answer).
    pub(crate) fn exec(&mut self, command: &str) -> Step<()> {
        let len = c_uint::try_from(command.len()).map_err(|_| ChannelError {
            code: sys::LIBSSH2_ERROR_INVAL,
            message: "command longer than 4 GiB".into(),
        })?;
        // SAFETY: the channel is live; the strings outlive the call, which copies them.
        self.call(|ch| unsafe {
            sys::libssh2_channel_process_startup(
                ch,
                c"exec".as_ptr(),
                4,
                command.as_ptr().cast(),
                len,
            ) as isize
        })
        .map(|r| r.map(|_| ()))
    }

    /// Starts the subsystem `name` (a "subsystem" request, waiting for the server's answer).
    pub(crate) fn subsystem(&mut self, name: &str) -> Step<()> {
        // SAFETY: the channel is live; the strings outlive the call, which copies them.
        self.call(|ch| unsafe {
            sys::libssh2_channel_process_startup(
                ch,
                c"subsystem".as_ptr(),
                9,
                name.as_ptr().cast(),
                name.len() as c_uint,
            ) as isize
        })
        .map(|r| r.map(|_| ()))
    }

    /// Writes to the command's stdin; `Some(n)`: n bytes taken (at most one packet, within the
    /// server's window). After `None`, call again with the same bytes.
    pub(crate) fn write(&mut self, data: &[u8]) -> Step<usize> {
        // SAFETY: the channel is live; `data` is readable for its length.
        self.call(|ch| unsafe {
            sys::libssh2_channel_write_ex(ch, 0, data.as_ptr().cast(), data.len())
        })
    }

    /// Sends EOF: the command's stdin ends.
    pub(crate) fn send_eof(&mut self) -> Step<()> {
        // SAFETY: the channel is live.
        self.call(|ch| unsafe { sys::libssh2_channel_send_eof(ch) as isize })
            .map(|r| r.map(|_| ()))
    }

    /// Reads from stream 0 (stdout) or 1 (stderr). `Some(0)`: nothing more on this stream
    /// now and the remote sent EOF or closed (check [`RawChannel::eof`]).
    pub(crate) fn read(&mut self, stream: i32, buf: &mut [u8]) -> Step<usize> {
        // SAFETY: the channel is live; `buf` is writable for its length.
        self.call(|ch| unsafe {
            sys::libssh2_channel_read_ex(ch, stream, buf.as_mut_ptr().cast(), buf.len())
        })
    }

    /// Bytes of either stream already received and waiting in libssh2 (no I/O).
    pub(crate) fn queued(&self) -> u64 {
        let _guard = self.session.raw();
        let mut avail: std::ffi::c_ulong = 0;
        // SAFETY: the channel is live and its session locked; a NULL out-pointer is allowed.
        unsafe {
            sys::libssh2_channel_window_read_ex(self.ptr.as_ptr(), &mut avail, ptr::null_mut())
        };
        avail as u64
    }

    /// Reads from stream 0 or 1 straight into the spare capacity of `into` (at most `max`
    /// bytes, reserving room as needed), saving the copy through a scratch buffer. As `read`.
    pub(crate) fn read_into(&mut self, stream: i32, into: &mut Vec<u8>, max: usize) -> Step<usize> {
        into.reserve(max);
        let spare = into.spare_capacity_mut();
        let len = spare.len().min(max);
        let got = self.call(|ch| {
            // SAFETY: the channel is live; libssh2 writes at most `len` bytes into the spare
            // capacity, which is writable (uninitialised bytes are only written, never read).
            unsafe { sys::libssh2_channel_read_ex(ch, stream, spare.as_mut_ptr().cast(), len) }
        })?;
        if let Some(n) = got {
            // SAFETY: libssh2 initialised the first `n` (≤ len) bytes of the spare capacity.
            unsafe { into.set_len(into.len() + n) };
        }
        Ok(got)
    }

    /// Whether the server has ended this unused channel (sent EOF or CLOSE, or data no
    /// command could have written): reads what the socket holds first.
    pub(crate) fn ended_by_peer(&mut self) -> Result<bool, ChannelError> {
        let mut byte = [0u8; 1];
        if matches!(self.read(0, &mut byte)?, Some(n) if n > 0) {
            return Ok(true);
        }
        Ok(self.eof())
    }

    /// Whether libssh2 is waiting to send (a packet is half out).
    pub(crate) fn send_blocked(&self) -> bool {
        matches!(
            self.session.block_directions(),
            ssh2::BlockDirections::Outbound | ssh2::BlockDirections::Both
        )
    }

    /// True once the remote sent EOF and no data of either stream is left unread.
    pub(crate) fn eof(&self) -> bool {
        let _guard = self.session.raw();
        // SAFETY: the channel is live and its session locked.
        unsafe { sys::libssh2_channel_eof(self.ptr.as_ptr()) == 1 }
    }

    /// Sends a `signal` request (RFC 4254 §6.9) without asking for a reply. OpenSSH delivers
    /// it to the command's whole process group.
    pub(crate) fn signal(&mut self, name: &str) -> Step<()> {
        // SAFETY: the channel is live; `name` outlives the call.
        self.call(|ch| unsafe {
            libssh2_channel_signal_ex(ch, name.as_ptr().cast(), name.len()) as isize
        })
        .map(|r| r.map(|_| ()))
    }

    /// Sends EOF (if not yet sent) and CLOSE.
    pub(crate) fn close(&mut self) -> Step<()> {
        // SAFETY: the channel is live.
        self.call(|ch| unsafe { sys::libssh2_channel_close(ch) as isize })
            .map(|r| r.map(|_| ()))
    }

    /// Waits for the server's CLOSE (needs the server's EOF first).
    pub(crate) fn wait_closed(&mut self) -> Step<()> {
        // SAFETY: the channel is live.
        self.call(|ch| unsafe { sys::libssh2_channel_wait_closed(ch) as isize })
            .map(|r| r.map(|_| ()))
    }

    /// The exit status the server sent, if it sent one.
    pub(crate) fn exit_status(&self) -> Option<u32> {
        let _guard = self.session.raw();
        // SAFETY: the channel is live and its session locked.
        unsafe {
            (libssh2_channel_has_exit_status(self.ptr.as_ptr()) != 0)
                .then(|| sys::libssh2_channel_get_exit_status(self.ptr.as_ptr()) as u32)
        }
    }

    /// Discards queued extended data of every stream (no I/O but the window refund, which may
    /// have to be sent again: call until it is `Some`). For data of types other than stderr,
    /// which libssh2 keeps (hiding EOF) until someone reads that very type.
    pub(crate) fn discard_extended(&mut self) -> Step<usize> {
        // SAFETY: the channel is live.
        self.call(|ch| unsafe { sys::libssh2_channel_flush_ex(ch, FLUSH_EXTENDED_DATA) as isize })
    }

    /// The name of the signal that killed the command, if the server said so.
    pub(crate) fn exit_signal(&self) -> Option<String> {
        let mut guard = self.session.raw();
        let sess: *mut sys::LIBSSH2_SESSION = &mut *guard;
        let mut sig: *mut c_char = ptr::null_mut();
        let mut len: libc::size_t = 0;
        // SAFETY: the channel is live; libssh2 accepts NULL for the parts we do not want.
        let rc = unsafe {
            sys::libssh2_channel_get_exit_signal(
                self.ptr.as_ptr(),
                &mut sig,
                &mut len,
                ptr::null_mut(),
                ptr::null_mut(),
                ptr::null_mut(),
                ptr::null_mut(),
            )
        };
        if rc != 0 || sig.is_null() {
            return None;
        }
        // SAFETY: libssh2 allocated `len` bytes at `sig` with the session's allocator; we copy
        // them and give the buffer back to that allocator.
        unsafe {
            let name = String::from_utf8_lossy(std::slice::from_raw_parts(sig.cast::<u8>(), len))
                .into_owned();
            sys::libssh2_free(sess, sig.cast::<c_void>());
            Some(name)
        }
    }
}

impl Drop for RawChannel {
    /// Frees the channel. If it was not closed and the socket is still up, libssh2 would try to
    /// close it and, being non-blocking, may give up and keep it until the session is freed;
    /// the driver closes channels (or shuts the socket down) first so that this stays rare.
    fn drop(&mut self) {
        let _guard = self.session.raw();
        // SAFETY: the channel is live and freed exactly once; its session is locked and alive
        // (we hold a reference to it).
        unsafe { sys::libssh2_channel_free(self.ptr.as_ptr()) };
    }
}
