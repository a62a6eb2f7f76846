//! Sleeping until the socket, a caller or the nearest deadline needs attention.

use std::time::Instant;

use ssh2::BlockDirections;

use super::super::liveness::Liveness;
use super::super::poll::{self, Interest};
use super::super::task::Task;
use super::Loop;

impl Loop {
    /// Sleeps until the socket, a caller or the nearest deadline needs attention.
    pub(super) fn sleep(&mut self) {
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
        let opens = self
            .tunnels
            .iter()
            .filter_map(|t| t.job().map(|j| j.deadline));
        deadline = earliest(deadline, opens.min());
        let streams: Vec<_> = self.tunnels.iter().filter_map(|t| t.interest()).collect();
        deadline = earliest(deadline, self.farewell.as_ref().map(|f| f.until));
        let socket = match &self.conn {
            None => None,
            Some(conn) => {
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
                Some((conn.fd(), interest, busy))
            }
        };
        let ready = match poll::wait(
            &self.shared.waker,
            socket.map(|(fd, interest, _)| (fd, interest)),
            &streams,
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
