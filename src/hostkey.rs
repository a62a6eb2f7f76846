//! Host-key policies: OpenSSH `SHA256:` fingerprints and accept-first-and-remember.

use std::path::PathBuf;

use base64::Engine as _;

use crate::error::{Error, ErrorKind, Result};

/// How the server's host key is checked. An unknown key is refused unless the caller chose a
/// policy that accepts it.
///
/// For VM guests, whose keys are made at first boot: pin the fingerprint if the tooling that
/// made the guest knows it (`Fingerprints`), else `AcceptFirst` (trust on first use, per
/// client).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum HostKeyPolicy {
    /// The user's own OpenSSH known_hosts (`$HOME/.ssh/known_hosts`), strictly: a host not in
    /// it, or with another key, is refused (OpenSSH in batch mode). The default.
    #[default]
    UserKnownHosts,
    /// Accept only keys whose OpenSSH SHA-256 fingerprint is one of these (`SHA256:` +
    /// unpadded base64, as `ssh-keygen -lf` prints it).
    Fingerprints(Vec<String>),
    /// Check the key against an OpenSSH known_hosts file (plain or hashed entries, `host` or
    /// `[host]:port`). A mismatch is refused; a host not in the file is refused, or, with
    /// `add_unknown`, appended to the file (created if missing) and accepted. A key on a
    /// `@revoked` line is refused for every host; a `@cert-authority` line for the host is
    /// refused with a message (host certificates are not supported).
    KnownHosts { path: PathBuf, add_unknown: bool },
    /// Accept the key of the first connection that authenticates and remember it for the life
    /// of the client: a reconnect that meets a different key is refused. Keys seen by
    /// connections that did not authenticate are not remembered (a guest restarting its sshd
    /// with new keys at first boot).
    AcceptFirst,
    /// Accept any key without checking it: only for throwaway guests on a link nobody else
    /// can reach.
    AcceptAny,
    /// Ask a function, on the client's internal thread, during each connect.
    Callback(HostKeyCallback),
}

/// The host key a server presented.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostKey {
    /// The key's type as OpenSSH names it (`ssh-ed25519`, `ecdsa-sha2-nistp256`, `ssh-rsa`).
    pub key_type: String,
    /// Its OpenSSH SHA-256 fingerprint (`SHA256:...`).
    pub fingerprint: String,
    /// The key itself (the SSH wire encoding, as in known_hosts after base64).
    pub key: Vec<u8>,
}

/// A host-key policy function: true accepts the key.
#[derive(Clone)]
pub struct HostKeyCallback(std::sync::Arc<dyn Fn(&HostKey) -> bool + Send + Sync>);

impl HostKeyCallback {
    pub fn new(f: impl Fn(&HostKey) -> bool + Send + Sync + 'static) -> Self {
        HostKeyCallback(std::sync::Arc::new(f))
    }

    pub(crate) fn accepts(&self, key: &HostKey) -> bool {
        (self.0)(key)
    }
}

impl std::fmt::Debug for HostKeyCallback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HostKeyCallback(..)")
    }
}

impl PartialEq for HostKeyCallback {
    fn eq(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for HostKeyCallback {}

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

/// Checks the key a server presented (its SHA-256 digest) against the policies that need no
/// file: fingerprints, accept-first, accept-any, a callback. With
/// [`HostKeyPolicy::AcceptFirst`], `remembered` holds the digest of the first key of a
/// connection that authenticated (the caller remembers it then, see [`remember`]): until one
/// has, any key is accepted.
pub(crate) fn check(
    policy: &HostKeyPolicy,
    remembered: &Option<[u8; 32]>,
    presented: &HostKey,
    digest: [u8; 32],
    server: &str,
) -> Result<()> {
    let refuse = |why: String| Err(Error::new(ErrorKind::HostKeyRejected, why));
    match policy {
        HostKeyPolicy::Fingerprints(pins) => {
            for pin in pins {
                if parse_fingerprint(pin)? == digest {
                    return Ok(());
                }
            }
            refuse(format!(
                "host key of {server} ({}) matches none of the {} pinned fingerprint(s)",
                presented.fingerprint,
                pins.len()
            ))
        }
        HostKeyPolicy::AcceptFirst => match remembered {
            Some(first) if *first != digest => refuse(format!(
                "host key of {server} changed since this client first connected: expected {}, \
                 got {}",
                format_fingerprint(first),
                presented.fingerprint
            )),
            _ => Ok(()),
        },
        HostKeyPolicy::AcceptAny => Ok(()),
        HostKeyPolicy::Callback(callback) => {
            if callback.accepts(presented) {
                Ok(())
            } else {
                refuse(format!(
                    "host key of {server} ({} {}) refused by the host-key callback",
                    presented.key_type, presented.fingerprint
                ))
            }
        }
        // Checked against a file by the driver.
        HostKeyPolicy::UserKnownHosts | HostKeyPolicy::KnownHosts { .. } => Ok(()),
    }
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

    fn key(digest: u8) -> (HostKey, [u8; 32]) {
        let d = [digest; 32];
        (
            HostKey {
                key_type: "ssh-ed25519".into(),
                fingerprint: format_fingerprint(&d),
                key: vec![digest],
            },
            d,
        )
    }

    #[test]
    fn accept_first_remembers_and_refuses_a_change() {
        let mut remembered = None;
        let policy = HostKeyPolicy::AcceptFirst;
        let ((k9, d9), (k1, d1), (k2, d2)) = (key(9), key(1), key(2));
        // Not remembered until a connection authenticated.
        check(&policy, &remembered, &k9, d9, "h:22").unwrap();
        check(&policy, &remembered, &k1, d1, "h:22").unwrap();
        remember(&policy, &mut remembered, d1);
        check(&policy, &remembered, &k1, d1, "h:22").unwrap();
        let err = check(&policy, &remembered, &k2, d2, "h:22").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::HostKeyRejected);
    }

    #[test]
    fn pins_accept_only_their_keys() {
        let ((k3, d3), (k4, d4), (k5, d5)) = (key(3), key(4), key(5));
        let policy =
            HostKeyPolicy::Fingerprints(vec![format_fingerprint(&d3), format_fingerprint(&d5)]);
        check(&policy, &None, &k3, d3, "h:22").unwrap();
        check(&policy, &None, &k5, d5, "h:22").unwrap();
        let err = check(&policy, &None, &k4, d4, "h:22").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::HostKeyRejected);
    }

    #[test]
    fn a_callback_decides_with_type_fingerprint_and_key() {
        let (k, d) = key(6);
        let expected = k.clone();
        let policy = HostKeyPolicy::Callback(HostKeyCallback::new(move |seen| *seen == expected));
        check(&policy, &None, &k, d, "h:22").unwrap();
        let (other, od) = key(7);
        assert!(check(&policy, &None, &other, od, "h:22").is_err());
        check(&HostKeyPolicy::AcceptAny, &None, &other, od, "h:22").unwrap();
    }
}
