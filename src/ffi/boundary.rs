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

/// Frees what `Box::into_raw` made; NULL is a no-op. The body of every `_free` function.
///
/// # Safety
/// `ptr` is NULL or came from `Box::into_raw` and is freed once.
pub(crate) unsafe fn free_boxed<T>(ptr: *mut T) {
    guard(
        || (),
        || {
            if !ptr.is_null() {
                // SAFETY: per the contract.
                drop(unsafe { Box::from_raw(ptr) });
            }
        },
    )
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

/// Borrows a byte-buffer argument (`ptr`, `len`): NULL is allowed only with `len` 0 (then the
/// buffer is empty).
///
/// # Safety
/// `ptr` is NULL or readable for `len` bytes for the call.
pub(crate) unsafe fn bytes_arg<'a>(
    ptr: *const u8,
    len: usize,
    name: &str,
) -> Result<&'a [u8], Error> {
    match (ptr.is_null(), len) {
        (_, 0) => Ok(&[]),
        (true, _) => Err(Error::invalid(format!(
            "{name} is NULL but its length is {len}"
        ))),
        // SAFETY: non-NULL and readable for `len` bytes per the function's contract.
        (false, _) => Ok(unsafe { std::slice::from_raw_parts(ptr, len) }),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_the_fallback_value() {
        let prev = panic::take_hook();
        panic::set_hook(Box::new(|_| {})); // keep the test output clean
        let got = guard(|| -1, || -> i32 { panic!("boom") });
        panic::set_hook(prev);
        assert_eq!(got, -1);
        assert_eq!(guard(|| -1, || 7), 7);
    }

    #[test]
    fn string_arguments_are_checked() {
        // SAFETY: NULL and static NUL-terminated strings.
        unsafe {
            assert!(str_arg(std::ptr::null(), "x").is_err());
            assert!(str_arg(c"\xff".as_ptr(), "x").is_err());
            assert_eq!(str_arg(c"ok".as_ptr(), "x").unwrap(), "ok");
            assert_eq!(opt_str_arg(std::ptr::null(), "x").unwrap(), None);
        }
    }
}
