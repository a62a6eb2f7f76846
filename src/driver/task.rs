//! One command on one channel: open → exec → EOF on stdin → read both streams to EOF → close →
//! wait for the server's close → exit status. Every step is non-blocking; `step` advances as
//! far as it can and reports whether it made progress.

use std::io::{self, Read};

use ssh2::{Channel, Session};

use super::job::Job;
use super::ssh_error::{code, code_of, is_channel_level, nb, would_block};
use crate::error::{Error, ErrorKind};
use crate::output::Output;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    Open,
    Exec,
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
            Phase::Read => "reading output",
            Phase::Close | Phase::WaitClose => "waiting for the command to exit",
        }
    }
}

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
}

pub(crate) struct Task {
    pub job: Job,
    pub command: String,
    pub phase: Phase,
    pub channel: Option<Channel>,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    /// How many times the channel open was attempted (a job whose channel never opened may be
    /// retried once on a new connection).
    pub attempts: u8,
}

impl Task {
    pub(crate) fn new(job: Job, command: String) -> Self {
        Task {
            job,
            command,
            phase: Phase::Open,
            channel: None,
            stdout: Vec::new(),
            stderr: Vec::new(),
            attempts: 0,
        }
    }

    /// The output so far, for a result that ends early.
    pub(crate) fn take_output(&mut self) -> (Vec<u8>, Vec<u8>) {
        (
            std::mem::take(&mut self.stdout),
            std::mem::take(&mut self.stderr),
        )
    }

    /// Advances as far as possible. `may_open`: whether this task holds the session's one
    /// channel-open slot (libssh2 keeps the state of a pending open in the session).
    pub(crate) fn step(&mut self, session: &Session, may_open: bool, scratch: &mut [u8]) -> Step {
        let mut progressed = false;
        loop {
            let advanced = match self.phase {
                Phase::Open => {
                    if !may_open {
                        return Step::Blocked;
                    }
                    match nb(session.channel_session()) {
                        Ok(Some(ch)) => {
                            self.channel = Some(ch);
                            self.phase = Phase::Exec;
                            true
                        }
                        Ok(None) => false,
                        Err(e) if code_of(&e) == code::CHANNEL_FAILURE => {
                            return Step::Failed(channel_failed("open a session channel", &e))
                        }
                        Err(e) => return Step::Transport(e.message().to_owned()),
                    }
                }
                Phase::Exec => match nb(exec(&mut self.channel, &self.command)) {
                    Ok(Some(())) => {
                        self.phase = Phase::Eof;
                        true
                    }
                    Ok(None) => false,
                    Err(e) if is_channel_level(&e) => {
                        return Step::Failed(channel_failed("start the command", &e))
                    }
                    Err(e) => return Step::Transport(e.message().to_owned()),
                },
                // The command gets EOF on stdin at once (like `ssh -n`), so that a command
                // reading stdin ends instead of waiting forever.
                Phase::Eof => match nb(self.ch().send_eof()) {
                    Ok(Some(())) => {
                        self.phase = Phase::Read;
                        true
                    }
                    Ok(None) => false,
                    Err(e) if is_channel_level(&e) => {
                        self.phase = Phase::Read;
                        true
                    }
                    Err(e) => return Step::Transport(e.message().to_owned()),
                },
                Phase::Read => match self.read_streams(scratch) {
                    Ok(got) => {
                        if self.ch().eof() {
                            self.phase = Phase::Close;
                            true
                        } else {
                            got
                        }
                    }
                    Err(e) => return Step::Transport(format!("reading output: {e}")),
                },
                Phase::Close => match nb(self.ch().close()) {
                    Ok(Some(())) => {
                        self.phase = Phase::WaitClose;
                        true
                    }
                    Ok(None) => false,
                    Err(e) if is_channel_level(&e) => {
                        self.phase = Phase::WaitClose;
                        true
                    }
                    Err(e) => return Step::Transport(e.message().to_owned()),
                },
                Phase::WaitClose => match nb(self.ch().wait_close()) {
                    Ok(Some(())) => return Step::Done(self.finish()),
                    Ok(None) => false,
                    Err(e) if is_channel_level(&e) => return Step::Done(self.finish()),
                    Err(e) => return Step::Transport(e.message().to_owned()),
                },
            };
            if !advanced {
                return if progressed {
                    Step::Progress
                } else {
                    Step::Blocked
                };
            }
            progressed = true;
        }
    }

    fn ch(&mut self) -> &mut Channel {
        self.channel
            .as_mut()
            .expect("a task past Phase::Open has a channel")
    }

    /// Reads whatever stdout and stderr hold now. Ok(true) if any byte came.
    fn read_streams(&mut self, scratch: &mut [u8]) -> io::Result<bool> {
        let ch = self.channel.as_ref().expect("reading needs a channel");
        let a = drain(&mut ch.stream(0), &mut self.stdout, scratch)?;
        let b = drain(&mut ch.stderr(), &mut self.stderr, scratch)?;
        Ok(a || b)
    }

    /// Exit status after the close handshake. A signal means the exit code is unknown.
    fn finish(&mut self) -> Output {
        let ch = self.channel.take().expect("finishing needs a channel");
        let exit_signal = ch.exit_signal().ok().and_then(|s| s.exit_signal);
        let exit_code = match exit_signal {
            Some(_) => None,
            None => ch.exit_status().ok(),
        };
        let (stdout, stderr) = self.take_output();
        Output {
            exit_code,
            exit_signal,
            stdout,
            stderr,
            elapsed: Default::default(),
        }
    }
}

/// Reads one stream until it would block or ends; true if any byte came.
fn drain(stream: &mut impl Read, into: &mut Vec<u8>, scratch: &mut [u8]) -> io::Result<bool> {
    let mut got = false;
    loop {
        match stream.read(scratch) {
            Ok(0) => return Ok(got),
            Ok(n) => {
                into.extend_from_slice(&scratch[..n]);
                got = true;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(got),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

fn exec(channel: &mut Option<Channel>, command: &str) -> Result<(), ssh2::Error> {
    channel
        .as_mut()
        .expect("a task past Phase::Open has a channel")
        .exec(command)
}

fn channel_failed(what: &str, e: &ssh2::Error) -> Error {
    Error::new(
        ErrorKind::ChannelFailed,
        format!("server refused to {what}: {}", e.message()),
    )
}

/// A channel whose caller has gone (timed out): closed without waiting for its output.
pub(crate) struct Closing {
    pub channel: Channel,
    pub since: std::time::Instant,
}

impl Closing {
    /// True when done: the close went out (or cannot), so the channel may be freed.
    pub(crate) fn step(&mut self) -> Result<bool, ssh2::Error> {
        match self.channel.close() {
            Ok(()) => Ok(true),
            Err(e) if would_block(&e) => Ok(false),
            Err(e) if is_channel_level(&e) => Ok(true),
            Err(e) => Err(e),
        }
    }
}
