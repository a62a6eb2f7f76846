//! epoll(7), for the driver threads that serve many clients at once (see `workers`): each
//! client's descriptors stay registered between its turns, so a thread with thousands of idle
//! clients sleeps and wakes in constant time.
//!
//! With `poll.rs`, `raw_channel.rs`, `socket_io.rs` and `held_memory.rs`, one of the places
//! outside `ffi` with `unsafe`.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::io::RawFd;
use std::time::Instant;

use super::poll::Interest;

/// One event: the key it was registered with, and what happened.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Event {
    pub key: u64,
    /// The peer closed or reset the connection, or the descriptor has an error.
    pub hangup: bool,
}

pub(crate) struct Epoll {
    fd: OwnedFd,
    events: Vec<libc::epoll_event>,
}

fn mask(interest: Interest) -> u32 {
    let mut events = 0;
    if interest.read {
        events |= libc::EPOLLIN;
    }
    if interest.write {
        events |= libc::EPOLLOUT;
    }
    if interest.hangup {
        events |= libc::EPOLLRDHUP;
    }
    events as u32
}

impl Epoll {
    pub(crate) fn new() -> io::Result<Self> {
        // SAFETY: plain epoll_create1(2); the descriptor is owned right after.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Epoll {
            // SAFETY: a fresh descriptor nobody else owns.
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
            events: Vec::with_capacity(256),
        })
    }

    fn ctl(&self, op: libc::c_int, fd: RawFd, interest: Interest, key: u64) -> io::Result<()> {
        let mut event = libc::epoll_event {
            events: mask(interest),
            u64: key,
        };
        // SAFETY: `event` is a valid epoll_event for the duration of the call.
        let rc = unsafe { libc::epoll_ctl(self.fd.as_raw_fd(), op, fd, &mut event) };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Watches `fd` for `interest` under `key`, or changes what it is watched for. A
    /// descriptor closed since it was added has left the set by itself: it is added again.
    pub(crate) fn set(
        &self,
        fd: RawFd,
        interest: Interest,
        key: u64,
        added: bool,
    ) -> io::Result<()> {
        if added {
            match self.ctl(libc::EPOLL_CTL_MOD, fd, interest, key) {
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
                other => return other,
            }
        }
        match self.ctl(libc::EPOLL_CTL_ADD, fd, interest, key) {
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {
                self.ctl(libc::EPOLL_CTL_MOD, fd, interest, key)
            }
            other => other,
        }
    }

    /// Stops watching `fd` (nothing to do if it was closed meanwhile).
    pub(crate) fn remove(&self, fd: RawFd) {
        let mut event = libc::epoll_event { events: 0, u64: 0 };
        // SAFETY: EPOLL_CTL_DEL ignores the event argument (non-null for old kernels).
        unsafe { libc::epoll_ctl(self.fd.as_raw_fd(), libc::EPOLL_CTL_DEL, fd, &mut event) };
    }

    /// Waits until a watched descriptor is ready or `deadline` passes (`None`: no deadline;
    /// a deadline in the past: a look without waiting). An interrupted wait reports nothing.
    pub(crate) fn wait(
        &mut self,
        deadline: Option<Instant>,
        out: &mut Vec<Event>,
    ) -> io::Result<()> {
        out.clear();
        let timeout_ms: libc::c_int = match deadline {
            None => -1,
            Some(at) => {
                let left = at.saturating_duration_since(Instant::now());
                // Round up so that we never wake just before the deadline and spin.
                left.as_micros()
                    .div_ceil(1000)
                    .min(libc::c_int::MAX as u128) as libc::c_int
            }
        };
        let capacity = self.events.capacity();
        // SAFETY: the kernel writes at most `capacity` events into the vector's buffer; the
        // length is set to what it wrote.
        let n = unsafe {
            libc::epoll_wait(
                self.fd.as_raw_fd(),
                self.events.as_mut_ptr(),
                capacity as libc::c_int,
                timeout_ms,
            )
        };
        if n < 0 {
            let err = io::Error::last_os_error();
            if err.kind() == io::ErrorKind::Interrupted {
                return Ok(());
            }
            return Err(err);
        }
        // SAFETY: the first `n` entries were written by epoll_wait.
        unsafe { self.events.set_len(n as usize) };
        let hangup = (libc::EPOLLRDHUP | libc::EPOLLHUP | libc::EPOLLERR) as u32;
        out.extend(self.events.iter().map(|e| Event {
            key: e.u64,
            hangup: e.events & hangup != 0,
        }));
        self.events.clear();
        Ok(())
    }
}
