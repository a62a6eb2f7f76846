//! Streams through the guest, jump hosts and local forwards through the C ABI.

use std::ffi::c_char;
use std::net::SocketAddr;
use std::os::fd::IntoRawFd;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::boundary::{guard, str_arg};
use super::client::{client_ref, poisoned_result, smol_ssh_client};
use super::error::{self as c_error, smol_ssh_error};
use super::options::smol_ssh_options;
use super::result::{self, smol_ssh_result};
use super::setter;
use super::status::smol_ssh_status;
use crate::error::Error;
use crate::transport::{FdSource, Transport};
use crate::{Forward, ForwardAddr, ForwardOptions, Output};

/// Opens a stream to `host`:`port` as the guest sees them ("127.0.0.1" is the guest itself),
/// carried by a `direct-tcpip` channel of the client's connection (connecting first if needed),
/// all within `timeout_ms` (> 0). On OK, `*fd_out` is a connected, blocking socket that the
/// caller owns (close it with close(2)); shutting down its writing half sends EOF to the
/// service. Else `*fd_out` is -1 and the result says why: a refusal by the guest's sshd
/// (nothing listens there, forwarding disabled) is SMOL_SSH_STATUS_CHANNEL_FAILED and leaves
/// the connection alone. The stream ends when either side ends it or the connection goes
/// (close, free, a lost transport: the socket reads EOF).
///
/// Returns a result to free with `smol_ssh_result_free` (status and message only).
///
/// # Safety
/// `client`: NULL or live; `host`: NULL or NUL-terminated; `fd_out`: NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_open_stream(
    client: *mut smol_ssh_client,
    host: *const c_char,
    port: u32,
    timeout_ms: u64,
    fd_out: *mut i32,
) -> *mut smol_ssh_result {
    // SAFETY (both closures): per the contract.
    guard(
        || unsafe { poisoned_result(client) },
        || {
            let started = Instant::now();
            if !fd_out.is_null() {
                unsafe { *fd_out = -1 };
            }
            let outcome = (|| -> Result<Output, Error> {
                if fd_out.is_null() {
                    return Err(Error::invalid("fd_out is NULL"));
                }
                let call = unsafe { client_ref(client) }?;
                let host = unsafe { str_arg(host, "host") }?;
                let port = guest_port(port)?;
                if timeout_ms == 0 {
                    return Err(Error::invalid("timeout_ms must be positive"));
                }
                let stream =
                    call.client()
                        .open_stream(host, port, Duration::from_millis(timeout_ms))?;
                unsafe { *fd_out = stream.into_raw_fd() };
                Ok(Output::default())
            })();
            result::into_c(
                outcome
                    .map(|out| Output {
                        elapsed: started.elapsed(),
                        exit_code: Some(0),
                        ..out
                    })
                    .map_err(|e| e.with_elapsed(started.elapsed())),
            )
        },
    )
}

fn guest_port(port: u32) -> Result<u16, Error> {
    u16::try_from(port)
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| Error::invalid(format!("port {port} is not within 1-65535")))
}

/// Reaches the guest through `jump`'s connection, as OpenSSH's ProxyJump: at every connect
/// the jump client opens a stream to `host`:`port` as it sees them (within its own connect
/// timeout) and this client's session runs inside it. The jump client is named by its handle,
/// looked up at each connect: once it is freed, connects fail with
/// SMOL_SSH_STATUS_CONNECT_FAILED. Replaces any other transport.
///
/// # Safety
/// `options`: NULL or live; `jump`: NULL or a handle from `smol_ssh_new` (freed or not);
/// `host`: NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_options_set_jump(
    options: *mut smol_ssh_options,
    jump: *const smol_ssh_client,
    host: *const c_char,
    port: u32,
) -> smol_ssh_status {
    let key = jump as usize;
    let apply = |o: &mut smol_ssh_options| -> Result<(), Error> {
        if key == 0 {
            return Err(Error::invalid("jump is NULL"));
        }
        // SAFETY: `host` is NULL or NUL-terminated, per the contract.
        let host = unsafe { str_arg(host, "host") }?.to_owned();
        if host.is_empty() {
            return Err(Error::invalid("host must not be empty"));
        }
        let port = guest_port(port)?;
        o.config.transport = Transport::Fd(FdSource::new(move || {
            let fail =
                |e: Error| std::io::Error::other(format!("through the jump host: {}", e.message()));
            // SAFETY: the handle is only a registry key, never dereferenced.
            let call = unsafe { client_ref(key as *const smol_ssh_client) }.map_err(fail)?;
            let timeout = call.client().config().connect_timeout;
            let stream = call
                .client()
                .open_stream(&host, port, timeout)
                .map_err(fail)?;
            Ok(stream.into())
        }));
        Ok(())
    };
    // SAFETY: `options` is NULL or live, per the contract.
    unsafe { setter::set(options, "jump", apply) }
}

/// A running local forward, made by `smol_ssh_forward_local`, stopped and freed by
/// `smol_ssh_forward_free`. Independent of its client's handle: freeing the client stops the
/// forward's listener (its streams end with the connection), and the forward must still be
/// freed.
pub struct smol_ssh_forward {
    forward: Forward,
}

