//! `smol_ssh_run_options`: per-run options for `smol_ssh_run_with` (timeout, shell mode, stdin,
//! environment, cancel token, output callback), set one by one like the client's options.

use std::ffi::{c_char, c_void};
use std::time::Duration;

use super::boundary::{bytes_arg, free_boxed, guard, opt_str_arg, str_arg};
use super::cancel::smol_ssh_cancel;
use super::enums::smol_ssh_shell_mode;
use super::setter::{set, Sticky};
use super::status::smol_ssh_status;
use crate::error::Error;
use crate::RunOptions;

/// Receives each chunk of a run's output as it arrives: `stream` is a `smol_ssh_stream`,
/// `data` points to `len` bytes valid only during the call. Called on the thread that called
/// `smol_ssh_run_with`, in order, never concurrently for one run. Return 0 to go on; any other
/// value stops the command (the run then ends with SMOL_SSH_STATUS_CANCELLED).
pub type smol_ssh_output_fn = Option<
    unsafe extern "C" fn(user: *mut c_void, stream: i32, data: *const u8, len: usize) -> i32,
>;

/// Options of one run. Made by `smol_ssh_run_options_new` with the defaults (timeout 30 s,
/// login shell, stdin closed, no extra environment, no cancel token, no callback); freed with
/// `smol_ssh_run_options_free`; may be reused for many runs, from one thread at a time. Like
/// the client's options, a setter that rejects its value returns INVALID_ARGUMENT and the first
/// such failure is reported again by `smol_ssh_run_with`.
pub struct smol_ssh_run_options {
    pub(crate) options: RunOptions,
    pub(crate) callback: smol_ssh_output_fn,
    pub(crate) user: *mut c_void,
    pub(crate) first_error: Option<Error>,
}

/// New run options with the defaults. NULL only if a panic was caught.
#[no_mangle]
pub extern "C" fn smol_ssh_run_options_new() -> *mut smol_ssh_run_options {
    guard(std::ptr::null_mut, || {
        Box::into_raw(Box::new(smol_ssh_run_options {
            options: RunOptions::default(),
            callback: None,
            user: std::ptr::null_mut(),
            first_error: None,
        }))
    })
}

/// Frees run options. NULL is a no-op.
///
/// # Safety
/// `options` is NULL or a live pointer from `smol_ssh_run_options_new`, freed once.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_run_options_free(options: *mut smol_ssh_run_options) {
    // SAFETY: forwarded contract.
    unsafe { free_boxed(options) }
}

impl Sticky for smol_ssh_run_options {
    const WHAT: &'static str = "run option";
    fn first_error(&mut self) -> &mut Option<Error> {
        &mut self.first_error
    }
}

/// Bounds the whole run, in milliseconds (at least 1000, checked by the run). Default 30000.
///
/// # Safety
/// `options`: NULL or live.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_run_options_set_timeout_ms(
    options: *mut smol_ssh_run_options,
    timeout_ms: u64,
) -> smol_ssh_status {
    let apply = |o: &mut smol_ssh_run_options| -> Result<(), Error> {
        o.options.timeout = Duration::from_millis(timeout_ms);
        Ok(())
    };
    // SAFETY: `options` is NULL or live, per the contract.
    unsafe { set(options, "timeout_ms", apply) }
}

/// A `smol_ssh_shell_mode` value. Default SMOL_SSH_SHELL_MODE_LOGIN.
///
/// # Safety
/// `options`: NULL or live.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_run_options_set_shell_mode(
    options: *mut smol_ssh_run_options,
    shell_mode: i32,
) -> smol_ssh_status {
    let apply = |o: &mut smol_ssh_run_options| -> Result<(), Error> {
        o.options.mode = smol_ssh_shell_mode::try_from(shell_mode)?.into();
        Ok(())
    };
    // SAFETY: `options` is NULL or live, per the contract.
    unsafe { set(options, "shell_mode", apply) }
}

/// Bytes fed to the command's stdin while its output is read, then EOF; copied. `data` may be
/// NULL only with `len` 0, which restores the default (stdin closed at once).
///
/// # Safety
/// `options`: NULL or live; `data`: NULL or readable for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_run_options_set_stdin(
    options: *mut smol_ssh_run_options,
    data: *const u8,
    len: usize,
) -> smol_ssh_status {
    let apply = |o: &mut smol_ssh_run_options| -> Result<(), Error> {
        // SAFETY: the string and byte arguments are NULL or valid, per the contract.
        // Copied before returning.
        let bytes = unsafe { bytes_arg(data, len, "data") }?;
        o.options.stdin = (!bytes.is_empty()).then(|| bytes.to_vec());
        Ok(())
    };
    // SAFETY: `options` is NULL or live, per the contract.
    unsafe { set(options, "stdin", apply) }
}

