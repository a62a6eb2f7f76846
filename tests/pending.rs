//! Runs submitted without waiting: many in flight from one thread, completion on a file
//! descriptor (watched with poll as an event loop would), deadlines, cancel, drop, and a client
//! freed under them.

mod support;

use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use smol_ssh::{Client, ErrorKind, Pending, RunOptions};
use support::{config, raw, Sshd};

/// Waits with poll(2) on every pending's descriptor, as an event loop does; returns the index
/// of one that is readable.
fn poll_any(pending: &[&Pending], timeout: Duration) -> Option<usize> {
    let mut fds: Vec<libc::pollfd> = pending
        .iter()
        .map(|p| libc::pollfd {
            fd: p.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    // SAFETY: valid pollfds for the duration of the call.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as _, timeout.as_millis() as i32) };
    if n <= 0 {
        return None;
    }
    fds.iter().position(|f| f.revents & libc::POLLIN != 0)
}

#[test]
fn many_runs_in_flight_from_one_thread_complete_on_their_descriptors() {
    let sshd = Sshd::start();
    let c = Client::new(config(&sshd)).unwrap();
    let mut pending: Vec<Option<Pending>> = (0..20)
        .map(|i| {
            Some(
                c.submit(&format!("sleep 0.{}; echo {i}", i % 3), &raw(20))
                    .unwrap(),
            )
        })
        .collect();
    let mut got = vec![String::new(); 20];
    let start = Instant::now();
    while pending.iter().any(Option::is_some) {
        let live: Vec<(usize, &Pending)> = pending
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.as_ref().map(|p| (i, p)))
            .collect();
        let refs: Vec<&Pending> = live.iter().map(|(_, p)| *p).collect();
        let k = poll_any(&refs, Duration::from_secs(20)).expect("a run ends");
        let i = live[k].0;
        let mut p = pending[i].take().unwrap();
        assert!(p.is_done());
        let out = p.try_result().expect("readable means done").unwrap();
        got[i] = String::from_utf8(out.stdout).unwrap();
        assert!(p.try_result().is_none(), "a result is taken once");
    }
    for (i, g) in got.iter().enumerate() {
        assert_eq!(g, &format!("{i}\n"));
    }
    assert!(start.elapsed() < Duration::from_secs(10));
}

#[test]
fn deadlines_cancels_and_drops() {
    let sshd = Sshd::start();
    let c = Client::new(config(&sshd)).unwrap();
    // The deadline is the run's own.
    let p = c.submit("sleep 30", &raw(1)).unwrap();
    let start = Instant::now();
    assert!(!p.is_done());
    let err = p.wait().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(start.elapsed() < Duration::from_millis(1500));

    // Cancel from another thread; and the caller's own token cancels too.
    let p = c.submit("sleep 30", &raw(30)).unwrap();
    std::thread::scope(|s| {
        s.spawn(|| {
            std::thread::sleep(Duration::from_millis(200));
            p.cancel();
        });
        assert!(p.wait_for(Duration::from_secs(5)));
    });
    assert_eq!(p.wait().unwrap_err().kind(), ErrorKind::Cancelled);
    let token = smol_ssh::CancelToken::new();
    let p = c
        .submit(
            "sleep 30",
            &RunOptions {
                cancel: Some(token.clone()),
                ..raw(30)
            },
        )
        .unwrap();
    token.cancel();
    assert_eq!(p.wait().unwrap_err().kind(), ErrorKind::Cancelled);

    // Dropping a pending run stops its command.
    let marker = format!("smol-ssh-dropped-{}", std::process::id());
    let running = c
        .submit(&format!("sleep 30; touch /tmp/{marker}"), &raw(40))
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let before = c
        .run(
            &format!("pgrep -f '[t]ouch /tmp/{marker}' | wc -l"),
            &raw(10),
        )
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&before.stdout).trim(),
        "1",
        "it runs"
    );
    drop(running);
    std::thread::sleep(Duration::from_millis(500));
    let left = c
        .run(
            &format!("pgrep -f '[t]ouch /tmp/{marker}' | wc -l"),
            &raw(10),
        )
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&left.stdout).trim(), "0");

    // Bad input is refused at once.
    let err = c.submit("   ", &raw(10)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
}

#[test]
fn a_pending_run_outlives_its_freed_client() {
    let sshd = Sshd::start();
    let c = Client::new(config(&sshd)).unwrap();
    let p = c.submit("sleep 30", &raw(30)).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    drop(c);
    assert!(
        p.wait_for(Duration::from_secs(2)),
        "freeing the client ends its runs"
    );
    assert_eq!(p.wait().unwrap_err().kind(), ErrorKind::Disconnected);
}

/// Transfers submitted without waiting: an upload and a download end on their descriptors
/// with the blocking calls' results, and a download cancelled midway ends `Cancelled` without
/// leaving a local file.
#[test]
fn transfers_submitted_end_on_their_descriptors_and_cancel() {
    let sshd = Sshd::start();
    let c = std::sync::Arc::new(Client::new(config(&sshd)).unwrap());
    let shared = support::shared_dir(&sshd, "submitted");
    let local = tempfile::tempdir().unwrap();
    let data: Vec<u8> = (0..3u32 << 20).map(|i| (i * 7 % 251) as u8).collect();
    let source = local.path().join("up.bin");
    std::fs::write(&source, &data).unwrap();
    let remote = shared.join("up.bin");
    let remote = remote.to_str().unwrap();

    let mut up = c.submit_put_file(&source, remote, &raw(30)).unwrap();
    assert_eq!(poll_any(&[&up], Duration::from_secs(30)), Some(0));
    let out = up.try_result().unwrap().unwrap();
    assert_eq!(out.stdout, remote.as_bytes());
    assert_eq!(std::fs::read(remote).unwrap(), data);

    let back = local.path().join("down.bin");
    let down = c
        .submit_get_file(remote, &back, u64::MAX, &raw(30))
        .unwrap();
    down.wait().unwrap();
    assert_eq!(std::fs::read(&back).unwrap(), data);

    // A big download, cancelled as soon as it has begun.
    let big = shared.join("big.bin");
    let big = big.to_str().unwrap();
    c.run(&format!("head -c 400000000 /dev/zero > {big}"), &raw(60))
        .unwrap();
    let target = local.path().join("big.bin");
    let mut cancelled = c.submit_get_file(big, &target, u64::MAX, &raw(60)).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let t0 = Instant::now();
    cancelled.cancel();
    assert_eq!(poll_any(&[&cancelled], Duration::from_secs(10)), Some(0));
    let err = cancelled.try_result().unwrap().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cancelled, "{err}");
    assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
    assert!(!target.exists());
    assert!(
        std::fs::read_dir(local.path()).unwrap().count() == 2,
        "a temporary was left behind"
    );
    // Bad arguments fail at once, on the descriptor like any other end.
    let bad = c
        .submit_put_file(&local.path().join("missing"), remote, &raw(10))
        .unwrap();
    assert_eq!(bad.wait().unwrap_err().kind(), ErrorKind::InvalidArgument);
}
