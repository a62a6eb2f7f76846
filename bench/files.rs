//! File transfer: 100 MB up and down, and 1,000 files of 1 KiB up and down, by smol-ssh over
//! exec channels and over SFTP (one client each, connected first), beside OpenSSH's `sftp`
//! and `scp` (through a ControlMaster, so that their connect is not counted) and paramiko's
//! SFTP client (the transfer alone, timed inside the peer). One sample per round each.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use smol_ssh::{Client, FileTransfer, RunOptions};

use super::support::{self, Sshd};

const BIG: usize = 100 * 1000 * 1000;
const SMALL: usize = 1000;
const SMALL_BYTES: usize = 1024;

/// The figures of one client, one sample per round each: MB/s up, MB/s down, files/s up,
/// files/s down.
pub struct Rates {
    pub name: &'static str,
    pub up: Vec<f64>,
    pub down: Vec<f64>,
    pub small_up: Vec<f64>,
    pub small_down: Vec<f64>,
}

impl Rates {
    fn new(name: &'static str) -> Self {
        Rates {
            name,
            up: Vec::new(),
            down: Vec::new(),
            small_up: Vec::new(),
            small_down: Vec::new(),
        }
    }
}

/// Scratch folders: local files, and a folder on the guest (this machine) it may write.
struct Scratch {
    _dir: tempfile::TempDir,
    big: PathBuf,
    small: PathBuf,
    remote: PathBuf,
    back: PathBuf,
}

impl Scratch {
    fn new(sshd: &Sshd) -> Scratch {
        let dir = tempfile::Builder::new()
            .prefix("smol-ssh-bench-files-")
            .tempdir()
            .unwrap();
        let big = dir.path().join("big.bin");
        let data: Vec<u8> = (0..BIG as u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 24) as u8)
            .collect();
        fs::write(&big, data).unwrap();
        let small = dir.path().join("small");
        fs::create_dir(&small).unwrap();
        for i in 0..SMALL {
            fs::write(small.join(format!("f{i:04}")), vec![i as u8; SMALL_BYTES]).unwrap();
        }
        let remote = sshd.dir().join("bench-files");
        fs::create_dir_all(&remote).unwrap();
        fs::set_permissions(&remote, fs::Permissions::from_mode(0o777)).unwrap();
        let back = dir.path().join("back");
        fs::create_dir(&back).unwrap();
        Scratch {
            _dir: dir,
            big,
            small,
            remote,
            back,
        }
    }

    /// Empties the guest's folder and the local copies (between clients).
    fn reset(&self) {
        for d in [&self.remote, &self.back] {
            for e in fs::read_dir(d).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    fs::remove_dir_all(p).unwrap();
                } else {
                    fs::remove_file(p).unwrap();
                }
            }
        }
        for d in ["small-up", "small-down"] {
            fs::create_dir(self.remote.join(d)).unwrap();
            fs::set_permissions(self.remote.join(d), fs::Permissions::from_mode(0o777)).unwrap();
        }
        fs::create_dir(self.back.join("small")).unwrap();
        for i in 0..SMALL {
            let name = format!("f{i:04}");
            let target = self.remote.join("small-down").join(&name);
            fs::copy(self.small.join(&name), &target).unwrap();
            fs::set_permissions(&target, fs::Permissions::from_mode(0o644)).unwrap();
        }
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn mb_per_s(secs: f64) -> f64 {
    BIG as f64 / 1e6 / secs
}

fn timed(f: impl FnOnce()) -> f64 {
    let t = Instant::now();
    f();
    t.elapsed().as_secs_f64()
}

