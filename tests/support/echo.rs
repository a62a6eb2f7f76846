//! A service on the guest's loopback (the fixture's sshd runs on this machine, so 127.0.0.1
//! is the guest's too), for streams and forwards, and bytes no simple bug reproduces.

use std::net::{Shutdown, TcpListener};
use std::thread;

/// An echo service on 127.0.0.1: each connection gets back what it sends, then EOF.
pub fn echo_service() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { break };
            thread::spawn(move || {
                let mut back = conn.try_clone().unwrap();
                let _ = std::io::copy(&mut conn, &mut back);
                let _ = back.shutdown(Shutdown::Write);
            });
        }
    });
    port
}

/// `len` deterministic pseudo-random bytes (xorshift from `seed`).
pub fn pattern(len: usize, seed: u32) -> Vec<u8> {
    let mut x: u32 = 0x9e37_79b9 ^ seed;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}