/// What a forward has carried so far (see `smol_ssh_forward_get_stats`).
#[repr(C)]
#[derive(Default)]
pub struct smol_ssh_forward_stats {
    /// Connections accepted.
    pub connections: u64,
    /// Streams open now.
    pub active: u64,
    /// Connections whose stream was refused or did not open in time, and streams cut by a lost
    /// connection.
    pub failed: u64,
    pub bytes_to_guest: u64,
    pub bytes_from_guest: u64,
}

/// Listens on `listen` and carries each accepted connection to `host`:`port` as the guest
/// sees them, like `ssh -L`, on the client's connection (beside its runs). `listen` is a TCP
/// address ("127.0.0.1:8080", "[::1]:0"; port 0 picks a free one, see
/// `smol_ssh_forward_port`) or, starting with '/', a Unix socket path (which must not exist;
/// it is removed when the forward is freed). At most `max_connections` streams at once (0: 64);
/// more connections wait in the listen backlog. Each stream must open within the client's
/// connect timeout. The listener is bound before this returns: a bad or busy address is
/// SMOL_SSH_STATUS_INVALID_ARGUMENT. On success stores the forward in `*forward_out` and
/// returns NULL; else stores NULL there and returns an error to free with
/// `smol_ssh_error_free`.
///
/// # Safety
/// `client`: NULL or live; `listen`, `host`: NULL or NUL-terminated; `forward_out`: NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_forward_local(
    client: *mut smol_ssh_client,
    listen: *const c_char,
    host: *const c_char,
    port: u32,
    max_connections: u32,
    forward_out: *mut *mut smol_ssh_forward,
) -> *mut smol_ssh_error {
    let make = || -> Result<*mut smol_ssh_forward, Error> {
        // SAFETY: per the contract.
        let call = unsafe { client_ref(client) }?;
        let listen = unsafe { str_arg(listen, "listen") }?;
        let host = unsafe { str_arg(host, "host") }?;
        let port = guest_port(port)?;
        let addr = listen_addr(listen)?;
        let options = ForwardOptions {
            max_connections: match max_connections {
                0 => ForwardOptions::default().max_connections,
                n => n as usize,
            },
            open_timeout: call.client().config().connect_timeout,
        };
        let forward = call.client().forward_local(addr, host, port, options)?;
        Ok(Box::into_raw(Box::new(smol_ssh_forward { forward })))
    };
    // SAFETY: `forward_out` is NULL or writable, per the contract.
    unsafe { c_error::made("smol_ssh_forward_local", forward_out, "forward_out", make) }
}

fn listen_addr(listen: &str) -> Result<ForwardAddr, Error> {
    if listen.starts_with('/') {
        return Ok(ForwardAddr::Unix(PathBuf::from(listen)));
    }
    listen
        .parse::<SocketAddr>()
        .map(ForwardAddr::Tcp)
        .map_err(|_| {
            Error::invalid(format!(
                "listen {listen:?} is neither an address like 127.0.0.1:8080 or [::1]:0 nor a \
                 Unix socket path starting with '/'"
            ))
        })
}

/// The TCP port the forward listens on (the one picked for port 0); 0 for a Unix socket or
/// NULL.
///
/// # Safety
/// `forward`: NULL or live.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_forward_port(forward: *const smol_ssh_forward) -> u32 {
    guard(
        || 0,
        || {
            // SAFETY: per the contract.
            match unsafe { forward.as_ref() }.map(|f| f.forward.addr()) {
                Some(ForwardAddr::Tcp(a)) => u32::from(a.port()),
                _ => 0,
            }
        },
    )
}

/// Copies the forward's counts into `*stats_out`. INVALID_ARGUMENT for NULL pointers.
///
/// # Safety
/// `forward`: NULL or live; `stats_out`: NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_forward_get_stats(
    forward: *const smol_ssh_forward,
    stats_out: *mut smol_ssh_forward_stats,
) -> smol_ssh_status {
    guard(
        || smol_ssh_status::Panic,
        || {
            // SAFETY: per the contract.
            let (Some(f), false) = (unsafe { forward.as_ref() }, stats_out.is_null()) else {
                return smol_ssh_status::InvalidArgument;
            };
            let s = f.forward.stats();
            // SAFETY: checked non-NULL; writable per the contract.
            unsafe {
                *stats_out = smol_ssh_forward_stats {
                    connections: s.connections,
                    active: s.active,
                    failed: s.failed,
                    bytes_to_guest: s.bytes_to_guest,
                    bytes_from_guest: s.bytes_from_guest,
                }
            };
            smol_ssh_status::Ok
        },
    )
}

/// Stops the forward (no new connections; streams already open go on until either side ends
/// them or the connection goes), closes its listener (removing a Unix socket it made) and
/// frees it. NULL is a no-op.
///
/// # Safety
/// `forward`: NULL or live, and not used after.
#[no_mangle]
pub unsafe extern "C" fn smol_ssh_forward_free(forward: *mut smol_ssh_forward) {
    guard(
        || (),
        || {
            if !forward.is_null() {
                // SAFETY: made by Box::into_raw in smol_ssh_forward_local, freed once.
                drop(unsafe { Box::from_raw(forward) });
            }
        },
    )
}