/// Sets environment variable `name` to `value` for the run (replacing an earlier value);
/// `value` NULL removes it. Names are `[A-Za-z_][A-Za-z0-9_]*` (checked by the run). The
/// variables are set by the command itself, quoted for the client's shell kind, because the
/// default sshd refuses `env` requests.
///
/// # Safety
/// `options`: NULL or live; `name`, `value`: NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_run_options_set_env(
    options: *mut smol_ssh_run_options,
    name: *const c_char,
    value: *const c_char,
) -> smol_ssh_status {
    let apply = |o: &mut smol_ssh_run_options| -> Result<(), Error> {
        // SAFETY: the string and byte arguments are NULL or valid, per the contract.
        let name = unsafe { str_arg(name, "name") }?;
        let value = unsafe { opt_str_arg(value, "value") }?;
        replace_var(&mut o.options.env, name, value.map(str::to_owned));
        Ok(())
    };
    // SAFETY: `options` is NULL or live, per the contract.
    unsafe { set(options, "env", apply) }
}

/// Replaces `name`'s value in `vars` (None removes it).
fn replace_var<V>(vars: &mut Vec<(String, V)>, name: &str, value: Option<V>) {
    vars.retain(|(n, _)| n != name);
    if let Some(value) = value {
        vars.push((name.to_owned(), value));
    }
}

/// Sets a secret environment variable `name` to `value` for the run (replacing an earlier
/// value); `value` NULL removes it. Unlike `smol_ssh_run_options_set_env`, the value never
/// appears in the command line (which other users of the guest can read in its process
/// table): it is sent on the command's stdin, ahead of the run's own input, and read by the
/// command. Needs a POSIX guest (shell kind sh; others get INVALID_ARGUMENT from the run). The
/// library keeps the value in memory that is zeroed when the options are freed.
///
/// # Safety
/// `options`: NULL or live; `name`, `value`: NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_run_options_set_secret_env(
    options: *mut smol_ssh_run_options,
    name: *const c_char,
    value: *const c_char,
) -> smol_ssh_status {
    let apply = |o: &mut smol_ssh_run_options| -> Result<(), Error> {
        // SAFETY: the string and byte arguments are NULL or valid, per the contract.
        let name = unsafe { str_arg(name, "name") }?;
        let value = unsafe { opt_str_arg(value, "value") }?;
        replace_var(&mut o.options.secret_env, name, value.map(Into::into));
        Ok(())
    };
    // SAFETY: `options` is NULL or live, per the contract.
    unsafe { set(options, "secret_env", apply) }
}

/// Runs with these options can be cancelled with `cancel` (the options keep their own
/// reference); NULL removes the token.
///
/// # Safety
/// `options`: NULL or live; `cancel`: NULL or a live token.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_run_options_set_cancel(
    options: *mut smol_ssh_run_options,
    cancel: *const smol_ssh_cancel,
) -> smol_ssh_status {
    let apply = |o: &mut smol_ssh_run_options| -> Result<(), Error> {
        // SAFETY: per the contract.
        o.options.cancel = cancel.as_ref().map(|c| c.token.clone());
        Ok(())
    };
    // SAFETY: `options` is NULL or live, per the contract.
    unsafe { set(options, "cancel", apply) }
}

/// Streams output to `callback` (with `user` passed back) instead of collecting it: the
/// result's stdout/stderr are then empty. NULL removes the callback (output is collected).
/// The same deadline bounds the run; if the callback is slower than the command, the server
/// is made to wait (at most 4 MiB are buffered here), and past the deadline the callback is
/// not called again (the output not handed over is in the result's stdout/stderr). A run
/// copies its options when it starts: the callback may free them (or free the client, see
/// `smol_ssh_free`).
///
/// # Safety
/// `options`: NULL or live; `callback` must be safe to call with `user` on the calling thread
/// of every run using these options.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_run_options_set_output_callback(
    options: *mut smol_ssh_run_options,
    callback: smol_ssh_output_fn,
    user: *mut c_void,
) -> smol_ssh_status {
    let apply = |o: &mut smol_ssh_run_options| -> Result<(), Error> {
        o.callback = callback;
        o.user = user;
        Ok(())
    };
    // SAFETY: `options` is NULL or live, per the contract.
    unsafe { set(options, "output_callback", apply) }
}
