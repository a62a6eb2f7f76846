//! Freeing through the C ABI: output callbacks may free what they were given (their own run
//! options, or the client itself from inside a call on it) without a use-after-free or a
//! deadlock, and free does not wait out a `smol_ssh_wait` in progress.

mod support;

use std::ffi::{c_void, CString};
use std::time::{Duration, Instant};

use smol_ssh::ffi::client::*;
use smol_ssh::ffi::result::*;
use smol_ssh::ffi::run_options::*;
use support::capi::CClient;
use support::Sshd;

/// What the callbacks below are given.
struct State {
    options: *mut smol_ssh_run_options,
    client: *mut smol_ssh_client,
    chunks: usize,
}

/// Counts chunks, and frees what `state` holds (its run options, its client) at the first.
unsafe extern "C" fn frees_what_it_holds(
    user: *mut c_void,
    _stream: i32,
    _data: *const u8,
    _len: usize,
) -> i32 {
    // SAFETY: `user` is the State of the test, alive for the run.
    let state = unsafe { &mut *user.cast::<State>() };
    state.chunks += 1;
    if !state.options.is_null() {
        // SAFETY: freed once, here.
        unsafe { smol_ssh_run_options_free(state.options) };
        state.options = std::ptr::null_mut();
    }
    if !state.client.is_null() {
        // SAFETY: freed once, here, from inside a call on it.
        unsafe { smol_ssh_free(state.client) };
        state.client = std::ptr::null_mut();
    }
    0
}

fn run_with(
    client: *mut smol_ssh_client,
    command: &str,
    callback: smol_ssh_output_fn,
    state: &mut State,
) -> (i32, usize) {
    let command = CString::new(command).unwrap();
    // SAFETY: live pointers; the state outlives the call.
    unsafe {
        let options = smol_ssh_run_options_new();
        smol_ssh_run_options_set_timeout_ms(options, 10_000);
        smol_ssh_run_options_set_shell_mode(options, 1);
        smol_ssh_run_options_set_output_callback(options, callback, (state as *mut State).cast());
        state.options = options;
        let r = smol_ssh_run_with(client, command.as_ptr(), options);
        let status = (*r).status as i32;
        let kept = (*r).stdout_len;
        smol_ssh_result_free(r);
        if !state.options.is_null() {
            smol_ssh_run_options_free(state.options);
        }
        (status, kept)
    }
}

#[test]
fn a_callback_may_free_its_own_run_options() {
    let sshd = Sshd::start();
    let c = CClient::new(&sshd, sshd.port);
    let mut state = State {
        options: std::ptr::null_mut(),
        client: std::ptr::null_mut(),
        chunks: 0,
    };
    let (status, _) = run_with(
        c.0,
        "for i in 1 2 3 4 5; do echo $i; sleep 0.05; done",
        Some(frees_what_it_holds),
        &mut state,
    );
    assert_eq!(status, 0);
    assert!(state.chunks >= 2, "{} chunks", state.chunks);
    c.free();
}

#[test]
fn a_callback_may_free_the_client() {
    let sshd = Sshd::start();
    let c = CClient::new(&sshd, sshd.port);
    let mut state = State {
        options: std::ptr::null_mut(),
        client: c.0,
        chunks: 0,
    };
    let t = Instant::now();
    let (status, _) = run_with(
        c.0,
        "while :; do echo tick; sleep 0.05; done",
        Some(frees_what_it_holds),
        &mut state,
    );
    let took = t.elapsed();
    assert_eq!(
        status,
        support::capi::status(smol_ssh::ErrorKind::Disconnected)
    );
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert!(state.client.is_null());
}

#[test]
fn free_ends_a_wait_in_progress() {
    // A port nothing listens on: the wait probes and backs off until its 15 s deadline.
    let port = support::sshd::free_port();
    let c = CClient::with_key("nobody", "/nonexistent", port, None);
    let waiting = std::thread::spawn(move || {
        let client = c;
        // SAFETY: the client is live until the free below, which waits for this call.
        let r = unsafe { smol_ssh_wait(client.0, 15_000, 100) };
        // SAFETY: a result of this library, freed once.
        let status = unsafe { (*r).status as i32 };
        unsafe { smol_ssh_result_free(r) };
        status
    });
    std::thread::sleep(Duration::from_millis(300));
    let t = Instant::now();
    c.free();
    let took = t.elapsed();
    let status = waiting.join().unwrap();
    eprintln!("free during a wait: {:.1} ms", took.as_secs_f64() * 1e3);
    assert_eq!(
        status,
        support::capi::status(smol_ssh::ErrorKind::Disconnected)
    );
    assert!(took < Duration::from_millis(600), "free took {took:?}");
}

#[test]
fn calls_racing_or_after_free_fail_cleanly() {
    let sshd = Sshd::start();
    for _ in 0..5 {
        let c = CClient::new(&sshd, sshd.port);
        assert_eq!(c.run("true", Duration::from_secs(10)).status, 0);
        // Threads keep calling while the client is freed under them.
        let racers: Vec<_> = (0..4)
            .map(|_| {
                std::thread::spawn(move || {
                    let client = c;
                    let mut after_free = 0;
                    for _ in 0..200 {
                        let r = client.run("true", Duration::from_secs(10));
                        match r.status {
                            0 => {}
                            s if s
                                == support::capi::status(smol_ssh::ErrorKind::InvalidArgument) =>
                            {
                                assert!(r.message.contains("not a live client"), "{}", r.message);
                                after_free += 1;
                            }
                            s => assert_eq!(
                                s,
                                support::capi::status(smol_ssh::ErrorKind::Disconnected),
                                "{}",
                                r.message
                            ),
                        }
                    }
                    after_free
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(20));
        c.free();
        let refused: usize = racers.into_iter().map(|t| t.join().unwrap()).sum();
        assert!(refused > 0, "no call came after the free");
        // And plainly after it, from this thread; freeing twice is a no-op.
        let r = c.run("true", Duration::from_secs(10));
        assert_eq!(
            r.status,
            support::capi::status(smol_ssh::ErrorKind::InvalidArgument)
        );
        c.free();
    }
}
