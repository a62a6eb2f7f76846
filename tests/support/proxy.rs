//! A fault-injecting TCP proxy on 127.0.0.1, in front of the test sshd: forward, add delay,
//! stall (take bytes, forward nothing), cut both ways, cut or stall after N bytes.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// What the proxy does to bytes.
#[derive(Default)]
struct Faults {
    /// Added to every chunk, each way.
    delay: Duration,
    /// Forward nothing (bytes are kept and forwarded on `resume`).
    stalled: bool,
    /// Server-to-client bytes after which a new connection stalls for good.
    stall_after: Option<u64>,
    /// Server-to-client bytes after which a connection is cut.
    cut_after: Option<u64>,
    /// Accept new connections but close them at once.
    refuse: bool,
    /// Read nothing from either side: the peers' send buffers fill up.
    frozen: bool,
}

struct Shared {
    faults: Mutex<Faults>,
    changed: Condvar,
    /// Bumped by `cut`: connections of an older generation close.
    generation: AtomicU64,
    accepted: AtomicUsize,
    stopping: AtomicBool,
    conns: Mutex<Vec<(TcpStream, TcpStream)>>,
    /// Sizes of the chunks forwarded from the server, in order (all connections).
    server_chunks: Mutex<Vec<usize>>,
}

pub struct Proxy {
    pub port: u16,
    shared: Arc<Shared>,
}

impl Proxy {
    /// Listens on a free loopback port and forwards to `127.0.0.1:target`.
    pub fn start(target: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared {
            faults: Mutex::new(Faults::default()),
            changed: Condvar::new(),
            generation: AtomicU64::new(0),
            accepted: AtomicUsize::new(0),
            stopping: AtomicBool::new(false),
            conns: Mutex::new(Vec::new()),
            server_chunks: Mutex::new(Vec::new()),
        });
        let s = Arc::clone(&shared);
        thread::spawn(move || {
            for client in listener.incoming() {
                if s.stopping.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                s.accepted.fetch_add(1, Ordering::SeqCst);
                if s.faults.lock().unwrap().refuse {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                s.conns
                    .lock()
                    .unwrap()
                    .push((client.try_clone().unwrap(), server.try_clone().unwrap()));
                let generation = s.generation.load(Ordering::SeqCst);
                let budget = Arc::new(AtomicU64::new(0));
                pump(
                    &s,
                    client.try_clone().unwrap(),
                    server.try_clone().unwrap(),
                    generation,
                    None,
                );
                pump(&s, server, client, generation, Some(budget));
            }
        });
        Proxy { port, shared }
    }

    /// Sizes of the chunks forwarded from the server so far (one write of sshd's is usually
    /// one chunk, and one SSH packet or flight of packets).
    pub fn server_chunks(&self) -> Vec<usize> {
        self.shared.server_chunks.lock().unwrap().clone()
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.shared.accepted.load(Ordering::SeqCst)
    }

    fn set(&self, f: impl FnOnce(&mut Faults)) {
        f(&mut self.shared.faults.lock().unwrap());
        self.shared.changed.notify_all();
    }

    pub fn delay(&self, each_way: Duration) {
        self.set(|f| f.delay = each_way);
    }

    /// Stops forwarding in both directions; bytes are still read and kept.
    pub fn stall(&self) {
        self.set(|f| f.stalled = true);
    }

    pub fn resume(&self) {
        self.set(|f| f.stalled = false);
    }

    /// New connections forward `n` bytes from the server, then stall.
    pub fn stall_after(&self, n: u64) {
        self.set(|f| f.stall_after = Some(n));
    }

    /// Connections are cut once `n` bytes came from the server.
    pub fn cut_after(&self, n: u64) {
        self.set(|f| f.cut_after = Some(n));
    }

    /// New connections are accepted and closed at once.
    pub fn refuse(&self, on: bool) {
        self.set(|f| f.refuse = on);
    }

    /// Cuts every open connection, both ways.
    pub fn cut(&self) {
        self.shared.generation.fetch_add(1, Ordering::SeqCst);
        for (a, b) in self.shared.conns.lock().unwrap().drain(..) {
            let _ = a.shutdown(Shutdown::Both);
            let _ = b.shutdown(Shutdown::Both);
        }
        self.shared.changed.notify_all();
    }

