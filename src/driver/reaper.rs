//! Stopping a command for good, for every user.
//!
//! The `signal` request a timed-out command's channel gets is honoured by OpenSSH only with
//! privilege separation, which root sessions run without ("session signalling requires
//! privilege separation"), and root is the default user. Closing the channel does not stop a
//! command that neither reads nor writes (`sleep`). So on a POSIX guest, after the channels of
//! stopped commands are closed, the driver runs this script on another channel of the same
//! connection.
//!
//! What it relies on (OpenSSH, checked in /proc): each channel's command is a session leader
//! (its pid is its process group and session) whose parent is the connection's sshd process,
//! and whose stdout and stderr are pipes that this sshd process reads. When the client closes
//! a channel, sshd closes its ends of that channel's pipes at once. So the script, a child of
//! that same sshd process (`$PPID`), kills the process group of every session leader under it
//! whose stdout or stderr pipe sshd no longer holds: exactly the commands whose channels the
//! client closed. Runs still open on the connection, and processes that redirected both streams
//! away from their channel (deliberate daemons), are left alone. A command whose session
//! leader has already exited, leaving background children behind, is not found (those
//! children then hold the pipes of a channel that is closed; they die of SIGPIPE at their next
//! write).
//!
//! Its CLOSE reaches sshd before the script's exec request: libssh2 sends packets in order,
//! and the event loop steps closing channels before runs.
//!
//! On `close` and free the connection goes right after the script has started (the callers
//! cannot wait for a guest whose shell start-up alone may take 100 ms): once sshd has exited,
//! its sessions belong to init, and the script recognises them as this connection's by the
//! `SSH_CONNECTION` value in their environment (client address and port: one connection's),
//! all of them with nothing left to hold their pipes.

use super::job::RunJob;
use crate::shell::sh_c;

/// The script (POSIX sh; dash, bash and busybox ash). Prints how many process groups it
/// killed.
const SCRIPT: &str = r#"s=$PPID; me=$$; n=0; c=$SSH_CONNECTION
h=$(ls -l /proc/$s/fd 2>/dev/null)
for d in /proc/[0-9]*; do
  p=${d#/proc/}
  [ "$p" = "$me" ] && continue
  read -r t 2>/dev/null < "$d/stat" || continue
  set -- ${t##*') '}
  [ "$4" = "$p" ] || continue
  if [ "$2" != "$s" ]; then
    [ -d "/proc/$s" ] && continue
    tr '\0' '\n' 2>/dev/null < "$d/environ" | grep -qx "SSH_CONNECTION=$c" || continue
  fi
  gone=
  if [ -d "/proc/$s" ]; then
    for f in 1 2; do
      l=$(readlink "$d/fd/$f" 2>/dev/null)
      case $l in pipe:*) case $h in *"$l"*) ;; *) gone=1 ;; esac ;; esac
    done
  else
    gone=1
  fi
  [ -n "$gone" ] || continue
  kill -s KILL -- "-$p" 2>/dev/null && n=$((n+1))
done
echo $n"#;

/// The driver's run of the script.
pub(crate) fn run_job() -> RunJob {
    RunJob {
        command: sh_c(SCRIPT),
        stdin: Default::default(),
        cancel: None,
        streaming: false,
        max_output_bytes: 4096,
        max_stderr_bytes: 4096,
        internal: true,
    }
}
