//! The driver thread's loop. Every turn, whatever any channel is doing: take new requests,
//! end the calls whose deadline passed or that were cancelled, connect if work waits, put
//! queued runs on channels, step the channels for a bounded share (bytes received, time),
//! then say what to sleep on until the socket, a caller or the nearest deadline needs
//! attention. A driver thread (see `workers`) runs the turns of many clients' loops, one at a
//! time, and sleeps on all of them at once.
//!
//! This file holds the turn and the bookkeeping of calls; `connecting.rs` the connect,
//! `channels.rs` the stepping and the opener, `farewell.rs` ending a connection on close/free,
//! `sleep.rs` what a loop sleeps on.

mod channels;
mod connecting;
mod farewell;
mod sleep;
mod tunnels;

use std::collections::VecDeque;
use std::os::unix::io::RawFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::connect::Conn;
use super::expiry::{self, expire_queued};
use super::held_memory::{self, Account};
use super::job::{Job, Request};
use super::liveness::Liveness;
use super::poll::Interest;
use super::pool::Pool;
use super::reaper;
use super::shared::Shared;
use super::socket_io;
use super::task::{Phase, Task};
use super::tunnel::Tunnel;
use crate::config::Config;
use crate::error::{Error, ErrorKind};
use crate::log::{self, LogLevel};
use crate::output::Output;
use crate::shell::ShellKind;

/// Session channels in use at once on one connection: commands, and SFTP sessions (subsystem
/// tunnels, an idle one included). OpenSSH allows 10 sessions by default (the spare and a
/// keepalive question fit beside them).
const MAX_CHANNELS: usize = 8;
/// Size of the buffer channel reads go through (libssh2 packets carry at most 32 KiB).
const READ_CHUNK: usize = 64 * 1024;
/// What libssh2 may receive per turn before the loop looks at deadlines, cancels, new runs
/// and shutdown again (see socket_io.rs). At 300 MB/s that is a turn a millisecond.
const TURN_RECV_BUDGET: usize = 256 * 1024;
/// The longest a turn steps channels before the loop comes back (data already received and
/// queued in libssh2 is not bounded by the receive budget).
const TURN_SLICE: Duration = Duration::from_millis(5);
/// A turn's share while other clients of the same driver thread are busy too: each of their
/// steps waits for at most this much of a flood's (at 700 MB/s, 64 KiB is ~0.1 ms).
const CROWDED_RECV_BUDGET: usize = 64 * 1024;
const CROWDED_SLICE: Duration = Duration::from_millis(1);
/// How long `close` and free wait for the commands they stop to be killed on the guest
/// before the connection goes (the callers have their answer at once).
const FAREWELL: Duration = Duration::from_millis(80);
/// How long the kill script may take.
const REAP_TIMEOUT: Duration = Duration::from_secs(10);

/// What a loop wants after a turn.
pub(crate) enum Next {
    /// Another turn at once (it stopped with work left: a flood).
    Again,
    /// Sleep until its doorbell, one of its `watched` descriptors, or the deadline.
    Sleep(Option<Instant>),
    /// The client was freed and everything of it is gone: drop the loop.
    Done,
}

