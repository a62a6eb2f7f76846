//! Environment variables for one run. The default sshd refuses `env` channel requests
//! (AcceptEnv is empty), so variables are set by the command itself, in front of it, quoted for
//! the guest's shell kind.

use std::borrow::Cow;

use crate::error::{Error, Result};
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
            // $env:NAME = 'value'; (single-quoted: nothing is expanded; ' is doubled)
            ShellKind::PowerShell => {
                out.push_str(&format!("$env:{name} = '{}'; ", value.replace('\'', "''")));
            }
            // set "NAME=value" && (the quotes keep & | < > literal; cmd cannot quote " or %)
            ShellKind::Cmd => {
                if value.contains(['"', '%', '\n', '\r']) {
                    return Err(Error::invalid(format!(
                        "environment variable {name}: cmd.exe cannot be given a value with \
                         \", % or a line break safely"
                    )));
                }
                out.push_str(&format!("set \"{name}={value}\" && "));
            }
        }
    }
    out.push_str(command);
    Ok(Cow::Owned(out))
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
            with_env("dir", &vars(&[("A", "a&b")]), ShellKind::Cmd).unwrap(),
            "set \"A=a&b\" && dir"
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
        ] {
            assert!(
                with_env("c", &vars(&[(name, value)]), kind).is_err(),
                "{name:?}={value:?}"
            );
        }
        assert_eq!(with_env("c", &[], ShellKind::Cmd).unwrap(), "c");
    }
}
