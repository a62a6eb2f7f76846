//! When a call must end before its command does: its caller gave up, it was cancelled, or its
//! deadline passed; and what the error then says.

use std::collections::VecDeque;
use std::time::Instant;

use super::job::{Job, Request};
use super::task::Task;
use crate::error::{Error, ErrorKind};
use crate::shell::ShellKind;

/// Ends queued requests whose caller gave up, that were cancelled, or whose deadline passed.
pub(crate) fn expire_queued(queue: &mut VecDeque<Request>, now: Instant) {
    queue.retain(|request| {
        let job = request.job();
        if job.ticket.is_abandoned() {
            return false;
        }
        if let Some(why) = request.stop_reason() {
            job.finish(Err(Error::new(
                ErrorKind::Cancelled,
                format!("{why} before it started; the command was not sent"),
            )));
            return false;
        }
        if now < job.deadline {
            return true;
        }
        let waiting = if matches!(request, Request::Connect(_)) {
            "connecting"
        } else {
            "waiting for the connection"
        };
        job.finish(Err(timed_out(
            job,
            matches!(request, Request::Connect(_)),
            waiting,
        )));
        false
    });
}

/// Ends runs waiting for a channel (kept for their one retry after a lost connection) that
/// were cancelled or whose deadline passed: nothing of them was sent.
pub(crate) fn expire_unsent(active: &mut Vec<Task>, now: Instant) {
    active.retain_mut(|task| {
        if task.channel.is_some() {
            return true;
        }
        let err = if let Some(why) = task.stop_reason() {
            Error::new(
                ErrorKind::Cancelled,
                format!("{why} while waiting for the connection; the command was not sent"),
            )
        } else if now >= task.job.deadline {
            timed_out(&task.job, false, "waiting for the connection")
        } else {
            return true;
        };
        let partial = task.take_output();
        task.job.finish(Err(err.with_partial(partial)));
        false
    });
}

/// The error a running task must end with now, if it must.
pub(crate) fn verdict(task: &Task, now: Instant, shell: ShellKind) -> Option<Error> {
    let stopped = if task.phase.command_sent() {
        stopped_note(shell)
    } else {
        "; the command was not sent"
    };
    if let Some(why) = task.stop_reason() {
        return Some(Error::new(
            ErrorKind::Cancelled,
            format!("{why} while {}{stopped}", task.phase.describe()),
        ));
    }
    if now < task.job.deadline {
        return None;
    }
    let err = timed_out(&task.job, false, task.phase.describe());
    let message = format!("{}{stopped}", err.message());
    Some(Error::new(ErrorKind::Timeout, message))
}

/// What is done about a command that may still be running when its call ends early. On a
/// POSIX guest its process group is killed (`signal KILL`, and for root sessions, where
/// OpenSSH refuses signals, the kill script of reaper.rs); elsewhere only the signal is sent,
/// and whether the guest honours it is not known.
fn stopped_note(shell: ShellKind) -> &'static str {
    match shell {
        ShellKind::Sh => "; the command and its process group were killed on the guest",
        _ => {
            "; a kill (signal KILL) was sent, but this guest may keep the command running: \
             Windows shells give no other way to stop it"
        }
    }
}

pub(crate) fn timed_out(job: &Job, connect: bool, while_doing: &str) -> Error {
    let budget = job.deadline.saturating_duration_since(job.submitted);
    let what = if connect {
        "wait_for_ssh connect attempt"
    } else {
        "command"
    };
    Error::new(
        ErrorKind::Timeout,
        format!(
            "{what} timed out after {:.1} s while {while_doing}",
            budget.as_secs_f64()
        ),
    )
}
