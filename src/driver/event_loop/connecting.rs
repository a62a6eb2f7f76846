//! The loop's connect: one attempt against the connect deadline (or a wait_for_ssh call's),
//! during which the calls waiting for the connection still end on time and close/free abort it.

use std::sync::Arc;
use std::time::Instant;

use super::super::connect::{self, Attempt};
use super::super::expiry::{expire_queued, expire_unsent};
use super::super::job::{deadline_after, Request};
use super::super::liveness::Liveness;
use super::Loop;
use crate::error::ErrorKind;
use crate::log::LogLevel;

impl Loop {
    pub(super) fn connect(&mut self) {
        // Made only when a log function will use it.
        let target = || {
            self.config
                .transport
                .describe(&self.config.host, self.config.port)
        };
        let started = Instant::now();
        self.log(LogLevel::Info, || match self.connects {
            0 => format!("connecting to {}", target()),
            n => format!("reconnecting to {} (connection {})", target(), n + 1),
        });
        let budget = self.config.connect_timeout;
        let mut deadline = deadline_after(Instant::now(), budget);
        // A wait_for_ssh attempt bounds the connect by its own deadline.
        if self.active.is_empty() && self.queue.iter().all(|r| matches!(r, Request::Connect(_))) {
            if let Some(latest) = self.queue.iter().map(|r| r.job().deadline).max() {
                deadline = deadline.min(latest);
            }
        }
        let shared = Arc::clone(&self.shared);
        let abort = move || {
            let inbox = shared.inbox();
            inbox.shutdown
                || inbox
                    .requests
                    .iter()
                    .any(|r| matches!(r, Request::Close(_)))
        };
        // While connecting, the calls waiting for the connection still end on time, new ones
        // included (a close stays in the inbox: `abort` sees it).
        let (queue, active, shared) = (&mut self.queue, &mut self.active, &self.shared);
        let mut tick = |now: Instant| {
            {
                let mut inbox = shared.inbox();
                let until_close = inbox
                    .requests
                    .iter()
                    .position(|r| matches!(r, Request::Close(_)))
                    .unwrap_or(inbox.requests.len());
                queue.extend(inbox.requests.drain(..until_close));
            }
            expire_queued(queue, now);
            expire_unsent(active, now);
            let queued = queue.iter().map(|r| r.job().deadline);
            queued.chain(active.iter().map(|t| t.job.deadline)).min()
        };
        let attempt = Attempt {
            deadline,
            budget: budget.min(deadline.saturating_duration_since(Instant::now())),
            waker: &self.shared.waker,
            abort: &abort,
            tick: std::cell::RefCell::new(&mut tick),
        };
        let mut seen = None;
        let result = connect::connect(&self.config, &mut self.remembered_key, &mut seen, &attempt);
        if seen.is_some() {
            self.shared.set_host_key(seen);
        }
        match result {
            Ok(conn) => {
                self.connects += 1;
                self.log(LogLevel::Info, || {
                    format!(
                        "connected to {} in {} ms (cipher {})",
                        target(),
                        started.elapsed().as_millis(),
                        conn.cipher().as_deref().unwrap_or("unknown")
                    )
                });
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
            Err(err) => {
                let level = match err.kind() {
                    ErrorKind::HostKeyRejected | ErrorKind::AuthFailed => LogLevel::Error,
                    _ => LogLevel::Warning,
                };
                self.log(level, || format!("connect failed: {err}"));
                self.fail_all(&err);
            }
        }
    }
}
