//! One command on one channel: open → exec → EOF on stdin → read both streams to EOF → close →
//! wait for the server's close → exit status. Every step is non-blocking; `step` advances as
//! far as it can and reports whether it made progress.

use super::input::Input;
use super::job::{self, Job, RunJob};
use super::raw_channel::{ChannelError, RawChannel};
use super::sink::{self, OutputPolicy};
use crate::cancel::CancelToken;
use crate::error::{Error, ErrorKind};
use crate::output::Output;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    Open,
    Exec,
    /// Writing stdin (while reading output, so that neither side waits for the other).
    Feed,
    Eof,
    Read,
    Close,
    WaitClose,
}

impl Phase {
    /// What the command was doing, for timeout messages.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Phase::Open => "opening a channel",
            Phase::Exec | Phase::Eof => "starting the command",
            Phase::Feed => "writing its input",
            Phase::Read => "reading output",
            Phase::Close | Phase::WaitClose => "waiting for the command to exit",
        }
    }

    /// Whether the server has answered the exec request (the command is running, or ran).
    pub(crate) fn command_started(self) -> bool {
        !matches!(self, Phase::Open | Phase::Exec)
    }

    /// Whether the exec request may have reached the server (so the command may be running).
    pub(crate) fn command_sent(self) -> bool {
        !matches!(self, Phase::Open)
    }
}

/// Input bytes written per step before output is read again (a fairness bound: other runs
/// on the connection get their turn in between).
const FEED_PER_STEP: usize = 1024 * 1024;

/// How a step ended.
pub(crate) enum Step {
    /// Something advanced; step again before sleeping.
    Progress,
    /// Waiting on the socket.
    Blocked,
    /// The command finished.
    Done(Output),
    /// This command failed; the connection is fine.
    Failed(Error),
    /// The transport failed: the connection is dead. The text says what failed.
    Transport(String),
    /// The channel given to the task was stale; it goes back to waiting for a channel, and
    /// this one is to be closed.
    Reopen(RawChannel),
}

pub(crate) struct Task {
    pub job: Job,
    pub command: String,
    stdin: Input,
    cancel: Option<CancelToken>,
    /// Where output goes, and how much of it is kept.
    output: OutputPolicy,
    pub phase: Phase,
    pub channel: Option<RawChannel>,
    /// The channel was the connection's spare.
    from_spare: bool,
    /// The driver's own run (the kill script), not a caller's.
    internal: bool,
    /// The exec request has been sent in full.
    exec_out: bool,
    /// How many times the connection died while this task was opening its channel (a job
    /// whose channel never opened may be retried once on a new connection).
    pub attempts: u8,
}

/// The outcome of one libssh2 call inside a step.
enum Call {
    Advanced,
    /// Progress, but let the other tasks have their turn before reading again.
    Yield,
    WouldBlock,
    End(Step),
}

impl Task {
    pub(crate) fn new(job: Job, run: RunJob) -> Self {
        Task {
            job,
            command: run.command,
            stdin: run.stdin,
            cancel: run.cancel,
            output: OutputPolicy {
                caps: [run.max_output_bytes, run.max_stderr_bytes],
                streaming: run.streaming,
            },
            internal: run.internal,
            exec_out: false,
            phase: Phase::Open,
            channel: None,
            from_spare: false,
            attempts: 0,
        }
    }

