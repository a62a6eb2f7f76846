//! The OpenSSH known_hosts policy: the server's key must match the file's entry for the host
//! (plain or hashed, `host` or `[host]:port`); an unknown host is refused, or appended to the
//! file when the policy says so.

use std::fs;
use std::io::Write;
use std::path::Path;

use base64::Engine as _;
use ssh2::{CheckResult, HostKeyType, KnownHostFileKind, Session};

use crate::error::{Error, ErrorKind, Result};

fn rejected(message: String) -> Error {
    Error::new(ErrorKind::HostKeyRejected, message)
}

/// The host pattern OpenSSH writes for `host:port`.
fn pattern(host: &str, port: u16) -> String {
    if port == 22 {
        host.to_owned()
    } else {
        format!("[{host}]:{port}")
    }
}

fn key_type_name(kind: HostKeyType) -> Option<&'static str> {
    Some(match kind {
        HostKeyType::Rsa => "ssh-rsa",
        HostKeyType::Dss => "ssh-dss",
        HostKeyType::Ecdsa256 => "ecdsa-sha2-nistp256",
        HostKeyType::Ecdsa384 => "ecdsa-sha2-nistp384",
        HostKeyType::Ecdsa521 => "ecdsa-sha2-nistp521",
        HostKeyType::Ed25519 => "ssh-ed25519",
        HostKeyType::Unknown => return None,
    })
}

/// Checks the session's host key against the file at `path`.
pub(crate) fn check(
    session: &Session,
    path: &Path,
    add_unknown: bool,
    host: &str,
    port: u16,
) -> Result<()> {
    let server = format!("{host}:{port}");
    let (key, kind) = session
        .host_key()
        .ok_or_else(|| rejected(format!("{server} presented no host key")))?;
    let mut known = session
        .known_hosts()
        .map_err(|e| rejected(format!("known_hosts: {}", e.message())))?;
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(rejected(format!("cannot read {}: {e}", path.display()))),
    };
    // Line by line, so that one line libssh2 cannot parse (a key type it does not know, a
    // @cert-authority marker) does not void the whole file.
    for line in text.lines().map(str::trim) {
        if !line.is_empty() && !line.starts_with('#') && !line.starts_with('@') {
            let _ = known.read_str(line, KnownHostFileKind::OpenSSH);
        }
    }
    match known.check_port(host, port, key) {
        CheckResult::Match => Ok(()),
        CheckResult::Mismatch => Err(rejected(format!(
            "host key of {server} does not match its entry in {} (possible man-in-the-middle; \
             remove the entry if the key changed on purpose)",
            path.display()
        ))),
        CheckResult::NotFound if add_unknown => append(path, host, port, key, kind),
        CheckResult::NotFound => Err(rejected(format!(
            "{server} is not in {} and adding unknown hosts is off",
            path.display()
        ))),
        CheckResult::Failure => Err(rejected(format!(
            "checking the host key of {server} against {} failed",
            path.display()
        ))),
    }
}

/// Appends `[host]:port type key` to the file, creating it (and not touching other lines).
fn append(path: &Path, host: &str, port: u16, key: &[u8], kind: HostKeyType) -> Result<()> {
    let name = key_type_name(kind)
        .ok_or_else(|| rejected(format!("{host}:{port} has a host key of an unknown type")))?;
    let b64 = base64::engine::general_purpose::STANDARD.encode(key);
    let line = format!("{} {name} {b64}\n", pattern(host, port));
    let mut file = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| {
            rejected(format!(
                "cannot add {host}:{port} to {}: {e}",
                path.display()
            ))
        })?;
    // Start on a fresh line if the file does not end with one.
    let needs_newline = fs::read(path).is_ok_and(|b| !b.is_empty() && !b.ends_with(b"\n"));
    let text = if needs_newline {
        format!("\n{line}")
    } else {
        line
    };
    file.write_all(text.as_bytes()).map_err(|e| {
        rejected(format!(
            "cannot add {host}:{port} to {}: {e}",
            path.display()
        ))
    })
}
