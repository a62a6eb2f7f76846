//! Many threads on one client: every result belongs to its own call.

mod support;

use std::sync::Arc;

use support::{client, raw, Sshd};

#[test]
fn concurrent_runs_on_one_client_get_their_own_output() {
    let sshd = Sshd::start();
    let c = Arc::new(client(&sshd));
    let before = sshd.connections();
    let threads: Vec<_> = (0..12)
        .map(|t| {
            let c = Arc::clone(&c);
            std::thread::spawn(move || {
                for i in 0..20 {
                    let marker = format!("marker-{t}-{i}");
                    let out = c
                        .run(
                            &format!("echo {marker}; echo {marker} >&2; exit {}", i % 7),
                            &raw(30),
                        )
                        .unwrap();
                    assert_eq!(out.stdout, format!("{marker}\n").as_bytes());
                    assert_eq!(out.stderr, format!("{marker}\n").as_bytes());
                    assert_eq!(out.exit_code, Some(i % 7));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(sshd.connections() - before, 1);
}

#[test]
fn commands_run_in_parallel_over_the_one_connection() {
    let sshd = Sshd::start();
    let c = Arc::new(client(&sshd));
    c.run("true", &raw(10)).unwrap();
    // Eight commands that each wait for the others through a FIFO-free barrier: each writes
    // its mark, then waits until all eight marks exist. Serialised runs could never finish.
    let dir = sshd.dir().join("barrier");
    std::fs::create_dir(&dir).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let c = Arc::clone(&c);
            let dir = dir.clone();
            std::thread::spawn(move || {
                let cmd = format!(
                    "touch {d}/{t}; while [ $(ls {d} | wc -l) -lt 8 ]; do sleep 0.01; done; echo {t}",
                    d = dir.display()
                );
                c.run(&cmd, &raw(20)).unwrap().stdout
            })
        })
        .collect();
    for (t, handle) in threads.into_iter().enumerate() {
        assert_eq!(handle.join().unwrap(), format!("{t}\n").as_bytes());
    }
}

#[test]
fn sixty_four_threads_times_two_hundred_commands_nothing_swapped_lost_or_corrupted() {
    let sshd = Sshd::start();
    let c = Arc::new(client(&sshd));
    let threads: Vec<_> = (0..64)
        .map(|t| {
            let c = Arc::clone(&c);
            std::thread::spawn(move || {
                let mut wrong = 0;
                for i in 0..200 {
                    let marker = format!("m{t}x{i}");
                    match c.run(&format!("echo {marker}"), &raw(60)) {
                        Ok(out) if out.stdout == format!("{marker}\n").as_bytes() && out.ok() => {}
                        other => {
                            wrong += 1;
                            eprintln!("thread {t} run {i}: {other:?}");
                        }
                    }
                }
                wrong
            })
        })
        .collect();
    let wrong: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(wrong, 0, "{wrong} of 12800 results were wrong");
}
