//! The scripted misbehaving SSH server (tests/support/hostile_sshd.py, paramiko's server
//! mode), for the hostile rows a real sshd cannot play. See the script for its modes and
//! commands.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use smol_ssh::{Client, Config};

/// Debian's python3 (with python3-paramiko), not whatever `python3` is first on PATH.
const PYTHON: &str = "/usr/bin/python3";

/// A running scripted server; killed (by its PID) when dropped.
pub struct Hostile {
    pub port: u16,
    child: Child,
    dir: tempfile::TempDir,
    /// A client key (the server accepts any).
    pub key: PathBuf,
}

impl Hostile {
    pub fn start(mode: &str) -> Hostile {
        Self::start_env(mode, &[])
    }

    /// As `start`, with environment variables for the server (its SFTP rows).
    pub fn start_env(mode: &str, env: &[(&str, &str)]) -> Hostile {
        let script =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/hostile_sshd.py");
        let mut child = Command::new(PYTHON)
            .arg(&script)
            .arg(mode)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {PYTHON}: {e} (apt-get install python3-paramiko)")
            });
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().parse().unwrap_or_else(|_| {
            let _ = child.kill();
            panic!(
                "the scripted server did not start (is python3-paramiko installed? \
                 apt-get install python3-paramiko)"
            )
        });
        let dir = tempfile::Builder::new()
            .prefix("smol-ssh-hostile-")
            .tempdir()
            .unwrap();
        let key = dir.path().join("client_ed25519");
        super::sshd::keygen(&key, "");
        Hostile {
            port,
            child,
            dir,
            key,
        }
    }

    pub fn config(&self) -> Config {
        let mut c = Config::new("127.0.0.1");
        c.port = self.port;
        c.user = "guest".into();
        c.key_path = Some(self.key.clone());
        c.connect_timeout = Duration::from_secs(5);
        // Its key is made afresh at each start.
        c.host_key = smol_ssh::HostKeyPolicy::AcceptAny;
        c
    }

    pub fn client(&self) -> Client {
        Client::new(self.config()).unwrap()
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
