//! Secrets the client holds (a password, a key's passphrase): wiped from memory when dropped,
//! and never shown, neither by `Debug` nor in any message.

use std::fmt;

use zeroize::Zeroize;

/// A secret string. `Debug` prints `Secret(<redacted>)`; the memory is zeroed on drop (copies
/// made by `Clone` are secrets too, zeroed on their own drop).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret(value.to_owned())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "Secret(<redacted>)");
        assert_eq!(s.expose(), "hunter2");
        let mut config = crate::Config::new("h");
        config.password = Some("hunter2".into());
        config.key_passphrase = Some("correct horse".into());
        let shown = format!("{config:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("correct horse"),
            "{shown}"
        );
    }
}
