//! Where a run's output goes, and reading it off a channel: kept in the run's ticket (up to
//! the cap) or handed to a streaming caller, a bounded share per step so that other runs on
//! the connection get their turn.

use super::raw_channel::{ChannelError, RawChannel};
use super::ticket::{SlotGuard, Ticket};
use crate::output::Stream;

/// Output bytes read per stream per step (a fairness bound, as for input).
const READ_PER_STEP: usize = 256 * 1024;

/// Where a run's output goes, and how much of it is kept.
#[derive(Clone, Copy, Debug)]
pub(crate) struct OutputPolicy {
    /// Most bytes kept of stdout and of stderr (0 = no limit); the rest is read and dropped.
    pub caps: [usize; 2],
    /// Hand output to the caller chunk by chunk (through the ticket) instead of keeping it.
    pub streaming: bool,
}

/// Reads whatever stdout and stderr of `ch` hold now into the run's ticket; true if any byte
/// came.
pub(crate) fn read(
    ticket: &Ticket,
    policy: OutputPolicy,
    ch: &mut RawChannel,
    scratch: &mut [u8],
) -> Result<bool, ChannelError> {
    let mut sink = Sink {
        slot: ticket.lock(),
        ticket,
        policy,
    };
    read_available(ch, &mut sink, scratch)
}

/// The ticket's slot, locked while a step reads into it.
struct Sink<'a> {
    slot: SlotGuard<'a>,
    ticket: &'a Ticket,
    policy: OutputPolicy,
}

impl Sink<'_> {
    /// False when a streaming caller is behind: stop reading until it catches up.
    fn has_room(&self) -> bool {
        if self.policy.streaming && self.slot.backlog_full() {
            self.ticket.set_paused();
            return false;
        }
        true
    }

    /// Output read through scratch: handed to a streaming caller, or (past the cap) dropped.
    fn take(&mut self, stream: Stream, bytes: &[u8]) {
        if self.policy.streaming {
            self.slot.push_chunk(stream, bytes);
        } else {
            *self.kept(stream).1 = true;
        }
    }

    fn kept(&mut self, stream: Stream) -> (&mut Vec<u8>, &mut bool) {
        let out = self.slot.kept();
        match stream {
            Stream::Stdout => (&mut out.stdout, &mut out.stdout_truncated),
            Stream::Stderr => (&mut out.stderr, &mut out.stderr_truncated),
        }
    }

    /// Bytes that may still be kept of `stream`: reads go straight into the output then.
    /// None when output is streamed, or the cap is reached (reads then go through scratch).
    fn room_to_keep(&mut self, stream: Stream) -> Option<usize> {
        if self.policy.streaming {
            return None;
        }
        let cap = self.policy.caps[stream as usize];
        let (into, _) = self.kept(stream);
        match cap {
            0 => Some(usize::MAX),
            cap => Some(cap.saturating_sub(into.len())).filter(|room| *room > 0),
        }
    }
}

/// Reads whatever stdout and stderr hold now; true if any byte came.
fn read_available(
    ch: &mut RawChannel,
    sink: &mut Sink<'_>,
    scratch: &mut [u8],
) -> Result<bool, ChannelError> {
    let (a, _) = drain(ch, Stream::Stdout, sink, scratch)?;
    // Draining stdout read everything the socket had; whatever is still queued is stderr.
    // (Skipping an empty stderr saves a read that would only end in EAGAIN.)
    if ch.queued() == 0 {
        return Ok(a);
    }
    let (b, drained) = drain(ch, Stream::Stderr, sink, scratch)?;
    // Extended data of a type other than stderr (RFC 4254 defines no other) stays queued
    // until someone reads that very type, and hides EOF meanwhile. Once stderr is drained,
    // whatever extended data is left is of such a type: it is dropped, as OpenSSH's client
    // drops it. (No stderr can slip in between: discarding does no I/O.)
    if drained && ch.queued() > 0 {
        // Would block: the window refund is sent on a later step's call.
        ch.discard_extended()?;
    }
    Ok(a || b)
}

/// Reads one stream until it would block, has nothing more, the sink is full or the step's
/// share is read. Returns (any byte came, the stream has nothing more now). Kept output is
/// read straight into its buffer; streamed or capped output goes through `scratch`.
fn drain(
    ch: &mut RawChannel,
    stream: Stream,
    sink: &mut Sink<'_>,
    scratch: &mut [u8],
) -> Result<(bool, bool), ChannelError> {
    let id = match stream {
        Stream::Stdout => 0,
        Stream::Stderr => 1,
    };
    let mut got = false;
    let mut budget = READ_PER_STEP;
    while budget > 0 && sink.has_room() {
        let n = match sink.room_to_keep(stream) {
            Some(room) => {
                let (into, _) = sink.kept(stream);
                ch.read_into(id, into, room.min(scratch.len()))?
            }
            None => {
                let n = ch.read(id, scratch)?;
                if let Some(n) = n.filter(|n| *n > 0) {
                    sink.take(stream, &scratch[..n]);
                }
                n
            }
        };
        match n {
            None | Some(0) => return Ok((got, true)),
            Some(n) => {
                got = true;
                budget = budget.saturating_sub(n);
            }
        }
    }
    Ok((got, false))
}
