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

/// A client of the fixture that moves files over `path`.
pub fn client_for(sshd: &Sshd, path: smol_ssh::FileTransfer) -> Client {
    let mut cfg = config(sshd);
    cfg.file_transfer = path;
    Client::new(cfg).unwrap()
}

/// A directory of the fixture both the tests and the guest account may write.
pub fn shared_dir(sshd: &Sshd, name: &str) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let dir = sshd.dir().join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    dir
}

/// Each named test function (taking a `FileTransfer`), once per transfer path: `exec::NAME`
/// and `sftp::NAME`.
#[macro_export]
macro_rules! on_both_paths {
    ($($name:ident),* $(,)?) => {
        mod exec {
            $(#[test] fn $name() { super::$name(smol_ssh::FileTransfer::Exec) })*
        }
        mod sftp {
            $(#[test] fn $name() { super::$name(smol_ssh::FileTransfer::Sftp) })*
        }
    };
}

pub fn raw(timeout_secs: u64) -> RunOptions {
    RunOptions {
        timeout: Duration::from_secs(timeout_secs),
        mode: ShellMode::Raw,
        ..RunOptions::default()
    }
}