    /// Stops reading from both sides (until `clear`): the client's sends block once the
    /// socket buffers are full, with a packet half out.
    pub fn freeze(&self) {
        self.set(|f| f.frozen = true);
    }

    pub fn clear(&self) {
        self.set(|f| *f = Faults::default());
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        self.cut();
        let _ = TcpStream::connect(("127.0.0.1", self.port)); // wake the accept loop
    }
}

/// Chunks read and not yet forwarded (with the time they arrived), and whether the reader
/// saw the end of its stream.
type Chunks = (Mutex<(VecDeque<(Instant, Vec<u8>)>, bool)>, Condvar);

/// Copies `from` → `to` on two threads: a reader that timestamps chunks and a writer that
/// releases them after the delay, unless stalled. `server_bytes` is set on the server→client
/// direction, which is where the byte-count faults apply.
fn pump(
    s: &Arc<Shared>,
    mut from: TcpStream,
    to: TcpStream,
    generation: u64,
    server_bytes: Option<Arc<AtomicU64>>,
) {
    let queue: Arc<Chunks> = Arc::new((Mutex::new((VecDeque::new(), false)), Condvar::new()));
    let q = Arc::clone(&queue);
    let from_ctl = from.try_clone().expect("clone socket");
    let s_read = Arc::clone(s);
    thread::spawn(move || {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            {
                let mut f = s_read.faults.lock().unwrap();
                while f.frozen && s_read.generation.load(Ordering::SeqCst) == generation {
                    f = s_read
                        .changed
                        .wait_timeout(f, Duration::from_millis(20))
                        .unwrap()
                        .0;
                }
            }
            let n = match from.read(&mut buf) {
                Ok(0) | Err(_) => 0,
                Ok(n) => n,
            };
            let (lock, cv) = &*q;
            let mut g = lock.lock().unwrap();
            if n == 0 {
                g.1 = true;
                cv.notify_all();
                return;
            }
            g.0.push_back((Instant::now(), buf[..n].to_vec()));
            cv.notify_all();
        }
    });
    let s = Arc::clone(s);
    thread::spawn(move || {
        let mut to = to;
        let mut sent: u64 = 0;
        loop {
            let (at, mut chunk) = {
                let (lock, cv) = &*queue;
                let mut g = lock.lock().unwrap();
                loop {
                    if s.generation.load(Ordering::SeqCst) != generation {
                        let _ = to.shutdown(Shutdown::Both);
                        return;
                    }
                    if let Some(item) = g.0.pop_front() {
                        break item;
                    }
                    if g.1 {
                        let _ = to.shutdown(Shutdown::Write);
                        return;
                    }
                    g = cv.wait_timeout(g, Duration::from_millis(20)).unwrap().0;
                }
            };
            // Wait out the delay and any stall.
            loop {
                if s.generation.load(Ordering::SeqCst) != generation {
                    let _ = to.shutdown(Shutdown::Both);
                    return;
                }
                let f = s.faults.lock().unwrap();
                let stall_here = server_bytes.is_some() && f.stall_after.is_some_and(|n| sent >= n);
                let wait = (at + f.delay).saturating_duration_since(Instant::now());
                if !f.stalled && !stall_here && wait.is_zero() {
                    if let (Some(_), Some(limit)) = (&server_bytes, f.stall_after) {
                        chunk.truncate(chunk.len().min((limit - sent) as usize));
                    }
                    break;
                }
                let _ = s
                    .changed
                    .wait_timeout(
                        f,
                        if wait.is_zero() {
                            Duration::from_millis(20)
                        } else {
                            wait
                        },
                    )
                    .unwrap();
            }
            if let Some(counter) = &server_bytes {
                let cut = s.faults.lock().unwrap().cut_after;
                if let Some(limit) = cut {
                    let room = limit.saturating_sub(sent) as usize;
                    if chunk.len() >= room {
                        let _ = to.write_all(&chunk[..room]);
                        let _ = to.shutdown(Shutdown::Both);
                        let _ = from_ctl.shutdown(Shutdown::Both);
                        return;
                    }
                }
                counter.fetch_add(chunk.len() as u64, Ordering::SeqCst);
                s.server_chunks.lock().unwrap().push(chunk.len());
            }
            if to.write_all(&chunk).is_err() {
                return;
            }
            sent += chunk.len() as u64;
        }
    });
}
