//! Runs and transfers submitted without waiting, through the C ABI (see the core's
//! pending.rs): for event loops (epoll, libuv, asyncio, ...), a `smol_ssh_pending` whose
//! descriptor turns readable when the call has ended; its `smol_ssh_result` is then taken as
//! from `smol_ssh_run` (or the blocking transfer).

use std::ffi::c_char;
use std::os::fd::AsRawFd;
use std::path::Path;

use super::boundary::{free_boxed, guard, str_arg};
use super::client::{client_ref, smol_ssh_client};
use super::error::{self as c_error, smol_ssh_error};
use super::result::{self, smol_ssh_result};
use super::run_options::smol_ssh_run_options;
use super::status::smol_ssh_status;
use super::transfer::transfer_options;
use crate::error::Error;
use crate::{Pending, RunOptions};

/// A run in flight, made by `smol_ssh_submit`, freed by `smol_ssh_pending_free` (which cancels
/// it if it has not ended). It does not keep its client alive: freeing the client ends it
/// (DISCONNECTED). May be used from any thread, one at a time.
pub struct smol_ssh_pending {
    pending: std::sync::Mutex<Pending>,
}

impl smol_ssh_pending {
    fn get(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Starts `command` as `smol_ssh_run_with` would and returns at once with `*pending_out`. The
/// run obeys the options' timeout and cancel token; an output callback in `options` is
/// INVALID_ARGUMENT (there is no waiting thread to call it on). Returns NULL, or an error the
/// caller frees (then `*pending_out` is NULL).
///
/// # Safety
/// `client`, `options`: NULL or live; `command`: NULL or NUL-terminated; `pending_out`: NULL
/// or writable.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_submit(
    client: *mut smol_ssh_client,
    command: *const c_char,
    options: *const smol_ssh_run_options,
    pending_out: *mut *mut smol_ssh_pending,
) -> *mut smol_ssh_error {
    let make = || -> Result<*mut smol_ssh_pending, Error> {
        // SAFETY: per the contract.
        let call = unsafe { client_ref(client) }?;
        // SAFETY: per the contract.
        let command = unsafe { str_arg(command, "command") }?;
        // SAFETY: per the contract.
        let run_options =
            match unsafe { options.as_ref() } {
                None => RunOptions::default(),
                Some(o) if o.first_error.is_some() => {
                    return Err(o.first_error.clone().expect("checked"))
                }
                Some(o) if o.callback.is_some() => return Err(Error::invalid(
                    "an output callback cannot be used with smol_ssh_submit (its output is kept)",
                )),
                Some(o) => o.options.clone(),
            };
        let pending = call.client().submit(command, &run_options)?;
        Ok(boxed(pending))
    };
    // SAFETY: `pending_out` is NULL or writable, per the contract.
    unsafe { c_error::made("smol_ssh_submit", pending_out, "pending_out", make) }
}

/// Starts an upload as `smol_ssh_put_file` would and returns at once with `*pending_out`;
/// the upload runs on a thread of its own while it lasts (it reads a local file). Its result,
/// taken with `smol_ssh_pending_result`, is `smol_ssh_put_file`'s. Freeing the client ends it
/// (DISCONNECTED) and waits for its thread. Returns NULL, or an error the caller frees.
///
/// # Safety
/// `client`, `options`: NULL or live; `local`, `remote`: NULL or NUL-terminated;
/// `pending_out`: NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_submit_put_file(
    client: *mut smol_ssh_client,
    local: *const c_char,
    remote: *const c_char,
    options: *const smol_ssh_run_options,
    pending_out: *mut *mut smol_ssh_pending,
) -> *mut smol_ssh_error {
    let make = || -> Result<*mut smol_ssh_pending, Error> {
        // SAFETY: per the contract.
        let call = unsafe { client_ref(client) }?;
        // SAFETY: per the contract.
        let (local, remote) = unsafe { (str_arg(local, "local")?, str_arg(remote, "remote")?) };
        // SAFETY: per the contract.
        let opts = unsafe { transfer_options(options) }?;
        let pending = crate::pending::put_file_on(call, Path::new(local), remote, &opts)?;
        Ok(boxed(pending))
    };
    // SAFETY: `pending_out` is NULL or writable, per the contract.
    unsafe { c_error::made("smol_ssh_submit_put_file", pending_out, "pending_out", make) }
}

