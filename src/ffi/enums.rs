//! The C enums, in one place, each read from the `int32_t` C passes with `TryFrom<i32>` (an
//! unknown value is an INVALID_ARGUMENT naming the type) and turned into the core's type.
#![allow(non_camel_case_types)]

use crate::config::FileTransfer;
use crate::error::Error;
use crate::log::LogLevel;
use crate::sftp::FileType;
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
    Sh = 0,
    /// Windows PowerShell, with `-EncodedCommand`.
    Powershell = 1,
    /// Windows `cmd.exe /s /c`.
    Cmd = 2,
}

from_i32!(smol_ssh_shell_kind { 0 => Sh, 1 => Powershell, 2 => Cmd });

impl From<smol_ssh_shell_kind> for ShellKind {
    fn from(kind: smol_ssh_shell_kind) -> Self {
        match kind {
            smol_ssh_shell_kind::Sh => ShellKind::Sh,
            smol_ssh_shell_kind::Powershell => ShellKind::PowerShell,
            smol_ssh_shell_kind::Cmd => ShellKind::Cmd,
        }
    }
}

/// How a command is handed to the guest (`smol_ssh_run`'s `shell_mode`).
#[repr(i32)]
#[derive(Clone, Copy, Debug)]
pub enum smol_ssh_shell_mode {
    /// Wrapped to run in a login shell of the configured shell kind.
    Login = 0,
    /// Sent as given.
    Raw = 1,
}

from_i32!(smol_ssh_shell_mode { 0 => Login, 1 => Raw });

impl From<smol_ssh_shell_mode> for ShellMode {
    fn from(mode: smol_ssh_shell_mode) -> Self {
        match mode {
            smol_ssh_shell_mode::Login => ShellMode::Login,
            smol_ssh_shell_mode::Raw => ShellMode::Raw,
        }
    }
}

/// Which stream an output chunk comes from.
#[repr(i32)]
#[derive(Clone, Copy, Debug)]
pub enum smol_ssh_stream {
    Stdout = 0,
    Stderr = 1,
}

impl From<Stream> for smol_ssh_stream {
    fn from(stream: Stream) -> Self {
        match stream {
            Stream::Stdout => smol_ssh_stream::Stdout,
            Stream::Stderr => smol_ssh_stream::Stderr,
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
    UserKnownHosts = 0,
    /// Accept the key of the first connection that authenticates, then refuse any other for
    /// the life of the client (trust on first use; for fresh VM guests).
    AcceptFirst = 1,
    /// Accept any key without checking it: only for throwaway guests on a private link.
    AcceptAny = 2,
}

from_i32!(smol_ssh_host_key_policy {
    0 => UserKnownHosts,
    1 => AcceptFirst,
    2 => AcceptAny,
});

/// How much a log message matters (the `level` of `smol_ssh_log_fn`). The numbers are stable;
/// they do not sort by importance (DEBUG came last).
#[repr(i32)]
#[derive(Clone, Copy, Debug)]
pub enum smol_ssh_log_level {
    /// Progress worth keeping: connected, authenticated, the host key accepted.
    Info = 0,
    /// Something went wrong or weakens security: a connect attempt failed, a connection was
    /// lost, a keepalive verdict, a call timed out and its command was killed, a host key
    /// accepted without a check.
    Warning = 1,
    /// A call fails because of it: a host key refused, authentication failed.
    Error = 2,
    /// Detail: each wait_for_ssh probe, the kill script.
    Debug = 3,
}

impl From<LogLevel> for smol_ssh_log_level {
    fn from(level: LogLevel) -> Self {
        match level {
            LogLevel::Info => smol_ssh_log_level::Info,
            LogLevel::Warning => smol_ssh_log_level::Warning,
            LogLevel::Error => smol_ssh_log_level::Error,
            LogLevel::Debug => smol_ssh_log_level::Debug,
        }
    }
}

/// How files move (`smol_ssh_options_set_file_transfer`).
#[repr(i32)]
#[derive(Clone, Copy, Debug)]
pub enum smol_ssh_file_transfer {
    /// Exec channels on POSIX guests (shell kind sh), SFTP on powershell/cmd guests (the
    /// default).
    Auto = 0,
    /// Exec channels running `cat`, `head`, `chmod` and `mv` (POSIX guests only).
    Exec = 1,
    /// The guest sshd's `sftp` subsystem.
    Sftp = 2,
}

from_i32!(smol_ssh_file_transfer { 0 => Auto, 1 => Exec, 2 => Sftp });

impl From<smol_ssh_file_transfer> for FileTransfer {
    fn from(t: smol_ssh_file_transfer) -> Self {
        match t {
            smol_ssh_file_transfer::Auto => FileTransfer::Auto,
            smol_ssh_file_transfer::Exec => FileTransfer::Exec,
            smol_ssh_file_transfer::Sftp => FileTransfer::Sftp,
        }
    }
}

/// What kind of file a path names (`smol_ssh_file_info.file_type`).
#[repr(i32)]
#[derive(Clone, Copy, Debug)]
pub enum smol_ssh_file_type {
    File = 0,
    Directory = 1,
    Symlink = 2,
    /// A device, FIFO or socket, or a type the server did not say.
    Other = 3,
}

impl From<FileType> for smol_ssh_file_type {
    fn from(t: FileType) -> Self {
        match t {
            FileType::File => smol_ssh_file_type::File,
            FileType::Directory => smol_ssh_file_type::Directory,
            FileType::Symlink => smol_ssh_file_type::Symlink,
            FileType::Other => smol_ssh_file_type::Other,
        }
    }
}
