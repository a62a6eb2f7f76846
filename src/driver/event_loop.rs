//! The driver thread's loop. Every turn, whatever any channel is doing: take new requests,
//! end the calls whose deadline passed or that were cancelled, connect if work waits, put
//! queued runs on channels, step the channels for a bounded share (bytes received, time),
//! then sleep in poll until the socket, a caller or the nearest deadline needs attention.

use std::collections::VecDeque;
use std::os::unix::io::RawFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ssh2::BlockDirections;

use super::connect::{self, Attempt, Conn};
use super::expiry::{self, expire_queued, expire_unsent};
use super::held_memory;
use super::job::{deadline_after, Job, Request};
use super::liveness::Liveness;
use super::poll::{self, Interest};
use super::pool::{Opened, Pool, MAX_UNCLOSED};
use super::reaper;
use super::shared::Shared;
use super::socket_io;
use super::task::{self, Phase, Step, Task};
use crate::config::Config;
use crate::error::{Error, ErrorKind};
use crate::output::Output;
use crate::shell::ShellKind;

/// Commands in flight at once on one connection; OpenSSH allows 10 sessions by default (the
/// spare and a keepalive question fit beside them).
const MAX_CHANNELS: usize = 8;
/// Size of the buffer channel reads go through (libssh2 packets carry at most 32 KiB).
const READ_CHUNK: usize = 64 * 1024;
/// What libssh2 may receive per turn before the loop looks at deadlines, cancels, new runs
/// and shutdown again (see socket_io.rs). At 300 MB/s that is a turn a millisecond.
const TURN_RECV_BUDGET: usize = 256 * 1024;
/// The longest a turn steps channels before the loop comes back (data already received and
/// queued in libssh2 is not bounded by the receive budget).
const TURN_SLICE: Duration = Duration::from_millis(5);
/// How long `close` and free wait for the commands they stop to be killed on the guest
/// before the connection goes (the callers have their answer at once).
const FAREWELL: Duration = Duration::from_millis(80);
/// How long the kill script may take.
const REAP_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) fn run(shared: Arc<Shared>, config: Arc<Config>) {
    let mut lp = Loop {
        shared,
        config,
        remembered_key: None,
        conn: None,
        queue: VecDeque::new(),
        active: Vec::new(),
        pool: Pool::default(),
        scratch: Vec::new(),
        liveness: None,
        reap_wanted: false,
        farewell: None,
        retiring: false,
    };
    while lp.turn() {}
    lp.drop_conn(true);
    let requests = std::mem::take(&mut lp.shared.inbox().requests);
    lp.queue.extend(requests);
    lp.fail_all(&Error::new(ErrorKind::Disconnected, "the client was freed"));
}

struct Loop {
    shared: Arc<Shared>,
    config: Arc<Config>,
    /// Host key accepted on the first connect (accept-first policy), kept across reconnects.
    remembered_key: Option<[u8; 32]>,
    conn: Option<Conn>,
    /// Requests waiting for a connection or a free channel, in submission order.
    queue: VecDeque<Request>,
    /// Commands holding a channel (or, after a lost connection, waiting to open one again).
    active: Vec<Task>,
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
}

/// A connection being ended after its commands were stopped.
struct Farewell {
    /// The connection goes at this instant at the latest.
    until: Instant,
    /// The close() request to answer when it is gone (none for free).
    close: Option<Job>,
}

impl Loop {
    /// One turn; false when the client is being freed and the connection may go.
    fn turn(&mut self) -> bool {
        let shutdown = self.intake();
        if shutdown && self.farewell.is_none() && !self.begin_farewell(None) {
            return false;
        }
        if self.farewell_done(Instant::now()) {
            self.end_farewell();
            if shutdown {
                return false;
            }
        }
        self.expire(Instant::now());
        if self.retiring && self.active.iter().all(Task::is_internal) {
            self.drop_conn(true);
        }
        if self.conn.is_none() && self.needs_connection() {
            self.connect();
            return true;
        }
        self.admit();
        // A turn that stopped with work left (a flood) goes round again at once.
        if !self.pump() {
            self.sleep();
        }
        true
    }

    /// Moves submitted requests into the queue; a close ends the connection (after stopping
    /// its commands). True when the client is being freed.
    fn intake(&mut self) -> bool {
        self.shared.waker.drain();
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
        self.farewell.is_none() && (!self.queue.is_empty() || !self.active.is_empty())
    }

    /// Ends the calls whose caller gave up, that were cancelled, or whose deadline passed.
    fn expire(&mut self, now: Instant) {
        expire_queued(&mut self.queue, now);
        let mut i = 0;
        while i < self.active.len() {
            match expiry::verdict(&self.active[i], now, self.config.shell_kind) {
                Some(err) => {
                    let mut task = self.active.remove(i);
                    self.end_task(&mut task, err);
                }
                None => i += 1,
            }
        }
    }

