//! `smol_ssh_options`: connection options built with setters, so that options can be added
//! later without breaking programs built against an older header.

use std::ffi::{c_char, c_void, CString};
use std::time::Duration;

use super::boundary::{free_boxed, guard, opt_str_arg, str_arg};
use super::enums::{
    smol_ssh_file_transfer, smol_ssh_host_key_policy, smol_ssh_log_level, smol_ssh_shell_kind,
};
use super::setter::{self, Sticky};
use super::status::smol_ssh_status;
use crate::config::{self, Config};
use crate::error::Error;
use crate::hostkey::{HostKey, HostKeyCallback, HostKeyPolicy};
use crate::log::{LogCallback, LogLevel};
use crate::{FdSource, Transport};

/// Options for `smol_ssh_new`. Made by `smol_ssh_options_new` with the reference defaults
/// (user "root", port 22, connect timeout 10 s, shell "sh", keepalive check after 15 s of
/// silence and dead after 3 unanswered intervals, host keys checked against the user's own
/// known_hosts so that an unknown key is refused until a policy is chosen); freed with
/// `smol_ssh_options_free`.
///
/// A setter that rejects its value returns SMOL_SSH_STATUS_INVALID_ARGUMENT and keeps the
/// previous value; the first such failure is also remembered and reported, with its message,
/// by `smol_ssh_new`, so a caller may set everything and check once.
/// Not thread-safe: use one options object from one thread at a time.
pub struct smol_ssh_options {
    pub(crate) config: Config,
    pub(crate) first_error: Option<Error>,
}

/// New options with every default and no host (the host is required).
/// Free with `smol_ssh_options_free`. Returns NULL only if a panic was caught.
#[no_mangle]
pub extern "C" fn smol_ssh_options_new() -> *mut smol_ssh_options {
    guard(std::ptr::null_mut, || {
        Box::into_raw(Box::new(smol_ssh_options {
            config: Config::new(""),
            first_error: None,
        }))
    })
}

/// Frees options made by `smol_ssh_options_new`. NULL is a no-op.
///
/// # Safety
/// `options` is NULL or a pointer from `smol_ssh_options_new` not yet freed.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_options_free(options: *mut smol_ssh_options) {
    // SAFETY: forwarded contract.
    unsafe { free_boxed(options) }
}

impl Sticky for smol_ssh_options {
    const WHAT: &'static str = "option";
    fn first_error(&mut self) -> &mut Option<Error> {
        &mut self.first_error
    }
}

/// Applies one setter to the config.
///
/// # Safety
/// `options` is NULL or a live pointer from `smol_ssh_options_new`.
unsafe fn set(
    options: *mut smol_ssh_options,
    name: &str,
    apply: impl FnOnce(&mut Config) -> Result<(), Error>,
) -> smol_ssh_status {
    // SAFETY: forwarded contract.
    unsafe { setter::set(options, name, |o| apply(&mut o.config)) }
}

/// Host name or IP address of the guest; required, non-empty.
///
/// # Safety
/// `options` as for every setter: NULL or live. `host`: NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_options_set_host(
    options: *mut smol_ssh_options,
    host: *const c_char,
) -> smol_ssh_status {
    let apply = |c: &mut Config| -> Result<(), Error> {
        // SAFETY: the string and byte arguments are NULL or valid, per the contract.
        let host = unsafe { str_arg(host, "host") }?;
        config::check_host(host)?;
        c.host = host.to_owned();
        Ok(())
    };
    // SAFETY: `options` is NULL or live, per the contract.
    unsafe { set(options, "host", apply) }
}

/// Login user; non-empty. Default "root".
///
/// # Safety
/// As for `smol_ssh_options_set_host`.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_options_set_user(
    options: *mut smol_ssh_options,
    user: *const c_char,
) -> smol_ssh_status {
    let apply = |c: &mut Config| -> Result<(), Error> {
        // SAFETY: the string and byte arguments are NULL or valid, per the contract.
        let user = unsafe { str_arg(user, "user") }?;
        config::check_user(user)?;
        c.user = user.to_owned();
        Ok(())
    };
    // SAFETY: `options` is NULL or live, per the contract.
    unsafe { set(options, "user", apply) }
}

