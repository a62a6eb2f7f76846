//! What a run returns.

use std::time::Duration;

/// Which output stream a chunk came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// The outcome of a command that ran to its end on the guest.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Output {
    /// The exit status, or `None` when the command ended without one (killed by a signal, or
    /// the server sent none). SSH carries it as an unsigned 32-bit number: POSIX guests send
    /// 0–255, Windows guests any 32-bit value (0xC0000005 for an access violation).
    pub exit_code: Option<u32>,
    /// The signal name the server reported (`"KILL"`, `"TERM"`, ...), if the command was killed.
    pub exit_signal: Option<String>,
    /// What the command wrote to stdout, unchanged (the first `max_output_bytes`).
    pub stdout: Vec<u8>,
    /// What the command wrote to stderr, unchanged (the first `max_output_bytes`).
    pub stderr: Vec<u8>,
    /// The command wrote more to stdout than `max_output_bytes`; the rest was discarded.
    pub stdout_truncated: bool,
    /// The command wrote more to stderr than `max_output_bytes`; the rest was discarded.
    pub stderr_truncated: bool,
    /// Wall time of the whole call, from submission to result (including any connect).
    pub elapsed: Duration,
}

impl Output {
    /// True when the command exited with status 0 (the reference's `ok`).
    pub fn ok(&self) -> bool {
        self.exit_code == Some(0)
    }

    /// Appends bytes to one stream.
    pub(crate) fn append(&mut self, stream: Stream, bytes: &[u8]) {
        match stream {
            Stream::Stdout => self.stdout.extend_from_slice(bytes),
            Stream::Stderr => self.stderr.extend_from_slice(bytes),
        }
    }

    /// stdout without leading and trailing whitespace (the reference's `output`): the bytes
    /// Python's `bytes.strip()` removes, space and `\t \n \v \f \r` (Rust's `trim_ascii`
    /// keeps `\v`). Every binding's `output` is these bytes.
    pub fn output(&self) -> &[u8] {
        strip_whitespace(&self.stdout)
    }
}

/// `bytes` without the leading and trailing bytes Python's `bytes.strip()` removes.
pub fn strip_whitespace(bytes: &[u8]) -> &[u8] {
    let space = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r');
    let start = bytes.iter().position(|b| !space(b)).unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !space(b))
        .map_or(start, |i| i + 1);
    &bytes[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ok_and_output() {
        let out = Output {
            exit_code: Some(0),
            stdout: b" \n hello\tworld \r\n".to_vec(),
            ..Output::default()
        };
        assert!(out.ok());
        assert_eq!(out.output(), b"hello\tworld");
        assert_eq!(strip_whitespace(b"\x0b\x0c a\x0bb \x0b"), b"a\x0bb");
        assert_eq!(strip_whitespace(b" \x0b\t"), b"");
        assert_eq!(strip_whitespace(b"\xa0x\xa0"), b"\xa0x\xa0");
        let killed = Output {
            exit_signal: Some("KILL".into()),
            ..Output::default()
        };
        assert!(!killed.ok());
    }
}
