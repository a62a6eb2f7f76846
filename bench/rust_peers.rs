//! The Rust peers: this program run as `bench peer smol|ssh2 FIGURE N` (smol-ssh's Rust API,
//! and raw ssh2 for comparison), and the RSS per idle connected handle.

use std::io::{Read, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::{BIG, BIG_BYTES, LOGIN_TRUE};

pub(crate) fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} not set"))
}

pub(crate) fn smol_peer(figure: &str, n: usize) {
    let mut cfg = smol_ssh::Config::new(env("SMOL_SSH_HOST"));
    cfg.port = env("SMOL_SSH_PORT").parse().unwrap();
    cfg.user = env("SMOL_SSH_USER");
    cfg.key_path = Some(env("SMOL_SSH_KEY").into());
    cfg.max_output_bytes = 0;
    cfg.ciphers = std::env::var("BENCH_CIPHER").ok();
    // The bench's own sshd, made for this run: trusted on first use.
    cfg.host_key = smol_ssh::HostKeyPolicy::AcceptFirst;
    if figure == "rss" {
        return smol_rss(cfg, n);
    }
    let c = Arc::new(smol_ssh::Client::new(cfg).unwrap());
    let raw = smol_ssh::RunOptions {
        mode: smol_ssh::ShellMode::Raw,
        ..Default::default()
    };
    let run = |cmd: &str| c.run(cmd, &raw).expect("run");
    run("true");
    println!("cipher {}", c.cipher().unwrap_or_default());
    match figure {
        "warm" | "login" | "throughput" => {
            sequential_figure(figure, n, |cmd| run(cmd).stdout.len())
        }
        // 100 MB handed to an output callback that counts them, as the other peers count and
        // drop theirs (`throughput` keeps all 100 MB, as `run` returns them).
        "streamed" => sequential_figure("throughput", n, |cmd| {
            let mut got = 0;
            c.run_streaming(cmd, &raw, |_, bytes| {
                got += bytes.len();
                std::ops::ControlFlow::Continue(())
            })
            .expect("run");
            got
        }),
        "parallel" | "rate" => {
            let (k, total, cmd) = if figure == "parallel" {
                (8, 8, "sleep 0.2")
            } else {
                (n, 200, "true")
            };
            let secs = in_flight(k, total, || {
                let out = run(cmd);
                assert!(out.ok());
            });
            println!(
                "sample {:.4}",
                if figure == "parallel" {
                    secs
                } else {
                    total as f64 / secs
                }
            );
        }
        _ => {}
    }
}

/// RSS and threads per idle connected handle, at `n` handles.
pub(crate) fn smol_rss(cfg: smol_ssh::Config, n: usize) {
    let rss_kib = || -> f64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap()
    };
    let threads = || std::fs::read_dir("/proc/self/task").unwrap().count() as f64;
    // Warm up allocator and libssh2/OpenSSL globals with one handle first.
    let warm = smol_ssh::Client::new(cfg.clone()).unwrap();
    warm.wait_for_ssh(Duration::from_secs(30), Duration::from_millis(100))
        .unwrap();
    let (rss0, threads0) = (rss_kib(), threads());
    let clients: Vec<smol_ssh::Client> = (0..n)
        .map(|_| smol_ssh::Client::new(cfg.clone()).unwrap())
        .collect();
    std::thread::scope(|s| {
        for chunk in clients.chunks(n.div_ceil(16).max(1)) {
            s.spawn(move || {
                for c in chunk {
                    c.wait_for_ssh(Duration::from_secs(120), Duration::from_millis(100))
                        .unwrap();
                }
            });
        }
    });
    std::thread::sleep(Duration::from_millis(500));
    assert!(clients.iter().all(smol_ssh::Client::is_connected));
    println!("sample {:.1}", (rss_kib() - rss0) / n as f64);
    println!("threads {:.2}", (threads() - threads0) / n as f64);
    drop(warm);
}

/// Runs `job` `total` times from `k` threads, each taking the next until none is left; returns
/// the seconds it took.
pub(crate) fn in_flight(k: usize, total: usize, job: impl Fn() + Sync) -> f64 {
    let left = Mutex::new(total);
    let t = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..k {
            s.spawn(|| loop {
                {
                    let mut l = left.lock().unwrap();
                    if *l == 0 {
                        return;
                    }
                    *l -= 1;
                }
                job();
            });
        }
    });
    t.elapsed().as_secs_f64()
}

/// The one-command-at-a-time figures, for any client: `run` runs a command and returns how
/// many stdout bytes it got.
pub(crate) fn sequential_figure(figure: &str, n: usize, run: impl Fn(&str) -> usize) {
    for _ in 0..n {
        let t = Instant::now();
        match figure {
            "throughput" => {
                assert_eq!(run(BIG), BIG_BYTES);
                println!("sample {:.2}", 100.0 / t.elapsed().as_secs_f64());
            }
            _ => {
                run(if figure == "warm" { "true" } else { LOGIN_TRUE });
                println!("sample {:.4}", t.elapsed().as_secs_f64() * 1e3);
            }
        }
    }
}

pub(crate) fn ssh2_peer(figure: &str, n: usize) {
    let tcp = std::net::TcpStream::connect((
        env("SMOL_SSH_HOST"),
        env("SMOL_SSH_PORT").parse::<u16>().unwrap(),
    ))
    .unwrap();
    tcp.set_nodelay(true).unwrap();
    let mut s = ssh2::Session::new().unwrap();
    if let Ok(c) = std::env::var("BENCH_CIPHER") {
        s.method_pref(ssh2::MethodType::CryptCs, &c).unwrap();
        s.method_pref(ssh2::MethodType::CryptSc, &c).unwrap();
    }
    s.set_tcp_stream(tcp);
    s.handshake().unwrap();
    s.userauth_pubkey_file(
        &env("SMOL_SSH_USER"),
        None,
        Path::new(&env("SMOL_SSH_KEY")),
        None,
    )
    .unwrap();
    println!(
        "cipher {}",
        s.methods(ssh2::MethodType::CryptSc).unwrap_or("?")
    );
    let run = |cmd: &str| -> usize {
        let mut ch = s.channel_session().unwrap();
        ch.exec(cmd).unwrap();
        let mut buf = vec![0u8; 256 * 1024];
        let mut total = 0;
        loop {
            let k = ch.read(&mut buf).unwrap();
            if k == 0 {
                break;
            }
            total += k;
        }
        let mut sink = Vec::new();
        ch.stderr().read_to_end(&mut sink).unwrap();
        ch.wait_close().unwrap();
        total
    };
    run("true");
    match figure {
        "warm" | "login" | "throughput" => sequential_figure(figure, n, run),
        // One session from one thread: commands one after another (threads sharing an ssh2
        // session corrupt its stream, ssh2-rs #322).
        "rate" => {
            let t = Instant::now();
            for _ in 0..200 {
                run("true");
            }
            println!("sample {:.1}", 200.0 / t.elapsed().as_secs_f64());
        }
        _ => {}
    }
    let _ = std::io::stdout().flush();
}
