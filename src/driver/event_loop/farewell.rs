//! Ending a connection because of close() or free: every call ends at once, and commands that
//! may still run are killed on the guest before the connection goes (see reaper.rs).

use std::time::Instant;

use super::super::job::Job;
use super::super::task::Task;
use super::{closed_by_close, Farewell, Loop, FAREWELL};
use crate::error::{Error, ErrorKind};
use crate::log::LogLevel;
use crate::output::Output;

impl Loop {
    /// Starts ending the connection because of close() (`close`) or free (`None`): every
    /// call ends at once, and commands that may be running are killed before the connection
    /// goes, within `FAREWELL`. False when there was nothing to stop: a close is then done at
    /// once (and answered); for free the caller ends the connection.
    pub(super) fn begin_farewell(&mut self, close: Option<Job>) -> bool {
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
        self.log(LogLevel::Info, || {
            format!("{}: killing the commands still running", why.message())
        });
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
        self.end_tunnels(&why, now);
        self.farewell = Some(Farewell {
            until: now + FAREWELL,
            close,
        });
        true
    }

    /// Whether an ending connection may go: its commands were killed, or time is up.
    pub(super) fn farewell_done(&self, now: Instant) -> bool {
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

    pub(super) fn end_farewell(&mut self) {
        self.drop_conn(true);
        // Runs asked for after close() start on a new connection.
        self.active.retain(|t| !t.is_internal());
        if let Some(job) = self.farewell.take().and_then(|f| f.close) {
            job.finish(Ok(Output::default()));
        }
    }
}
