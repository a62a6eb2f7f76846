//! The connection's channels that belong to no run: the spare opened ahead of time, the open
//! in progress, and the channels being closed (or whose close the server never answered).
//!
//! libssh2 keeps the state of a pending channel open in the session, so there is one opener:
//! whoever calls next receives the channel. The event loop decides who gets it (a run waiting
//! for one, else the spare slot, else it is closed again).

use std::time::{Duration, Instant};

use super::raw_channel::{ChannelError, RawChannel};

/// How long before a spare channel is tried again after the server refused one.
const SPARE_RETRY: Duration = Duration::from_secs(1);
/// How long a channel may take to close before it is left to the connection.
const CLOSE_GRACE: Duration = Duration::from_secs(2);
/// Channels whose close the server has not answered (closing or stuck) that one connection
/// may hold before it is retired: each may hold up to a channel window (2 MiB) of data in
/// libssh2 until the connection ends.
pub(crate) const MAX_UNCLOSED: usize = 8;

#[derive(Default)]
pub(crate) struct Pool {
    /// A session channel opened ahead of time for the next run.
    spare: Option<RawChannel>,
    /// A channel open is pending in libssh2 (the next open call continues it).
    open_pending: bool,
    /// The server refused the last spare; not retried before this.
    spare_refused_until: Option<Instant>,
    /// Channels of runs that ended early (or stale spares), being closed.
    closing: Vec<Closing>,
    /// Channels whose close the server never answered; freed with the connection.
    stuck: Vec<RawChannel>,
}

/// What an open call gave.
pub(crate) enum Opened {
    /// No open was wanted, or it is still pending.
    Nothing,
    Channel(RawChannel),
    /// The server refused the channel (it answered, so it is alive).
    Refused(ChannelError),
}

impl Pool {
    /// libssh2 holds a session open of ours in progress (no other open may start).
    pub(crate) fn opening(&self) -> bool {
        self.open_pending
    }

    pub(crate) fn has_spare(&self) -> bool {
        self.spare.is_some()
    }

    /// Whether a spare should be opened now.
    pub(crate) fn wants_spare(&self, now: Instant) -> bool {
        self.spare.is_none() && !matches!(self.spare_refused_until, Some(t) if now < t)
    }

    /// Takes the spare for a run if the server has not ended it meanwhile (sshd's
    /// ChannelTimeout, say: a command sent on it would never start); an ended one is closed.
    /// `Err` when the transport failed.
    pub(crate) fn take_spare(&mut self, now: Instant) -> Result<Option<RawChannel>, String> {
        let Some(mut spare) = self.spare.take() else {
            return Ok(None);
        };
        match spare.ended_by_peer() {
            Ok(false) => Ok(Some(spare)),
            Err(e) if !e.is_channel_level() => Err(e.message),
            Ok(true) | Err(_) => {
                self.close_later(spare, false, now);
                Ok(None)
            }
        }
    }

    pub(crate) fn set_spare(&mut self, channel: RawChannel) {
        self.spare = Some(channel);
    }

    /// Starts an open (when `wanted`) or continues the pending one. `Err` when the transport
    /// failed.
    pub(crate) fn open(&mut self, session: &ssh2::Session, wanted: bool) -> Result<Opened, String> {
        if !wanted && !self.open_pending {
            return Ok(Opened::Nothing);
        }
        match RawChannel::open(session) {
            Ok(None) => {
                self.open_pending = true;
                Ok(Opened::Nothing)
            }
            Ok(Some(channel)) => {
                self.open_pending = false;
                Ok(Opened::Channel(channel))
            }
            Err(e) if e.is_channel_level() => {
                self.open_pending = false;
                Ok(Opened::Refused(e))
            }
            Err(e) => Err(e.message),
        }
    }

    /// The server refused a spare: do not ask again for a while.
    pub(crate) fn spare_refused(&mut self, now: Instant) {
        self.spare_refused_until = Some(now + SPARE_RETRY);
    }

    /// Closes `channel` in the background, killing its command first when `kill`.
    pub(crate) fn close_later(&mut self, channel: RawChannel, kill: bool, now: Instant) {
        self.closing.push(Closing {
            channel,
            kill,
            since: now,
        });
    }

    /// Steps the closing channels; true if any finished. A close the server does not answer
    /// within the grace is kept, unstepped, until the connection ends (freeing it now would
    /// block or leak). `Err` when the transport failed.
    pub(crate) fn step_closing(&mut self, now: Instant) -> Result<bool, String> {
        let mut progress = false;
        let mut j = 0;
        while j < self.closing.len() {
            match self.closing[j].step() {
                Ok(true) => {
                    self.closing.swap_remove(j);
                    progress = true;
                }
                Ok(false) if now.duration_since(self.closing[j].since) > CLOSE_GRACE => {
                    let stuck = self.closing.swap_remove(j);
                    self.stuck.push(stuck.channel);
                }
                Ok(false) => j += 1,
                Err(e) => return Err(e.message),
            }
        }
        Ok(progress)
    }

    /// Channels being closed need the socket watched.
    pub(crate) fn busy(&self) -> bool {
        !self.closing.is_empty() || self.open_pending
    }

    /// Whether a kill is still to be sent.
    pub(crate) fn killing(&self) -> bool {
        self.closing.iter().any(|c| c.kill)
    }

    /// Channels whose close is not confirmed (see [`MAX_UNCLOSED`]).
    pub(crate) fn unclosed(&self) -> usize {
        self.closing.len() + self.stuck.len()
    }

    /// Forgets every channel (the connection is being dropped; its socket is already shut
    /// down, so freeing them does not wait).
    pub(crate) fn clear(&mut self) {
        *self = Pool::default();
    }
}

/// The channel of a command that ended early (timed out, or failed): the command is killed
/// (if it may be running) and the channel closed, without waiting for its output.
struct Closing {
    channel: RawChannel,
    /// Send `signal KILL` first: the command may still be running on the guest.
    kill: bool,
    since: Instant,
}

impl Closing {
    /// True when done: the close went out (or cannot), so the channel may be freed.
    fn step(&mut self) -> Result<bool, ChannelError> {
        if self.kill {
            match self.channel.signal("KILL") {
                Ok(None) => return Ok(false),
                Err(e) if !e.is_channel_level() => return Err(e),
                Ok(Some(())) | Err(_) => self.kill = false,
            }
        }
        match self.channel.close() {
            Ok(Some(())) => Ok(true),
            Ok(None) => Ok(false),
            Err(e) if e.is_channel_level() => Ok(true),
            Err(e) => Err(e),
        }
    }
}