/// Starts a download as `smol_ssh_get_file` would and returns at once with `*pending_out`;
/// the download runs on a thread of its own while it lasts (it writes a local file). Its
/// result is `smol_ssh_get_file`'s. As `smol_ssh_submit_put_file` otherwise.
///
/// # Safety
/// `client`, `options`: NULL or live; `remote`, `local`: NULL or NUL-terminated;
/// `pending_out`: NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_submit_get_file(
    client: *mut smol_ssh_client,
    remote: *const c_char,
    local: *const c_char,
    max_bytes: u64,
    options: *const smol_ssh_run_options,
    pending_out: *mut *mut smol_ssh_pending,
) -> *mut smol_ssh_error {
    let make = || -> Result<*mut smol_ssh_pending, Error> {
        // SAFETY: per the contract.
        let call = unsafe { client_ref(client) }?;
        // SAFETY: per the contract.
        let (remote, local) = unsafe { (str_arg(remote, "remote")?, str_arg(local, "local")?) };
        // SAFETY: per the contract.
        let opts = unsafe { transfer_options(options) }?;
        let pending =
            crate::pending::get_file_on(call, remote, Path::new(local), max_bytes, &opts)?;
        Ok(boxed(pending))
    };
    // SAFETY: `pending_out` is NULL or writable, per the contract.
    unsafe { c_error::made("smol_ssh_submit_get_file", pending_out, "pending_out", make) }
}

fn boxed(pending: Pending) -> *mut smol_ssh_pending {
    Box::into_raw(Box::new(smol_ssh_pending {
        pending: std::sync::Mutex::new(pending),
    }))
}

/// The descriptor to watch: readable once the run has ended, until its result is taken. -1
/// for NULL. It belongs to the pending (do not close it).
///
/// # Safety
/// `pending` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_pending_fd(pending: *const smol_ssh_pending) -> i32 {
    // SAFETY: per the contract.
    guard(
        || -1,
        || unsafe { pending.as_ref() }.map_or(-1, |p| p.get().as_raw_fd()),
    )
}

/// Whether the run has ended (its result is ready). False for NULL.
///
/// # Safety
/// `pending` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_pending_is_done(pending: *const smol_ssh_pending) -> bool {
    // SAFETY: per the contract.
    guard(
        || false,
        || unsafe { pending.as_ref() }.is_some_and(|p| p.get().is_done()),
    )
}

/// Waits up to `timeout_ms` for the run to end; true when it has. False for NULL.
///
/// # Safety
/// `pending` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_pending_wait(
    pending: *const smol_ssh_pending,
    timeout_ms: u64,
) -> bool {
    guard(
        || false,
        || {
            // SAFETY: per the contract.
            unsafe { pending.as_ref() }.is_some_and(|p| {
                p.get()
                    .wait_for(std::time::Duration::from_millis(timeout_ms))
            })
        },
    )
}

/// Cancels the run: it ends CANCELLED and its command is stopped (one not yet started is never
/// sent). Idempotent; INVALID_ARGUMENT for NULL.
///
/// # Safety
/// `pending` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_pending_cancel(
    pending: *const smol_ssh_pending,
) -> smol_ssh_status {
    guard(
        || smol_ssh_status::Panic,
        || {
            // SAFETY: per the contract.
            match unsafe { pending.as_ref() } {
                None => smol_ssh_status::InvalidArgument,
                Some(p) => {
                    p.get().cancel();
                    smol_ssh_status::Ok
                }
            }
        },
    )
}

/// The run's result once it has ended, exactly as `smol_ssh_run_with` would have returned
/// it; NULL while it runs, after it was taken, or for NULL. The caller frees it.
///
/// # Safety
/// `pending` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_pending_result(
    pending: *mut smol_ssh_pending,
) -> *mut smol_ssh_result {
    guard(result::panic_result, || {
        // SAFETY: per the contract.
        match unsafe { pending.as_ref() }.and_then(|p| p.get().try_result()) {
            Some(outcome) => result::into_c(outcome),
            None => std::ptr::null_mut(),
        }
    })
}

/// Frees a pending run, cancelling it if it has not ended; NULL is a no-op.
///
/// # Safety
/// `pending` is NULL or a pending run not yet freed.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_pending_free(pending: *mut smol_ssh_pending) {
    // SAFETY: per the contract: it came from Box::into_raw in smol_ssh_submit.
    unsafe { free_boxed(pending) }
}
