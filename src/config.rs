//! Connection options, their defaults and their validation.

use std::path::PathBuf;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::hostkey::HostKeyPolicy;
use crate::secret::Secret;
use crate::shell::ShellKind;

/// Everything a [`Client`](crate::Client) needs to reach a guest. Nothing connects when it is
/// made; [`Config::validate`] (called by `Client::new`) checks it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Host name or IP address; required, non-empty.
    pub host: String,
    /// Login user; default `root`, non-empty.
    pub user: String,
    /// TCP port; default 22, 1–65535.
    pub port: u16,
    /// Private key file. When set, the password is not used for authentication.
    pub key_path: Option<PathBuf>,
    /// Passphrase of an encrypted private key.
    pub key_passphrase: Option<Secret>,
    /// Password, used when no key file is given.
    pub password: Option<Secret>,
    /// Bounds TCP connect, banner, key exchange and authentication together; default 10 s, ≥ 1 s.
    pub connect_timeout: Duration,
    /// The guest's shell, for login-shell wrapping; default `sh`.
    pub shell_kind: ShellKind,
    /// How the server's host key is checked; default the user's own known_hosts, strictly (an
    /// unknown key is refused unless a policy that accepts it is chosen).
    pub host_key: HostKeyPolicy,
    /// When nothing has come from the server for this long, the client checks that it is
    /// still there (like OpenSSH's `ServerAliveInterval`); `Duration::ZERO` turns the check
    /// off, and other values below 100 ms are refused. Default 15 s.
    pub keepalive_interval: Duration,
    /// After `keepalive_interval × keepalive_count_max` without an answer to that check, the
    /// connection is declared dead (like `ServerAliveCountMax`); at least 1. Default 3.
    pub keepalive_count_max: u32,
    /// Most bytes kept of each of stdout and stderr per run; the rest is read and discarded
    /// (so the command still completes and its exit status is reported) and the output is
    /// marked truncated. 0 means no limit. Default 64 MiB.
    pub max_output_bytes: usize,
    /// How the guest's sshd is reached: TCP to `host:port` (the default), a Unix socket, or a
    /// VMM's hybrid vsock socket.
    pub transport: crate::Transport,
    /// Told about the decisions the client makes on its own (host key accepted and why, the
    /// identity that authenticated), on its internal thread. None: nothing is told.
    pub log: Option<crate::LogCallback>,
    /// The ciphers to offer, most preferred first, comma-separated in OpenSSH's names (e.g.
    /// "aes128-ctr,aes256-ctr"); `None` keeps libssh2's default order.
    pub ciphers: Option<String>,
    /// How `put_file`/`get_file` and friends move files: `Auto` (the default) uses exec
    /// channels (`cat`, `head`, `mv`) on POSIX guests and SFTP on `powershell`/`cmd` guests.
    pub file_transfer: FileTransfer,
}

/// How files are moved (`Config::file_transfer`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FileTransfer {
    /// Exec channels on POSIX guests (`shell_kind` `sh`), SFTP elsewhere.
    #[default]
    Auto,
    /// Exec channels running `cat`, `head`, `chmod`, `mv` under `sh` (POSIX guests only).
    Exec,
    /// The guest sshd's `sftp` subsystem (any guest whose sshd offers it).
    Sftp,
}

/// The default connect timeout of the reference client.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The default keepalive interval.
pub const DEFAULT_KEEPALIVE_INTERVAL: Duration = Duration::from_secs(15);
/// The default cap on each of stdout and stderr per run.
pub const DEFAULT_MAX_OUTPUT_BYTES: usize = 64 * 1024 * 1024;
/// The default number of keepalive intervals without an answer before the peer is dead.
pub const DEFAULT_KEEPALIVE_COUNT_MAX: u32 = 3;

impl Config {
    /// Options for `host` with every default of the reference client.
    pub fn new(host: impl Into<String>) -> Self {
        Config {
            host: host.into(),
            user: "root".to_owned(),
            port: 22,
            key_path: None,
            key_passphrase: None,
            password: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            shell_kind: ShellKind::Sh,
            host_key: HostKeyPolicy::UserKnownHosts,
            keepalive_interval: DEFAULT_KEEPALIVE_INTERVAL,
            keepalive_count_max: DEFAULT_KEEPALIVE_COUNT_MAX,
            max_output_bytes: DEFAULT_MAX_OUTPUT_BYTES,
            ciphers: None,
            file_transfer: FileTransfer::Auto,
            log: None,
            transport: crate::Transport::Tcp,
        }
    }

