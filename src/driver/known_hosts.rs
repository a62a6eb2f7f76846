//! The OpenSSH known_hosts policy: the server's key must match the file's entry for the host
//! (plain or hashed, `host` or `[host]:port`); an unknown host is refused, or appended to the
//! file when the policy says so. A key on a `@revoked` line is refused whatever the host; a
//! `@cert-authority` line for the host is refused with a message (host certificates are not
//! supported). libssh2 reads the plain entries; the markers are read here.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use ssh2::{CheckResult, HostKeyType, KnownHostFileKind, Session};

use crate::error::{Error, ErrorKind, Result};
use crate::hostkey::HostKey;

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

pub(crate) fn key_type_name(kind: HostKeyType) -> Option<&'static str> {
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

/// The user's own known_hosts file (`$HOME/.ssh/known_hosts`), if there is a home.
pub(crate) fn user_file() -> Option<PathBuf> {
    let home = std::env::var_os("HOME").filter(|h| !h.is_empty())?;
    Some(PathBuf::from(home).join(".ssh").join("known_hosts"))
}

/// Whether a known_hosts host field (comma-separated plain patterns, `*` and `?` wildcards,
/// `!` negation, `[host]:port`) names `host:port`. Hashed fields (`|1|...`) never match here.
fn host_field_matches(field: &str, host: &str, port: u16) -> bool {
    let name = pattern(host, port);
    let mut matched = false;
    for pat in field.split(',') {
        let (negated, pat) = match pat.strip_prefix('!') {
            Some(p) => (true, p),
            None => (false, pat),
        };
        if wildcard(pat, &name) {
            if negated {
                return false;
            }
            matched = true;
        }
    }
    matched
}

/// `*` and `?` glob matching, as OpenSSH's match_pattern.
fn wildcard(pat: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pat.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// The `@revoked` and `@cert-authority` lines of a known_hosts text, for `key` of `host:port`.
fn check_markers(text: &str, key: &HostKey, host: &str, port: u16, path: &Path) -> Result<()> {
    let b64 = base64::engine::general_purpose::STANDARD.encode(&key.key);
    for line in text.lines().map(str::trim) {
        let mut fields = line.split_whitespace();
        let (Some(marker), Some(hosts)) = (fields.next(), fields.next()) else {
            continue;
        };
        let line_key = fields.nth(1).unwrap_or("");
        match marker {
            "@revoked" if line_key == b64 => {
                return Err(rejected(format!(
                    "host key of {host}:{port} ({} {}) is revoked in {}",
                    key.key_type,
                    key.fingerprint,
                    path.display()
                )))
            }
            "@cert-authority" if host_field_matches(hosts, host, port) => {
                return Err(rejected(format!(
                    "{} names a certificate authority for {host}:{port}; host certificates are \
                     not supported: add the host's own key ({} {}) instead",
                    path.display(),
                    key.key_type,
                    key.fingerprint
                )))
            }
            _ => {}
        }
    }
    Ok(())
}

/// Checks the session's host key (`key`) against the file at `path`.
pub(crate) fn check(
    session: &Session,
    key: &HostKey,
    path: &Path,
    add_unknown: bool,
    host: &str,
    port: u16,
) -> Result<()> {
    let server = format!("{host}:{port}");
    let (raw, kind) = session
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
    check_markers(&text, key, host, port, path)?;
    // Line by line, so that one line libssh2 cannot parse (a key type it does not know, a
    // @cert-authority marker) does not void the whole file.
    for line in text.lines().map(str::trim) {
        if !line.is_empty() && !line.starts_with('#') && !line.starts_with('@') {
            let _ = known.read_str(line, KnownHostFileKind::OpenSSH);
        }
    }
    match known.check_port(host, port, raw) {
        CheckResult::Match => Ok(()),
        CheckResult::Mismatch => Err(rejected(format!(
            "host key of {server} does not match its entry in {} (possible man-in-the-middle; \
             remove the entry if the key changed on purpose)",
            path.display()
        ))),
        CheckResult::NotFound if add_unknown => append(path, host, port, raw, kind),
        CheckResult::NotFound => Err(rejected(format!(
            "{server} ({} {}) is not in {} and adding unknown hosts is off: pin its \
             fingerprint, add it to a known_hosts file, or choose accept-first for a fresh VM \
             guest (README: host keys)",
            key.key_type,
            key.fingerprint,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_patterns() {
        assert!(host_field_matches("*", "10.0.0.1", 22));
        assert!(host_field_matches("guest,10.0.0.1", "10.0.0.1", 22));
        assert!(host_field_matches("[10.0.0.1]:2222", "10.0.0.1", 2222));
        assert!(!host_field_matches("10.0.0.1", "10.0.0.1", 2222));
        assert!(host_field_matches("10.0.0.*", "10.0.0.7", 22));
        assert!(!host_field_matches("10.0.0.*,!10.0.0.7", "10.0.0.7", 22));
        assert!(host_field_matches("10.0.0.?", "10.0.0.7", 22));
        assert!(!host_field_matches("|1|abc=|def=", "10.0.0.7", 22));
    }
}
