//! How the client reaches the guest's sshd. Every transport goes through the same deadlines,
//! keepalive, reconnect and fault handling; `wait_for_ssh` probes over the same transport.

use std::fmt;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::sync::Arc;

/// The way to the guest's sshd (`Config::transport`). The config's `host` still names the guest
/// in messages and in known_hosts lookups whatever the transport.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Transport {
    /// TCP to the config's `host` and `port` (names, IPv4, or IPv6 as `::1` or `[::1]`). The
    /// default.
    #[default]
    Tcp,
    /// A Unix socket (a VMM's or a helper's) that leads to the guest's sshd.
    Unix(PathBuf),
    /// Firecracker's and Cloud Hypervisor's "hybrid vsock": the VMM's Unix socket at `path`,
    /// where the client writes `CONNECT <port>\n` and reads `OK <n>\n` before the stream to the
    /// guest's vsock `port` starts. The handshake is bounded by the connect deadline; a refusal
    /// is reported as such.
    HybridVsock { path: PathBuf, port: u32 },
    /// `AF_VSOCK` to the guest's context id and port (Linux hosts). Never CID 2 (the host).
    Vsock { cid: u32, port: u32 },
    /// A connected stream the caller makes: the function is called at every connect (the
    /// first one and every reconnect) and returns a fresh descriptor that the client then
    /// owns, or an error that fails that connect. For transports this library does not know.
    Fd(FdSource),
}

/// The caller's maker of connected descriptors (`Transport::Fd`).
#[derive(Clone)]
pub struct FdSource(Arc<dyn Fn() -> std::io::Result<OwnedFd> + Send + Sync>);

impl FdSource {
    pub fn new(f: impl Fn() -> std::io::Result<OwnedFd> + Send + Sync + 'static) -> Self {
        FdSource(Arc::new(f))
    }

    pub(crate) fn open(&self) -> std::io::Result<OwnedFd> {
        (self.0)()
    }
}

impl fmt::Debug for FdSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FdSource(..)")
    }
}

impl PartialEq for FdSource {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for FdSource {}

impl Transport {
    /// How the way to `host:port` reads in messages.
    pub(crate) fn describe(&self, host: &str, port: u16) -> String {
        match self {
            Transport::Tcp if host.contains(':') && !host.starts_with('[') => {
                format!("[{host}]:{port}")
            }
            Transport::Tcp => format!("{host}:{port}"),
            Transport::Unix(path) => format!("{host} (unix socket {})", path.display()),
            Transport::HybridVsock { path, port } => {
                format!("{host} (vsock port {port} through {})", path.display())
            }
            Transport::Vsock { cid, port } => format!("{host} (vsock {cid}:{port})"),
            Transport::Fd(_) => format!("{host} (the caller's descriptor)"),
        }
    }
}

/// `host` without the brackets of an IPv6 literal (`[::1]` → `::1`).
pub(crate) fn unbracket(host: &str) -> &str {
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
}
