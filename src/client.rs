//! `Client`: the Rust API. It validates, wraps the command for the shell and hands the work
//! to the connection's driver; it never touches the SSH session itself.

use std::time::{Duration, Instant};

use std::ops::ControlFlow;
use std::sync::Arc;

use crate::cancel::CancelToken;
use crate::cancel::Wake;
use crate::config::Config;
use crate::driver::{deadline_after, Driver, Event, Input, Job, Request, RunJob};
use crate::error::{Error, ErrorKind, Result};
use crate::output::{Output, Stream};
use crate::shell::{self, ShellMode};

/// Options of one run. `RunOptions::default()` is the reference's: 30 s, login shell.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Bounds the whole call: connecting if needed, starting the command, feeding its input and
    /// reading all of its output. At least 1 s; default 30 s.
    pub timeout: Duration,
    /// Login-shell wrapping or raw; default login.
    pub mode: ShellMode,
    /// Bytes fed to the command's stdin (while its output is read), then EOF. `None`: stdin
    /// is closed at once, like `ssh -n`.
    pub stdin: Option<Vec<u8>>,
    /// Environment variables for this run, set by the command itself (quoted for the client's
    /// shell kind; see `env.rs`), since sshd refuses most `env` requests. They are part of the
    /// command line, which the guest's other users can read: use `secret_env` for secrets.
    pub env: Vec<(String, String)>,
    /// Environment variables whose values must not appear in the guest's process table: sent
    /// on the command's stdin ahead of its own input and read by the command (POSIX guests).
    pub secret_env: Vec<(String, crate::Secret)>,
    /// Cancels the run from another thread.
    pub cancel: Option<CancelToken>,
    /// Overrides the client's `max_output_bytes` for this run (0 = no limit).
    pub max_output_bytes: Option<usize>,
}

/// Longest command (after login-shell wrapping) sent in one exec request. libssh2 builds each
/// outgoing packet in a 35000-byte buffer; a longer request fails inside libssh2 as if the
/// transport had broken, which would end every run sharing the connection.
pub const MAX_COMMAND_BYTES: usize = 32 * 1024;

/// The reference client's default run timeout.
pub const DEFAULT_RUN_TIMEOUT: Duration = Duration::from_secs(30);

impl Default for RunOptions {
    /// 30 s, login shell, stdin closed, no extra environment, no cancel token.
    fn default() -> Self {
        RunOptions {
            timeout: DEFAULT_RUN_TIMEOUT,
            mode: ShellMode::Login,
            stdin: None,
            env: Vec::new(),
            secret_env: Vec::new(),
            cancel: None,
            max_output_bytes: None,
        }
    }
}

/// A streaming run's output callback.
type OnOutput<'a> = dyn FnMut(Stream, &[u8]) -> ControlFlow<()> + 'a;

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
    /// Idle SFTP sessions kept for the next file operation (see sftp/).
    pub(crate) sftp: crate::sftp::Pool,
}

impl Client {
    /// Checks `config` (see [`Config::validate`]); does not connect.
    pub fn new(config: Config) -> Result<Self> {
        config.validate()?;
        Ok(Client {
            driver: Driver::new(config)?,
            sftp: crate::sftp::Pool::default(),
        })
    }

    pub fn config(&self) -> &Config {
        self.driver.config()
    }

    /// Runs `command` and returns its exit status and every byte of its output. Connects
    /// first if there is no live connection. A command is never sent twice.
    pub fn run(&self, command: &str, options: &RunOptions) -> Result<Output> {
        self.run_job(command, options, None, None, None)
    }

    /// Like [`Client::run`], but hands each chunk of output to `on_output` as it arrives, on
    /// this thread, in order; the returned `Output` then holds no stdout/stderr bytes. When
    /// `on_output` returns `ControlFlow::Break`, the command is stopped and the run ends with
    /// [`ErrorKind::Cancelled`]. The same deadline bounds the whole call; a callback slower than
    /// the command makes the server wait (at most 4 MiB wait here), not memory grow.
    pub fn run_streaming(
        &self,
        command: &str,
        options: &RunOptions,
        on_output: impl FnMut(Stream, &[u8]) -> ControlFlow<()>,
    ) -> Result<Output> {
        self.run_job(command, options, None, None, Some(&mut { on_output }))
    }