    fn connect(&mut self) {
        let budget = self.config.connect_timeout;
        let mut deadline = deadline_after(Instant::now(), budget);
        // A wait_for_ssh attempt bounds the connect by its own deadline.
        if self.active.is_empty() && self.queue.iter().all(|r| matches!(r, Request::Connect(_))) {
            if let Some(latest) = self.queue.iter().map(|r| r.job().deadline).max() {
                deadline = deadline.min(latest);
            }
        }
        let shared = Arc::clone(&self.shared);
        let abort = move || {
            let inbox = shared.inbox();
            inbox.shutdown
                || inbox
                    .requests
                    .iter()
                    .any(|r| matches!(r, Request::Close(_)))
        };
        // While connecting, the calls waiting for the connection still end on time, new ones
        // included (a close stays in the inbox: `abort` sees it).
        let (queue, active, shared) = (&mut self.queue, &mut self.active, &self.shared);
        let mut tick = |now: Instant| {
            {
                let mut inbox = shared.inbox();
                let until_close = inbox
                    .requests
                    .iter()
                    .position(|r| matches!(r, Request::Close(_)))
                    .unwrap_or(inbox.requests.len());
                queue.extend(inbox.requests.drain(..until_close));
            }
            expire_queued(queue, now);
            expire_unsent(active, now);
            let queued = queue.iter().map(|r| r.job().deadline);
            queued.chain(active.iter().map(|t| t.job.deadline)).min()
        };
        let attempt = Attempt {
            deadline,
            budget: budget.min(deadline.saturating_duration_since(Instant::now())),
            waker: &self.shared.waker,
            abort: &abort,
            tick: std::cell::RefCell::new(&mut tick),
        };
        match connect::connect(&self.config, &mut self.remembered_key, &attempt) {
            Ok(conn) => {
                self.shared.set_cipher(conn.cipher());
                self.conn = Some(conn);
                self.shared.set_connected(true);
                let c = &self.config;
                self.liveness = Some(Liveness::new(
                    c.keepalive_interval,
                    c.keepalive_count_max,
                    Instant::now(),
                ));
            }
            Err(err) => self.fail_all(&err),
        }
    }

    /// Starts the kill script if commands were stopped, then moves queued requests onto
    /// channels while there is room (not while the connection is ending or retiring).
    fn admit(&mut self) {
        let reaping = self.active.iter().any(Task::is_internal);
        if self.reap_wanted && !reaping && self.conn.is_some() {
            self.reap_wanted = false;
            let now = Instant::now();
            let job = Job::new(now, now + REAP_TIMEOUT);
            job.ticket.claim();
            self.active.push(Task::new(job, reaper::run_job()));
        }
        if self.farewell.is_some() || self.retiring {
            return;
        }
        while let Some(request) = self.queue.front() {
            if matches!(request, Request::Run(..)) && self.active.len() >= MAX_CHANNELS {
                break;
            }
            match self.queue.pop_front().expect("front exists") {
                Request::Connect(job) => job.finish(Ok(Output::default())),
                Request::Run(job, run) => {
                    if job.ticket.claim() {
                        self.active.push(Task::new(job, run));
                    }
                }
                Request::Close(_) => unreachable!("close requests are handled at intake"),
            }
        }
    }

    /// Steps every channel until none makes progress, or the turn's share (bytes received,
    /// time) is spent. True when it stopped with work left: the loop should not sleep.
    fn pump(&mut self) -> bool {
        // The connection is taken out while channels are stepped, so that tasks can be ended
        // (which needs `&mut self`) in the middle of a round; it goes back unless it died.
        let Some(conn) = self.conn.take() else {
            return false;
        };
        // The read buffer exists only while commands run: an idle client keeps less memory.
        if self.active.is_empty() {
            self.scratch = Vec::new();
        } else if self.scratch.is_empty() {
            self.scratch = vec![0; READ_CHUNK];
        }
        socket_io::grant(&conn.session, TURN_RECV_BUDGET, true);
        let started = Instant::now();
        let mut lost = self.pump_rounds(&conn.session, conn.fd(), started);
        socket_io::check_now();
        // A violation libssh2 only noted (it truncated or dropped output): we cannot tell
        // whose output it damaged, so the connection's runs end with what they had.
        if let Some(why) = socket_io::take_violation() {
            lost = Err(why);
        }
        // Messages libssh2 keeps and nobody reads (unsolicited, unknown) are freed only with
        // the connection: past the limit, it goes (see held_memory.rs).
        if held_memory::held() > held_memory::LIMIT {
            lost = Err(format!("ended by the client: {}", connect::too_much()));
        }
        self.conn = Some(conn);
        match lost {
            Err(msg) => {
                self.transport_lost(&msg);
                false
            }
            Ok(sliced) => sliced || socket_io::exhausted(),
        }
    }

