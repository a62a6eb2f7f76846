//! `smol_ssh_client`: the handle, and the calls that use it.

use std::ffi::c_char;
use std::ops::ControlFlow;
use std::time::Duration;

use super::boundary::{guard, str_arg};
use super::enums::{smol_ssh_shell_mode, smol_ssh_stream};
use super::error::{self as c_error, smol_ssh_error};
pub use super::handle::smol_ssh_client;
use super::handle::{self, Call};
use super::options::smol_ssh_options;
use super::result::{self, smol_ssh_result};
use super::run_options::smol_ssh_run_options;
use super::status::smol_ssh_status;
use crate::error::Error;
use crate::{Client, RunOptions};

thread_local! {
    /// The clients whose output callbacks are running on this thread (innermost last), so
    /// that `smol_ssh_free` called from inside one does not wait for its own call.
    static IN_CALLBACK: std::cell::RefCell<Vec<usize>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Runs `f` (an output callback of a call on `client`) marked as such on this thread.
fn in_callback<T>(client: *const smol_ssh_client, f: impl FnOnce() -> T) -> T {
    struct Mark;
    impl Drop for Mark {
        fn drop(&mut self) {
            IN_CALLBACK.with(|v| {
                v.borrow_mut().pop();
            });
        }
    }
    IN_CALLBACK.with(|v| v.borrow_mut().push(client as usize));
    let _mark = Mark;
    f()
}

fn is_in_callback(client: *const smol_ssh_client) -> bool {
    IN_CALLBACK.with(|v| v.borrow().contains(&(client as usize)))
}

/// Enters a call on the client behind a pointer, refusing a freed or poisoned one.
///
/// # Safety
/// None needed: the pointer is a handle, looked up, never dereferenced (kept `unsafe` for the
/// callers' uniformity).
pub(crate) unsafe fn client_ref(client: *const smol_ssh_client) -> Result<Call, Error> {
    handle::client_call(client)
}

/// Marks the client unusable after a panic was caught in a call on it.
///
/// # Safety
/// As for `client_ref`.
unsafe fn poison(client: *const smol_ssh_client) {
    handle::poison(client);
}

/// What a call on `client` returns when a panic was caught in it: the client is poisoned and
/// the result says PANIC.
///
/// # Safety
/// `client` is NULL or a live pointer from `smol_ssh_new`.
pub(crate) unsafe fn poisoned_result(client: *const smol_ssh_client) -> *mut smol_ssh_result {
    // SAFETY: per the contract.
    unsafe { poison(client) };
    result::panic_result()
}

#[cfg(test)]
thread_local! {
    /// Makes the next smol_ssh_run on this thread panic inside the boundary (unit tests only).
    static PANIC_IN_NEXT_RUN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Makes a client from `options` (which may be freed right after: everything is copied).
/// Does not connect. On success stores the client in `*client_out` and returns NULL; on
/// failure stores NULL there and returns an error to free with `smol_ssh_error_free`
/// (SMOL_SSH_STATUS_INVALID_ARGUMENT for a NULL pointer, a missing host or a bad option).
///
/// # Safety
/// `options` is NULL or live; `client_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_new(
    options: *const smol_ssh_options,
    client_out: *mut *mut smol_ssh_client,
) -> *mut smol_ssh_error {
    let make = || {
        // SAFETY: `options` is NULL or live, per the contract.
        let opts = unsafe { options.as_ref() }.ok_or_else(|| Error::invalid("options is NULL"))?;
        if let Some(e) = &opts.first_error {
            return Err(e.clone());
        }
        Ok(handle::register(Client::new(opts.config.clone())?))
    };
    // SAFETY: `client_out` is NULL or writable, per the contract.
    unsafe { c_error::made("smol_ssh_new", client_out, "client_out", make) }
}

/// Frees a client: runs still in flight (on other threads) end at once with
/// SMOL_SSH_STATUS_DISCONNECTED and new calls are refused (INVALID_ARGUMENT: the handle is no
/// longer live, even for a call racing this one); once every call in progress has returned,
/// the connection is closed, the client's thread joined and the handle freed, so the library
/// may be unloaded afterwards. NULL, or a handle already freed, is a no-op. Called from inside
/// an output callback of a call on this client, it returns at once (waiting would wait for that
/// very call): the call then ends DISCONNECTED and frees the client as it returns.
///
/// # Safety
/// `client` is NULL or a handle from `smol_ssh_new` (freed or not).
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_free(client: *mut smol_ssh_client) {
    guard(
        || (),
        || {
            // From inside an output callback, waiting would wait for our own call: that call
            // drops the client when it returns instead.
            handle::free(client, is_in_callback(client));
        },
    )
}

/// Runs `command` on the guest and waits for it to end, at most `timeout_ms` (≥ 1000) for the
/// whole call, connecting first if needed. `shell_mode` is a `smol_ssh_shell_mode` value.
/// The command's stdin is closed at once (like `ssh -n`).
///
/// Always returns a result (never NULL) to free with `smol_ssh_result_free`. Its status is OK
/// when the command ran to its end, whatever its exit code; on TIMEOUT or DISCONNECTED it
/// still carries the output read before that. Safe to call from many threads at once.
///
/// # Safety
/// `client` is NULL or live; `command` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_run(
    client: *mut smol_ssh_client,
    command: *const c_char,
    timeout_ms: u64,
    shell_mode: i32,
) -> *mut smol_ssh_result {
    // SAFETY (both closures): per the contract.
    guard(
        || unsafe { poisoned_result(client) },
        || {
            let run = || -> Result<_, Error> {
                // SAFETY: per the contract.
                let call = unsafe { client_ref(client) }?;
                #[cfg(test)]
                if PANIC_IN_NEXT_RUN.with(|p| p.replace(false)) {
                    panic!("injected by a unit test");
                }
                // SAFETY: per the contract.
                let command = unsafe { str_arg(command, "command") }?;
                let options = RunOptions {
                    timeout: Duration::from_millis(timeout_ms),
                    mode: smol_ssh_shell_mode::try_from(shell_mode)?.into(),
                    ..RunOptions::default()
                };
                call.client().run(command, &options)
            };
            result::into_c(run())
        },
    )
}