fn smol(sshd: &Sshd, path: FileTransfer, x: &Scratch, rates: &mut Rates) {
    let mut cfg = support::config(sshd);
    cfg.file_transfer = path;
    let c = Client::new(cfg).unwrap();
    let o = RunOptions {
        timeout: std::time::Duration::from_secs(120),
        ..RunOptions::default()
    };
    c.run("true", &o).unwrap();
    let up = x.remote.join("big.bin");
    rates.up.push(mb_per_s(timed(|| {
        c.put_file(&x.big, s(&up), &o).unwrap();
    })));
    rates.down.push(mb_per_s(timed(|| {
        c.get_file(s(&up), &x.back.join("big.bin"), u64::MAX, &o)
            .unwrap();
    })));
    let files: Vec<(PathBuf, String)> = (0..SMALL)
        .map(|i| {
            let name = format!("f{i:04}");
            (x.small.join(&name), name)
        })
        .collect();
    rates.small_up.push(
        SMALL as f64
            / timed(|| {
                for (local, name) in &files {
                    c.put_file(local, s(&x.remote.join("small-up").join(name)), &o)
                        .unwrap();
                }
            }),
    );
    rates.small_down.push(
        SMALL as f64
            / timed(|| {
                for (_, name) in &files {
                    let remote = x.remote.join("small-down").join(name);
                    c.get_file(s(&remote), &x.back.join("small").join(name), u64::MAX, &o)
                        .unwrap();
                }
            }),
    );
}

/// A ControlMaster for `sftp` and `scp`, ended by `ssh -O exit`.
struct Master {
    _dir: tempfile::TempDir,
    sock: PathBuf,
    dest: String,
    port: String,
}

impl Master {
    fn start(sshd: &Sshd) -> Master {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("master");
        let dest = format!("{}@127.0.0.1", sshd.user);
        let port = sshd.port.to_string();
        let ok = Command::new("ssh")
            .args([
                "-o",
                "StrictHostKeyChecking=no",
                "-o",
                "UserKnownHostsFile=/dev/null",
                "-o",
                "BatchMode=yes",
                "-o",
                "LogLevel=ERROR",
                "-p",
                &port,
                "-i",
            ])
            .arg(&sshd.key)
            .args(["-M", "-f", "-N", "-S"])
            .arg(&sock)
            .arg(&dest)
            .stdin(Stdio::null())
            .status()
            .unwrap()
            .success();
        assert!(ok, "ssh master failed");
        Master {
            _dir: dir,
            sock,
            dest,
            port,
        }
    }

    /// `sftp` or `scp` through the master: the options (no key needed).
    fn through(&self, tool: &str) -> Command {
        let mut c = Command::new(tool);
        c.args(["-q", "-o", "ControlMaster=no", "-o"])
            .arg(format!("ControlPath={}", self.sock.display()))
            .args(["-P", &self.port])
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        c
    }

    fn sftp_batch(&self, batch: &str) {
        let mut c = self.through("sftp");
        let ok = c
            .args(["-b", "-"])
            .arg(&self.dest)
            .stdin(Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write;
                child.stdin.take().unwrap().write_all(batch.as_bytes())?;
                child.wait()
            })
            .unwrap()
            .success();
        assert!(ok, "sftp batch failed");
    }
}

impl Drop for Master {
    fn drop(&mut self) {
        let _ = Command::new("ssh")
            .arg("-S")
            .arg(&self.sock)
            .args(["-O", "exit"])
            .arg(&self.dest)
            .stderr(Stdio::null())
            .status();
    }
}

/// An sftp batch path: quoted (the bench's paths have no quotes).
fn q(p: &Path) -> String {
    format!("\"{}\"", p.display())
}

fn openssh_sftp(m: &Master, x: &Scratch, rates: &mut Rates) {
    let up = x.remote.join("big.bin");
    rates.up.push(mb_per_s(timed(|| {
        m.sftp_batch(&format!("put {} {}\n", q(&x.big), q(&up)))
    })));
    let back = x.back.join("big.bin");
    rates.down.push(mb_per_s(timed(|| {
        m.sftp_batch(&format!("get {} {}\n", q(&up), q(&back)))
    })));
    let mut up_batch = String::new();
    let mut down_batch = String::new();
    for i in 0..SMALL {
        let name = format!("f{i:04}");
        up_batch += &format!(
            "put {} {}\n",
            q(&x.small.join(&name)),
            q(&x.remote.join("small-up").join(&name))
        );
        down_batch += &format!(
            "get {} {}\n",
            q(&x.remote.join("small-down").join(&name)),
            q(&x.back.join("small").join(&name))
        );
    }
    rates
        .small_up
        .push(SMALL as f64 / timed(|| m.sftp_batch(&up_batch)));
    rates
        .small_down
        .push(SMALL as f64 / timed(|| m.sftp_batch(&down_batch)));
}