    /// Rounds of stepping until one makes no progress (`Ok(false)`) or the time slice is spent
    /// (`Ok(true)`); `Err(why)` if the transport died. Closing channels are stepped before
    /// runs: a kill and a CLOSE go out before the kill script's exec (see reaper.rs).
    fn pump_rounds(
        &mut self,
        session: &ssh2::Session,
        fd: RawFd,
        started: Instant,
    ) -> Result<bool, String> {
        loop {
            let now = Instant::now();
            if let Some(why) = self.liveness.as_ref().and_then(|l| l.dead(now)) {
                return Err(why);
            }
            let mut progress = self.open_channels(session, fd, now)?;
            progress |= self.pool.step_closing(now)?;
            if self.pool.unclosed() > MAX_UNCLOSED {
                self.retiring = true;
            }
            let mut i = 0;
            while i < self.active.len() {
                match self.active[i].step(&mut self.scratch) {
                    Step::Progress => {
                        progress = true;
                        i += 1;
                    }
                    // A half-sent packet is finished only by its owner's retry (libssh2 answers
                    // anyone else's send with EAGAIN), so every task is stepped every round.
                    Step::Blocked => i += 1,
                    Step::Done(out) => {
                        let task = self.active.remove(i);
                        task.job.finish(Ok(out));
                        progress = true;
                    }
                    Step::Failed(err) => {
                        let mut task = self.active.remove(i);
                        self.end_task(&mut task, err);
                        progress = true;
                    }
                    Step::Transport(msg) => return Err(msg),
                    Step::Reopen(stale) => {
                        self.pool.close_later(stale, false, now);
                        progress = true;
                        i += 1;
                    }
                }
            }
            if progress {
                if let Some(live) = &mut self.liveness {
                    live.heard(Instant::now());
                }
            }
            if !progress {
                return Ok(false);
            }
            if started.elapsed() >= TURN_SLICE {
                return Ok(true);
            }
        }
    }

