//! Building a connection: TCP connect, SSH handshake, host-key check and authentication, all
//! drawing from one deadline, in libssh2's non-blocking mode.

use std::os::unix::io::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

use ssh2::{BlockDirections, HashType, MethodType, Session};

use super::dial;
use super::held_memory;
use super::known_hosts;
use super::poll::{self, Interest, Waker};
use super::socket_io;
use super::ssh_error::{code, code_of, nb};
use crate::config::Config;
use crate::error::{Error, ErrorKind, Result};
use crate::hostkey;
use crate::hostkey::{HostKey, HostKeyPolicy};
use crate::log::{self, LogLevel};
use crate::secret::Secret;

/// An authenticated SSH connection. Dropping it shuts the socket down first, so that libssh2
/// never blocks (or leaks) trying to say goodbye on a dead or stalled transport.
pub(crate) struct Conn {
    pub session: Session,
    /// The socket, owned by the session (it closes it when the session and every channel
    /// of it are gone, after the Conn).
    sock: RawFd,
}

impl Conn {
    pub(crate) fn fd(&self) -> RawFd {
        self.sock
    }

    /// Sends SSH_MSG_DISCONNECT if the socket takes it at once; never waits.
    pub(crate) fn say_goodbye(&self) {
        let _ = self.session.disconnect(None, "closed by client", None);
    }
}

impl Conn {
    /// Shuts the socket down: nothing more goes out or comes in.
    pub(crate) fn shut_down(&self) {
        poll::shut_down(self.sock);
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.shut_down();
    }
}

/// Everything a connect attempt needs besides the config.
pub(crate) struct Attempt<'a> {
    pub deadline: Instant,
    /// The time budget, for messages ("timed out after 10 s").
    pub budget: Duration,
    pub waker: &'a Waker,
    /// Polled when the waker fires: true when the client is being closed or freed.
    pub abort: &'a dyn Fn() -> bool,
}

impl Attempt<'_> {
    /// Waits until `fd` is ready for `interest`, the deadline passes (a timeout naming
    /// `stage`), or the client is closed (an error).
    pub(crate) fn wait(
        &self,
        fd: RawFd,
        interest: Interest,
        server: &str,
        stage: &str,
    ) -> Result<bool> {
        if Instant::now() >= self.deadline {
            return Err(timeout(server, self.budget, stage));
        }
        if held_memory::held() > held_memory::LIMIT {
            return Err(Error::new(
                ErrorKind::ConnectFailed,
                format!(
                    "{server} sent more than SSH needs during {stage}: {}",
                    too_much()
                ),
            ));
        }
        let ready = poll::wait(self.waker, (fd, interest), Some(self.deadline))
            .map_err(|e| Error::new(ErrorKind::ConnectFailed, format!("poll: {e}")))?;
        if ready.wake {
            self.waker.drain();
            if (self.abort)() {
                return Err(Error::new(
                    ErrorKind::Disconnected,
                    format!("connect to {server} abandoned: the client was closed"),
                ));
            }
        }
        Ok(ready.socket)
    }
}

/// Connects, checks the host key against `policy` and `remembered`, and authenticates.
pub(crate) fn connect(
    config: &Config,
    remembered: &mut Option<[u8; 32]>,
    seen: &mut Option<HostKey>,
    attempt: &Attempt<'_>,
) -> Result<Conn> {
    let server = config.transport.describe(&config.host, config.port);
    let sock = dial::dial(config, attempt, &server)?;
    let fd = sock.as_raw_fd();
    let mut session = Session::new()
        .map_err(|e| Error::new(ErrorKind::ConnectFailed, format!("libssh2: {e}")))?;
    held_memory::install(&session);
    session.set_tcp_stream(sock);
    session.set_blocking(false);
    socket_io::install(&session);
    if let Some(ciphers) = &config.ciphers {
        for direction in [MethodType::CryptCs, MethodType::CryptSc] {
            session
                .method_pref(direction, ciphers)
                .map_err(|e| Error::invalid(format!("ciphers {ciphers:?}: {}", e.message())))?;
        }
    }
    let conn = Conn { session, sock: fd };
    let waiter = Waiter {
        fd,
        attempt,
        server: &server,
    };

    // `handshake` takes `&mut`; a clone shares the same libssh2 session.
    let mut handshaker = conn.session.clone();
    waiter
        .until_done(&conn.session, "key exchange", || handshaker.handshake())?
        .map_err(|e| {
            Error::new(
                ErrorKind::ConnectFailed,
                format!("SSH handshake with {server} failed: {}", e.message()),
            )
        })?;

    let digest: [u8; 32] = conn
        .session
        .host_key_hash(HashType::Sha256)
        .and_then(|d| d.try_into().ok())
        .ok_or_else(|| {
            Error::new(
                ErrorKind::HostKeyRejected,
                format!("{server} presented no usable host key"),
            )
        })?;
    let key = presented_key(&conn.session, digest, &server)?;
    *seen = Some(key.clone());
    match &config.host_key {
        HostKeyPolicy::KnownHosts { path, add_unknown } => known_hosts::check(
            &conn.session,
            &key,
            path,
            *add_unknown,
            &config.host,
            config.port,
        )?,
        HostKeyPolicy::UserKnownHosts => {
            let path = known_hosts::user_file().ok_or_else(|| {
                Error::new(
                    ErrorKind::HostKeyRejected,
                    format!(
                        "{server} presented {} {}, and there is no $HOME/.ssh/known_hosts to \
                         check it against: choose a host-key policy",
                        key.key_type, key.fingerprint
                    ),
                )
            })?;
            known_hosts::check(&conn.session, &key, &path, false, &config.host, config.port)?
        }
        policy => hostkey::check(policy, remembered, &key, digest, &server)?,
    }

    let first_use = config.host_key == HostKeyPolicy::AcceptFirst && remembered.is_none();
    let identity = authenticate(&conn.session, config, &waiter)?;
    hostkey::remember(&config.host_key, remembered, digest);
    report(config, &server, &key, first_use, &identity);
    Ok(conn)
}

