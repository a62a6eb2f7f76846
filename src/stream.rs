//! Streams to the guest's side: `Client::open_stream` hands the caller one end of a
//! socketpair whose other end the driver bridges to a `direct-tcpip` channel (the guest's sshd
//! connects to host:port, as `ssh -W` does), on the same connection that runs commands.

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::time::Duration;

use crate::client::Client;
use crate::driver::{TunnelJob, TunnelTarget};
use crate::error::{Error, ErrorKind, Result};
use crate::transport::{FdSource, Transport};

impl Transport {
    /// Through `jump`'s connection, as OpenSSH's `ProxyJump`: at every connect (the first and
    /// each reconnect) the jump client opens a stream to `host`:`port` as it sees them (see
    /// [`Client::open_stream`], bounded by the jump client's connect timeout), and this
    /// client's SSH session runs inside it. The jump client connects when first needed and is
    /// shared: its own commands, and other clients jumping through it, go on beside.
    pub fn jump(jump: Arc<Client>, host: impl Into<String>, port: u16) -> Transport {
        let host = host.into();
        Transport::Fd(FdSource::new(move || {
            let timeout = jump.config().connect_timeout;
            match jump.open_stream(&host, port, timeout) {
                Ok(stream) => Ok(OwnedFd::from(stream)),
                Err(e) => Err(std::io::Error::other(format!(
                    "through the jump host {}: {}",
                    jump.config().host,
                    e.message()
                ))),
            }
        }))
    }
}

impl Client {
    /// A stream to `host`:`port` as the guest sees it (`"127.0.0.1"` is the guest itself),
    /// carried by a `direct-tcpip` channel of this client's connection (connecting first if
    /// needed, within `timeout`). The returned socket is the caller's, blocking, to use from
    /// any thread or event loop: what is written reaches the guest's service, what it sends
    /// comes back; shutting down the writing half sends EOF; dropping it ends the stream. It
    /// lasts until either side ends it, or until the connection goes (close, free, a lost
    /// transport: the socket then reads EOF).
    ///
    /// A refusal by the guest's sshd (nothing listens there, `AllowTcpForwarding no`) is
    /// `ChannelFailed`, and leaves the connection and its runs alone.
    pub fn open_stream(&self, host: &str, port: u16, timeout: Duration) -> Result<UnixStream> {
        let host = guest_target(host, port)?;
        self.tunnel_stream(TunnelTarget::Tcp { host, port }, timeout)
    }

    /// A stream to the guest sshd's subsystem `name` ("sftp"), on a session channel of this
    /// connection, as [`Client::open_stream`] gives streams. A refused subsystem is
    /// `ChannelFailed`.
    pub(crate) fn open_subsystem(
        &self,
        name: &'static str,
        timeout: Duration,
    ) -> Result<UnixStream> {
        self.tunnel_stream(TunnelTarget::Subsystem(name), timeout)
    }

    /// One end of a socket pair whose other end the driver bridges to a channel to `target`.
    fn tunnel_stream(&self, target: TunnelTarget, timeout: Duration) -> Result<UnixStream> {
        if timeout.is_zero() {
            return Err(Error::invalid("timeout must be positive"));
        }
        let setup = |e: std::io::Error| {
            Error::new(
                ErrorKind::ChannelFailed,
                format!("cannot set up the stream's socket pair: {e}"),
            )
        };
        let (ours, theirs) = UnixStream::pair().map_err(setup)?;
        crate::driver::set_nonblocking(theirs.as_raw_fd()).map_err(setup)?;
        self.open_tunnel(
            TunnelJob::to(target, theirs.into(), Arc::default()),
            timeout,
        )?;
        Ok(ours)
    }
}

/// The longest host name a stream may name (a DNS name has at most 253 characters). The open
/// request carries it, and libssh2 fails a request larger than its packet buffer as if the
/// transport had broken, which would end every run on the connection.
const MAX_HOST_BYTES: usize = 255;

/// The guest's side of a stream, checked: a non-empty host without NUL of at most
/// `MAX_HOST_BYTES`, a port within 1-65535.
pub(crate) fn guest_target(host: &str, port: u16) -> Result<CString> {
    if port == 0 || host.is_empty() || host.len() > MAX_HOST_BYTES {
        return Err(Error::invalid(format!(
            "the guest's host must have 1 to {MAX_HOST_BYTES} bytes and its port be within 1-65535"
        )));
    }
    CString::new(host).map_err(|_| Error::invalid("host must not contain NUL bytes"))
}