/// Runs `command` with run options (NULL: the defaults): stdin, environment, cancel token,
/// output callback, timeout and shell mode. Otherwise as `smol_ssh_run`: always returns a
/// result to free with `smol_ssh_result_free`. A callback is called on this thread.
///
/// # Safety
/// `client` is NULL or live; `command` is NULL or NUL-terminated; `options` is NULL or live
/// and not changed by another thread during the call.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_run_with(
    client: *mut smol_ssh_client,
    command: *const c_char,
    options: *const smol_ssh_run_options,
) -> *mut smol_ssh_result {
    // SAFETY (both closures): per the contract.
    guard(
        || unsafe { poisoned_result(client) },
        || {
            let run = || -> Result<_, Error> {
                // SAFETY: per the contract.
                let call = unsafe { client_ref(client) }?;
                // SAFETY: per the contract.
                let command = unsafe { str_arg(command, "command") }?;
                let defaults = smol_ssh_run_options {
                    options: RunOptions::default(),
                    callback: None,
                    user: std::ptr::null_mut(),
                    first_error: None,
                };
                // SAFETY: per the contract.
                let opts = unsafe { options.as_ref() }.unwrap_or(&defaults);
                if let Some(e) = &opts.first_error {
                    return Err(e.clone());
                }
                // Everything is copied now: the options may be freed from the callback.
                let (callback, user, run_options) =
                    (opts.callback, opts.user, opts.options.clone());
                match callback {
                    None => call.client().run(command, &run_options),
                    Some(callback) => {
                        call.client()
                            .run_streaming(command, &run_options, |stream, bytes| {
                                let stream = smol_ssh_stream::from(stream);
                                // SAFETY: the caller vouched for calling `callback` with `user` on this
                                // thread; `bytes` outlives the call.
                                let rc = in_callback(client, || unsafe {
                                    callback(user, stream as i32, bytes.as_ptr(), bytes.len())
                                });
                                if rc == 0 {
                                    ControlFlow::Continue(())
                                } else {
                                    ControlFlow::Break(())
                                }
                            })
                    }
                }
            };
            result::into_c(run())
        },
    )
}

/// Copies the fingerprint ("SHA256:...") of the host key the server presented at the last
/// connect, accepted or not, into `buf` (NUL-terminated, truncated to `buf_len - 1` bytes) and
/// returns its full length; 0 when no server has presented a key yet (or `client` is NULL).
/// `buf` may be NULL to ask for the length (the fingerprint is 50 bytes).
///
/// # Safety
/// `client` is NULL or live; `buf` is NULL or writable for `buf_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_host_key_fingerprint(
    client: *const smol_ssh_client,
    buf: *mut c_char,
    buf_len: usize,
) -> usize {
    guard(
        || 0,
        || {
            let Ok(call) = handle::client_call(client) else {
                return 0;
            };
            let Some(key) = call.client().host_key() else {
                return 0;
            };
            let fp = key.fingerprint.as_bytes();
            if !buf.is_null() && buf_len > 0 {
                let n = fp.len().min(buf_len - 1);
                // SAFETY: `buf` is writable for `buf_len` bytes, and n + 1 <= buf_len.
                unsafe {
                    std::ptr::copy_nonoverlapping(fp.as_ptr(), buf.cast::<u8>(), n);
                    *buf.add(n) = 0;
                }
            }
            fp.len()
        },
    )
}