/// TCP port, 1–65535. Default 22.
///
/// # Safety
/// `options`: NULL or live.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_options_set_port(
    options: *mut smol_ssh_options,
    port: u32,
) -> smol_ssh_status {
    let apply = |c: &mut Config| -> Result<(), Error> {
        let port = u16::try_from(port)
            .map_err(|_| Error::invalid(format!("{port} is not within 1-65535")))?;
        config::check_port(port)?;
        c.port = port;
        Ok(())
    };
    // SAFETY: `options` is NULL or live, per the contract.
    unsafe { set(options, "port", apply) }
}

/// Private key file (OpenSSH, PEM RSA/ECDSA); NULL clears it. When set, the password is not
/// used for authentication. Without key and password the ssh-agent is tried.
///
/// # Safety
/// As for `smol_ssh_options_set_host`.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_options_set_key_path(
    options: *mut smol_ssh_options,
    key_path: *const c_char,
) -> smol_ssh_status {
    let apply = |c: &mut Config| -> Result<(), Error> {
        // SAFETY: the string and byte arguments are NULL or valid, per the contract.
        let path = unsafe { opt_str_arg(key_path, "key_path") }?;
        if path == Some("") {
            return Err(Error::invalid("must not be empty (pass NULL to clear)"));
        }
        c.key_path = path.map(Into::into);
        Ok(())
    };
    // SAFETY: `options` is NULL or live, per the contract.
    unsafe { set(options, "key_path", apply) }
}

/// Passphrase of an encrypted private key; NULL clears it.
///
/// # Safety
/// As for `smol_ssh_options_set_host`.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_options_set_key_passphrase(
    options: *mut smol_ssh_options,
    passphrase: *const c_char,
) -> smol_ssh_status {
    let apply = |c: &mut Config| -> Result<(), Error> {
        // SAFETY: the string and byte arguments are NULL or valid, per the contract.
        c.key_passphrase = unsafe { opt_str_arg(passphrase, "key_passphrase") }?.map(Into::into);
        Ok(())
    };
    // SAFETY: `options` is NULL or live, per the contract.
    unsafe { set(options, "key_passphrase", apply) }
}

/// Password, used when no key file is set; NULL clears it.
///
/// # Safety
/// As for `smol_ssh_options_set_host`.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_options_set_password(
    options: *mut smol_ssh_options,
    password: *const c_char,
) -> smol_ssh_status {
    let apply = |c: &mut Config| -> Result<(), Error> {
        // SAFETY: the string and byte arguments are NULL or valid, per the contract.
        c.password = unsafe { opt_str_arg(password, "password") }?.map(Into::into);
        Ok(())
    };
    // SAFETY: `options` is NULL or live, per the contract.
    unsafe { set(options, "password", apply) }
}

/// Bound on TCP connect + handshake + authentication, in milliseconds; at least 1000.
/// Default 10000.
///
/// # Safety
/// `options`: NULL or live.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_options_set_connect_timeout_ms(
    options: *mut smol_ssh_options,
    timeout_ms: u64,
) -> smol_ssh_status {
    let apply = |c: &mut Config| -> Result<(), Error> {
        let timeout = Duration::from_millis(timeout_ms);
        config::check_connect_timeout(timeout)?;
        c.connect_timeout = timeout;
        Ok(())
    };
    // SAFETY: `options` is NULL or live, per the contract.
    unsafe { set(options, "connect_timeout_ms", apply) }
}

/// The guest's shell: a `smol_ssh_shell_kind` value. Default SMOL_SSH_SHELL_KIND_SH.
///
/// # Safety
/// `options`: NULL or live.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_options_set_shell_kind(
    options: *mut smol_ssh_options,
    shell_kind: i32,
) -> smol_ssh_status {
    let apply = |c: &mut Config| -> Result<(), Error> {
        c.shell_kind = smol_ssh_shell_kind::try_from(shell_kind)?.into();
        Ok(())
    };
    // SAFETY: `options` is NULL or live, per the contract.
    unsafe { set(options, "shell_kind", apply) }
}

/// How `smol_ssh_put_file` and the other transfers move files: a `smol_ssh_file_transfer`
/// (`AUTO`, the default: exec channels on POSIX guests, SFTP on powershell/cmd guests; `EXEC`;
/// `SFTP`). File operations (`smol_ssh_stat`, ...) always use SFTP.
///
/// # Safety
/// `options`: NULL or live.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_options_set_file_transfer(
    options: *mut smol_ssh_options,
    file_transfer: i32,
) -> smol_ssh_status {
    let apply = |c: &mut Config| -> Result<(), Error> {
        c.file_transfer = smol_ssh_file_transfer::try_from(file_transfer)?.into();
        Ok(())
    };
    // SAFETY: `options` is NULL or live, per the contract.
    unsafe { set(options, "file_transfer", apply) }
}

