//! What a loop sleeps on until the socket, a caller or the nearest deadline needs attention
//! (the driver thread then sleeps on it with its other clients').

use std::time::Instant;

use ssh2::BlockDirections;

use super::super::liveness::Liveness;
use super::super::poll::Interest;
use super::super::task::Task;
use super::{Loop, Next};

impl Loop {
    /// Sets what the loop sleeps on (`watched`) and returns until when.
    pub(super) fn sleep(&mut self) -> Next {
        self.watched.clear();
        self.watching_idle = false;
        // The connection died during this turn with work still waiting (a run kept for its
        // one retry): reconnect at once rather than wait for a wake-up that may never come.
        if self.conn.is_none() && self.needs_connection() {
            return Next::Again;
        }
        let earliest = |a: Option<Instant>, b: Option<Instant>| match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let mut deadline = self.queue.iter().map(|r| r.job().deadline).min();
        let opens = self
            .tunnels
            .iter()
            .filter_map(|t| t.job().map(|j| j.deadline));
        deadline = earliest(deadline, opens.min());
        let streams = self.tunnels.iter().filter_map(|t| t.interest());
        self.watched.extend(streams);
        deadline = earliest(deadline, self.farewell.as_ref().map(|f| f.until));
        if let Some(conn) = &self.conn {
            let asking = self.liveness.as_ref().is_some_and(Liveness::asking);
            // Runs whose streaming callers are behind read nothing: their data waits at the
            // server, and a readable socket must not make the loop spin.
            let all_paused = self.active.iter().all(Task::paused);
            let busy = !(self.active.is_empty() || all_paused)
                || self.pool.busy()
                || asking
                || self.tunnels.iter().any(|t| t.wants_socket());
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
            self.watched.push((conn.fd(), interest));
            self.watching_idle = !busy;
        }
        Next::Sleep(deadline)
    }
}
