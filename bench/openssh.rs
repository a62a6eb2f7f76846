//! OpenSSH ControlMaster: one master connection, a `ssh -S` process per command.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::rust_peers::in_flight;
use crate::{Target, BIG, BIG_BYTES, LOGIN_TRUE};

pub(crate) fn openssh(
    target: &Target,
    figure: &str,
    n: usize,
    cipher: Option<&str>,
) -> (String, Vec<f64>) {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("master");
    let log = dir.path().join("master.log");
    let base = |c: &mut Command| {
        c.args([
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "BatchMode=yes",
        ])
        .arg("-i")
        .arg(&target.key)
        .args(["-p", &target.port.to_string()]);
        if let Some(cipher) = cipher {
            c.args(["-c", cipher]);
        }
    };
    let dest = format!("{}@{}", target.user, target.host);
    if figure == "cold" {
        let t = Instant::now();
        let mut c = Command::new("ssh");
        base(&mut c);
        let ok = c
            .arg(&dest)
            .arg("true")
            .stdin(Stdio::null())
            .status()
            .unwrap()
            .success();
        assert!(ok, "ssh cold failed");
        return (String::new(), vec![t.elapsed().as_secs_f64() * 1e3]);
    }
    let mut master = Command::new("ssh");
    base(&mut master);
    let ok = master
        .args(["-v", "-E"])
        .arg(&log)
        .args(["-M", "-f", "-N", "-S"])
        .arg(&sock)
        .arg(&dest)
        .stdin(Stdio::null())
        .status()
        .unwrap()
        .success();
    assert!(
        ok,
        "ssh master failed: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    let cipher_name = std::fs::read_to_string(&log)
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.split("kex: server->client cipher: ").nth(1))
        .map(|rest| rest.split_whitespace().next().unwrap_or("?").to_owned())
        .unwrap_or_else(|| "?".into());
    let one = |command: &str| -> (f64, usize) {
        let t = Instant::now();
        let mut child = Command::new("ssh")
            .arg("-S")
            .arg(&sock)
            .args(["-o", "ControlMaster=no"])
            .arg(&dest)
            .arg(command)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut total = 0;
        let mut buf = vec![0u8; 1 << 20];
        let mut out = child.stdout.take().unwrap();
        while let Ok(k) = out.read(&mut buf) {
            if k == 0 {
                break;
            }
            total += k;
        }
        child.wait().unwrap();
        (t.elapsed().as_secs_f64(), total)
    };
    one("true");
    let samples = match figure {
        "warm" | "login" => {
            let cmd = if figure == "warm" { "true" } else { LOGIN_TRUE };
            (0..n).map(|_| one(cmd).0 * 1e3).collect()
        }
        "throughput" => (0..n)
            .map(|_| {
                let (secs, bytes) = one(BIG);
                assert_eq!(bytes, BIG_BYTES);
                100.0 / secs
            })
            .collect(),
        "parallel" | "rate" => {
            let (k, total, cmd) = if figure == "parallel" {
                (8, 8, "sleep 0.2")
            } else {
                (n, 200, "true")
            };
            let secs = in_flight(k, total, || {
                one(cmd);
            });
            vec![if figure == "parallel" {
                secs
            } else {
                total as f64 / secs
            }]
        }
        _ => vec![],
    };
    let _ = Command::new("ssh")
        .arg("-S")
        .arg(&sock)
        .args(["-O", "exit"])
        .arg(&dest)
        .stderr(Stdio::null())
        .status();
    (cipher_name, samples)
}
