//! The fixture's sshd in inetd mode (`sshd -i`) on a stream it is handed: the guest's sshd
//! straight behind a Unix socket or one end of a socketpair, with no proxy hop in between (so
//! that transports can be compared with TCP fairly). Each stream gets its own `sshd -i`; all
//! are ended, by PID, when this is dropped.

use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

use super::Sshd;

#[derive(Clone)]
pub struct Inetd(Arc<Inner>);

struct Inner {
    config: PathBuf,
    children: Mutex<Vec<Child>>,
}

impl Inetd {
    pub fn new(sshd: &Sshd) -> Inetd {
        Inetd(Arc::new(Inner {
            config: sshd.dir().join("sshd_config"),
            children: Mutex::default(),
        }))
    }

    /// Starts an `sshd -i` talking over `stream`.
    pub fn serve(&self, stream: OwnedFd) -> io::Result<()> {
        let out = stream.try_clone()?;
        let child = Command::new("/usr/sbin/sshd")
            .arg("-i")
            .arg("-f")
            .arg(&self.0.config)
            .stdin(Stdio::from(stream))
            .stdout(Stdio::from(out))
            .stderr(Stdio::null())
            .spawn()?;
        self.0.children.lock().unwrap().push(child);
        Ok(())
    }

    /// A socketpair whose other end an `sshd -i` serves: a connected stream to the guest.
    pub fn pair(&self) -> io::Result<OwnedFd> {
        let (ours, theirs) = UnixStream::pair()?;
        self.serve(theirs.into())?;
        Ok(ours.into())
    }

    /// Serves each connection to a Unix socket at `path` with its own `sshd -i`.
    pub fn listen(&self, path: &Path) -> Listening {
        let listener = UnixListener::bind(path).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let (me, stopping) = (self.clone(), Arc::clone(&stop));
        thread::spawn(move || {
            for conn in listener.incoming() {
                if stopping.load(Ordering::Acquire) {
                    break;
                }
                if let Ok(conn) = conn {
                    let _ = me.serve(conn.into());
                }
            }
        });
        Listening {
            path: path.to_owned(),
            stop,
        }
    }
}

impl Drop for Inner {
    /// When the last holder (the caller, a listening thread) lets go.
    fn drop(&mut self) {
        for mut child in self.children.get_mut().unwrap().drain(..) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A Unix socket being served; dropping it stops accepting.
pub struct Listening {
    pub path: PathBuf,
    stop: Arc<AtomicBool>,
}

impl Drop for Listening {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        // Wakes the accepting thread so that it sees the flag.
        let _ = UnixStream::connect(&self.path);
    }
}
