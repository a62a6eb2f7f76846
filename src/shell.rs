//! Login-shell wrapping, byte-identical to the reference client.
//!
//! POSIX quoting is written here rather than taken from the `shlex` crate: that crate mixes
//! double quotes into its output and quotes `=`, `%` and `,`, so its bytes differ from Python's
//! `shlex.quote`, which is what the reference sends and what users' logs and tests compare to.

use base64::Engine as _;

/// The shell the guest runs commands in (the reference's `shell_kind`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ShellKind {
    /// A POSIX shell: `$SHELL` (or `/bin/sh`) as a login shell.
    #[default]
    Sh,
    /// Windows PowerShell, the command passed as `-EncodedCommand`.
    PowerShell,
    /// Windows `cmd.exe`.
    Cmd,
}

/// How a command is handed to the guest.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ShellMode {
    /// Wrapped for the configured [`ShellKind`] so that it runs in a login shell.
    #[default]
    Login,
    /// Sent as given; the server's default shell interprets it.
    Raw,
}

/// Returns the exact string sent to the server for `command`.
pub fn wrap(command: &str, kind: ShellKind, mode: ShellMode) -> String {
    match (mode, kind) {
        (ShellMode::Raw, _) => command.to_owned(),
        (ShellMode::Login, ShellKind::Sh) => {
            let mut out = String::from("SHELL_BIN=\"${SHELL:-/bin/sh}\"; exec \"$SHELL_BIN\" -lc ");
            push_posix_quoted(&mut out, command);
            out
        }
        (ShellMode::Login, ShellKind::PowerShell) => {
            let utf16: Vec<u8> = command.encode_utf16().flat_map(u16::to_le_bytes).collect();
            let encoded = base64::engine::general_purpose::STANDARD.encode(utf16);
            format!("powershell.exe -NoProfile -EncodedCommand {encoded}")
        }
        (ShellMode::Login, ShellKind::Cmd) => {
            format!("cmd.exe /s /c \"{}\"", command.replace('"', "\"\""))
        }
    }
}

/// `sh -c <script>`, so that a script of ours runs in a POSIX shell whatever the user's login
/// shell is.
pub(crate) fn sh_c(script: &str) -> String {
    let mut command = String::from("sh -c ");
    push_posix_quoted(&mut command, script);
    command
}

/// Appends `word` quoted for a POSIX shell exactly as Python's `shlex.quote` does.
pub fn push_posix_quoted(out: &mut String, word: &str) {
    let safe = |c: char| c.is_ascii_alphanumeric() || "@%+=:,./_-".contains(c);
    if word.is_empty() {
        out.push_str("''");
    } else if word.chars().all(safe) {
        out.push_str(word);
    } else {
        out.push('\'');
        out.push_str(&word.replace('\'', "'\"'\"'"));
        out.push('\'');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(c: &str) -> String {
        wrap(c, ShellKind::Sh, ShellMode::Login)
    }

    #[test]
    fn sh_matches_python_shlex_quote() {
        let prefix = "SHELL_BIN=\"${SHELL:-/bin/sh}\"; exec \"$SHELL_BIN\" -lc ";
        // Expected values printed by Python 3.11: shlex.quote(x).
        let cases = [
            ("ls", "ls"),
            ("a=b%c+d:e,f./g_h-@", "a=b%c+d:e,f./g_h-@"),
            ("echo hi", "'echo hi'"),
            ("it's", "'it'\"'\"'s'"),
            ("", "''"),
            ("a]b", "'a]b'"),
            ("$HOME", "'$HOME'"),
            ("é", "'é'"),
        ];
        for (input, quoted) in cases {
            assert_eq!(sh(input), format!("{prefix}{quoted}"), "input {input:?}");
        }
    }

    #[test]
    fn powershell_is_utf16le_base64() {
        // base64.b64encode("Get-Date".encode("utf-16-le"))
        assert_eq!(
            wrap("Get-Date", ShellKind::PowerShell, ShellMode::Login),
            "powershell.exe -NoProfile -EncodedCommand RwBlAHQALQBEAGEAdABlAA=="
        );
        // A character outside the BMP becomes a surrogate pair.
        assert_eq!(
            wrap("😀", ShellKind::PowerShell, ShellMode::Login),
            "powershell.exe -NoProfile -EncodedCommand PdgA3g=="
        );
    }

    #[test]
    fn cmd_doubles_quotes() {
        assert_eq!(
            wrap(r#"echo "a b""#, ShellKind::Cmd, ShellMode::Login),
            r#"cmd.exe /s /c "echo ""a b""""#
        );
    }

    #[test]
    fn raw_is_unchanged_for_every_kind() {
        for kind in [ShellKind::Sh, ShellKind::PowerShell, ShellKind::Cmd] {
            assert_eq!(
                wrap("echo 'x' \"y\"", kind, ShellMode::Raw),
                "echo 'x' \"y\""
            );
        }
    }
}