impl Conn {
    /// The cipher negotiated for this connection (server to client).
    pub(crate) fn cipher(&self) -> Option<String> {
        self.session.methods(MethodType::CryptSc).map(str::to_owned)
    }
}

/// Why a connection was ended for the memory it made the client hold.
pub(crate) fn too_much() -> String {
    format!(
        "the client would hold more than {} MiB of messages nobody reads (the limit per \
         connection)",
        held_memory::LIMIT >> 20
    )
}

fn timeout(server: &str, budget: Duration, stage: &str) -> Error {
    Error::new(
        ErrorKind::Timeout,
        format!(
            "connect to {server} timed out after {:.1} s during {stage}",
            budget.as_secs_f64()
        ),
    )
}

/// Tells the caller's log how the host key was accepted and who authenticated.
fn report(config: &Config, server: &str, key: &HostKey, first_use: bool, identity: &str) {
    let (level, how) = match &config.host_key {
        HostKeyPolicy::AcceptAny => (
            LogLevel::Warning,
            "accepted WITHOUT any check (host-key policy accept-any)",
        ),
        HostKeyPolicy::AcceptFirst if first_use => {
            (LogLevel::Warning, "trusted on first use (accept-first)")
        }
        HostKeyPolicy::AcceptFirst => (LogLevel::Info, "the key trusted on first use"),
        HostKeyPolicy::Fingerprints(_) => (LogLevel::Info, "matches a pinned fingerprint"),
        HostKeyPolicy::KnownHosts { .. } | HostKeyPolicy::UserKnownHosts => {
            (LogLevel::Info, "matches known_hosts")
        }
        HostKeyPolicy::Callback(_) => (LogLevel::Info, "accepted by the host-key callback"),
    };
    log::log(&config.log, level, || {
        format!(
            "host key of {server} ({} {}) {how}",
            key.key_type, key.fingerprint
        )
    });
    log::log(&config.log, LogLevel::Info, || {
        format!(
            "authenticated to {server} as {} with {identity}",
            config.user
        )
    });
}

/// The key the server presented: its type, fingerprint and bytes.
fn presented_key(session: &Session, digest: [u8; 32], server: &str) -> Result<HostKey> {
    let (key, kind) = session.host_key().ok_or_else(|| {
        Error::new(
            ErrorKind::HostKeyRejected,
            format!("{server} presented no host key"),
        )
    })?;
    Ok(HostKey {
        key_type: known_hosts::key_type_name(kind)
            .unwrap_or("unknown")
            .to_owned(),
        fingerprint: hostkey::format_fingerprint(&digest),
        key: key.to_vec(),
    })
}

/// What libssh2 may receive during a connect before the deadline and close are looked at.
const CONNECT_RECV_BUDGET: usize = 16 * 1024;

/// Repeats a non-blocking libssh2 call until it completes, waiting on the socket in between.
struct Waiter<'w, 'a> {
    fd: RawFd,
    attempt: &'w Attempt<'a>,
    server: &'w str,
}

impl Waiter<'_, '_> {
    /// The outer error is ours (timeout, abort); the inner one is libssh2's, for the caller.
    fn until_done<T>(
        &self,
        session: &Session,
        stage: &str,
        mut op: impl FnMut() -> Result<T, ssh2::Error>,
    ) -> Result<Result<T, ssh2::Error>> {
        loop {
            // libssh2 comes back at least every this many bytes, so that a server sending
            // without end (lines before its banner, say) cannot hold off the deadline or close.
            socket_io::grant(session, CONNECT_RECV_BUDGET, false);
            match nb(op()) {
                Ok(Some(v)) => return Ok(Ok(v)),
                Err(e) => return Ok(Err(e)),
                Ok(None) => self.wait(session.block_directions(), stage)?,
            }
        }
    }