    /// `run` or `run_streaming`; `stderr_cap` overrides the stderr cap (transfers keep little
    /// of it); `file` is sent on stdin after `options.stdin` (uploads stream from disk).
    pub(crate) fn run_job(
        &self,
        command: &str,
        options: &RunOptions,
        stderr_cap: Option<usize>,
        file: Option<std::fs::File>,
        on_output: Option<&mut OnOutput<'_>>,
    ) -> Result<Output> {
        let (request, ticket) = self.prepare_run(
            command,
            options,
            stderr_cap,
            file,
            on_output.is_some(),
            options.cancel.clone(),
        )?;
        self.submit_and_wait(request, ticket, on_output)
    }

    /// Checks and wraps a run into a request for the driver (not yet submitted), with the
    /// ticket its answer will land on; `cancel` is the token the run obeys.
    pub(crate) fn prepare_run(
        &self,
        command: &str,
        options: &RunOptions,
        stderr_cap: Option<usize>,
        file: Option<std::fs::File>,
        streaming: bool,
        cancel: Option<CancelToken>,
    ) -> Result<(Request, Arc<crate::driver::Ticket>)> {
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
        let kind = self.config().shell_kind;
        let command = crate::env::with_env(command, &options.env, kind)?;
        let (command, secret_stdin) =
            crate::env::with_secret_env(&command, &options.secret_env, kind)?;
        let wrapped = shell::wrap(&command, kind, options.mode);
        if wrapped.len() > MAX_COMMAND_BYTES {
            return Err(Error::invalid(format!(
                "command is {} bytes once wrapped; at most {MAX_COMMAND_BYTES} fit in one SSH \
                 exec request (send a script instead)",
                wrapped.len()
            )));
        }
        if let Some(token) = &cancel {
            if token.is_cancelled() {
                return Err(Error::new(
                    ErrorKind::Cancelled,
                    "cancelled before it started; the command was not sent",
                ));
            }
            let driver: Arc<dyn Wake> = self.driver.shared().clone();
            token.register(Arc::downgrade(&driver));
        }
        let cap = options
            .max_output_bytes
            .unwrap_or(self.config().max_output_bytes);
        let run = RunJob {
            command: wrapped,
            // Secret values first, then the caller's bytes, then an upload's file.
            stdin: {
                let mut bytes = secret_stdin;
                bytes.extend_from_slice(options.stdin.as_deref().unwrap_or_default());
                Input::new(bytes, file)
            },
            cancel,
            streaming,
            max_output_bytes: cap,
            max_stderr_bytes: stderr_cap.unwrap_or(cap),
            internal: false,
        };
        let start = Instant::now();
        let job = Job::new(start, deadline_after(start, options.timeout));
        let ticket = Arc::clone(&job.ticket);
        Ok((Request::Run(job, run), ticket))
    }

    /// Hands a prepared request to the driver without waiting.
    pub(crate) fn submit_request(&self, request: Request) -> Result<()> {
        self.driver.submit(request)
    }

    /// Submits requests from another thread (a forward's listener).
    pub(crate) fn submitter(&self) -> Result<crate::driver::DriverSubmitter> {
        self.driver.submitter()
    }

    /// Asks the driver for a tunnel over `stream` and waits until its channel is open.
    pub(crate) fn open_tunnel(
        &self,
        tunnel: crate::driver::TunnelJob,
        timeout: Duration,
    ) -> Result<()> {
        let start = Instant::now();
        let job = Job::new(start, deadline_after(start, timeout));
        let ticket = Arc::clone(&job.ticket);
        self.submit_and_wait(Request::Tunnel(job, tunnel), ticket, None)
            .map(|_| ())
    }

    /// One connect attempt bounded by `deadline` (and the connect timeout).
    pub(crate) fn connect_once(&self, deadline: Instant) -> Result<()> {
        let job = Job::new(Instant::now(), deadline);
        let ticket = Arc::clone(&job.ticket);
        self.submit_and_wait(Request::Connect(job), ticket, None)
            .map(|_| ())
    }

    /// The host key the server presented at the last connect, accepted or not (so that a
    /// caller can show the fingerprint of a key it refused, and pin it once verified).
    pub fn host_key(&self) -> Option<crate::HostKey> {
        self.driver.host_key()
    }

    /// The cipher negotiated by the current (or last) connection, e.g. "aes128-ctr".
    pub fn cipher(&self) -> Option<String> {
        self.driver.cipher()
    }