/// The reference `wait_for_ssh`: waits until the guest's port answers with an SSH banner,
/// then until a full connect (handshake and auth) succeeds, backing off from 20 ms up to
/// `interval_ms` (0 means the default, 100 ms), all within `timeout_ms` (> 0). The connection
/// stays open for later runs. A rejected host key ends the wait at once.
///
/// Returns a result to free with `smol_ssh_result_free`: status and message only.
///
/// # Safety
/// `client` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_wait(
    client: *mut smol_ssh_client,
    timeout_ms: u64,
    interval_ms: u64,
) -> *mut smol_ssh_result {
    // SAFETY (both closures): per the contract.
    guard(
        || unsafe { poisoned_result(client) },
        || {
            let started = std::time::Instant::now();
            let wait = || -> Result<_, Error> {
                // SAFETY: per the contract.
                let call = unsafe { client_ref(client) }?;
                let interval = match interval_ms {
                    0 => crate::DEFAULT_WAIT_INTERVAL,
                    ms => Duration::from_millis(ms),
                };
                call.client()
                    .wait_for_ssh(Duration::from_millis(timeout_ms), interval)?;
                Ok(crate::Output::default())
            };
            let outcome = wait().map_err(|e| e.with_elapsed(started.elapsed()));
            result::into_c(outcome.map(|mut out| {
                out.elapsed = started.elapsed();
                out
            }))
        },
    )
}

/// Closes the connection (runs in flight end with SMOL_SSH_STATUS_DISCONNECTED). Idempotent;
/// the next run reconnects. Returns SMOL_SSH_STATUS_INVALID_ARGUMENT for NULL, PANIC for a
/// client made unusable by an earlier internal error, else OK.
///
/// # Safety
/// `client` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_close(client: *mut smol_ssh_client) -> smol_ssh_status {
    guard(
        || {
            // SAFETY: per the contract.
            unsafe { poison(client) };
            smol_ssh_status::Panic
        },
        || {
            // SAFETY: per the contract.
            match unsafe { client_ref(client) } {
                Ok(call) => {
                    call.client().close();
                    smol_ssh_status::Ok
                }
                Err(e) => e.kind().into(),
            }
        },
    )
}

/// True while the client's connection is alive; false for NULL.
///
/// # Safety
/// `client` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_connected(client: *const smol_ssh_client) -> bool {
    guard(
        || false,
        || {
            // SAFETY: per the contract.
            unsafe { client_ref(client) }.is_ok_and(|call| call.client().is_connected())
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ffi::options::{
        smol_ssh_options_free, smol_ssh_options_new, smol_ssh_options_set_host,
    };
    use crate::ffi::result::smol_ssh_result_free;

    #[test]
    fn a_caught_panic_poisons_the_client_and_every_later_call_says_so() {
        unsafe {
            let opts = smol_ssh_options_new();
            smol_ssh_options_set_host(opts, c"192.0.2.1".as_ptr());
            let mut client = std::ptr::null_mut();
            assert!(smol_ssh_new(opts, &mut client).is_null());
            smol_ssh_options_free(opts);

            let hook = std::panic::take_hook();
            std::panic::set_hook(Box::new(|_| {}));
            PANIC_IN_NEXT_RUN.with(|p| p.set(true));
            let r = smol_ssh_run(client, c"true".as_ptr(), 5000, 1);
            std::panic::set_hook(hook);
            assert_eq!((*r).status, smol_ssh_status::Panic);
            smol_ssh_result_free(r);

            let r = smol_ssh_run(client, c"true".as_ptr(), 5000, 1);
            assert_eq!((*r).status, smol_ssh_status::Panic);
            let msg = std::ffi::CStr::from_ptr((*r).error_message)
                .to_str()
                .unwrap();
            assert!(msg.contains("unusable"), "{msg}");
            smol_ssh_result_free(r);
            let r = smol_ssh_wait(client, 1000, 0);
            assert_eq!((*r).status, smol_ssh_status::Panic);
            smol_ssh_result_free(r);
            assert_eq!(smol_ssh_close(client), smol_ssh_status::Panic);
            assert!(!smol_ssh_connected(client));
            smol_ssh_free(client);
        }
    }
}
