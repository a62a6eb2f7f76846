//! Is a quiet server still there? Like OpenSSH's ServerAliveInterval / CountMax, but with a
//! question libssh2 handles fully: when nothing has come from the server for `interval`, the
//! driver opens a session channel (kept as the spare, or closed again). The server's answer,
//! confirmation or refusal, proves it alive; no answer within `interval × count` means the
//! transport is dead. This module only keeps the time; the event loop does the opening.
//!
//! (libssh2's own keepalive cannot count answers: with want_reply set, the server's replies
//! are kept in the session's packet list for the connection's life, never consumed.)

use std::time::{Duration, Instant};

use super::job::deadline_after;

pub(crate) struct Liveness {
    interval: Duration,
    count: u32,
    last_heard: Instant,
    /// When the current question was asked, if one is waiting for its answer.
    asked: Option<Instant>,
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

    /// Something came from the server: that answers any question too.
    pub(crate) fn heard(&mut self, now: Instant) {
        self.last_heard = now;
        self.asked = None;
    }

    /// Whether a question is out.
    pub(crate) fn asking(&self) -> bool {
        self.asked.is_some()
    }

    fn patience(&self) -> Duration {
        self.interval.saturating_mul(self.count)
    }

    /// Starts a question if the server has been quiet for the interval; true if one is out.
    pub(crate) fn should_ask(&mut self, now: Instant) -> bool {
        if self.interval.is_zero() {
            return false;
        }
        if self.asked.is_none() && now >= deadline_after(self.last_heard, self.interval) {
            self.asked = Some(now);
        }
        self.asked.is_some()
    }

    /// Why the server is to be considered gone, if the question went unanswered too long.
    pub(crate) fn dead(&self, now: Instant) -> Option<String> {
        let asked = self.asked?;
        (now >= deadline_after(asked, self.patience())).then(|| {
            format!(
                "the server did not answer for {:.1} s (keepalive {:.1} s × {})",
                now.duration_since(self.last_heard).as_secs_f64(),
                self.interval.as_secs_f64(),
                self.count
            )
        })
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
}
