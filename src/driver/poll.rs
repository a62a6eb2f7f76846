//! The driver's system calls besides epoll: poll(2) over a connecting socket and a wake-up
//! socket pair, and the sockets' own calls.
//! With `raw_channel.rs` (the raw libssh2 calls), one of the two places outside `ffi` with
//! `unsafe`.

use std::io;
use std::net::{SocketAddr, TcpStream};
use std::os::fd::OwnedFd;
use std::os::unix::io::{AsRawFd, FromRawFd, RawFd};
use std::time::Instant;

/// What to wait for on the SSH socket.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Interest {
    pub read: bool,
    pub write: bool,
    /// Wake when the peer closes or resets the connection (Linux `POLLRDHUP`), without
    /// waking for ordinary data: how an idle connection notices its peer went away.
    pub hangup: bool,
}

/// What poll reported.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Ready {
    pub wake: bool,
    /// The socket is ready for what was asked (or has an error or hang-up to report).
    pub socket: bool,
}

#[cfg(target_os = "linux")]
const RDHUP: libc::c_short = libc::POLLRDHUP;
#[cfg(not(target_os = "linux"))]
const RDHUP: libc::c_short = 0;

/// Waits until the waker fires, the socket is ready for `interest`, or `deadline` passes (a
/// connect's waits; the driver threads sleep in epoll). An interrupted wait returns nothing
/// ready; callers loop.
pub(crate) fn wait(
    waker: &Waker,
    socket: (RawFd, Interest),
    deadline: Option<Instant>,
) -> io::Result<Ready> {
    let (fd, interest) = socket;
    let mut events = 0;
    if interest.read {
        events |= libc::POLLIN;
    }
    if interest.write {
        events |= libc::POLLOUT;
    }
    if interest.hangup {
        events |= RDHUP;
    }
    let mut fds = [
        libc::pollfd {
            fd: waker.fd(),
            events: libc::POLLIN,
            revents: 0,
        },
        libc::pollfd {
            fd,
            events,
            revents: 0,
        },
    ];
    let timeout_ms: libc::c_int = match deadline {
        None => -1,
        Some(at) => {
            let left = at.saturating_duration_since(Instant::now());
            // Round up so that we never wake just before the deadline and spin.
            let ms = left.as_micros().div_ceil(1000);
            ms.min(libc::c_int::MAX as u128) as libc::c_int
        }
    };
    // SAFETY: `fds` is a valid array of pollfd for the duration of the call.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) };
    if n < 0 {
        let err = io::Error::last_os_error();
        if err.kind() == io::ErrorKind::Interrupted {
            return Ok(Ready::default());
        }
        return Err(err);
    }
    Ok(Ready {
        wake: fds[0].revents != 0,
        socket: fds[1].revents != 0,
    })
}

/// Receives into `buf` from a non-blocking socket: `Ok(0)` is its EOF; `WouldBlock` when it
/// has nothing.
pub(crate) fn recv(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: recv(2) into a buffer writable for its length.
    let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n as usize)
}

/// Sends from `buf` on a non-blocking socket without SIGPIPE (a library must not kill its host
/// process when a peer has gone; `EPIPE` comes back as an error instead).
pub(crate) fn send(fd: RawFd, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: send(2) from a buffer readable for its length.
    let n = unsafe { libc::send(fd, buf.as_ptr().cast(), buf.len(), libc::MSG_NOSIGNAL) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n as usize)
}

/// Ends the sending half of a socket (its peer reads EOF); errors are moot.
pub(crate) fn shut_write(fd: RawFd) {
    // SAFETY: shutdown(2) on a descriptor we own; it does not close it.
    unsafe { libc::shutdown(fd, libc::SHUT_WR) };
}

/// True when the peer has closed or reset the connection (checked without waiting).
pub(crate) fn hung_up(fd: RawFd) -> bool {
    let mut pfd = libc::pollfd {
        fd,
        events: RDHUP,
        revents: 0,
    };
    // SAFETY: one valid pollfd for the duration of the call; timeout 0 does not block.
    let n = unsafe { libc::poll(&mut pfd, 1, 0) };
    n > 0 && pfd.revents & (RDHUP | libc::POLLHUP | libc::POLLERR) != 0
}

