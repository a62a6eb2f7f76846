//! Shared test support: the real sshd fixture and client helpers.
#![allow(dead_code)]

pub mod c;
pub mod echo;
pub mod bridge;
pub mod capi;
pub mod hostile;
pub mod inetd;
pub mod proxy;
pub mod sshd;

use std::time::Duration;

use smol_ssh::{Client, Config, RunOptions, ShellMode};
pub use sshd::Sshd;

/// A config for the fixture's account with its authorized key.
pub fn config(sshd: &Sshd) -> Config {
    let mut c = Config::new("127.0.0.1");
    c.port = sshd.port;
    c.user = sshd.user.clone();
    c.key_path = Some(sshd.key.clone());
    c.connect_timeout = Duration::from_secs(5);
    // The fixture's host key is known: pinned, as callers who made the guest can.
    c.host_key = smol_ssh::HostKeyPolicy::Fingerprints(vec![sshd.host_fingerprint()]);
    c
}

/// A config that reaches the fixture through `proxy`.
pub fn config_via(sshd: &Sshd, proxy: &proxy::Proxy) -> Config {
    let mut c = config(sshd);
    c.port = proxy.port;
    c
}

pub fn client(sshd: &Sshd) -> Client {
    Client::new(config(sshd)).expect("valid config")
}

pub fn raw(timeout_secs: u64) -> RunOptions {
    RunOptions {
        timeout: Duration::from_secs(timeout_secs),
        mode: ShellMode::Raw,
        ..RunOptions::default()
    }
}
