//! `Client`: the Rust API. It validates, wraps the command for the shell and hands the work
//! to the connection's driver; it never touches the SSH session itself.

use std::time::{Duration, Instant};

use crate::config::Config;
use crate::driver::{deadline_after, Driver, Job, JobKind};
use crate::error::{Error, ErrorKind, Result};
use crate::output::Output;
use crate::shell::{self, ShellMode};

/// Options of one run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunOptions {
    /// Bounds the whole call: connecting if needed, starting the command and reading all of
    /// its output. At least 1 s; default 30 s.
    pub timeout: Duration,
    /// Login-shell wrapping or raw; default login.
    pub mode: ShellMode,
}

/// Longest command (after login-shell wrapping) sent in one exec request. libssh2 builds each
/// outgoing packet in a 35000-byte buffer; a longer request fails inside libssh2 as if the
/// transport had broken, which would end every run sharing the connection.
pub const MAX_COMMAND_BYTES: usize = 32 * 1024;

/// The reference client's default run timeout.
pub const DEFAULT_RUN_TIMEOUT: Duration = Duration::from_secs(30);

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            timeout: DEFAULT_RUN_TIMEOUT,
            mode: ShellMode::Login,
        }
    }
}

/// How long a caller waits past its deadline for the driver's own verdict before it reports
/// the timeout itself.
const VERDICT_GRACE: Duration = Duration::from_millis(250);
/// How long `close` waits for the driver to confirm.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// Runs commands on one guest over one persistent SSH connection.
///
/// Thread-safe: `run` may be called from many threads at once; the commands share the one
/// connection. Nothing connects until the first `run` or `wait_for_ssh`. Dropping the client
/// ends its connection and joins its driver thread.
pub struct Client {
    driver: Driver,
}

impl Client {
    /// Checks `config` (see [`Config::validate`]); does not connect.
    pub fn new(config: Config) -> Result<Self> {
        config.validate()?;
        Ok(Client {
            driver: Driver::new(config)?,
        })
    }

    pub fn config(&self) -> &Config {
        self.driver.config()
    }

    /// Runs `command` and returns its exit status and every byte of its output. Connects
    /// first if there is no live connection. A command is never sent twice.
    pub fn run(&self, command: &str, options: &RunOptions) -> Result<Output> {
        if command.trim().is_empty() {
            return Err(Error::invalid(
                "command must not be empty or only whitespace",
            ));
        }
        if command.contains('\0') {
            return Err(Error::invalid("command must not contain NUL"));
        }
        if options.timeout < Duration::from_secs(1) {
            return Err(Error::invalid(format!(
                "timeout must be at least 1 s (got {} ms)",
                options.timeout.as_millis()
            )));
        }
        let wrapped = shell::wrap(command, self.config().shell_kind, options.mode);
        if wrapped.len() > MAX_COMMAND_BYTES {
            return Err(Error::invalid(format!(
                "command is {} bytes once wrapped; at most {MAX_COMMAND_BYTES} fit in one SSH \
                 exec request (send a script instead)",
                wrapped.len()
            )));
        }
        let start = Instant::now();
        let job = Job::new(
            JobKind::Run(wrapped),
            start,
            deadline_after(start, options.timeout),
        );
        self.submit_and_wait(job)
    }

    /// The reference `wait_for_ssh`: probes the port until it answers with an SSH banner, then
    /// retries a full connect (handshake and auth) until one succeeds, with backoff from
    /// 20 ms growing ×1.5 up to `interval`, all within `timeout`. The connection stays open.
    ///
    /// Failures that waiting cannot cure (a rejected host key, invalid options) return at once.
    pub fn wait_for_ssh(&self, timeout: Duration, interval: Duration) -> Result<()> {
        crate::wait::wait_for_ssh(self, timeout, interval)
    }

    /// One connect attempt bounded by `deadline` (and the connect timeout).
    pub(crate) fn connect_once(&self, deadline: Instant) -> Result<()> {
        let job = Job::new(JobKind::Connect, Instant::now(), deadline);
        self.submit_and_wait(job).map(|_| ())
    }

    /// True while the transport is alive.
    pub fn is_connected(&self) -> bool {
        self.driver.connected()
    }

    /// Closes the connection; runs in flight end as disconnected. Idempotent; the next run
    /// reconnects.
    pub fn close(&self) {
        if !self.driver.started() {
            return;
        }
        let now = Instant::now();
        let job = Job::new(JobKind::Close, now, now + CLOSE_WAIT);
        let ticket = std::sync::Arc::clone(&job.ticket);
        if self.driver.submit(job).is_ok() {
            let _ = ticket.wait_until(now + CLOSE_WAIT);
        }
    }

    fn submit_and_wait(&self, job: Job) -> Result<Output> {
        let ticket = std::sync::Arc::clone(&job.ticket);
        let (submitted, deadline) = (job.submitted, job.deadline);
        self.driver.submit(job)?;
        if let Some(result) = ticket.wait_until(deadline + VERDICT_GRACE) {
            return result;
        }
        // The driver has not answered by the deadline (it may be busy connecting for another
        // caller). If it never started this job, it never will: the command was not sent.
        let budget = deadline.saturating_duration_since(submitted);
        let message = if ticket.abandon() {
            format!(
                "timed out after {:.1} s waiting for the connection; the command was not sent",
                budget.as_secs_f64()
            )
        } else if let Some(result) = ticket.wait_until(Instant::now() + VERDICT_GRACE) {
            return result;
        } else {
            format!(
                "timed out after {:.1} s; the driver did not report the command's end",
                budget.as_secs_f64()
            )
        };
        Err(Error::new(ErrorKind::Timeout, message).with_elapsed(submitted.elapsed()))
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let c = self.config();
        f.debug_struct("Client")
            .field("host", &c.host)
            .field("port", &c.port)
            .field("user", &c.user)
            .field("connected", &self.is_connected())
            .finish()
    }
}
