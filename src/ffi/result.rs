//! `smol_ssh_result`: what a run (or a wait) returns to C, owned by the caller.

use std::ffi::{c_char, CString};
use std::sync::OnceLock;

use super::boundary::guard;
use super::status::smol_ssh_status;
use crate::error::{Error, ErrorKind};
use crate::output::{strip_whitespace, Output};

/// The outcome of `smol_ssh_run`, `smol_ssh_run_with`, `smol_ssh_wait` and the transfers
/// (`smol_ssh_put_file`, `_put_bytes`, `_get_file`, `_get_bytes`), allocated by the library and
/// freed once
/// by the caller with `smol_ssh_result_free`. Every pointer in it stays valid until then.
/// Fields are only ever appended, never reordered or removed; the caller never allocates it.
#[repr(C)]
pub struct smol_ssh_result {
    /// SMOL_SSH_STATUS_OK when the command ran to its end, whatever its exit code.
    pub status: smol_ssh_status,
    /// The command's exit status, or -1 when unknown (killed by a signal, no status sent, or
    /// the run did not complete). SSH carries the status as an unsigned 32-bit number: a
    /// status above INT32_MAX (Windows NTSTATUS codes such as 0xC0000005) reads as negative
    /// here, and 0xFFFFFFFF as -1; `has_exit_status` and `exit_status` tell them apart.
    pub exit_code: i32,
    /// Name of the signal that killed the command ("KILL", "TERM", ...), or NULL.
    pub exit_signal: *const c_char,
    /// Every byte the command wrote to stdout (also what it wrote before a timeout or a lost
    /// connection). Never NULL; NUL-terminated for convenience, but may contain NUL bytes:
    /// use `stdout_len`.
    pub stdout_data: *const u8,
    pub stdout_len: usize,
    /// Every byte the command wrote to stderr; as for stdout.
    pub stderr_data: *const u8,
    pub stderr_len: usize,
    /// True when status is OK and the exit code is 0 (the reference's `ok`).
    pub ok: bool,
    /// Why the call failed, NUL-terminated UTF-8; NULL when status is OK.
    pub error_message: *const c_char,
    /// Wall time of the call in microseconds, including any connect.
    pub elapsed_us: u64,
    /// The command wrote more to stdout than the client's max_output_bytes: `stdout_data`
    /// holds the first max_output_bytes, the rest was discarded.
    pub stdout_truncated: bool,
    /// As `stdout_truncated`, for stderr.
    pub stderr_truncated: bool,
    /// True when the server reported an exit status (then in `exit_status`).
    pub has_exit_status: bool,
    /// The exit status exactly as the server sent it (unsigned 32-bit); 0 when
    /// `has_exit_status` is false.
    pub exit_status: u32,
}

/// The allocation behind a `smol_ssh_result*`: the public struct first, then what its
/// pointers point into.
#[repr(C)]
struct Owned {
    public: smol_ssh_result,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    exit_signal: Option<CString>,
    message: Option<CString>,
    /// The stripped stdout (`smol_ssh_result_output`), made on first request.
    output: OnceLock<Vec<u8>>,
}

fn c_string(text: &str) -> CString {
    CString::new(text.replace('\0', "\u{FFFD}")).expect("NULs replaced")
}

/// Appends a NUL (not counted in the length) so the bytes can be read as a C string.
fn nul_terminated(mut bytes: Vec<u8>) -> Vec<u8> {
    bytes.push(0);
    bytes
}

/// Moves a core result into a new C result.
pub(crate) fn into_c(result: Result<Output, Error>) -> *mut smol_ssh_result {
    let (status, out, message) = match result {
        Ok(out) => (smol_ssh_status::Ok, out, None),
        Err(err) => {
            let out = err.partial_output().cloned().unwrap_or_default();
            (err.kind().into(), out, Some(c_string(err.message())))
        }
    };
    let ok = status == smol_ssh_status::Ok && out.ok();
    let mut owned = Box::new(Owned {
        public: smol_ssh_result {
            status,
            // The same 32 bits, read as signed.
            exit_code: out.exit_code.map_or(-1, |code| code as i32),
            exit_signal: std::ptr::null(),
            stdout_data: std::ptr::null(),
            stdout_len: out.stdout.len(),
            stderr_data: std::ptr::null(),
            stderr_len: out.stderr.len(),
            ok,
            error_message: std::ptr::null(),
            elapsed_us: out.elapsed.as_micros().min(u64::MAX as u128) as u64,
            stdout_truncated: out.stdout_truncated,
            stderr_truncated: out.stderr_truncated,
            has_exit_status: out.exit_code.is_some(),
            exit_status: out.exit_code.unwrap_or(0),
        },
        stdout: nul_terminated(out.stdout),
        stderr: nul_terminated(out.stderr),
        exit_signal: out.exit_signal.as_deref().map(c_string),
        message,
        output: OnceLock::new(),
    });
    // The heap buffers do not move when the box does.
    owned.public.stdout_data = owned.stdout.as_ptr();
    owned.public.stderr_data = owned.stderr.as_ptr();
    owned.public.exit_signal = owned
        .exit_signal
        .as_ref()
        .map_or(std::ptr::null(), |s| s.as_ptr());
    owned.public.error_message = owned
        .message
        .as_ref()
        .map_or(std::ptr::null(), |s| s.as_ptr());
    Box::into_raw(owned).cast()
}

/// A result for a call that failed before doing anything (bad argument, caught panic).
pub(crate) fn error_result(kind: ErrorKind, message: &str) -> *mut smol_ssh_result {
    into_c(Err(Error::new(kind, message)))
}

/// A result for a caught panic. Allocation is all it does, so it does not panic itself.
pub(crate) fn panic_result() -> *mut smol_ssh_result {
    error_result(
        ErrorKind::Panic,
        "a bug inside smol-ssh was caught (panic); please report it",
    )
}

/// Frees a result. NULL is a no-op. Free each result exactly once.
///
/// # Safety
/// `result` is NULL or a pointer returned by this library and not yet freed.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_result_free(result: *mut smol_ssh_result) {
    guard(
        || (),
        || {
            if !result.is_null() {
                // SAFETY: every smol_ssh_result* we hand out is the first field of a boxed
                // `Owned` (repr(C)), so the pointer is the box's pointer.
                drop(unsafe { Box::from_raw(result.cast::<Owned>()) });
            }
        },
    )
}

/// The reference's `output`: stdout without leading and trailing ASCII whitespace. Returns a
/// NUL-terminated pointer owned by the result (valid until `smol_ssh_result_free`) and stores
/// the length in `*len` when `len` is not NULL. A NULL result gives "" and length 0.
///
/// # Safety
/// `result` is NULL or a live result; `len` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_result_output(
    result: *const smol_ssh_result,
    len: *mut usize,
) -> *const c_char {
    guard(
        || c"".as_ptr(),
        || {
            // SAFETY: per the contract; see smol_ssh_result_free for the cast.
            let Some(owned) = (unsafe { result.cast::<Owned>().as_ref() }) else {
                if !len.is_null() {
                    // SAFETY: writable per the contract.
                    unsafe { *len = 0 };
                }
                return c"".as_ptr();
            };
            let stdout = &owned.stdout[..owned.public.stdout_len];
            let text = owned
                .output
                .get_or_init(|| nul_terminated(strip_whitespace(stdout).to_vec()));
            if !len.is_null() {
                // SAFETY: writable per the contract.
                unsafe { *len = text.len() - 1 };
            }
            text.as_ptr().cast()
        },
    )
}
