//! `smol_ssh_error`: the error `smol_ssh_new` hands back, owned by the caller.

use std::ffi::{c_char, CString};

use super::boundary::{free_boxed, guard};
use super::status::smol_ssh_status;
use crate::error::Error;

/// Why `smol_ssh_new` failed: a status and a message. Freed with `smol_ssh_error_free`.
pub struct smol_ssh_error {
    status: smol_ssh_status,
    message: CString,
}

/// The shape of the functions that make an object: `make` runs inside the panic boundary;
/// its object goes to `*out` and NULL is returned, or NULL goes to `*out` and the error is
/// returned (a NULL `out` is INVALID_ARGUMENT, a caught panic PANIC naming `function`).
///
/// # Safety
/// `out` is NULL or writable.
pub(crate) unsafe fn made<T>(
    function: &str,
    out: *mut *mut T,
    out_name: &str,
    make: impl FnOnce() -> Result<*mut T, Error>,
) -> *mut smol_ssh_error {
    guard(
        || {
            into_c(&Error::new(
                crate::error::ErrorKind::Panic,
                format!("a panic was caught in {function}"),
            ))
        },
        || {
            if out.is_null() {
                return into_c(&Error::invalid(format!("{out_name} is NULL")));
            }
            // SAFETY: checked non-NULL; writable per the contract.
            unsafe { *out = std::ptr::null_mut() };
            match make() {
                Ok(object) => {
                    // SAFETY: as above.
                    unsafe { *out = object };
                    std::ptr::null_mut()
                }
                Err(e) => into_c(&e),
            }
        },
    )
}

pub(crate) fn into_c(err: &Error) -> *mut smol_ssh_error {
    let message = CString::new(err.message().replace('\0', "\u{FFFD}")).unwrap_or_default();
    Box::into_raw(Box::new(smol_ssh_error {
        status: err.kind().into(),
        message,
    }))
}

/// The error's status; SMOL_SSH_STATUS_INVALID_ARGUMENT for NULL.
///
/// # Safety
/// `error` is NULL or a live error from this library.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_error_status(error: *const smol_ssh_error) -> smol_ssh_status {
    guard(
        || smol_ssh_status::Panic,
        || {
            // SAFETY: per the contract.
            unsafe { error.as_ref() }.map_or(smol_ssh_status::InvalidArgument, |e| e.status)
        },
    )
}

/// The error's message, NUL-terminated UTF-8, valid until `smol_ssh_error_free`; "" for NULL.
///
/// # Safety
/// `error` is NULL or a live error from this library.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_error_message(error: *const smol_ssh_error) -> *const c_char {
    guard(
        || c"".as_ptr(),
        || {
            // SAFETY: per the contract.
            unsafe { error.as_ref() }.map_or(c"".as_ptr(), |e| e.message.as_ptr())
        },
    )
}

/// Frees an error. NULL is a no-op.
///
/// # Safety
/// `error` is NULL or a live error from this library, freed once.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_error_free(error: *mut smol_ssh_error) {
    // SAFETY: forwarded contract.
    unsafe { free_boxed(error) }
}