/// One client's loop.
pub(crate) struct Loop {
    shared: Arc<Shared>,
    config: Arc<Config>,
    /// Host key accepted on the first connect (accept-first policy), kept across reconnects.
    remembered_key: Option<[u8; 32]>,
    conn: Option<Conn>,
    /// Requests waiting for a connection or a free channel, in submission order.
    queue: VecDeque<Request>,
    /// Commands holding a channel (or, after a lost connection, waiting to open one again).
    active: Vec<Task>,
    /// Streams to the guest's side (forwards, streams handed to callers, jump hosts): opening,
    /// or open and moving bytes. They hold no run's slot.
    tunnels: Vec<Tunnel>,
    /// The channels that belong to no run: the spare, the open in progress, those closing.
    pool: Pool,
    /// Where channel reads land before they are appended to a run's output (allocated only
    /// while runs are active).
    scratch: Vec<u8>,
    /// The keepalive check of the current connection.
    liveness: Option<Liveness>,
    /// Commands were stopped on this connection: run the kill script (see reaper.rs).
    reap_wanted: bool,
    /// Stopping the connection's commands before it goes (close() or free).
    farewell: Option<Farewell>,
    /// The connection holds channels the server will not close: no new runs start on it, and
    /// it is replaced once its runs end (see `pool::MAX_UNCLOSED`).
    retiring: bool,
    /// Connections made so far (a later connect is a reconnect, and the log says so).
    connects: u64,
    /// The connect in progress on its own thread.
    connecting: Option<connecting::Connecting>,
    /// What libssh2 holds for this client's connection (see held_memory.rs).
    account: Arc<Account>,
    /// This client's receive state between turns (see socket_io.rs).
    io: socket_io::IoState,
    /// What the loop sleeps on besides its doorbell (set by each turn that sleeps).
    watched: Vec<(RawFd, Interest)>,
    /// The socket is watched for a hang-up only (the connection is idle).
    watching_idle: bool,
    /// Other clients of the driver thread are busy: this turn takes the smaller share.
    crowded: bool,
}

/// A connection being ended after its commands were stopped.
struct Farewell {
    /// The connection goes at this instant at the latest.
    until: Instant,
    /// The close() request to answer when it is gone (none for free).
    close: Option<Job>,
}

impl Loop {
    pub(crate) fn new(shared: Arc<Shared>, config: Arc<Config>) -> Loop {
        Loop {
            shared,
            config,
            remembered_key: None,
            conn: None,
            queue: VecDeque::new(),
            active: Vec::new(),
            tunnels: Vec::new(),
            pool: Pool::default(),
            scratch: Vec::new(),
            liveness: None,
            reap_wanted: false,
            farewell: None,
            retiring: false,
            connects: 0,
            connecting: None,
            account: Arc::new(Account::default()),
            io: socket_io::IoState::default(),
            watched: Vec::new(),
            watching_idle: false,
            crowded: false,
        }
    }

    /// Whether the loop has work in flight (its last turn left work, or it waits on its
    /// socket for more than a hang-up): a neighbour that should get the smaller share.
    pub(crate) fn busy(&self) -> bool {
        self.conn.is_some() && !self.watching_idle
    }

    /// The receive budget and time slice of this turn.
    fn share(&self) -> (usize, Duration) {
        if self.crowded {
            (CROWDED_RECV_BUDGET, CROWDED_SLICE)
        } else {
            (TURN_RECV_BUDGET, TURN_SLICE)
        }
    }

    /// The client's shared half.
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// The connection's socket, if connected.
    pub(crate) fn socket_fd(&self) -> Option<RawFd> {
        self.conn.as_ref().map(|c| c.fd())
    }

    /// The descriptors the loop sleeps on besides its doorbell, after a `Next::Sleep`.
    pub(crate) fn watched(&self) -> &[(RawFd, Interest)] {
        &self.watched
    }

    /// One turn, with this client's libssh2 accounting and receive state in place.
    /// `hangup`: its socket reported a hang-up since the last turn; `crowded`: other clients of
    /// the driver thread are busy too (the turn takes the smaller share).
    pub(crate) fn step(&mut self, hangup: bool, crowded: bool) -> Next {
        self.crowded = crowded;
        let account = Arc::clone(&self.account);
        let _counted = account.enter();
        socket_io::swap(&mut self.io);
        let next = match self.turn(hangup) {
            Some(next) => next,
            None => {
                self.finish();
                Next::Done
            }
        };
        socket_io::swap(&mut self.io);
        next
    }

    /// The end of the loop: the client is freed.
    fn finish(&mut self) {
        self.drop_conn(true);
        let requests = std::mem::take(&mut self.shared.inbox().requests);
        self.queue.extend(requests);
        self.fail_all(&Error::new(ErrorKind::Disconnected, "the client was freed"));
    }