/// Pins a host key: accept only keys with one of the fingerprints pinned so far (OpenSSH
/// SHA-256: "SHA256:" + base64, as `ssh-keygen -lf` prints). Each call adds one; NULL removes
/// them all and restores the default policy. Replaces any other policy.
///
/// # Safety
/// As for `smol_ssh_options_set_host`.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_options_set_host_key_fingerprint(
    options: *mut smol_ssh_options,
    fingerprint: *const c_char,
) -> smol_ssh_status {
    let apply = |c: &mut Config| -> Result<(), Error> {
        // SAFETY: the string and byte arguments are NULL or valid, per the contract.
        match unsafe { opt_str_arg(fingerprint, "host_key_fingerprint") }? {
            None => c.host_key = HostKeyPolicy::default(),
            Some(fp) => {
                crate::hostkey::parse_fingerprint(fp)?;
                match &mut c.host_key {
                    HostKeyPolicy::Fingerprints(pins) => pins.push(fp.to_owned()),
                    other => *other = HostKeyPolicy::Fingerprints(vec![fp.to_owned()]),
                }
            }
        }
        Ok(())
    };
    // SAFETY: `options` is NULL or live, per the contract.
    unsafe { set(options, "host_key_fingerprint", apply) }
}

/// Chooses a host-key policy from `smol_ssh_host_key_policy` (an integer; unknown values are
/// SMOL_SSH_STATUS_INVALID_ARGUMENT). Replaces any other policy.
///
/// # Safety
/// `options`: NULL or live.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_options_set_host_key_policy(
    options: *mut smol_ssh_options,
    policy: i32,
) -> smol_ssh_status {
    let apply = |c: &mut Config| -> Result<(), Error> {
        c.host_key = match smol_ssh_host_key_policy::try_from(policy)? {
            smol_ssh_host_key_policy::UserKnownHosts => HostKeyPolicy::UserKnownHosts,
            smol_ssh_host_key_policy::AcceptFirst => HostKeyPolicy::AcceptFirst,
            smol_ssh_host_key_policy::AcceptAny => HostKeyPolicy::AcceptAny,
        };
        Ok(())
    };
    // SAFETY: `options` is NULL or live, per the contract.
    unsafe { set(options, "host_key_policy", apply) }
}

/// A host-key policy function: called during each connect, **on the client's internal
/// thread**, with `user`, the key's type ("ssh-ed25519", ...), its fingerprint ("SHA256:...")
/// and the key itself (`key_len` bytes, the SSH wire encoding); returns 1 to accept the key, 0
/// to refuse it (SMOL_SSH_STATUS_HOST_KEY_REJECTED). The strings and bytes are valid during
/// the call only.
pub type smol_ssh_host_key_fn = Option<
    unsafe extern "C" fn(
        user: *mut c_void,
        key_type: *const c_char,
        fingerprint: *const c_char,
        key: *const u8,
        key_len: usize,
    ) -> i32,
>;

/// The caller's function and pointer, which the caller vouched are safe to use from the
/// client's thread.
struct ForeignHostKeyFn {
    f: unsafe extern "C" fn(*mut c_void, *const c_char, *const c_char, *const u8, usize) -> i32,
    user: *mut c_void,
}
// SAFETY: the caller of smol_ssh_options_set_host_key_callback guarantees that `f` may be
// called with `user` from any thread.
unsafe impl Send for ForeignHostKeyFn {}
// SAFETY: as above.
unsafe impl Sync for ForeignHostKeyFn {}

impl ForeignHostKeyFn {
    /// Asks the caller's function about `key`: true when it returned 1.
    fn accepts(&self, key: &HostKey) -> bool {
        let to_c = |s: &str| CString::new(s.replace('\0', "")).unwrap_or_default();
        let (kind, fp) = (to_c(&key.key_type), to_c(&key.fingerprint));
        // SAFETY: the caller vouched for calling `f` with `user` from this thread; the strings
        // and bytes outlive the call.
        let rc = unsafe {
            (self.f)(
                self.user,
                kind.as_ptr(),
                fp.as_ptr(),
                key.key.as_ptr(),
                key.key.len(),
            )
        };
        rc == 1
    }
}

