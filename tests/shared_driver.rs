//! Clients share driver threads: with the pool set to one thread, one client floods while 100
//! quiet clients on the same thread run their commands and keep their deadlines, and the
//! process holds one driver thread for all of them; a guest that stalls its handshake holds up
//! no other client of the thread. A test binary of its own: the pool's size is the process's,
//! and threads are counted (the tests take turns).
//!
//! Figures are printed (run with `--nocapture`); what is asserted is behaviour (results and
//! deadlines, with the margin of a loaded CI machine), not speed.

mod support;

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use smol_ssh::{Client, ErrorKind, RunOptions};
use support::{client, raw, Sshd};

/// How late a call may end after its deadline.
const LATE: Duration = Duration::from_millis(250);
const QUIET: usize = 100;

/// One test at a time: threads are counted, and the pool is set to one thread.
fn one_at_a_time() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Each quiet client runs `echo <its number>` once, ten threads at a time; returns how long
/// each run took. Every run must succeed within its own 5 s deadline with its own output.
fn quiet_round(quiet: &Arc<Vec<Client>>) -> Vec<Duration> {
    let workers: Vec<_> = (0..10)
        .map(|w| {
            let quiet = Arc::clone(quiet);
            thread::spawn(move || {
                let mut took = Vec::new();
                for i in (w..QUIET).step_by(10) {
                    let t0 = Instant::now();
                    let out = quiet[i]
                        .run(&format!("echo {i}"), &raw(5))
                        .unwrap_or_else(|e| panic!("quiet client {i}: {e}"));
                    took.push(t0.elapsed());
                    assert_eq!(out.stdout, format!("{i}\n").as_bytes(), "client {i}");
                }
                took
            })
        })
        .collect();
    workers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect()
}

#[test]
fn one_flooding_client_and_a_hundred_quiet_ones_on_one_driver_thread() {
    let _serial = one_at_a_time();
    smol_ssh::set_driver_threads(1).unwrap();
    assert_eq!(smol_ssh::driver_threads(), 1);
    let sshd = Sshd::start();
    let before = threads();
    let flooder = client(&sshd);
    flooder.run("true", &raw(10)).unwrap();
    let quiet: Arc<Vec<Client>> = Arc::new((0..QUIET).map(|_| client(&sshd)).collect());
    // The first round connects them (ten at a time); the second is the figure alone.
    quiet_round(&quiet);
    let alone = quiet_round(&quiet);
    let during = threads();
    assert!(
        during <= before + 1,
        "{} clients made {} threads (one driver thread expected)",
        QUIET + 1,
        during - before
    );

    // The flood: `yes` at full speed into a callback that throws it away, until its deadline.
    let flood_timeout = Duration::from_secs(8);
    let received = Arc::new(AtomicUsize::new(0));
    let flood = {
        let (received, flooder) = (Arc::clone(&received), flooder);
        thread::spawn(move || {
            let opts = RunOptions {
                timeout: flood_timeout,
                ..raw(1)
            };
            let t0 = Instant::now();
            let err = flooder
                .run_streaming("exec yes", &opts, |_, bytes| {
                    received.fetch_add(bytes.len(), Ordering::Relaxed);
                    ControlFlow::Continue(())
                })
                .unwrap_err();
            (err, t0.elapsed())
        })
    };
    while received.load(Ordering::Relaxed) < 16 << 20 {
        thread::sleep(Duration::from_millis(5));
    }
    let flooding = quiet_round(&quiet);

    // A quiet client's own deadline is kept beside the flood.
    let t0 = Instant::now();
    let err = quiet[0].run("sleep 5", &raw(1)).unwrap_err();
    let late = t0.elapsed();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(
        late < Duration::from_secs(1) + LATE,
        "a 1 s deadline ended after {late:?} beside the flood"
    );
    let still = received.load(Ordering::Relaxed);
    let (err, took) = flood.join().unwrap();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(
        took < flood_timeout + LATE,
        "the flood's {flood_timeout:?} deadline ended after {took:?}"
    );
    let total = received.load(Ordering::Relaxed);
    assert!(
        total > still,
        "the flood stopped while the quiet clients ran"
    );
    eprintln!(
        "one driver thread, {QUIET} quiet clients: echo median {:.2} ms alone, {:.2} ms beside \
         a flood ({} MiB in {:.1} s); a 1 s deadline ended after {:.0} ms",
        median(alone).as_secs_f64() * 1e3,
        median(flooding).as_secs_f64() * 1e3,
        total >> 20,
        took.as_secs_f64(),
        late.as_secs_f64() * 1e3
    );
    // Every quiet client still works after the flood.
    quiet_round(&quiet);
}

#[test]
fn a_guest_stalling_its_handshake_holds_up_no_other_client_of_the_thread() {
    let _serial = one_at_a_time();
    smol_ssh::set_driver_threads(1).unwrap();
    let sshd = Sshd::start();
    let busy = client(&sshd);
    busy.run("true", &raw(10)).unwrap();
    // A "guest" whose kernel accepts the connection and whose sshd never says a word.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut cfg = support::config(&sshd);
    cfg.port = silent.local_addr().unwrap().port();
    cfg.connect_timeout = Duration::from_secs(3);
    let stalled = Client::new(cfg).unwrap();
    let t0 = Instant::now();
    let connecting = thread::spawn(move || {
        let err = stalled.run("true", &raw(10)).unwrap_err();
        (err, t0.elapsed())
    });
    thread::sleep(Duration::from_millis(200));
    // Meanwhile the other client of the same driver thread runs 20 commands, all done long
    // before the stalled connect gives up.
    for i in 0..20 {
        let out = busy.run(&format!("echo {i}"), &raw(5)).unwrap();
        assert_eq!(out.stdout, format!("{i}\n").as_bytes());
    }
    let busy_done = t0.elapsed();
    let (err, gave_up) = connecting.join().unwrap();
    assert!(
        matches!(err.kind(), ErrorKind::Timeout | ErrorKind::ConnectFailed),
        "{err}"
    );
    assert!(
        busy_done < Duration::from_secs(2),
        "20 commands beside a stalled handshake took {busy_done:?}"
    );
    assert!(
        gave_up >= Duration::from_secs(3) && gave_up < Duration::from_secs(3) + LATE,
        "the stalled connect gave up after {gave_up:?}"
    );
    eprintln!(
        "20 commands in {:.0} ms while another client's handshake stalled (it gave up after \
         {:.0} ms: {err})",
        busy_done.as_secs_f64() * 1e3,
        gave_up.as_secs_f64() * 1e3
    );
    drop(silent);
}