fn openssh_scp(m: &Master, x: &Scratch, rates: &mut Rates) {
    let remote = |p: &Path| format!("{}:{}", m.dest, p.display());
    let scp = |from: &str, to: &str| {
        let ok = m
            .through("scp")
            .arg(from)
            .arg(to)
            .status()
            .unwrap()
            .success();
        assert!(ok, "scp failed");
    };
    let up = x.remote.join("big.bin");
    rates
        .up
        .push(mb_per_s(timed(|| scp(s(&x.big), &remote(&up)))));
    rates.down.push(mb_per_s(timed(|| {
        scp(&remote(&up), s(&x.back.join("big.bin")))
    })));
    // scp copies a folder in one process: the 1,000 files, then back.
    rates.small_up.push(
        SMALL as f64
            / timed(|| {
                let ok = m
                    .through("scp")
                    .arg("-r")
                    .arg(&x.small)
                    .arg(remote(&x.remote.join("small-up")))
                    .status()
                    .unwrap()
                    .success();
                assert!(ok, "scp -r failed");
            }),
    );
    rates.small_down.push(
        SMALL as f64
            / timed(|| {
                let ok = m
                    .through("scp")
                    .arg("-r")
                    .arg(remote(&x.remote.join("small-down")))
                    .arg(x.back.join("small"))
                    .status()
                    .unwrap()
                    .success();
                assert!(ok, "scp -r failed");
            }),
    );
}

fn paramiko(sshd: &Sshd, python: &Path, script: &Path, x: &Scratch, rates: &mut Rates) {
    let run = |args: [&str; 3]| -> f64 {
        let out = Command::new(python)
            .arg(script)
            .args(args)
            .env("SMOL_SSH_HOST", "127.0.0.1")
            .env("SMOL_SSH_PORT", sshd.port.to_string())
            .env("SMOL_SSH_USER", &sshd.user)
            .env("SMOL_SSH_KEY", &sshd.key)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        text.lines()
            .find_map(|l| l.strip_prefix("sample "))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("paramiko sftp: {}", String::from_utf8_lossy(&out.stderr)))
    };
    let up = x.remote.join("big.bin");
    rates.up.push(mb_per_s(run(["up", s(&x.big), s(&up)])));
    rates
        .down
        .push(mb_per_s(run(["down", s(&up), s(&x.back.join("big.bin"))])));
    rates
        .small_up
        .push(SMALL as f64 / run(["small-up", s(&x.small), s(&x.remote.join("small-up"))]));
    rates.small_down.push(
        SMALL as f64
            / run([
                "small-down",
                s(&x.remote.join("small-down")),
                s(&x.back.join("small")),
            ]),
    );
}

/// Every client's figures, interleaved by round.
pub fn measure(sshd: &Sshd, rounds: usize, root: &Path) -> Vec<Rates> {
    let x = Scratch::new(sshd);
    let master = Master::start(sshd);
    let python = root.join("build/bench-venv/bin/python");
    let script = root.join("bench/peers/paramiko_sftp.py");
    let mut all = vec![
        Rates::new("smol-ssh, exec channels"),
        Rates::new("smol-ssh, SFTP"),
        Rates::new("OpenSSH sftp"),
        Rates::new("OpenSSH scp"),
        Rates::new("paramiko SFTP"),
    ];
    for _ in 0..rounds {
        for (i, rates) in all.iter_mut().enumerate() {
            x.reset();
            match i {
                0 => smol(sshd, FileTransfer::Exec, &x, rates),
                1 => smol(sshd, FileTransfer::Sftp, &x, rates),
                2 => openssh_sftp(&master, &x, rates),
                3 => openssh_scp(&master, &x, rates),
                _ => paramiko(sshd, &python, &script, &x, rates),
            }
        }
    }
    all
}