/// Decides host keys with `callback` (see `smol_ssh_host_key_fn`). NULL restores the default
/// policy. Replaces any other policy.
///
/// # Safety
/// `options`: NULL or live; `callback` must be safe to call with `user` from any thread for
/// as long as clients made from these options live.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_options_set_host_key_callback(
    options: *mut smol_ssh_options,
    callback: smol_ssh_host_key_fn,
    user: *mut c_void,
) -> smol_ssh_status {
    let apply = |c: &mut Config| -> Result<(), Error> {
        c.host_key = match callback {
            None => HostKeyPolicy::default(),
            Some(f) => {
                let foreign = ForeignHostKeyFn { f, user };
                HostKeyPolicy::Callback(HostKeyCallback::new(move |key: &HostKey| {
                    foreign.accepts(key)
                }))
            }
        };
        Ok(())
    };
    // SAFETY: `options` is NULL or live, per the contract.
    unsafe { set(options, "host_key_callback", apply) }
}

/// A log function: told, on the client's internal thread, what the client does on its own,
/// with a `smol_ssh_log_level` and a NUL-terminated message valid during the call: connect
/// attempts and their errors, the host key seen and how it was accepted, the identity that
/// authenticated, lost connections and reconnects, keepalive verdicts, calls that timed out
/// and the commands killed for them, wait_for_ssh's probes. Messages never carry a secret
/// (passwords, passphrases, secret env) nor a command line. Off by default, and then no
/// message is even made. It must not block, nor call into this client. NULL removes it.
pub type smol_ssh_log_fn =
    Option<unsafe extern "C" fn(user: *mut c_void, level: i32, message: *const c_char)>;

/// The caller's log function and pointer (see `ForeignHostKeyFn`).
struct ForeignLogFn {
    f: unsafe extern "C" fn(*mut c_void, i32, *const c_char),
    user: *mut c_void,
}
// SAFETY: the caller of smol_ssh_options_set_log_callback guarantees that `f` may be called
// with `user` from any thread.
unsafe impl Send for ForeignLogFn {}
// SAFETY: as above.
unsafe impl Sync for ForeignLogFn {}

impl ForeignLogFn {
    fn tell(&self, level: LogLevel, message: &str) {
        let text = CString::new(message.replace('\0', "")).unwrap_or_default();
        let level = smol_ssh_log_level::from(level) as i32;
        // SAFETY: the caller vouched for calling `f` with `user` from this thread; the text
        // outlives the call.
        unsafe { (self.f)(self.user, level, text.as_ptr()) }
    }
}

/// Sets the client's log function (see `smol_ssh_log_fn`); NULL removes it.
///
/// # Safety
/// `options`: NULL or live; `callback` must be safe to call with `user` from any thread for
/// as long as clients made from these options live.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_options_set_log_callback(
    options: *mut smol_ssh_options,
    callback: smol_ssh_log_fn,
    user: *mut c_void,
) -> smol_ssh_status {
    let apply = |c: &mut Config| -> Result<(), Error> {
        c.log = callback.map(|f| {
            let foreign = ForeignLogFn { f, user };
            LogCallback::new(move |level, message| foreign.tell(level, message))
        });
        Ok(())
    };
    // SAFETY: `options` is NULL or live, per the contract.
    unsafe { set(options, "log_callback", apply) }
}

/// When nothing has come from the server for this long (milliseconds), check that it is still
/// there, like OpenSSH's ServerAliveInterval; 0 turns the check off. Values from 1 to 99 are
/// refused (SMOL_SSH_STATUS_INVALID_ARGUMENT): a healthy guest would be declared dead.
/// Default 15000.
///
/// # Safety
/// `options`: NULL or live.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_options_set_keepalive_interval_ms(
    options: *mut smol_ssh_options,
    interval_ms: u64,
) -> smol_ssh_status {
    let apply = |c: &mut Config| -> Result<(), Error> {
        let interval = Duration::from_millis(interval_ms);
        config::check_keepalive_interval(interval)?;
        c.keepalive_interval = interval;
        Ok(())
    };
    // SAFETY: `options` is NULL or live, per the contract.
    unsafe { set(options, "keepalive_interval_ms", apply) }
}

