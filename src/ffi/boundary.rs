//! The panic boundary and argument checks every exported function goes through.

use std::ffi::{c_char, CStr};
use std::panic::{self, AssertUnwindSafe};

use crate::error::Error;

/// Runs `body`; a panic becomes `on_panic()` instead of unwinding into C (which would abort
/// the host process or worse).
pub(crate) fn guard<T>(on_panic: impl FnOnce() -> T, body: impl FnOnce() -> T) -> T {
    match panic::catch_unwind(AssertUnwindSafe(body)) {
        Ok(v) => v,
        Err(payload) => {
            let _ = payload; // dropping a panic payload cannot panic for &str / String payloads
            on_panic()
        }
    }
}

/// Borrows a required C string argument as UTF-8.
///
/// # Safety
/// `ptr` is NULL or points to a NUL-terminated string valid for the call.
pub(crate) unsafe fn str_arg<'a>(ptr: *const c_char, name: &str) -> Result<&'a str, Error> {
    if ptr.is_null() {
        return Err(Error::invalid(format!("{name} is NULL")));
    }
    // SAFETY: non-NULL and NUL-terminated per the function's contract.
    let cstr = unsafe { CStr::from_ptr(ptr) };
    cstr.to_str()
        .map_err(|e| Error::invalid(format!("{name} is not valid UTF-8 ({e})")))
}

/// Like [`str_arg`], but NULL means "not set".
///
/// # Safety
/// As for [`str_arg`].
pub(crate) unsafe fn opt_str_arg<'a>(
    ptr: *const c_char,
    name: &str,
) -> Result<Option<&'a str>, Error> {
    if ptr.is_null() {
        Ok(None)
    } else {
        // SAFETY: forwarded contract.
        unsafe { str_arg(ptr, name) }.map(Some)
    }
}
