//! The driver thread's loop: take jobs, connect when needed, step every channel, sleep in poll
//! until the socket, a caller or the nearest deadline needs attention.

use std::collections::VecDeque;
use std::os::unix::io::RawFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ssh2::BlockDirections;

use super::connect::{self, Attempt, Conn};
use super::job::{deadline_after, Job, JobKind};
use super::liveness::Liveness;
use super::poll::{self, Interest};
use super::raw_channel::RawChannel;
use super::recv_budget;
use super::task::{self, Closing, Phase, Step, Task};
use super::Shared;
use crate::config::Config;
use crate::error::{Error, ErrorKind};
use crate::output::Output;

/// Commands in flight at once on one connection; OpenSSH allows 10 sessions by default.
const MAX_CHANNELS: usize = 8;
/// Size of the buffer channel reads go through (libssh2 packets carry at most 32 KiB).
const READ_CHUNK: usize = 64 * 1024;
/// How long before a spare channel is tried again after the server refused one.
const SPARE_RETRY: Duration = Duration::from_secs(1);
/// How long a timed-out channel may take to close before it is left to the connection.
const CLOSE_GRACE: Duration = Duration::from_secs(2);
/// What libssh2 may receive per turn before the loop looks at deadlines, cancels, new runs
/// and shutdown again (see recv_budget.rs). At 300 MB/s that is a turn a millisecond.
const TURN_RECV_BUDGET: usize = 256 * 1024;
/// The longest a turn steps channels before the loop comes back (data already received and
/// queued in libssh2 is not bounded by the receive budget).
const TURN_SLICE: Duration = Duration::from_millis(5);

pub(crate) fn run(shared: Arc<Shared>, config: Arc<Config>) {
    let mut lp = Loop {
        shared,
        config,
        remembered_key: None,
        conn: None,
        queue: VecDeque::new(),
        active: Vec::new(),
        closing: Vec::new(),
        stuck: Vec::new(),
        scratch: Vec::new(),
        liveness: None,
        spare: None,
        open_pending: false,
        spare_refused_until: None,
    };
    while lp.turn() {}
    lp.drop_conn(true);
    let jobs = std::mem::take(&mut lp.shared.inbox().jobs);
    lp.queue.extend(jobs);
    lp.fail_all(&Error::new(ErrorKind::Disconnected, "the client was freed"));
}

struct Loop {
    shared: Arc<Shared>,
    config: Arc<Config>,
    /// Host key accepted on the first connect (accept-first policy), kept across reconnects.
    remembered_key: Option<[u8; 32]>,
    conn: Option<Conn>,
    /// Jobs waiting for a connection or a free channel, in submission order.
    queue: VecDeque<Job>,
    /// Commands holding a channel (or, after a lost connection, waiting to open one again).
    active: Vec<Task>,
    /// Channels of timed-out or failed commands, being closed.
    closing: Vec<Closing>,
    /// Channels whose close the server never answered; freed with the connection.
    stuck: Vec<RawChannel>,
    /// Where channel reads land before they are appended to a run's output (allocated only
    /// while runs are active).
    scratch: Vec<u8>,
    /// The keepalive check of the current connection.
    liveness: Option<Liveness>,
    /// A session channel opened ahead of time for the next run.
    spare: Option<RawChannel>,
    /// A channel open is pending in libssh2 (the next open call continues it).
    open_pending: bool,
    /// The server refused the last spare; not retried before this.
    spare_refused_until: Option<Instant>,
}