/// How many keepalive intervals may pass without an answer before the connection is declared
/// dead (`smol_ssh_connected` turns false, runs in flight end DISCONNECTED), like OpenSSH's
/// ServerAliveCountMax; at least 1. Default 3.
///
/// # Safety
/// `options`: NULL or live.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_options_set_keepalive_count_max(
    options: *mut smol_ssh_options,
    count: u32,
) -> smol_ssh_status {
    let apply = |c: &mut Config| -> Result<(), Error> {
        config::check_keepalive_count_max(count)?;
        c.keepalive_count_max = count;
        Ok(())
    };
    // SAFETY: `options` is NULL or live, per the contract.
    unsafe { set(options, "keepalive_count_max", apply) }
}

/// Most bytes kept of each of stdout and stderr per run (0 = no limit); the rest is read and
/// discarded, so the command still completes, and the result is marked truncated.
/// Default 67108864 (64 MiB).
///
/// # Safety
/// `options`: NULL or live.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_options_set_max_output_bytes(
    options: *mut smol_ssh_options,
    max_bytes: u64,
) -> smol_ssh_status {
    let apply = |c: &mut Config| -> Result<(), Error> {
        c.max_output_bytes = usize::try_from(max_bytes).unwrap_or(usize::MAX);
        Ok(())
    };
    // SAFETY: `options` is NULL or live, per the contract.
    unsafe { set(options, "max_output_bytes", apply) }
}

/// Check host keys against an OpenSSH known_hosts file at `path` (plain or hashed entries,
/// `host` or `[host]:port`): a mismatch is SMOL_SSH_STATUS_HOST_KEY_REJECTED; an unknown host is
/// rejected too, unless `add_unknown` is true, in which case its key is appended to the file
/// (created if missing); a key on a `@revoked` line is refused; a `@cert-authority` line for
/// the host is refused (host certificates are not supported). NULL restores the default
/// policy (the user's own known_hosts, strictly). Replaces any other policy.
///
/// # Safety
/// As for `smol_ssh_options_set_host`.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_options_set_known_hosts(
    options: *mut smol_ssh_options,
    path: *const c_char,
    add_unknown: bool,
) -> smol_ssh_status {
    let apply = |c: &mut Config| -> Result<(), Error> {
        // SAFETY: the string and byte arguments are NULL or valid, per the contract.
        c.host_key = match unsafe { opt_str_arg(path, "known_hosts") }? {
            None => HostKeyPolicy::default(),
            Some("") => return Err(Error::invalid("must not be empty (pass NULL to clear)")),
            Some(path) => HostKeyPolicy::KnownHosts {
                path: path.into(),
                add_unknown,
            },
        };
        Ok(())
    };
    // SAFETY: `options` is NULL or live, per the contract.
    unsafe { set(options, "known_hosts", apply) }
}

/// Reaches the guest's sshd through the Unix socket at `path` (a VMM's or a helper's) instead
/// of TCP; NULL restores TCP to host:port. The host still names the guest (messages,
/// known_hosts).
///
/// # Safety
/// As for `smol_ssh_options_set_host`.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_options_set_unix_socket(
    options: *mut smol_ssh_options,
    path: *const c_char,
) -> smol_ssh_status {
    let apply = |c: &mut Config| -> Result<(), Error> {
        // SAFETY: `path` is NULL or NUL-terminated, per the contract.
        c.transport = match unsafe { opt_str_arg(path, "path") }? {
            None => Transport::Tcp,
            Some("") => return Err(Error::invalid("must not be empty (pass NULL for TCP)")),
            Some(p) => Transport::Unix(p.into()),
        };
        Ok(())
    };
    // SAFETY: `options` is NULL or live, per the contract.
    unsafe { set(options, "unix_socket", apply) }
}

/// Reaches the guest through Firecracker's or Cloud Hypervisor's hybrid vsock: the VMM's Unix
/// socket at `path`, then `CONNECT <port>` to the guest's vsock `port` (the handshake is
/// bounded by the connect timeout; a refusal is SMOL_SSH_STATUS_CONNECT_FAILED).
///
/// # Safety
/// As for `smol_ssh_options_set_host`.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_options_set_hybrid_vsock(
    options: *mut smol_ssh_options,
    path: *const c_char,
    port: u32,
) -> smol_ssh_status {
    let apply = |c: &mut Config| -> Result<(), Error> {
        // SAFETY: `path` is NULL or NUL-terminated, per the contract.
        let path = unsafe { str_arg(path, "path") }?;
        if path.is_empty() {
            return Err(Error::invalid("path must not be empty"));
        }
        c.transport = Transport::HybridVsock {
            path: path.into(),
            port,
        };
        Ok(())
    };
    // SAFETY: `options` is NULL or live, per the contract.
    unsafe { set(options, "hybrid_vsock", apply) }
}