    /// Checks the options as the reference does; the error names the first bad option.
    pub fn validate(&self) -> Result<()> {
        let named = |name: &str, r: Result<()>| {
            r.map_err(|e| Error::invalid(format!("{name} {}", e.message())))
        };
        named("host", check_host(&self.host))?;
        named("user", check_user(&self.user))?;
        named("port", check_port(self.port))?;
        named(
            "connect_timeout",
            check_connect_timeout(self.connect_timeout),
        )?;
        named(
            "keepalive_interval",
            check_keepalive_interval(self.keepalive_interval),
        )?;
        named(
            "keepalive_count_max",
            check_keepalive_count_max(self.keepalive_count_max),
        )?;
        if let Some(path) = &self.key_path {
            if path.as_os_str().is_empty() {
                return Err(Error::invalid("key_path must not be empty when given"));
            }
        }
        match &self.transport {
            crate::Transport::Unix(path) | crate::Transport::HybridVsock { path, .. }
                if path.as_os_str().is_empty() =>
            {
                return Err(Error::invalid(
                    "transport: the socket path must not be empty",
                ));
            }
            _ => {}
        }
        match &self.host_key {
            HostKeyPolicy::Fingerprints(pins) => {
                if pins.is_empty() {
                    return Err(Error::invalid(
                        "host key policy: no fingerprint pinned (pin at least one)",
                    ));
                }
                for pin in pins {
                    crate::hostkey::parse_fingerprint(pin)?;
                }
            }
            HostKeyPolicy::KnownHosts { path, .. } if path.as_os_str().is_empty() => {
                return Err(Error::invalid("known_hosts path must not be empty"));
            }
            _ => {}
        }
        Ok(())
    }
}

/// The rule for `host`: non-empty, no NUL.
pub(crate) fn check_host(host: &str) -> Result<()> {
    if host.trim().is_empty() || host.contains('\0') {
        return Err(Error::invalid("must be non-empty and free of NUL"));
    }
    Ok(())
}

/// The rule for `user`: non-empty, no NUL.
pub(crate) fn check_user(user: &str) -> Result<()> {
    if user.is_empty() || user.contains('\0') {
        return Err(Error::invalid("must be non-empty and free of NUL"));
    }
    Ok(())
}

/// The rule for `port`: 1–65535.
pub(crate) fn check_port(port: u16) -> Result<()> {
    if port == 0 {
        return Err(Error::invalid("must be within 1-65535"));
    }
    Ok(())
}

/// The shortest keepalive interval accepted (0 turns the check off). Below it, a healthy
/// guest that takes a little longer to answer (a busy host, a loaded VM) would be declared
/// dead and every run on it would end DISCONNECTED.
pub const MIN_KEEPALIVE_INTERVAL: Duration = Duration::from_millis(100);

/// The rule for `keepalive_interval`: 0 (off) or at least [`MIN_KEEPALIVE_INTERVAL`].
pub(crate) fn check_keepalive_interval(interval: Duration) -> Result<()> {
    if !interval.is_zero() && interval < MIN_KEEPALIVE_INTERVAL {
        return Err(Error::invalid(format!(
            "must be 0 (off) or at least {} ms (got {} ms)",
            MIN_KEEPALIVE_INTERVAL.as_millis(),
            interval.as_millis()
        )));
    }
    Ok(())
}

/// The rule for `keepalive_count_max`: at least 1.
pub(crate) fn check_keepalive_count_max(count: u32) -> Result<()> {
    if count == 0 {
        return Err(Error::invalid("must be at least 1"));
    }
    Ok(())
}

/// The rule for `connect_timeout`: at least 1 s.
pub(crate) fn check_connect_timeout(timeout: Duration) -> Result<()> {
    if timeout < Duration::from_secs(1) {
        return Err(Error::invalid(format!(
            "must be at least 1 s (got {} ms)",
            timeout.as_millis()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_reference_ones() {
        let c = Config::new("guest");
        assert_eq!((c.user.as_str(), c.port), ("root", 22));
        assert_eq!(c.connect_timeout, Duration::from_secs(10));
        assert_eq!(c.shell_kind, ShellKind::Sh);
        assert!(c.validate().is_ok());
    }

    #[test]
    fn bad_options_are_invalid_arguments() {
        let mut bad = vec![];
        bad.push(Config::new(" "));
        bad.push(Config {
            user: String::new(),
            ..Config::new("h")
        });
        bad.push(Config {
            port: 0,
            ..Config::new("h")
        });
        bad.push(Config {
            connect_timeout: Duration::from_millis(999),
            ..Config::new("h")
        });
        bad.push(Config {
            keepalive_interval: Duration::from_millis(1),
            ..Config::new("h")
        });
        bad.push(Config {
            keepalive_count_max: 0,
            ..Config::new("h")
        });
        bad.push(Config {
            host_key: HostKeyPolicy::Fingerprints(vec!["MD5:aa".into()]),
            ..Config::new("h")
        });
        for c in bad {
            let err = c.validate().unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::InvalidArgument, "{c:?}");
        }
    }
}
