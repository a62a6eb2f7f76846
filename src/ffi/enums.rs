//! The C enums, in one place, each read from the `int32_t` C passes with `TryFrom<i32>` (an
//! unknown value is an INVALID_ARGUMENT naming the type) and turned into the core's type.
#![allow(non_camel_case_types)]

use crate::error::Error;
use crate::shell::{ShellKind, ShellMode};
use crate::Stream;

/// Reads a C enum value: the variant with that number, or an error naming the type.
macro_rules! from_i32 {
    ($ty:ident { $($n:literal => $v:ident),+ $(,)? }) => {
        impl TryFrom<i32> for $ty {
            type Error = Error;
            fn try_from(value: i32) -> Result<Self, Error> {
                match value {
                    $($n => Ok($ty::$v),)+
                    other => Err(Error::invalid(format!(
                        "{other} is not a {}", stringify!($ty)
                    ))),
                }
            }
        }
    };
}

/// The guest's shell, for login-shell wrapping (`smol_ssh_options_set_shell_kind`).
#[repr(i32)]
#[derive(Clone, Copy, Debug)]
pub enum smol_ssh_shell_kind {
    /// A POSIX shell: `$SHELL -lc` (the default).
    SMOL_SSH_SHELL_KIND_SH = 0,
    /// Windows PowerShell, with `-EncodedCommand`.
    SMOL_SSH_SHELL_KIND_POWERSHELL = 1,
    /// Windows `cmd.exe /s /c`.
    SMOL_SSH_SHELL_KIND_CMD = 2,
}

from_i32!(smol_ssh_shell_kind { 0 => SMOL_SSH_SHELL_KIND_SH, 1 => SMOL_SSH_SHELL_KIND_POWERSHELL, 2 => SMOL_SSH_SHELL_KIND_CMD });

impl From<smol_ssh_shell_kind> for ShellKind {
    fn from(kind: smol_ssh_shell_kind) -> Self {
        match kind {
            smol_ssh_shell_kind::SMOL_SSH_SHELL_KIND_SH => ShellKind::Sh,
            smol_ssh_shell_kind::SMOL_SSH_SHELL_KIND_POWERSHELL => ShellKind::PowerShell,
            smol_ssh_shell_kind::SMOL_SSH_SHELL_KIND_CMD => ShellKind::Cmd,
        }
    }
}

/// How a command is handed to the guest (`smol_ssh_run`'s `shell_mode`).
#[repr(i32)]
#[derive(Clone, Copy, Debug)]
pub enum smol_ssh_shell_mode {
    /// Wrapped to run in a login shell of the configured shell kind.
    SMOL_SSH_SHELL_MODE_LOGIN = 0,
    /// Sent as given.
    SMOL_SSH_SHELL_MODE_RAW = 1,
}

from_i32!(smol_ssh_shell_mode { 0 => SMOL_SSH_SHELL_MODE_LOGIN, 1 => SMOL_SSH_SHELL_MODE_RAW });

impl From<smol_ssh_shell_mode> for ShellMode {
    fn from(mode: smol_ssh_shell_mode) -> Self {
        match mode {
            smol_ssh_shell_mode::SMOL_SSH_SHELL_MODE_LOGIN => ShellMode::Login,
            smol_ssh_shell_mode::SMOL_SSH_SHELL_MODE_RAW => ShellMode::Raw,
        }
    }
}

/// Which stream an output chunk comes from.
#[repr(i32)]
#[derive(Clone, Copy, Debug)]
pub enum smol_ssh_stream {
    SMOL_SSH_STREAM_STDOUT = 0,
    SMOL_SSH_STREAM_STDERR = 1,
}

impl From<Stream> for smol_ssh_stream {
    fn from(stream: Stream) -> Self {
        match stream {
            Stream::Stdout => smol_ssh_stream::SMOL_SSH_STREAM_STDOUT,
            Stream::Stderr => smol_ssh_stream::SMOL_SSH_STREAM_STDERR,
        }
    }
}

/// Host-key policies that need no argument (`smol_ssh_options_set_host_key_policy`). Pins,
/// known_hosts files and callbacks have setters of their own.
#[repr(i32)]
#[derive(Clone, Copy, Debug)]
pub enum smol_ssh_host_key_policy {
    /// The user's own `$HOME/.ssh/known_hosts`, strictly: an unknown or changed key is
    /// refused (OpenSSH in batch mode). The default.
    SMOL_SSH_HOST_KEY_USER_KNOWN_HOSTS = 0,
    /// Accept the key of the first connection that authenticates, then refuse any other for
    /// the life of the client (trust on first use; for fresh VM guests).
    SMOL_SSH_HOST_KEY_ACCEPT_FIRST = 1,
    /// Accept any key without checking it: only for throwaway guests on a private link.
    SMOL_SSH_HOST_KEY_ACCEPT_ANY = 2,
}

from_i32!(smol_ssh_host_key_policy {
    0 => SMOL_SSH_HOST_KEY_USER_KNOWN_HOSTS,
    1 => SMOL_SSH_HOST_KEY_ACCEPT_FIRST,
    2 => SMOL_SSH_HOST_KEY_ACCEPT_ANY,
});