    /// Tells the caller's log (the message is made only when there is one).
    fn log(&self, level: LogLevel, message: impl FnOnce() -> String) {
        log::log(&self.config.log, level, message);
    }

    /// One turn; `None` when the client is being freed and the connection may go.
    fn turn(&mut self, hangup: bool) -> Option<Next> {
        if hangup && self.watching_idle && self.conn.is_some() {
            self.transport_lost("the server closed the connection");
        }
        if let Some(next) = self.while_connecting() {
            return Some(next);
        }
        let shutdown = self.intake();
        if shutdown && self.farewell.is_none() && !self.begin_farewell(None) {
            return None;
        }
        if self.farewell_done(Instant::now()) {
            self.end_farewell();
            if shutdown {
                return None;
            }
        }
        self.expire(Instant::now());
        if self.retiring && self.active.iter().all(Task::is_internal) {
            self.drop_conn(true);
        }
        if self.conn.is_none() && self.needs_connection() {
            self.start_connect();
            return Some(self.while_connecting().unwrap_or(Next::Again));
        }
        self.admit();
        // A turn that stopped with work left (a flood) goes round again at once.
        if self.pump() {
            self.watching_idle = false;
            return Some(Next::Again);
        }
        Some(self.sleep())
    }

    /// Moves submitted requests into the queue; a close ends the connection (after stopping
    /// its commands). True when the client is being freed.
    fn intake(&mut self) -> bool {
        self.shared.doorbell.answer();
        let (requests, shutdown) = {
            let mut inbox = self.shared.inbox();
            (std::mem::take(&mut inbox.requests), inbox.shutdown)
        };
        for request in requests {
            match request {
                // Already closing: this close is answered at once.
                Request::Close(job) if self.farewell.is_some() => job.finish(Ok(Output::default())),
                Request::Close(job) => {
                    self.begin_farewell(Some(job));
                }
                other => self.queue.push_back(other),
            }
        }
        shutdown
    }

    fn needs_connection(&self) -> bool {
        self.farewell.is_none()
            && (!self.queue.is_empty() || !self.active.is_empty() || !self.tunnels.is_empty())
    }

    /// Ends the calls whose caller gave up, that were cancelled, or whose deadline passed.
    fn expire(&mut self, now: Instant) {
        expire_queued(&mut self.queue, now);
        self.expire_tunnel_opens(now);
        let mut i = 0;
        while i < self.active.len() {
            match expiry::verdict(&self.active[i], now, self.config.shell_kind) {
                Some(err) => {
                    if !self.active[i].is_internal() {
                        self.log(LogLevel::Warning, || err.message().to_owned());
                    }
                    let mut task = self.active.remove(i);
                    self.end_task(&mut task, err);
                }
                None => i += 1,
            }
        }
    }

    /// Starts the kill script if commands were stopped, then moves queued requests onto
    /// channels while there is room (not while the connection is ending or retiring).
    fn admit(&mut self) {
        let reaping = self.active.iter().any(Task::is_internal);
        if self.reap_wanted && !reaping && self.conn.is_some() {
            self.reap_wanted = false;
            self.log(LogLevel::Debug, || {
                "running the kill script for the stopped commands' process groups".to_owned()
            });
            let now = Instant::now();
            let job = Job::new(now, now + REAP_TIMEOUT);
            job.ticket.claim();
            self.active.push(Task::new(job, reaper::run_job()));
        }
        if self.farewell.is_some() || self.retiring {
            return;
        }
        while let Some(request) = self.queue.front() {
            if matches!(request, Request::Run(..)) && self.sessions_in_use() >= MAX_CHANNELS {
                break;
            }
            match self.queue.pop_front().expect("front exists") {
                Request::Connect(job) => job.finish(Ok(Output::default())),
                Request::Run(job, run) => {
                    if job.ticket.claim() {
                        self.active.push(Task::new(job, run));
                    }
                }
                Request::Tunnel(job, spec) => {
                    if job.ticket.claim() {
                        self.tunnels.push(Tunnel::new(job, spec));
                    }
                }
                Request::Close(_) => unreachable!("close requests are handled at intake"),
            }
        }
    }