    /// The client is being freed (a wait in progress ends).
    pub(crate) fn shutting_down(&self) -> bool {
        self.driver.shutting_down()
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
        let job = Job::new(now, now + CLOSE_WAIT);
        let ticket = Arc::clone(&job.ticket);
        if self.driver.submit(Request::Close(job)).is_ok() {
            let _ = ticket.wait_until(now + CLOSE_WAIT);
        }
    }

    /// Submits and waits for the verdict until the deadline (plus a grace for the driver's own
    /// verdict), handing streamed chunks to `on_output` on the way.
    /// Starts freeing: runs in flight end as disconnected at once and new ones are refused.
    /// (For the C ABI, which may free a client while other threads are still in calls.)
    pub(crate) fn shutdown(&self) {
        self.driver.shutdown();
    }

    fn submit_and_wait(
        &self,
        request: Request,
        ticket: Arc<crate::driver::Ticket>,
        mut on_output: Option<&mut OnOutput<'_>>,
    ) -> Result<Output> {
        let (submitted, deadline) = (request.job().submitted, request.job().deadline);
        self.driver.submit(request)?;
        // Streamed output that arrived but could not be handed to the callback before the
        // deadline: it comes back in the result instead of being lost.
        let mut undelivered = Output::default();
        let mut until = deadline + VERDICT_GRACE;
        loop {
            match ticket.wait_event(until) {
                Some(Event::Done(result)) => {
                    return streamed_result(result, undelivered, deadline, submitted)
                }
                Some(Event::Chunks(chunks)) => {
                    for (stream, bytes) in chunks {
                        // A callback slower than the output must not stretch the call: past
                        // the deadline, chunks are kept for the result instead.
                        if Instant::now() >= deadline {
                            undelivered.append(stream, &bytes);
                            continue;
                        }
                        let stop = match on_output.as_mut() {
                            Some(f) if !ticket.stop_requested() => f(stream, &bytes).is_break(),
                            _ => false,
                        };
                        if stop {
                            ticket.request_stop();
                            self.driver.wake();
                        }
                    }
                    if ticket.take_paused() {
                        self.driver.wake();
                    }
                }
                None => {
                    // The driver has not answered by the deadline (it may be busy connecting
                    // for another caller). If it never started this job, it never will: the
                    // command was not sent. Otherwise give its own verdict one more grace.
                    if !ticket.abandon() && until < deadline + 2 * VERDICT_GRACE {
                        until = deadline + 2 * VERDICT_GRACE;
                        continue;
                    }
                    let budget = deadline.saturating_duration_since(submitted);
                    let message = if ticket.is_abandoned() {
                        format!(
                            "timed out after {:.1} s waiting for the connection; the command was not sent",
                            budget.as_secs_f64()
                        )
                    } else {
                        format!(
                            "timed out after {:.1} s; the driver did not report the command's end",
                            budget.as_secs_f64()
                        )
                    };
                    // Every byte that reached the client so far comes back all the same.
                    let mut partial = ticket.take_kept();
                    partial.append(Stream::Stdout, &undelivered.stdout);
                    partial.append(Stream::Stderr, &undelivered.stderr);
                    return Err(Error::new(ErrorKind::Timeout, message)
                        .with_partial(partial)
                        .with_elapsed(submitted.elapsed()));
                }
            }
        }
    }
}

/// The result of a call whose streamed output the callback may not all have had: output left
/// undelivered at the deadline is returned in the (partial) output, and a command that
/// completed while its callback was behind is reported as a timeout of the call.
fn streamed_result(
    result: Result<Output>,
    undelivered: Output,
    deadline: Instant,
    submitted: Instant,
) -> Result<Output> {
    if undelivered.stdout.is_empty() && undelivered.stderr.is_empty() {
        return result;
    }
    let budget = deadline.saturating_duration_since(submitted).as_secs_f64();
    let err = match result {
        Ok(out) => {
            let exit = match (&out.exit_code, &out.exit_signal) {
                (Some(code), _) => format!("exited with status {code}"),
                (None, Some(signal)) => format!("was killed by signal {signal}"),
                (None, None) => "ended without an exit status".to_owned(),
            };
            Error::new(
                ErrorKind::Timeout,
                format!(
                    "timed out after {budget:.1} s handing output to the callback (the command \
                     {exit}); the output not handed over is in the partial output"
                ),
            )
            .with_elapsed(out.elapsed)
        }
        Err(err) => err,
    };
    Err(err.with_more_output(&undelivered))
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
