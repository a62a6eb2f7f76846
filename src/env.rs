//! Environment variables for one run. The default sshd refuses `env` channel requests
//! (AcceptEnv is empty), so variables are set by the command itself, in front of it, quoted for
//! the guest's shell kind.

use std::borrow::Cow;

use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::shell::{push_posix_quoted, ShellKind};

/// `NAME=value` prefixes that set `vars` before `command`, for `kind`.
/// Borrows `command` unchanged when there are no variables (the common case: no copy).
pub fn with_env<'a>(
    command: &'a str,
    vars: &[(String, String)],
    kind: ShellKind,
) -> Result<Cow<'a, str>> {
    if vars.is_empty() {
        return Ok(Cow::Borrowed(command));
    }
    let mut out = String::new();
    for (name, value) in vars {
        check_name(name)?;
        if value.contains('\0') {
            return Err(Error::invalid(format!(
                "environment variable {name}: value contains NUL"
            )));
        }
        match kind {
            // export NAME='value'; (POSIX single quotes, as shlex.quote)
            ShellKind::Sh => {
                out.push_str("export ");
                out.push_str(name);
                out.push('=');
                push_posix_quoted(&mut out, value);
                out.push_str("; ");
            }
            // $env:NAME = 'value'; (single-quoted: nothing is expanded)
            ShellKind::PowerShell => {
                out.push_str("$env:");
                out.push_str(name);
                out.push_str(" = ");
                push_powershell_quoted(&mut out, value);
                out.push_str("; ");
            }
            // set "NAME=value" && : cmd has no quoting that survives every context (the
            // reference's `cmd.exe /s /c "..."` wrapper doubles the quotes, which leaves the
            // value outside them), so values with a character cmd treats specially are refused.
            ShellKind::Cmd => {
                if let Some(bad) = value.chars().find(|c| cmd_special(*c)) {
                    return Err(Error::invalid(format!(
                        "environment variable {name}: cmd.exe cannot be given a value with \
                         {bad:?} safely (refused: \" % & | < > ^ ( ) ! and control characters)"
                    )));
                }
                out.push_str(&format!("set \"{name}={value}\" && "));
            }
        }
    }
    out.push_str(command);
    Ok(Cow::Owned(out))
}

/// The characters PowerShell ends a single-quoted string at: the ASCII apostrophe and the
/// typographic single quotes U+2018 to U+201B. Doubling one makes it literal.
const POWERSHELL_QUOTES: [char; 5] = ['\'', '\u{2018}', '\u{2019}', '\u{201A}', '\u{201B}'];

/// `value` as a PowerShell single-quoted string: nothing inside is expanded, and every quote
/// character PowerShell knows is doubled.
fn push_powershell_quoted(out: &mut String, value: &str) {
    out.push('\'');
    for c in value.chars() {
        if POWERSHELL_QUOTES.contains(&c) {
            out.push(c);
        }
        out.push(c);
    }
    out.push('\'');
}

/// Characters cmd.exe gives a meaning outside quotes (operators, escapes, variable and
/// delayed expansion, quotes themselves) and control characters.
fn cmd_special(c: char) -> bool {
    matches!(c, '"' | '%' | '&' | '|' | '<' | '>' | '^' | '(' | ')' | '!') || c.is_control()
}

/// Secret variables for a run on a POSIX guest: the values travel on the command's stdin,
/// ahead of its own input, and never in its command line (which other users of the guest can
/// read in its process table). The command gets, per variable,
/// `NAME=$(head -c LEN; echo x); NAME=${NAME%x}; export NAME; ` (exactly LEN bytes read, the
/// `x` keeping trailing newlines), and the returned bytes are to be sent first on stdin.
pub fn with_secret_env<'a>(
    command: &'a str,
    secrets: &[(String, Secret)],
    kind: ShellKind,
) -> Result<(Cow<'a, str>, Vec<u8>)> {
    if secrets.is_empty() {
        return Ok((Cow::Borrowed(command), Vec::new()));
    }
    if kind != ShellKind::Sh {
        return Err(Error::invalid(
            "secret environment variables need a POSIX guest (shell kind sh): they are read \
             from stdin with head",
        ));
    }
    let (mut out, mut stdin) = (String::new(), Vec::new());
    for (name, value) in secrets {
        check_name(name)?;
        let value = value.expose();
        if value.contains('\0') {
            return Err(Error::invalid(format!(
                "secret environment variable {name}: value contains NUL"
            )));
        }
        out.push_str(&format!(
            "{name}=$(head -c {}; echo x); {name}=${{{name}%x}}; export {name}; ",
            value.len()
        ));
        stdin.extend_from_slice(value.as_bytes());
    }
    out.push_str(command);
    Ok((Cow::Owned(out), stdin))
}

