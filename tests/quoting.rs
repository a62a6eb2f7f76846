//! Property test: any string (UTF-8 without NUL, which no shell argument can hold) sent through
//! the `sh` login-shell wrapping reaches the guest unchanged.

mod support;

use proptest::prelude::*;
use smol_ssh::{shell, RunOptions};
use support::{client, Sshd};

fn echo_command(payload: &str) -> String {
    let mut command = String::from("printf %s ");
    shell::push_posix_quoted(&mut command, payload);
    command
}

#[test]
fn arbitrary_strings_survive_the_login_wrapping() {
    let sshd = Sshd::start();
    let c = client(&sshd);
    let login = RunOptions::default();
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 200,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let strategy = prop_oneof![
        "[^\u{0}]{0,200}",
        "[ -~]{0,200}",
        proptest::collection::vec(
            prop_oneof![
                Just('\''),
                Just('"'),
                Just('\\'),
                Just('$'),
                Just('`'),
                Just('\n'),
                Just(' '),
                Just('!'),
                Just('*')
            ],
            0..40
        )
        .prop_map(|v| v.into_iter().collect::<String>()),
    ];
    runner
        .run(&strategy, |payload| {
            let out = c.run(&echo_command(&payload), &login).unwrap();
            prop_assert_eq!(
                out.exit_code,
                Some(0),
                "stderr {:?}",
                String::from_utf8_lossy(&out.stderr)
            );
            prop_assert_eq!(String::from_utf8_lossy(&out.stdout), payload);
            Ok(())
        })
        .unwrap();
}