/// Starts a TCP connect to `addr` without waiting: the socket is non-blocking and its connect
/// in progress. Wait for it to be writable, then read `take_error()`: `None` means connected.
/// (std's `connect_timeout` blocks, and a blocked driver could not be woken by `close`/free.)
pub(crate) fn start_connect(addr: &SocketAddr) -> io::Result<TcpStream> {
    let (family, storage, len) = sockaddr(addr);
    // SAFETY: plain socket(2); the descriptor is owned by the TcpStream made right after.
    let fd = unsafe {
        libc::socket(
            family,
            libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a fresh socket nobody else owns.
    let tcp = unsafe { TcpStream::from_raw_fd(fd) };
    // SAFETY: `storage` holds a sockaddr of `len` bytes for `family`.
    let rc = unsafe { libc::connect(fd, (&storage as *const libc::sockaddr_storage).cast(), len) };
    if rc < 0 {
        let err = io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EINPROGRESS) {
            return Err(err);
        }
    }
    Ok(tcp)
}

/// `addr` as a C sockaddr: (family, storage, length).
fn sockaddr(addr: &SocketAddr) -> (libc::c_int, libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: all-zero is a valid sockaddr_storage.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    match addr {
        SocketAddr::V4(v4) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: v4.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(v4.ip().octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than sockaddr_in and suitably aligned.
            unsafe { std::ptr::write((&mut storage as *mut libc::sockaddr_storage).cast(), sin) };
            (
                libc::AF_INET,
                storage,
                std::mem::size_of::<libc::sockaddr_in>() as _,
            )
        }
        SocketAddr::V6(v6) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: v6.port().to_be(),
                sin6_flowinfo: v6.flowinfo(),
                sin6_addr: libc::in6_addr {
                    s6_addr: v6.ip().octets(),
                },
                sin6_scope_id: v6.scope_id(),
            };
            // SAFETY: sockaddr_storage is larger than sockaddr_in6 and suitably aligned.
            unsafe { std::ptr::write((&mut storage as *mut libc::sockaddr_storage).cast(), sin6) };
            (
                libc::AF_INET6,
                storage,
                std::mem::size_of::<libc::sockaddr_in6>() as _,
            )
        }
    }
}

/// Starts an `AF_VSOCK` connect to (cid, port) without waiting (see `start_connect`).
pub(crate) fn start_vsock_connect(cid: u32, port: u32) -> io::Result<OwnedFd> {
    // SAFETY: plain socket(2); the descriptor is owned by the OwnedFd made right after.
    let fd = unsafe {
        libc::socket(
            libc::AF_VSOCK,
            libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a fresh socket nobody else owns.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: all-zero is a valid sockaddr_vm; the fields are then set.
    let mut addr: libc::sockaddr_vm = unsafe { std::mem::zeroed() };
    addr.svm_family = libc::AF_VSOCK as libc::sa_family_t;
    addr.svm_cid = cid;
    addr.svm_port = port;
    // SAFETY: `addr` is a sockaddr_vm of the size given.
    let rc = unsafe {
        libc::connect(
            fd,
            (&addr as *const libc::sockaddr_vm).cast(),
            std::mem::size_of::<libc::sockaddr_vm>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        let err = io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EINPROGRESS) {
            return Err(err);
        }
    }
    Ok(owned)
}

/// The pending error of a socket (SO_ERROR): `None` when its connect succeeded.
pub(crate) fn take_error(fd: RawFd) -> Option<io::Error> {
    let mut err: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: getsockopt writes one int into `err`.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_ERROR,
            (&mut err as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if rc < 0 {
        return Some(io::Error::last_os_error());
    }
    (err != 0).then(|| io::Error::from_raw_os_error(err))
}

/// Makes a descriptor non-blocking.
pub(crate) fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    // SAFETY: fcntl on a descriptor the caller owns.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above.
    if unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Shuts a socket down both ways (nothing more goes out or comes in); errors are moot.
pub(crate) fn shut_down(fd: RawFd) {
    // SAFETY: shutdown(2) on a descriptor we own; it does not close it.
    unsafe { libc::shutdown(fd, libc::SHUT_RDWR) };
}

/// A wake-up counter (Linux eventfd): callers add to it to wake the driver out of its sleep;
/// one descriptor per client.
pub(crate) struct Waker {
    fd: OwnedFd,
}

impl Waker {
    pub(crate) fn new() -> io::Result<Self> {
        // SAFETY: plain eventfd(2); the descriptor is owned right after.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Waker {
            // SAFETY: a fresh descriptor nobody else owns.
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// Wakes the driver. A full counter already means a wake-up is pending, so errors are
    /// moot.
    pub(crate) fn wake(&self) {
        let one: u64 = 1;
        // SAFETY: eventfd takes an 8-byte write from a readable buffer.
        let _ = unsafe { libc::write(self.fd.as_raw_fd(), (&one as *const u64).cast(), 8) };
    }

    /// The descriptor to watch: readable once woken (until drained).
    pub(crate) fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Consumes pending wake-ups.
    pub(crate) fn drain(&self) {
        let mut count: u64 = 0;
        // SAFETY: eventfd gives an 8-byte read into a writable buffer (or EAGAIN when zero).
        let _ = unsafe { libc::read(self.fd.as_raw_fd(), (&mut count as *mut u64).cast(), 8) };
    }
}

/// Waits up to `timeout` for `fd` to be readable (a listening socket: a connection waits);
/// true when it is (or has an error or hang-up to report).
pub(crate) fn readable_within(fd: RawFd, timeout: std::time::Duration) -> bool {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    let ms = timeout.as_millis().min(libc::c_int::MAX as u128) as libc::c_int;
    // SAFETY: one valid pollfd for the duration of the call.
    let n = unsafe { libc::poll(&mut pfd, 1, ms) };
    n > 0 && pfd.revents != 0
}