/// Names are `[A-Za-z_][A-Za-z0-9_]*`, the portable set every shell kind accepts.
fn check_name(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "environment variable name {name:?} is not [A-Za-z_][A-Za-z0-9_]*"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn each_shell_kind_gets_its_own_syntax() {
        let v = vars(&[("A", "it's $x"), ("B_2", "plain")]);
        assert_eq!(
            with_env("cmd", &v, ShellKind::Sh).unwrap(),
            "export A='it'\"'\"'s $x'; export B_2=plain; cmd"
        );
        assert_eq!(
            with_env("cmd", &v, ShellKind::PowerShell).unwrap(),
            "$env:A = 'it''s $x'; $env:B_2 = 'plain'; cmd"
        );
        assert_eq!(
            with_env("dir", &vars(&[("A", "a b-c")]), ShellKind::Cmd).unwrap(),
            "set \"A=a b-c\" && dir"
        );
        assert_eq!(
            with_env(
                "c",
                &vars(&[("A", "x\u{2019}; whoami; #")]),
                ShellKind::PowerShell
            )
            .unwrap(),
            "$env:A = 'x\u{2019}\u{2019}; whoami; #'; c"
        );
    }

    #[test]
    fn bad_names_and_values_are_invalid() {
        for (name, value, kind) in [
            ("1A", "x", ShellKind::Sh),
            ("A-B", "x", ShellKind::Sh),
            ("", "x", ShellKind::Sh),
            ("A", "x\0y", ShellKind::Sh),
            ("A", "100%", ShellKind::Cmd),
            ("A", "say \"hi\"", ShellKind::Cmd),
            ("A", "a&whoami", ShellKind::Cmd),
            ("A", "a|b", ShellKind::Cmd),
            ("A", "(x)", ShellKind::Cmd),
            ("A", "^x", ShellKind::Cmd),
            ("A", "x!y!", ShellKind::Cmd),
            ("A", "a\tb", ShellKind::Cmd),
        ] {
            assert!(
                with_env("c", &vars(&[(name, value)]), kind).is_err(),
                "{name:?}={value:?}"
            );
        }
        assert_eq!(with_env("c", &[], ShellKind::Cmd).unwrap(), "c");
    }

    /// PowerShell's lexing of a single-quoted string (about_Quoting_Rules): it opens and
    /// closes at any of the five quote characters; two in a row stand for one. Returns the
    /// string's value and the text after it.
    fn powershell_single_quoted(text: &str) -> (String, &str) {
        let mut chars = text.char_indices().peekable();
        let (_, open) = chars.next().expect("a quote");
        assert!(POWERSHELL_QUOTES.contains(&open));
        let mut value = String::new();
        while let Some((i, c)) = chars.next() {
            if POWERSHELL_QUOTES.contains(&c) {
                match chars.peek() {
                    Some((_, next)) if POWERSHELL_QUOTES.contains(next) => {
                        value.push(*next);
                        chars.next();
                    }
                    _ => return (value, &text[i + c.len_utf8()..]),
                }
            } else {
                value.push(c);
            }
        }
        panic!("unterminated string in {text:?}");
    }

    /// cmd.exe's view of a line: the characters it treats as operators or expansions outside
    /// double quotes (a quote toggles the state).
    fn cmd_live_specials(line: &str) -> Vec<char> {
        let mut quoted = false;
        let mut live = Vec::new();
        for c in line.chars() {
            match c {
                '"' => quoted = !quoted,
                '%' | '!' => live.push(c),
                '&' | '|' | '<' | '>' | '^' | '(' | ')' if !quoted => live.push(c),
                _ => {}
            }
        }
        live
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: 500, failure_persistence: None, ..Default::default()
        })]

        /// Any value (Unicode, with every quote character PowerShell knows) comes back whole
        /// as the string's value, and the string ends right where the assignment does.
        #[test]
        fn powershell_values_stay_data(value in "[^\u{0}]{0,40}|['\u{2018}-\u{201B}a;$ #`]{0,40}") {
            let line = with_env("c", &vars(&[("V", &value)]), ShellKind::PowerShell).unwrap();
            let rest = line.strip_prefix("$env:V = ").unwrap();
            let (parsed, after) = powershell_single_quoted(rest);
            proptest::prop_assert_eq!(parsed, value);
            proptest::prop_assert_eq!(after, "; c");
        }

        /// Any value cmd accepts brings no operator or expansion into the line, neither in
        /// raw mode nor inside the reference's `cmd.exe /s /c "..."` wrapper (which leaves it
        /// outside quotes); the only live characters are the `&&` that joins the command.
        #[test]
        fn cmd_values_bring_no_operators(value in "[ -~\u{80}-\u{2FF}]{0,40}") {
            match with_env("dir", &vars(&[("V", &value)]), ShellKind::Cmd) {
                Err(_) => proptest::prop_assert!(value.chars().any(cmd_special)),
                Ok(line) => {
                    proptest::prop_assert_eq!(cmd_live_specials(&line), vec!['&', '&']);
                    let wrapped = crate::shell::wrap(&line, ShellKind::Cmd, crate::ShellMode::Login);
                    let inner = wrapped
                        .strip_prefix("cmd.exe /s /c \"")
                        .and_then(|w| w.strip_suffix('"'))
                        .unwrap();
                    let live = cmd_live_specials(inner);
                    proptest::prop_assert!(live.iter().all(|c| *c == '&'), "{live:?} in {inner}");
                    proptest::prop_assert_eq!(live.len(), 2);
                }
            }
        }
    }
}
