//! Stepping the connection's channels for one turn's share, and the one opener that hands
//! channels to runs (or keeps a spare).

use std::os::unix::io::RawFd;
use std::time::Instant;

use super::super::connect;
use super::super::held_memory;
use super::super::poll;
use super::super::pool::{Opened, MAX_UNCLOSED};
use super::super::socket_io;
use super::super::task::{self, Step, Task};
use super::{Loop, MAX_CHANNELS, READ_CHUNK};
use crate::log::LogLevel;

impl Loop {
    /// Steps every channel until none makes progress, or the turn's share (bytes received,
    /// time) is spent. True when it stopped with work left: the loop should not sleep.
    pub(super) fn pump(&mut self) -> bool {
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
        let (budget, _) = self.share();
        socket_io::grant(&conn.session, budget, true);
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
    pub(super) fn pump_rounds(
        &mut self,
        session: &ssh2::Session,
        fd: RawFd,
        started: Instant,
    ) -> Result<bool, String> {
        loop {
            let now = Instant::now();
            if let Some(why) = self.liveness.as_ref().and_then(|l| l.dead(now)) {
                self.log(LogLevel::Warning, || {
                    format!("keepalive: {why}; the connection is given up")
                });
                return Err(why);
            }
            let mut progress = match self.open_tunnels(session, now)? {
                Some(progress) => progress,
                None => self.open_channels(session, fd, now)?,
            };
            progress |= self.step_tunnels(now)?;
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
            if started.elapsed() >= self.share().1 {
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
    pub(super) fn open_channels(
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
            && self.sessions_in_use() < MAX_CHANNELS
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
}
