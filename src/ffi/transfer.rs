//! File transfer through the C ABI: the results are ordinary `smol_ssh_result`s.

use std::ffi::c_char;
use std::path::Path;

use super::boundary::{bytes_arg, guard, str_arg};
use super::client::{client_ref, poisoned_result, smol_ssh_client};
use super::result::{self, smol_ssh_result};
use super::run_options::smol_ssh_run_options;
use crate::error::Error;
use crate::output::Output;
use crate::pending::transferred as bytes_result;
use crate::RunOptions;

/// The timeout and cancel token of `options` (NULL: the defaults); other run options do not
/// apply to transfers.
///
/// # Safety
/// `options` is NULL or live.
pub(super) unsafe fn transfer_options(
    options: *const smol_ssh_run_options,
) -> Result<RunOptions, Error> {
    // SAFETY: per the contract.
    match unsafe { options.as_ref() } {
        None => Ok(RunOptions::default()),
        Some(o) => match &o.first_error {
            Some(e) => Err(e.clone()),
            None => Ok(o.options.clone()),
        },
    }
}

/// Runs one transfer call inside the boundary.
///
/// # Safety
/// As for every function below.
pub(super) unsafe fn transfer(
    client: *mut smol_ssh_client,
    options: *const smol_ssh_run_options,
    body: impl FnOnce(&crate::Client, &RunOptions) -> Result<Vec<u8>, Error>,
) -> *mut smol_ssh_result {
    // SAFETY (both closures): per the contract.
    guard(
        || unsafe { poisoned_result(client) },
        || {
            let started = std::time::Instant::now();
            let outcome = (|| {
                let call = unsafe { client_ref(client) }?;
                let opts = unsafe { transfer_options(options) }?;
                body(call.client(), &opts)
            })();
            result::into_c(
                outcome
                    .map(|bytes| Output {
                        elapsed: started.elapsed(),
                        ..bytes_result(bytes)
                    })
                    .map_err(|e| e.with_elapsed(started.elapsed())),
            )
        },
    )
}

/// Uploads the local file `local` to `remote` on the guest, keeping its permission bits; if
/// `remote` is an existing directory the local file name is appended. The file is written
/// under a temporary name and renamed into place. On success the result's stdout holds the
/// path written. A missing local file (or a directory) is INVALID_ARGUMENT; a refusal by the
/// guest is REMOTE_FAILED (over SFTP: NOT_FOUND, PERMISSION_DENIED, ... where it can say).
/// `options` (may be NULL) gives the timeout and cancel token. Exec channels or SFTP, as
/// `smol_ssh_options_set_file_transfer` chose.
///
/// # Safety
/// `client`, `options`: NULL or live; `local`, `remote`: NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_put_file(
    client: *mut smol_ssh_client,
    local: *const c_char,
    remote: *const c_char,
    options: *const smol_ssh_run_options,
) -> *mut smol_ssh_result {
    unsafe {
        transfer(client, options, |c, o| {
            let local = str_arg(local, "local")?;
            let remote = str_arg(remote, "remote")?;
            c.put_file(Path::new(local), remote, o)
                .map(String::into_bytes)
        })
    }
}

/// Writes `len` bytes at `data` to the file `remote` with permissions `mode` (e.g. 0644),
/// replacing it atomically. On success stdout holds the path written. As `smol_ssh_put_file`
/// otherwise. `data` may be NULL only when `len` is 0.
///
/// # Safety
/// `client`, `options`: NULL or live; `data`: readable for `len` bytes; `remote`: NULL or
/// NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_put_bytes(
    client: *mut smol_ssh_client,
    data: *const u8,
    len: usize,
    remote: *const c_char,
    mode: u32,
    options: *const smol_ssh_run_options,
) -> *mut smol_ssh_result {
    unsafe {
        transfer(client, options, |c, o| {
            let remote = str_arg(remote, "remote")?;
            let bytes = bytes_arg(data, len, "data")?;
            c.put_bytes(bytes, remote, mode, o).map(String::into_bytes)
        })
    }
}

/// Downloads `remote` to the local file `local`, creating its parent directories; a file
/// larger than `max_bytes` is TOO_LARGE (UINT64_MAX: no limit) and nothing is written. The
/// file appears only complete (written under a temporary name, then renamed). A local path
/// that is a directory is INVALID_ARGUMENT; a refusal by the guest (no such file, permission
/// denied) is REMOTE_FAILED.
///
/// # Safety
/// `client`, `options`: NULL or live; `remote`, `local`: NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_get_file(
    client: *mut smol_ssh_client,
    remote: *const c_char,
    local: *const c_char,
    max_bytes: u64,
    options: *const smol_ssh_run_options,
) -> *mut smol_ssh_result {
    unsafe {
        transfer(client, options, |c, o| {
            let remote = str_arg(remote, "remote")?;
            let local = str_arg(local, "local")?;
            c.get_file(remote, Path::new(local), max_bytes, o)
                .map(|_| Vec::new())
        })
    }
}

/// Reads the file `remote` into the result's stdout (at most `max_bytes`, else TOO_LARGE).
///
/// # Safety
/// `client`, `options`: NULL or live; `remote`: NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_get_bytes(
    client: *mut smol_ssh_client,
    remote: *const c_char,
    max_bytes: u64,
    options: *const smol_ssh_run_options,
) -> *mut smol_ssh_result {
    unsafe {
        transfer(client, options, |c, o| {
            let remote = str_arg(remote, "remote")?;
            c.get_bytes(remote, max_bytes, o)
        })
    }
}