    /// Session channels held by commands and by subsystem tunnels (see `MAX_CHANNELS`).
    fn sessions_in_use(&self) -> usize {
        self.active.len() + self.tunnels.iter().filter(|t| t.holds_session()).count()
    }

    /// Ends a task with an error; its channel, if any, is closed in the background, and a
    /// command that may be running is killed.
    fn end_task(&mut self, task: &mut Task, err: Error) {
        if let Some(channel) = task.channel.take() {
            let kill = task.phase.command_sent();
            self.pool.close_later(channel, kill, Instant::now());
            if kill && !task.is_internal() && self.config.shell_kind == ShellKind::Sh {
                self.reap_wanted = true;
            }
        }
        let partial = task.take_output();
        task.job.finish(Err(err.with_partial(partial)));
    }

    /// The transport died: every command that may have been sent ends as disconnected; one
    /// that never got a channel is retried once on the next connection.
    fn transport_lost(&mut self, why: &str) {
        let server = format!("{}:{}", self.config.host, self.config.port);
        self.log(LogLevel::Warning, || {
            format!("connection to {server} lost: {why}; the next call reconnects")
        });
        self.end_tunnels(
            &Error::new(
                ErrorKind::Disconnected,
                format!("connection to {server} lost: {why}"),
            ),
            Instant::now(),
        );
        self.drop_conn(false);
        let mut keep = Vec::new();
        for mut task in self.active.drain(..) {
            if task.phase == Phase::Open && task.attempts == 0 && !task.is_internal() {
                task.attempts += 1;
                keep.push(task);
                continue;
            }
            let partial = task.take_output();
            let err = Error::new(
                ErrorKind::Disconnected,
                format!(
                    "connection to {server} lost while {}: {why}",
                    task.phase.describe()
                ),
            );
            task.job.finish(Err(err.with_partial(partial)));
        }
        self.active = keep;
    }

    /// Ends every queued and running call with `err` (and the output runs had so far).
    fn fail_all(&mut self, err: &Error) {
        for request in self.queue.drain(..) {
            request.job().finish(Err(err.clone()));
        }
        for mut task in std::mem::take(&mut self.active) {
            let partial = task.take_output();
            task.job.finish(Err(err.clone().with_partial(partial)));
        }
    }

    /// Drops the connection and every channel on it. The socket is shut down first, so that
    /// freeing the channels never waits on (or leaks for) a peer that does not answer.
    fn drop_conn(&mut self, graceful: bool) {
        self.end_tunnels(
            &Error::new(ErrorKind::Disconnected, "the connection was closed"),
            Instant::now(),
        );
        let conn = self.conn.take();
        if let Some(conn) = &conn {
            if graceful {
                conn.say_goodbye();
            }
            conn.shut_down();
        }
        // libssh2 must not wait on a half-sent packet to free anything (see socket_io.rs).
        socket_io::letting_go(|| {
            drop(conn);
            self.pool.clear();
            for task in &mut self.active {
                task.channel = None;
            }
            for mut tunnel in self.tunnels.drain(..) {
                tunnel.finish();
            }
        });
        // Everything libssh2 held for the connection is freed with it (a session it could not
        // free, waiting to send its channels' closes, would stay behind unseen).
        debug_assert!(
            held_memory::held() == 0,
            "libssh2 still holds memory after the connection was dropped"
        );
        socket_io::forget();
        self.liveness = None;
        self.reap_wanted = false;
        self.retiring = false;
        self.shared.set_connected(false);
    }
}

fn closed_by_close() -> Error {
    Error::new(
        ErrorKind::Disconnected,
        "the connection was closed by close()",
    )
}