    fn wait(&self, dirs: BlockDirections, stage: &str) -> Result<()> {
        let interest = Interest {
            read: matches!(
                dirs,
                BlockDirections::Inbound | BlockDirections::Both | BlockDirections::None
            ),
            write: matches!(dirs, BlockDirections::Outbound | BlockDirections::Both),
            hangup: false,
        };
        self.attempt
            .wait(self.fd, interest, self.server, stage)
            .map(|_| ())
    }
}

/// Authenticates; says with what (for the log: never a secret).
fn authenticate(session: &Session, config: &Config, w: &Waiter<'_, '_>) -> Result<String> {
    let user = config.user.as_str();
    let stage = "authentication";
    let identity;
    if let Some(key) = &config.key_path {
        if !key.is_file() {
            return Err(Error::new(
                ErrorKind::AuthFailed,
                format!(
                    "private key file {} does not exist or is not a file",
                    key.display()
                ),
            ));
        }
        let passphrase = config.key_passphrase.as_ref().map(Secret::expose);
        w.until_done(session, stage, || {
            session.userauth_pubkey_file(user, None, key, passphrase)
        })?
        .map_err(|e| auth_error(&e, &format!("key {}", key.display()), user))?;
        identity = format!("the key file {}", key.display());
    } else if let Some(password) = &config.password {
        w.until_done(session, stage, || {
            session.userauth_password(user, password.expose())
        })?
        .map_err(|e| auth_error(&e, "the password", user))?;
        identity = "the password".to_owned();
    } else {
        // The agent's keys go only to a server whose host key was verified.
        if config.host_key == HostKeyPolicy::AcceptAny {
            return Err(Error::new(
                ErrorKind::AuthFailed,
                "no key_path and no password, and the ssh-agent's keys are not offered to a \
                 server whose host key was not verified (host-key policy accept-any)",
            ));
        }
        identity = agent_auth(session, user, w)?;
    }
    if session.authenticated() {
        Ok(identity)
    } else {
        Err(Error::new(
            ErrorKind::AuthFailed,
            format!("{} did not complete authentication of {user}", w.server),
        ))
    }
}

fn auth_error(e: &ssh2::Error, what: &str, user: &str) -> Error {
    let msg = e.message();
    match code_of(e) {
        code::FILE | code::KEYFILE_AUTH_FAILED => Error::new(
            ErrorKind::AuthFailed,
            format!(
                "cannot use {what}: {msg} (wrong or missing passphrase, or an unsupported key format)"
            ),
        ),
        code::AUTHENTICATION_FAILED | code::PUBLICKEY_UNVERIFIED | code::PASSWORD_EXPIRED => {
            Error::new(
                ErrorKind::AuthFailed,
                format!("server refused {what} for user {user}: {msg}"),
            )
        }
        _ => Error::new(
            ErrorKind::ConnectFailed,
            format!("connection failed during authentication: {msg}"),
        ),
    }
}

/// ssh-agent authentication runs in libssh2's blocking mode with its timeout set to what is
/// left of the deadline: the agent's signing callback is not safe to re-enter on EAGAIN.
/// Says which agent identity authenticated (its comment).
fn agent_auth(session: &Session, user: &str, w: &Waiter<'_, '_>) -> Result<String> {
    let no_agent = |e: ssh2::Error| {
        Error::new(
            ErrorKind::AuthFailed,
            format!(
                "no key_path, no password, and no usable ssh-agent (SSH_AUTH_SOCK): {}",
                e.message()
            ),
        )
    };
    let left = w.attempt.deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(timeout(w.server, w.attempt.budget, "authentication"));
    }
    session.set_blocking(true);
    session.set_timeout(left.as_millis().clamp(1, u32::MAX as u128) as u32);
    let result = (|| {
        let mut agent = session.agent().map_err(no_agent)?;
        agent.connect().map_err(no_agent)?;
        agent.list_identities().map_err(no_agent)?;
        let ids = agent.identities().map_err(no_agent)?;
        for id in &ids {
            if agent.userauth(user, id).is_ok() {
                return Ok(format!("the ssh-agent key \"{}\"", id.comment()));
            }
        }
        Err(Error::new(
            ErrorKind::AuthFailed,
            format!(
                "server refused all {} ssh-agent key(s) for user {user}",
                ids.len()
            ),
        ))
    })();
    session.set_timeout(0);
    session.set_blocking(false);
    result
}