    /// Why this run must stop now, if it must: its cancel token fired or its caller asked.
    pub(crate) fn stop_reason(&self) -> Option<&'static str> {
        job::stop_reason(&self.job.ticket, self.cancel.as_ref())
    }

    /// A streaming run whose caller has not caught up: reading waits for the caller.
    pub(crate) fn paused(&self) -> bool {
        self.output.streaming && self.job.ticket.backlog_full()
    }

    /// The driver's own run (the kill script), not a caller's.
    pub(crate) fn is_internal(&self) -> bool {
        self.internal
    }

    /// Whether the exec request has been sent in full (or answered).
    pub(crate) fn exec_sent(&self) -> bool {
        self.exec_out || self.phase.command_started()
    }

    /// The output so far, for a result that ends early.
    pub(crate) fn take_output(&mut self) -> Output {
        self.job.ticket.take_kept()
    }

    /// Whether this task waits for a channel (the event loop opens channels and hands them
    /// out: libssh2 keeps the state of a pending open in the session, so opens have one owner).
    pub(crate) fn wants_channel(&self) -> bool {
        self.phase == Phase::Open
    }

    /// Takes a channel: a fresh one, or the connection's spare (opened ahead of time, which
    /// saves the run a round trip).
    pub(crate) fn adopt(&mut self, channel: RawChannel, spare: bool) {
        self.channel = Some(channel);
        self.from_spare = spare;
        self.phase = Phase::Exec;
    }

    /// Advances as far as possible.
    pub(crate) fn step(&mut self, scratch: &mut [u8]) -> Step {
        let mut progressed = false;
        loop {
            let call = match (self.phase, self.channel.as_mut()) {
                (Phase::Open, _) => Call::WouldBlock,
                (_, None) => unreachable!("a task past Phase::Open has a channel"),
                (Phase::Exec, Some(ch)) => match ch.exec(&self.command) {
                    Ok(Some(())) if self.stdin.is_empty() => self.advance(Phase::Eof),
                    Ok(Some(())) => self.advance(Phase::Feed),
                    // No answer, and the server closed the spare meanwhile: the command did
                    // not start (a server ignores requests on a channel it has closed).
                    Ok(None) if self.from_spare && ch.eof() => {
                        self.from_spare = false;
                        self.phase = Phase::Open;
                        let stale = self.channel.take().expect("exec had a channel");
                        return Step::Reopen(stale);
                    }
                    Ok(None) => {
                        // The request is out once libssh2 waits for the answer, not to send.
                        self.exec_out |= !ch.send_blocked();
                        Call::WouldBlock
                    }
                    // A spare the server closed while it waited (say, sshd's ChannelTimeout):
                    // the command did not start; give it a fresh channel.
                    Err(e) if e.is_channel_level() && self.from_spare => {
                        self.from_spare = false;
                        self.phase = Phase::Open;
                        let stale = self.channel.take().expect("exec had a channel");
                        return Step::Reopen(stale);
                    }
                    Err(e) => Call::End(failure(e, "start the command")),
                },
                // The command gets EOF on stdin at once (like `ssh -n`), so that a command
                // reading stdin ends instead of waiting forever.
                (Phase::Eof, Some(ch)) => ignore_channel_error(ch.send_eof(), Phase::Read)
                    .map_or_else(Call::End, |next| {
                        next.map_or(Call::WouldBlock, |p| self.advance(p))
                    }),
                (Phase::Feed, Some(ch)) => {
                    // Write packets until the server's window is full (or a step's share is
                    // sent), then read, so that neither side waits for the other.
                    let mut wrote = false;
                    let mut budget = FEED_PER_STEP;
                    while !self.stdin.done() && budget > 0 {
                        let chunk = match self.stdin.pending() {
                            Ok([]) => break,
                            Ok(chunk) => chunk,
                            Err(e) => {
                                return Step::Failed(Error::invalid(format!(
                                    "cannot read the local file being sent: {e}"
                                )))
                            }
                        };
                        match ch.write(chunk) {
                            Ok(Some(n)) if n > 0 => {
                                self.stdin.advance(n);
                                budget = budget.saturating_sub(n);
                                wrote = true;
                            }
                            Ok(_) => break,
                            // The command closed its stdin (or exited): the rest is not wanted.
                            Err(e) if e.is_channel_level() => {
                                self.stdin.drop_rest();
                                wrote = true;
                            }
                            Err(e) => {
                                return Step::Transport(format!("writing input: {}", e.message))
                            }
                        }
                    }
                    let read = sink::read(&self.job.ticket, self.output, ch, scratch);
                    match read {
                        Err(e) => {
                            Call::End(Step::Transport(format!("reading output: {}", e.message)))
                        }
                        Ok(_) if self.stdin.done() => {
                            self.stdin.drop_rest();
                            self.advance(Phase::Eof)
                        }
                        Ok(read) if read || wrote => Call::Advanced,
                        // The server's window is full and its output has ended: if it has
                        // also closed the channel, the command exited without reading the rest
                        // of its input, which is then dropped.
                        Ok(_) if ch.eof() => match ch.wait_closed() {
                            Ok(None) => Call::WouldBlock,
                            Err(e) if !e.is_channel_level() => {
                                Call::End(Step::Transport(e.message))
                            }
                            Ok(Some(())) | Err(_) => {
                                self.stdin.drop_rest();
                                self.advance(Phase::Eof)
                            }
                        },
                        Ok(_) => Call::WouldBlock,
                    }
                }
                (Phase::Read, Some(ch)) => {
                    let read = sink::read(&self.job.ticket, self.output, ch, scratch);
                    match read {
                        Err(e) => {
                            Call::End(Step::Transport(format!("reading output: {}", e.message)))
                        }
                        Ok(_) if ch.eof() => self.advance(Phase::Close),
                        // More may come: the pump steps this task again after the others.
                        Ok(true) => Call::Yield,
                        Ok(false) => Call::WouldBlock,
                    }
                }
                (Phase::Close, Some(ch)) => ignore_channel_error(ch.close(), Phase::WaitClose)
                    .map_or_else(Call::End, |next| {
                        next.map_or(Call::WouldBlock, |p| self.advance(p))
                    }),
                (Phase::WaitClose, Some(ch)) => match ch.wait_closed() {
                    Ok(None) => Call::WouldBlock,
                    // Data after EOF (a protocol violation) undoes libssh2's EOF, and waiting
                    // for the close then fails: the data is output all the same, so read it;
                    // the server's CLOSE sets EOF again.
                    Err(e) if e.is_not_at_eof() => {
                        let read = sink::read(&self.job.ticket, self.output, ch, scratch);
                        match read {
                            Err(e) => Call::End(Step::Transport(e.message)),
                            Ok(true) => Call::Advanced,
                            Ok(false) => Call::WouldBlock,
                        }
                    }
                    Err(e) if !e.is_channel_level() => Call::End(Step::Transport(e.message)),
                    Ok(Some(())) | Err(_) => {
                        // Data sent after EOF may have come with the close: it is output too.
                        let read = sink::read(&self.job.ticket, self.output, ch, scratch);
                        match read {
                            Err(e) if !e.is_channel_level() => {
                                Call::End(Step::Transport(e.message))
                            }
                            Ok(true) => Call::Advanced,
                            // A streaming caller that is behind gets the rest later.
                            Ok(false) if self.paused() => Call::WouldBlock,
                            Ok(false) | Err(_) => Call::End(Step::Done(self.finish())),
                        }
                    }
                },
            };
            match call {
                Call::Advanced => progressed = true,
                Call::Yield => return Step::Progress,
                Call::WouldBlock if progressed => return Step::Progress,
                Call::WouldBlock => return Step::Blocked,
                Call::End(step) => return step,
            }
        }
    }

    fn advance(&mut self, next: Phase) -> Call {
        self.phase = next;
        Call::Advanced
    }

    /// Exit status after the close handshake. A signal means the exit code is unknown.
    fn finish(&mut self) -> Output {
        let ch = self.channel.take().expect("finishing needs a channel");
        // An exit-signal without a name says nothing: the status is then unknown, as it is
        // when the server sent neither (never 0 by default).
        let exit_signal = ch.exit_signal().filter(|name| !name.is_empty());
        let exit_code = match exit_signal {
            Some(_) => None,
            None => ch.exit_status(),
        };
        Output {
            exit_code,
            exit_signal,
            ..self.take_output()
        }
    }
}

/// For steps whose channel-level failure does not matter (EOF, close): on such an error go on
/// to `next` anyway. `Ok(None)`: would block.
fn ignore_channel_error(
    r: Result<Option<()>, ChannelError>,
    next: Phase,
) -> Result<Option<Phase>, Step> {
    match r {
        Ok(Some(())) => Ok(Some(next)),
        Ok(None) => Ok(None),
        Err(e) if e.is_channel_level() => Ok(Some(next)),
        Err(e) => Err(Step::Transport(e.message)),
    }
}

/// A channel-level refusal fails this run; anything else means the transport is gone.
pub(crate) fn failure(e: ChannelError, what: &str) -> Step {
    if e.is_channel_level() {
        Step::Failed(Error::new(
            ErrorKind::ChannelFailed,
            format!("server refused to {what}: {}", e.message),
        ))
    } else {
        Step::Transport(e.message)
    }
}