/// Reaches the guest over `AF_VSOCK` at (`cid`, `port`) (Linux). CID 2, the host itself, is
/// SMOL_SSH_STATUS_INVALID_ARGUMENT.
///
/// # Safety
/// `options`: NULL or live.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_options_set_vsock(
    options: *mut smol_ssh_options,
    cid: u32,
    port: u32,
) -> smol_ssh_status {
    let apply = |c: &mut Config| -> Result<(), Error> {
        if cid == 2 {
            return Err(Error::invalid("CID 2 is the host itself, not a guest"));
        }
        c.transport = Transport::Vsock { cid, port };
        Ok(())
    };
    // SAFETY: `options` is NULL or live, per the contract.
    unsafe { set(options, "vsock", apply) }
}

/// Makes a connected stream to the guest's sshd for a connect: called with `user` at every
/// connect (the first and each reconnect), on the client's internal thread; returns a
/// connected descriptor the library then owns (and closes), or -1 to fail that connect.
pub type smol_ssh_fd_fn = Option<unsafe extern "C" fn(user: *mut c_void) -> i32>;

/// The caller's descriptor maker and pointer (see `ForeignHostKeyFn`).
struct ForeignFdFn {
    f: unsafe extern "C" fn(*mut c_void) -> i32,
    user: *mut c_void,
}
// SAFETY: the caller of smol_ssh_options_set_fd_callback guarantees that `f` may be called
// with `user` from any thread.
unsafe impl Send for ForeignFdFn {}
// SAFETY: as above.
unsafe impl Sync for ForeignFdFn {}

impl ForeignFdFn {
    fn open(&self) -> std::io::Result<std::os::fd::OwnedFd> {
        use std::os::fd::FromRawFd;
        // SAFETY: the caller vouched for calling `f` with `user` from this thread.
        let fd = unsafe { (self.f)(self.user) };
        if fd < 0 {
            return Err(std::io::Error::other("the descriptor callback returned -1"));
        }
        // SAFETY: the callback hands over a descriptor it no longer uses (its contract).
        Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) })
    }
}

/// Reaches the guest through descriptors `callback` makes (see `smol_ssh_fd_fn`); NULL
/// restores TCP.
///
/// # Safety
/// `options`: NULL or live; `callback` must be safe to call with `user` from any thread for as
/// long as clients made from these options live, and must return descriptors it hands over.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_options_set_fd_callback(
    options: *mut smol_ssh_options,
    callback: smol_ssh_fd_fn,
    user: *mut c_void,
) -> smol_ssh_status {
    let apply = |c: &mut Config| -> Result<(), Error> {
        c.transport = match callback {
            None => Transport::Tcp,
            Some(f) => {
                let foreign = ForeignFdFn { f, user };
                Transport::Fd(FdSource::new(move || foreign.open()))
            }
        };
        Ok(())
    };
    // SAFETY: `options` is NULL or live, per the contract.
    unsafe { set(options, "fd_callback", apply) }
}

/// The ciphers to offer, most preferred first, comma-separated OpenSSH names (for example
/// "aes128-ctr,aes256-ctr"); NULL restores libssh2's default order. Names libssh2 does not
/// support make the connect fail with INVALID_ARGUMENT.
///
/// # Safety
/// As for `smol_ssh_options_set_host`.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_options_set_ciphers(
    options: *mut smol_ssh_options,
    ciphers: *const c_char,
) -> smol_ssh_status {
    let apply = |c: &mut Config| -> Result<(), Error> {
        // SAFETY: the string and byte arguments are NULL or valid, per the contract.
        c.ciphers = match unsafe { opt_str_arg(ciphers, "ciphers") }? {
            Some("") => return Err(Error::invalid("must not be empty (pass NULL to clear)")),
            other => other.map(str::to_owned),
        };
        Ok(())
    };
    // SAFETY: `options` is NULL or live, per the contract.
    unsafe { set(options, "ciphers", apply) }
}
