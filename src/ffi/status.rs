//! Status codes, their names, and the library version.

use std::ffi::{c_char, CStr, CString};
use std::sync::OnceLock;

use super::boundary::guard;
use crate::error::ErrorKind;

/// The outcome of a call. The numbers are stable and never reused; new codes are appended.
/// Functions that take a status from C take an `int32_t` and accept any value.
#[allow(non_camel_case_types)]
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum smol_ssh_status {
    /// Success. For a run: the command ran to its end (see `exit_code` / `ok` for how it went).
    Ok = 0,
    /// A bad argument: NULL pointer, invalid UTF-8, empty command, timeout below 1 s,
    /// unknown enum value, out-of-range number.
    InvalidArgument = 1,
    /// A deadline passed; the message names the operation and the timeout.
    Timeout = 2,
    /// TCP connect or the SSH handshake failed.
    ConnectFailed = 3,
    /// Authentication failed, or the key file could not be used.
    AuthFailed = 4,
    /// The server's host key did not match the pinned or the remembered one.
    HostKeyRejected = 5,
    /// The server refused to open a channel or to start the command.
    ChannelFailed = 6,
    /// The connection was lost or closed while the call was in flight.
    Disconnected = 7,
    /// A bug inside smol-ssh was caught (a Rust panic); the call did not complete.
    Panic = 8,
    /// The run was cancelled (`smol_ssh_cancel_trigger`, or an output callback returned
    /// non-zero); the remote command was stopped.
    Cancelled = 9,
    /// A file operation failed on the guest (no such file, permission denied, is a
    /// directory); the message carries the guest's own words.
    RemoteFailed = 10,
    /// The remote file is larger than the `max_bytes` asked for; nothing was written.
    TooLarge = 11,
    /// The path does not exist on the guest (file operations and SFTP transfers).
    NotFound = 12,
    /// The guest refused the file operation for lack of permission.
    PermissionDenied = 13,
    /// A path that had to be a directory is not one.
    NotADirectory = 14,
}

impl From<ErrorKind> for smol_ssh_status {
    fn from(kind: ErrorKind) -> Self {
        use smol_ssh_status::*;
        match kind {
            ErrorKind::InvalidArgument => InvalidArgument,
            ErrorKind::Timeout => Timeout,
            ErrorKind::ConnectFailed => ConnectFailed,
            ErrorKind::AuthFailed => AuthFailed,
            ErrorKind::HostKeyRejected => HostKeyRejected,
            ErrorKind::ChannelFailed => ChannelFailed,
            ErrorKind::Disconnected => Disconnected,
            ErrorKind::Panic => Panic,
            ErrorKind::Cancelled => Cancelled,
            ErrorKind::RemoteFailed => RemoteFailed,
            ErrorKind::TooLarge => TooLarge,
            ErrorKind::NotFound => NotFound,
            ErrorKind::PermissionDenied => PermissionDenied,
            ErrorKind::NotADirectory => NotADirectory,
        }
    }
}

/// A static, NUL-terminated English name of `status` ("ok", "timeout", ...); any value is
/// accepted, unknown ones give "unknown status". Never NULL; do not free.
#[no_mangle]
pub extern "C" fn smol_ssh_status_str(status: i32) -> *const c_char {
    guard(
        || c"unknown status".as_ptr(),
        || status_name(status).as_ptr(),
    )
}

fn status_name(status: i32) -> &'static CStr {
    static NAMES: OnceLock<Vec<CString>> = OnceLock::new();
    let names = NAMES.get_or_init(|| {
        ErrorKind::ALL
            .iter()
            .map(|k| CString::new(k.as_str()).expect("names have no NUL"))
            .collect()
    });
    let position = ErrorKind::ALL
        .iter()
        .position(|k| smol_ssh_status::from(*k) as i32 == status);
    let name: &CStr = match (status, position) {
        (0, _) => c"ok",
        (_, Some(i)) => &names[i],
        (_, None) => c"unknown status",
    };
    name
}

/// The library version ("MAJOR.MINOR.PATCH"), static and NUL-terminated. Never NULL.
#[no_mangle]
pub extern "C" fn smol_ssh_version() -> *const c_char {
    const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");
    guard(|| VERSION.as_ptr().cast(), || VERSION.as_ptr().cast())
}
