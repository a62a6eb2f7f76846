//! Is a quiet server still there? Like OpenSSH's ServerAliveInterval / CountMax, but with a
//! question libssh2 handles fully: when nothing has come from the server for `interval`, the
//! driver opens a session channel (and closes it again). The server's answer, confirmation or
//! refusal, proves it alive; no answer within `interval × count` means the transport is dead.
//!
//! (libssh2's own keepalive cannot count answers: with want_reply set, the server's replies
//! are kept in the session's packet list for the connection's life, never consumed.)

use std::time::{Duration, Instant};

use ssh2::Session;

use super::job::deadline_after;
use super::raw_channel::RawChannel;

pub(crate) struct Liveness {
    interval: Duration,
    count: u32,
    last_heard: Instant,
    /// When the current question was asked, if one is waiting for its answer.
    asked: Option<Instant>,
}

/// What a step of the check found.
pub(crate) enum Check {
    /// Nothing to do, or still waiting.
    Quiet,
    /// The server answered; this probe channel is to be closed.
    Answered(Option<RawChannel>),
    /// The server is gone; the text says why.
    Dead(String),
}

impl Liveness {
    pub(crate) fn new(interval: Duration, count: u32, now: Instant) -> Self {
        Liveness {
            interval,
            count: count.max(1),
            last_heard: now,
            asked: None,
        }
    }

    /// Something came from the server.
    pub(crate) fn heard(&mut self, now: Instant) {
        self.last_heard = now;
    }

    /// Whether a question is out (its channel open is pending in libssh2).
    pub(crate) fn asking(&self) -> bool {
        self.asked.is_some()
    }

    fn patience(&self) -> Duration {
        self.interval.saturating_mul(self.count)
    }

    /// When the loop must look again: the next question, or the end of the patience.
    pub(crate) fn next_wake(&self) -> Option<Instant> {
        if self.interval.is_zero() {
            return None;
        }
        Some(match self.asked {
            Some(at) => deadline_after(at, self.patience()),
            None => deadline_after(self.last_heard, self.interval),
        })
    }

    /// Asks or keeps asking. `may_open`: no command is opening a channel right now.
    pub(crate) fn step(&mut self, session: &Session, may_open: bool, now: Instant) -> Check {
        if self.interval.is_zero() {
            return Check::Quiet;
        }
        let asked = match self.asked {
            Some(at) => at,
            None if may_open && now >= deadline_after(self.last_heard, self.interval) => {
                self.asked = Some(now);
                now
            }
            None => return Check::Quiet,
        };
        if now >= deadline_after(asked, self.patience()) {
            return Check::Dead(format!(
                "the server did not answer for {:.1} s (keepalive {:.1} s × {})",
                now.duration_since(self.last_heard).as_secs_f64(),
                self.interval.as_secs_f64(),
                self.count
            ));
        }
        match RawChannel::open(session) {
            Ok(None) => Check::Quiet,
            Ok(Some(channel)) => self.answered(now, Some(channel)),
            // A refusal (say, too many sessions) is an answer too.
            Err(e) if e.is_channel_level() => self.answered(now, None),
            Err(e) => Check::Dead(e.message),
        }
    }

    fn answered(&mut self, now: Instant, channel: Option<RawChannel>) -> Check {
        self.asked = None;
        self.last_heard = now;
        Check::Answered(channel)
    }
}
