//! Host-key policies: OpenSSH `SHA256:` fingerprints and accept-first-and-remember.

use std::path::PathBuf;

use base64::Engine as _;

use crate::error::{Error, ErrorKind, Result};

/// How the server's host key is checked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum HostKeyPolicy {
    /// Accept the key seen on the first connect and remember it for the life of the client:
    /// a reconnect that meets a different key is refused.
    #[default]
    AcceptFirst,
    /// Accept only a key whose OpenSSH SHA-256 fingerprint is this (`SHA256:` + unpadded base64,
    /// as `ssh-keygen -lf` prints it).
    Fingerprint(String),
    /// Check the key against an OpenSSH known_hosts file (plain or hashed entries, `host` or
    /// `[host]:port`). A mismatch is refused; a host not in the file is refused, or, with
    /// `add_unknown`, appended to the file (created if missing) and accepted.
    KnownHosts { path: PathBuf, add_unknown: bool },
}

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD_NO_PAD;

/// Decodes an OpenSSH fingerprint (`SHA256:` + base64 of the 32-byte digest, padding optional).
pub fn parse_fingerprint(text: &str) -> Result<[u8; 32]> {
    let bad = || {
        Error::invalid(format!(
            "host key fingerprint {text:?} is not an OpenSSH SHA256 fingerprint \
             (expected \"SHA256:\" and 43 base64 characters, as `ssh-keygen -lf` prints)"
        ))
    };
    let b64 = text.trim().strip_prefix("SHA256:").ok_or_else(bad)?;
    let digest = B64.decode(b64.trim_end_matches('=')).map_err(|_| bad())?;
    digest.try_into().map_err(|_| bad())
}

/// Formats a SHA-256 digest of a host key the way OpenSSH prints it.
pub fn format_fingerprint(sha256: &[u8]) -> String {
    format!("SHA256:{}", B64.encode(sha256))
}

/// Checks the key a server presented (its SHA-256 digest) against the policy. With
/// [`HostKeyPolicy::AcceptFirst`], `remembered` holds the digest of the first key of a
/// connection that authenticated (the caller remembers it then, see [`remember`]): until one
/// has, any key is accepted, so a key seen while a booting guest's sshd was restarting with
/// new keys is not pinned.
pub fn check(
    policy: &HostKeyPolicy,
    remembered: &Option<[u8; 32]>,
    presented: [u8; 32],
    server: &str,
) -> Result<()> {
    let expected = match policy {
        HostKeyPolicy::Fingerprint(pin) => parse_fingerprint(pin)?,
        HostKeyPolicy::AcceptFirst => match remembered {
            Some(first) => *first,
            None => return Ok(()),
        },
        // Checked against the file by the driver, which has the raw key.
        HostKeyPolicy::KnownHosts { .. } => return Ok(()),
    };
    if expected == presented {
        return Ok(());
    }
    let what = match policy {
        HostKeyPolicy::Fingerprint(_) => "does not match the pinned fingerprint",
        _ => "changed since this client first connected",
    };
    Err(Error::new(
        ErrorKind::HostKeyRejected,
        format!(
            "host key of {server} {what}: expected {}, got {}",
            format_fingerprint(&expected),
            format_fingerprint(&presented)
        ),
    ))
}

/// After a connection authenticated: the accept-first policy remembers its key.
pub(crate) fn remember(policy: &HostKeyPolicy, remembered: &mut Option<[u8; 32]>, key: [u8; 32]) {
    if matches!(policy, HostKeyPolicy::AcceptFirst) {
        remembered.get_or_insert(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_round_trip() {
        let digest = [7u8; 32];
        let text = format_fingerprint(&digest);
        assert_eq!(text.len(), "SHA256:".len() + 43);
        assert_eq!(parse_fingerprint(&text).unwrap(), digest);
        assert_eq!(parse_fingerprint(&format!("{text}=")).unwrap(), digest);
        assert!(parse_fingerprint("SHA256:abc").is_err());
        assert!(parse_fingerprint(&text[7..]).is_err());
    }

    #[test]
    fn accept_first_remembers_and_refuses_a_change() {
        let mut remembered = None;
        let policy = HostKeyPolicy::AcceptFirst;
        // Not remembered until a connection authenticated.
        check(&policy, &remembered, [9; 32], "h:22").unwrap();
        check(&policy, &remembered, [1; 32], "h:22").unwrap();
        remember(&policy, &mut remembered, [1; 32]);
        check(&policy, &remembered, [1; 32], "h:22").unwrap();
        let err = check(&policy, &remembered, [2; 32], "h:22").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::HostKeyRejected);
    }

    #[test]
    fn pin_accepts_only_its_key() {
        let policy = HostKeyPolicy::Fingerprint(format_fingerprint(&[3; 32]));
        let remembered = None;
        check(&policy, &remembered, [3; 32], "h:22").unwrap();
        let err = check(&policy, &remembered, [4; 32], "h:22").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::HostKeyRejected);
    }
}