    /// Hands channels to the runs waiting for one and keeps a spare open, so that a warm run
    /// costs one round trip (exec) instead of two (open, then exec). Every open goes through
    /// here: libssh2 keeps the state of a pending open in the session, so whoever calls next
    /// receives it, and the result goes to the first run waiting, else to the spare slot, else
    /// (a keepalive question while the spare is in place) it is closed again. Ok(progress), or
    /// Err(why) when the transport is gone.
    fn open_channels(
        &mut self,
        session: &ssh2::Session,
        fd: RawFd,
        now: Instant,
    ) -> Result<bool, String> {
        let waiting = self.active.iter().position(Task::wants_channel);
        if let Some(i) = waiting {
            if self.pool.has_spare() {
                // The spare was opened a while ago: if the server has hung up since, the run
                // must not use it (an exec on a dead transport may not be retried), while a run
                // that never got a channel is retried once on a new connection.
                if poll::hung_up(fd) {
                    return Err("the server closed the connection".into());
                }
                if let Some(spare) = self.pool.take_spare(now)? {
                    self.active[i].adopt(spare, true);
                    return Ok(true);
                }
            }
        }
        let asking = self.liveness.as_mut().is_some_and(|l| l.should_ask(now));
        let want_spare = self.pool.wants_spare(now)
            && self.active.len() < MAX_CHANNELS
            && self.farewell.is_none();
        match self
            .pool
            .open(session, waiting.is_some() || want_spare || asking)?
        {
            Opened::Nothing => Ok(false),
            Opened::Refused(e) => {
                // The server refused a channel (too many sessions?): it answered, so it is
                // alive. A waiting run fails; the spare is not retried for a while.
                if let Some(live) = &mut self.liveness {
                    live.heard(now);
                }
                match waiting {
                    Some(i) => {
                        let mut task = self.active.remove(i);
                        if let Step::Failed(err) = task::failure(e, "open a session channel") {
                            self.end_task(&mut task, err);
                        }
                    }
                    None => self.pool.spare_refused(now),
                }
                Ok(true)
            }
            Opened::Channel(channel) => {
                if let Some(live) = &mut self.liveness {
                    live.heard(now);
                }
                match waiting {
                    Some(i) => self.active[i].adopt(channel, false),
                    None if !self.pool.has_spare() => self.pool.set_spare(channel),
                    None => self.pool.close_later(channel, false, now),
                }
                Ok(true)
            }
        }
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

    /// Starts ending the connection because of close() (`close`) or free (`None`): every
    /// call ends at once, and commands that may be running are killed before the connection
    /// goes, within `FAREWELL`. False when there was nothing to stop: a close is then done at
    /// once (and answered); for free the caller ends the connection.
    fn begin_farewell(&mut self, close: Option<Job>) -> bool {
        let running = self
            .active
            .iter()
            .any(|t| t.channel.is_some() && t.phase.command_sent() && !t.is_internal());
        if self.conn.is_none() || !running {
            if let Some(job) = close {
                self.drop_conn(true);
                self.fail_all(&closed_by_close());
                job.finish(Ok(Output::default()));
            }
            return false;
        }
        let why = match close {
            Some(_) => closed_by_close(),
            None => Error::new(ErrorKind::Disconnected, "the client was freed"),
        };
        let now = Instant::now();
        for mut task in std::mem::take(&mut self.active) {
            if task.is_internal() {
                self.active.push(task);
                continue;
            }
            self.end_task(&mut task, why.clone());
        }
        for request in self.queue.drain(..) {
            request.job().finish(Err(why.clone()));
        }
        self.farewell = Some(Farewell {
            until: now + FAREWELL,
            close,
        });
        true
    }

    /// Whether an ending connection may go: its commands were killed, or time is up.
    fn farewell_done(&self, now: Instant) -> bool {
        let Some(farewell) = &self.farewell else {
            return false;
        };
        // The kill script's exec and every kill went out (sshd handles them before the
        // disconnect that follows them; the script then works on after sshd is gone).
        let reaper_sent = self.active.iter().all(Task::exec_sent);
        now >= farewell.until
            || self.conn.is_none()
            || (!self.reap_wanted && reaper_sent && !self.pool.killing())
    }

    fn end_farewell(&mut self) {
        self.drop_conn(true);
        // Runs asked for after close() start on a new connection.
        self.active.retain(|t| !t.is_internal());
        if let Some(job) = self.farewell.take().and_then(|f| f.close) {
            job.finish(Ok(Output::default()));
        }
    }

    /// The transport died: every command that may have been sent ends as disconnected; one
    /// that never got a channel is retried once on the next connection.
    fn transport_lost(&mut self, why: &str) {
        let server = format!("{}:{}", self.config.host, self.config.port);
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
        });
        // Everything libssh2 held for the connection is freed with it (a session it could not
        // free, waiting to send its channels' closes, would stay behind unseen).
        debug_assert_eq!(
            held_memory::held(),
            0,
            "libssh2 still holds memory after the connection was dropped"
        );
        self.liveness = None;
        self.reap_wanted = false;
        self.retiring = false;
        self.shared.set_connected(false);
    }

    /// Sleeps until the socket, a caller or the nearest deadline needs attention.
    fn sleep(&mut self) {
        // The connection died during this turn with work still waiting (a run kept for its
        // one retry): reconnect at once rather than wait for a wake-up that may never come.
        if self.conn.is_none() && self.needs_connection() {
            return;
        }
        let earliest = |a: Option<Instant>, b: Option<Instant>| match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let mut deadline = self.queue.iter().map(|r| r.job().deadline).min();
        deadline = earliest(deadline, self.farewell.as_ref().map(|f| f.until));
        let socket = match &self.conn {
            None => None,
            Some(conn) => {
                let asking = self.liveness.as_ref().is_some_and(Liveness::asking);
                // Runs whose streaming callers are behind read nothing: their data waits at the
                // server, and a readable socket must not make the loop spin.
                let all_paused = self.active.iter().all(Task::paused);
                let busy = !(self.active.is_empty() || all_paused) || self.pool.busy() || asking;
                let interest = if busy {
                    let dirs = conn.session.block_directions();
                    Interest {
                        read: !matches!(dirs, BlockDirections::Outbound),
                        write: matches!(dirs, BlockDirections::Outbound | BlockDirections::Both),
                        hangup: false,
                    }
                } else {
                    Interest {
                        hangup: true,
                        ..Interest::default()
                    }
                };
                deadline = earliest(deadline, self.active.iter().map(|t| t.job.deadline).min());
                deadline = earliest(
                    deadline,
                    self.liveness.as_ref().and_then(Liveness::next_wake),
                );
                Some((conn.fd(), interest, busy))
            }
        };
        let ready = match poll::wait(
            &self.shared.waker,
            socket.map(|(fd, interest, _)| (fd, interest)),
            deadline,
        ) {
            Ok(ready) => ready,
            Err(e) => {
                self.transport_lost(&format!("poll failed: {e}"));
                return;
            }
        };
        if let Some((_, _, false)) = socket {
            if ready.hangup {
                self.transport_lost("the server closed the connection");
            }
        }
    }
}

fn closed_by_close() -> Error {
    Error::new(
        ErrorKind::Disconnected,
        "the connection was closed by close()",
    )
}