impl Loop {
    /// One turn; false when the client is being freed.
    fn turn(&mut self) -> bool {
        if !self.intake() {
            return false;
        }
        self.expire(Instant::now());
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

    /// Moves submitted jobs into the queue; handles close requests in order. False on shutdown.
    fn intake(&mut self) -> bool {
        self.shared.waker.drain();
        let jobs = {
            let mut inbox = self.shared.inbox();
            if inbox.shutdown {
                return false;
            }
            std::mem::take(&mut inbox.jobs)
        };
        for job in jobs {
            if let JobKind::Close = job.kind {
                self.drop_conn(true);
                self.fail_all(&Error::new(
                    ErrorKind::Disconnected,
                    "the connection was closed by close()",
                ));
                job.finish(Ok(Output::default()));
            } else {
                self.queue.push_back(job);
            }
        }
        true
    }

    fn needs_connection(&self) -> bool {
        !self.queue.is_empty() || !self.active.is_empty()
    }

    /// Ends jobs whose caller gave up, that were cancelled, or whose deadline passed.
    fn expire(&mut self, now: Instant) {
        expire_queued(&mut self.queue, now);
        let mut i = 0;
        while i < self.active.len() {
            let task = &self.active[i];
            let err = if let Some(why) = task.stop_reason() {
                let stopped = if task.phase.command_sent() {
                    "; the command was stopped"
                } else {
                    "; the command was not sent"
                };
                Error::new(
                    ErrorKind::Cancelled,
                    format!("{why} while {}{stopped}", task.phase.describe()),
                )
            } else if now >= task.job.deadline {
                timed_out(&task.job, task.phase.describe())
            } else {
                i += 1;
                continue;
            };
            let mut task = self.active.remove(i);
            self.end_task(&mut task, err);
        }
    }

    fn connect(&mut self) {
        let budget = self.config.connect_timeout;
        let mut deadline = deadline_after(Instant::now(), budget);
        // A wait_for_ssh attempt bounds the connect by its own deadline.
        if self.active.is_empty()
            && self
                .queue
                .iter()
                .all(|j| matches!(j.kind, JobKind::Connect))
        {
            if let Some(latest) = self.queue.iter().map(|j| j.deadline).max() {
                deadline = deadline.min(latest);
            }
        }
        let shared = Arc::clone(&self.shared);
        let abort = move || {
            let inbox = shared.inbox();
            inbox.shutdown || inbox.jobs.iter().any(|j| matches!(j.kind, JobKind::Close))
        };
        // While connecting, the calls waiting for the connection still end on time, new ones
        // included (a close stays in the inbox: `abort` sees it).
        let (queue, active, inbox) = (&mut self.queue, &mut self.active, &self.shared);
        let mut tick = |now: Instant| {
            {
                let mut inbox = inbox.inbox();
                let until_close = inbox
                    .jobs
                    .iter()
                    .position(|j| matches!(j.kind, JobKind::Close))
                    .unwrap_or(inbox.jobs.len());
                queue.extend(inbox.jobs.drain(..until_close));
            }
            expire_queued(queue, now);
            expire_unsent(active, now);
            let queued = queue.iter().map(|j| j.deadline);
            queued.chain(active.iter().map(|t| t.job.deadline)).min()
        };
        let attempt = Attempt {
            deadline,
            budget: budget.min(deadline.saturating_duration_since(Instant::now())),
            waker: &self.shared.waker,
            abort: &abort,
            tick: std::cell::RefCell::new(&mut tick),
        };
        let result = connect::connect(&self.config, &mut self.remembered_key, &attempt);
        match result {
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

    /// Moves queued jobs onto channels while there is room.
    fn admit(&mut self) {
        while let Some(job) = self.queue.front() {
            if matches!(job.kind, JobKind::Run(_)) && self.active.len() >= MAX_CHANNELS {
                break;
            }
            let job = self.queue.pop_front().expect("front exists");
            match job.kind {
                JobKind::Connect => job.finish(Ok(Output::default())),
                JobKind::Run(_) => {
                    if job.ticket.claim() {
                        self.active.push(Task::new(job));
                    }
                }
                JobKind::Close | JobKind::Running => {
                    unreachable!("close jobs are handled at intake; running ones are tasks")
                }
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
        recv_budget::grant(&conn.session, TURN_RECV_BUDGET, true);
        let started = Instant::now();
        let mut lost = self.pump_rounds(&conn.session, conn.fd(), started);
        recv_budget::check_now();
        // A violation libssh2 only noted (it truncated or dropped output): we cannot tell
        // whose output it damaged, so the connection's runs end with what they had.
        if let Some(why) = recv_budget::take_violation() {
            lost = Err(why);
        }
        self.conn = Some(conn);
        match lost {
            Err(msg) => {
                self.transport_lost(&msg);
                false
            }
            Ok(sliced) => sliced || recv_budget::exhausted(),
        }
    }

    /// Rounds of stepping until one makes no progress (`Ok(false)`) or the time slice is spent
    /// (`Ok(true)`); `Err(why)` if the transport died.
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
            let mut i = 0;
            let mut lost: Option<String> = None;
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
                    Step::Transport(msg) => {
                        lost = Some(msg);
                        break;
                    }
                    Step::Reopen(stale) => {
                        self.closing.push(Closing {
                            channel: stale,
                            kill: false,
                            since: now,
                        });
                        progress = true;
                        i += 1;
                    }
                }
            }
            if lost.is_none() {
                let mut j = 0;
                while j < self.closing.len() {
                    match self.closing[j].step() {
                        Ok(true) => {
                            self.closing.swap_remove(j);
                            progress = true;
                        }
                        // A close the server never answers: keep the channel, unstepped,
                        // until the connection ends (freeing it now would block or leak).
                        Ok(false) if now.duration_since(self.closing[j].since) > CLOSE_GRACE => {
                            let stuck = self.closing.swap_remove(j);
                            self.stuck.push(stuck.channel);
                        }
                        Ok(false) => j += 1,
                        Err(e) => {
                            lost = Some(e.message);
                            break;
                        }
                    }
                }
            }
            if progress {
                if let Some(live) = &mut self.liveness {
                    live.heard(Instant::now());
                }
            }
            if let Some(why) = lost {
                return Err(why);
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
            if self.spare.is_some() {
                // The spare was opened a while ago: if the server has hung up since, the run
                // must not use it (an exec on a dead transport may not be retried), while a run
                // that never got a channel is retried once on a new connection.
                if poll::hung_up(fd) {
                    return Err("the server closed the connection".into());
                }
                let mut spare = self.spare.take().expect("checked");
                // The server may have closed the spare while it waited (sshd's ChannelTimeout,
                // say): a command sent on it would never start. It is closed, and the run
                // gets a fresh channel below.
                match spare.ended_by_peer() {
                    Ok(false) => {
                        self.active[i].adopt(spare, true);
                        return Ok(true);
                    }
                    Err(e) if !e.is_channel_level() => return Err(e.message),
                    Ok(true) | Err(_) => self.closing.push(Closing {
                        channel: spare,
                        kill: false,
                        since: now,
                    }),
                }
            }
        }
        let asking = self.liveness.as_mut().is_some_and(|l| l.should_ask(now));
        let want_spare = self.spare.is_none()
            && self.active.len() < MAX_CHANNELS
            && !matches!(self.spare_refused_until, Some(t) if now < t);
        if waiting.is_none() && !want_spare && !asking && !self.open_pending {
            return Ok(false);
        }
        let channel = match RawChannel::open(session) {
            Ok(None) => {
                self.open_pending = true;
                return Ok(false);
            }
            Ok(Some(channel)) => channel,
            Err(e) if e.is_channel_level() => {
                // The server refused a channel (too many sessions?): it answered, so it is
                // alive. A waiting run fails; the spare is not retried for a while.
                self.open_pending = false;
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
                    None => self.spare_refused_until = Some(now + SPARE_RETRY),
                }
                return Ok(true);
            }
            Err(e) => return Err(e.message),
        };
        self.open_pending = false;
        if let Some(live) = &mut self.liveness {
            live.heard(now);
        }
        match waiting {
            Some(i) => self.active[i].adopt(channel, false),
            None if self.spare.is_none() => self.spare = Some(channel),
            None => self.closing.push(Closing {
                channel,
                kill: false,
                since: now,
            }),
        }
        Ok(true)
    }

    /// Ends a task with an error; its channel, if any, is closed in the background.
    fn end_task(&mut self, task: &mut Task, err: Error) {
        if let Some(channel) = task.channel.take() {
            self.closing.push(Closing {
                channel,
                kill: task.phase.command_sent(),
                since: Instant::now(),
            });
        }
        let partial = task.take_output();
        task.job.finish(Err(err.with_partial(partial)));
    }

    /// The transport died: every command that may have been sent ends as disconnected; one
    /// that never got a channel is retried once on the next connection.
    fn transport_lost(&mut self, why: &str) {
        let server = format!("{}:{}", self.config.host, self.config.port);
        self.drop_conn(false);
        let mut keep = Vec::new();
        for mut task in self.active.drain(..) {
            if task.phase == Phase::Open && task.attempts == 0 {
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

    fn fail_all(&mut self, err: &Error) {
        for job in self.queue.drain(..) {
            job.finish(Err(err.clone()));
        }
        for mut task in std::mem::take(&mut self.active) {
            let partial = task.take_output();
            task.job.finish(Err(err.clone().with_partial(partial)));
        }
    }

    /// Drops the connection and every channel on it. The socket is shut down first, so that
    /// freeing the channels never waits on (or leaks for) a peer that does not answer.
    fn drop_conn(&mut self, graceful: bool) {
        if let Some(conn) = self.conn.take() {
            if graceful {
                conn.say_goodbye();
            }
            drop(conn);
        }
        self.closing.clear();
        self.stuck.clear();
        self.spare = None;
        self.open_pending = false;
        self.spare_refused_until = None;
        for task in &mut self.active {
            task.channel = None;
        }
        self.liveness = None;
        self.shared.set_connected(false);
    }

    /// Sleeps until the socket, a caller or the nearest deadline needs attention.
    fn sleep(&mut self) {
        // The connection died during this turn with work still waiting (a run kept for its
        // one retry): reconnect at once rather than wait for a wake-up that may never come.
        if self.conn.is_none() && self.needs_connection() {
            return;
        }
        let mut deadline = self.queue.iter().map(|j| j.deadline).min();
        let earliest = |a: Option<Instant>, b: Option<Instant>| match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let socket = match &self.conn {
            None => None,
            Some(conn) => {
                let asking =
                    self.liveness.as_ref().is_some_and(Liveness::asking) || self.open_pending;
                // Runs whose streaming callers are behind read nothing: their data waits at the
                // server, and a readable socket must not make the loop spin.
                let all_paused = self.active.iter().all(Task::paused);
                let busy =
                    !(self.active.is_empty() || all_paused) || !self.closing.is_empty() || asking;
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

/// Ends queued jobs whose caller gave up, that were cancelled, or whose deadline passed.
fn expire_queued(queue: &mut VecDeque<Job>, now: Instant) {
    queue.retain(|job| {
        if job.ticket.is_abandoned() {
            return false;
        }
        if let Some(why) = job.stop_reason() {
            job.finish(Err(Error::new(
                ErrorKind::Cancelled,
                format!("{why} before it started; the command was not sent"),
            )));
            return false;
        }
        if now < job.deadline {
            return true;
        }
        let waiting = if matches!(job.kind, JobKind::Connect) {
            "connecting"
        } else {
            "waiting for the connection"
        };
        job.finish(Err(timed_out(job, waiting)));
        false
    });
}

/// Ends runs waiting for a channel (kept for their one retry after a lost connection) that
/// were cancelled or whose deadline passed: nothing of them was sent.
fn expire_unsent(active: &mut Vec<Task>, now: Instant) {
    active.retain_mut(|task| {
        if task.channel.is_some() {
            return true;
        }
        let err = if let Some(why) = task.stop_reason() {
            Error::new(
                ErrorKind::Cancelled,
                format!("{why} while waiting for the connection; the command was not sent"),
            )
        } else if now >= task.job.deadline {
            timed_out(&task.job, "waiting for the connection")
        } else {
            return true;
        };
        let partial = task.take_output();
        task.job.finish(Err(err.with_partial(partial)));
        false
    });
}

fn timed_out(job: &Job, while_doing: &str) -> Error {
    let budget = job.deadline.saturating_duration_since(job.submitted);
    let what = match job.kind {
        JobKind::Connect => "wait_for_ssh connect attempt",
        _ => "command",
    };
    Error::new(
        ErrorKind::Timeout,
        format!(
            "{what} timed out after {:.1} s while {while_doing}",
            budget.as_secs_f64()
        ),
    )
}
