//! The loop's side of tunnels (see tunnel.rs): opening their channels through the session's
//! one pending open, stepping them beside the runs, and ending them with the connection.

use std::time::Instant;

use super::super::task::Task;
use super::super::tunnel::{Opening, Step};
use super::{Loop, MAX_CHANNELS};
use crate::error::{Error, ErrorKind};

impl Loop {
    /// Drives a tunnel's open, if one is due: `Some(progress)` when a tunnel's open holds the
    /// session (nothing else may open this round), `None` to let the runs' opener go on.
    /// Runs waiting for a channel go first; a tunnel waits while a session open is pending.
    pub(super) fn open_tunnels(
        &mut self,
        session: &ssh2::Session,
        now: Instant,
    ) -> Result<Option<bool>, String> {
        if self.tunnels.is_empty() || self.pool.opening() {
            return Ok(None);
        }
        let room = self.sessions_in_use() < MAX_CHANNELS;
        let i = match self.tunnels.iter().position(|t| t.open_pending) {
            Some(i) => i,
            None if self.active.iter().any(Task::wants_channel) => return Ok(None),
            // A subsystem needs a session channel: it waits for room (see MAX_CHANNELS).
            None => match self
                .tunnels
                .iter()
                .position(|t| t.wants_channel() && !t.failed() && (room || !t.needs_session()))
            {
                Some(i) => i,
                None => return Ok(None),
            },
        };
        match self.tunnels[i].open(session)? {
            Opening::Pending => {
                // An open in flight is a question to the server too (see liveness.rs).
                if let Some(live) = &mut self.liveness {
                    live.should_ask(now);
                }
                Ok(Some(false))
            }
            Opening::Open => Ok(Some(true)),
            Opening::Gone(channel) => {
                let mut tunnel = self.tunnels.remove(i);
                tunnel.finish();
                if let Some(channel) = channel {
                    self.pool.close_later(channel, false, now);
                }
                Ok(Some(true))
            }
        }
    }

    /// Steps every open tunnel once; `Ok(progress)`, or `Err(why)` if the transport died.
    pub(super) fn step_tunnels(&mut self, now: Instant) -> Result<bool, String> {
        let mut progress = false;
        let mut i = 0;
        while i < self.tunnels.len() {
            match self.tunnels[i].step() {
                Step::Progress => {
                    progress = true;
                    i += 1;
                }
                Step::Blocked => i += 1,
                Step::Done => {
                    let mut tunnel = self.tunnels.remove(i);
                    if let Some(channel) = tunnel.finish() {
                        self.pool.close_later(channel, false, now);
                    }
                    progress = true;
                }
                Step::Transport(why) => return Err(why),
            }
        }
        Ok(progress)
    }

    /// Answers tunnels waiting for their open whose deadline passed or whose caller gave up.
    /// One whose open libssh2 holds stays until that open ends (its channel is then closed).
    pub(super) fn expire_tunnel_opens(&mut self, now: Instant) {
        let mut i = 0;
        while i < self.tunnels.len() {
            let due = self.tunnels[i]
                .job()
                .is_some_and(|job| job.ticket.is_abandoned() || now >= job.deadline);
            if !due {
                i += 1;
                continue;
            }
            let err = {
                let job = self.tunnels[i].job().expect("a due tunnel has a job");
                let budget = job.deadline.saturating_duration_since(job.submitted);
                Error::new(
                    ErrorKind::Timeout,
                    format!(
                        "timed out after {:.1} s opening {}",
                        budget.as_secs_f64(),
                        self.tunnels[i].describe()
                    ),
                )
            };
            self.tunnels[i].fail(err);
            if self.tunnels[i].open_pending {
                // libssh2 has one open in progress per session, and the server has not
                // answered this one (sshd answers a direct-tcpip open only once its own
                // connect is done, which for an unreachable address takes minutes): every
                // other open waits behind it. The connection is replaced once its runs end.
                self.retiring = true;
                i += 1;
            } else if let Some(channel) = self.tunnels.remove(i).finish() {
                // Open, its subsystem not yet started: the channel is closed.
                self.pool.close_later(channel, false, now);
            }
        }
    }

    /// Ends every tunnel with `err` (close(), free, a lost connection): callers waiting for an
    /// open hear it, open tunnels' channels are closed and their local streams closed. One
    /// whose open libssh2 holds stays until the connection goes.
    pub(super) fn end_tunnels(&mut self, err: &Error, now: Instant) {
        for mut tunnel in std::mem::take(&mut self.tunnels) {
            tunnel.fail(err.clone());
            if tunnel.open_pending {
                self.tunnels.push(tunnel);
            } else if let Some(channel) = tunnel.finish() {
                self.pool.close_later(channel, false, now);
            }
        }
    }
}
