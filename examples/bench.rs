//! `make bench`: smol-ssh beside its peers, one run, interleaved, against a private loopback
//! sshd whose account has an empty home (so the figures measure clients, not shell rc files).
//!
//! Every peer is a program speaking one protocol: `PEER FIGURE N` with the target in
//! SMOL_SSH_HOST / _PORT / _USER / _KEY (and BENCH_CIPHER to hold the cipher), printing
//! `cipher NAME` and `sample VALUE` lines. The Rust peers (smol-ssh's Rust API, raw ssh2) are
//! this program run as `bench peer NAME FIGURE N`; OpenSSH ControlMaster is driven here.
//!
//! Figures: warm `true` (ms), the same in a login shell, cold (process start to first command
//! done, ms), 100 MB of stdout (MB/s, default cipher and aes128-ctr for all), 8 × `sleep 0.2` at
//! once (s), commands/s with 1, 4 and 8 in flight, round trips per warm command through a proxy
//! adding 10 ms each way, and RSS per idle connected smol-ssh handle at 1, 100 and 1000 handles.
//!
//! Environment: BENCH_ROUNDS (default 3), BENCH_HANDLES (default "1,100,1000").

#[path = "../tests/support/mod.rs"]
mod support;
#[path = "../bench/forward.rs"]
mod forward;
#[path = "../bench/files.rs"]
mod files;
#[path = "../bench/pending.rs"]
mod pending;
#[path = "../bench/log.rs"]
mod log;
#[path = "../bench/transports.rs"]
mod transports;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const EQUAL_CIPHER: &str = "aes128-ctr";
const LOGIN_TRUE: &str = "SHELL_BIN=\"${SHELL:-/bin/sh}\"; exec \"$SHELL_BIN\" -lc true";
const BIG: &str = "head -c 100000000 /dev/zero";
const BIG_BYTES: usize = 100_000_000;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("peer") {
        let n = args.get(4).and_then(|n| n.parse().ok()).unwrap_or(1);
        match args[2].as_str() {
            "smol" => smol_peer(&args[3], n),
            "ssh2" => ssh2_peer(&args[3], n),
            other => panic!("unknown peer {other}"),
        }
        return;
    }
    orchestrate();
}

// ---------------------------------------------------------------------------------------------
// The orchestra.

#[derive(Clone)]
enum Kind {
    /// A program (and its leading arguments) speaking the peer protocol.
    Program(Vec<String>),
    OpenSsh,
}

#[derive(Clone)]
struct Peer {
    name: &'static str,
    kind: Kind,
    /// Whether it can run several commands at once on one connection.
    concurrent: bool,
}

#[derive(Default)]
struct Results {
    samples: BTreeMap<(String, String), Vec<f64>>,
    ciphers: BTreeMap<String, String>,
    notes: Vec<String>,
}

impl Results {
    fn add(&mut self, peer: &str, figure: &str, values: &[f64]) {
        self.samples
            .entry((peer.to_owned(), figure.to_owned()))
            .or_default()
            .extend_from_slice(values);
    }

    fn get(&self, peer: &str, figure: &str) -> Option<&Vec<f64>> {
        self.samples
            .get(&(peer.to_owned(), figure.to_owned()))
            .filter(|v| !v.is_empty())
    }
}

fn percentile(values: &[f64], p: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[((v.len() - 1) as f64 * p).round() as usize]
}

struct Target {
    host: String,
    port: u16,
    user: String,
    key: PathBuf,
}

fn orchestrate() {
    raise_fd_limit();
    let rounds: usize = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let build = root.join("build/bench");
    std::fs::create_dir_all(&build).unwrap();
    let sshd = support::Sshd::start_with(support::sshd::Options {
        extra_config: vec!["MaxStartups 2000".into(), "MaxSessions 20".into()],
        ..Default::default()
    });
    let target = Target {
        host: "127.0.0.1".into(),
        port: sshd.port,
        user: sshd.user.clone(),
        key: sshd.key.clone(),
    };
    let peers = build_peers(root, &build);
    eprintln!(
        "bench: sshd on port {} (user {}), {} peers, {rounds} rounds",
        sshd.port,
        sshd.user,
        peers.len()
    );

    let mut results = Results::default();
    let local: Vec<f64> = (0..300)
        .map(|_| {
            let t = Instant::now();
            Command::new("bash").args(["-c", "true"]).status().unwrap();
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    results.add("local bash -c true", "warm", &local);

    let figures: &[(&str, &str, usize, Option<&str>)] = &[
        ("warm", "warm", 100, None),
        ("login", "login", 40, None),
        ("cold", "cold", 1, None),
        ("throughput", "throughput", 1, None),
        ("throughput-equal", "throughput", 1, Some(EQUAL_CIPHER)),
        ("parallel", "parallel", 1, None),
        ("rate1", "rate", 1, None),
        ("rate4", "rate", 4, None),
        ("rate8", "rate", 8, None),
    ];
    for round in 1..=rounds {
        eprintln!("bench: round {round}/{rounds}");
        for peer in &peers {
            for &(label, figure, n, cipher) in figures {
                if (figure == "parallel" || (figure == "rate" && n > 1)) && !peer.concurrent {
                    continue;
                }
                let (cipher_name, samples) = measure(peer, &target, figure, n, cipher);
                if label == "warm" {
                    results
                        .ciphers
                        .entry(peer.name.to_owned())
                        .or_insert(cipher_name);
                }
                results.add(peer.name, label, &samples);
            }
        }
    }

    eprintln!("bench: round trips through a proxy adding 10 ms each way");
    let proxy = support::proxy::Proxy::start(sshd.port);
    proxy.delay(Duration::from_millis(10));
    let via_proxy = Target {
        host: target.host.clone(),
        port: proxy.port,
        user: target.user.clone(),
        key: target.key.clone(),
    };
    for peer in &peers {
        let (_, samples) = measure(peer, &via_proxy, "warm", 15, None);
        let trips: Vec<f64> = samples.iter().map(|ms| ms / 20.0).collect();
        results.add(peer.name, "round-trips", &trips);
    }
    drop(proxy);

    eprintln!("bench: files, 100 MB and 1,000 x 1 KiB each way");
    let by_files = files::measure(&sshd, rounds, root);
    let mut table = String::from(
        "File transfer (medians of one sample per round; smol-ssh as a connected client, \
         OpenSSH's sftp and scp through a ControlMaster, paramiko timed after its connect):\n\n\
         | client | 100 MB up, MB/s | 100 MB down, MB/s | 1,000 x 1 KiB up, files/s | \
         1,000 x 1 KiB down, files/s |\n|---|---|---|---|---|\n",
    );
    for r in &by_files {
        table += &format!(
            "| {} | {:.0} | {:.0} | {:.0} | {:.0} |\n",
            r.name,
            percentile(&r.up, 0.5),
            percentile(&r.down, 0.5),
            percentile(&r.small_up, 0.5),
            percentile(&r.small_down, 0.5)
        );
    }
    results.notes.push(table);

    eprintln!("bench: warm `true` submitted (descriptor) and blocking; asyncio and threads");
    let (blocking, submitted) = pending::measure(&sshd, rounds, 100);
    let (blocking, submitted) = (percentile(&blocking, 0.5), percentile(&submitted, 0.5));
    let (py_sync, py_async) = pending::python(&sshd, root, rounds * 100);
    results.notes.push(format!(
        "Warm `true` through the submission API (`submit`, wait on its descriptor, take the \
         result) {submitted:.3} ms against the blocking `run` {blocking:.3} ms ({:+.1} %), \
         alternating on one client. From Python: the asyncio client {py_async:.3} ms, the \
         thread-based one {py_sync:.3} ms ({:+.1} %).",
        (submitted / blocking - 1.0) * 100.0,
        (py_async / py_sync - 1.0) * 100.0
    ));

    eprintln!("bench: warm `true` with the log function off and on");
    let (off, on, lines) = log::measure(&sshd, rounds, 100);
    let (off, on) = (percentile(&off, 0.5), percentile(&on, 0.5));
    results.notes.push(format!(
        "Warm `true` with the log function off (the default) {off:.3} ms, on {on:.3} ms \
         ({:+.1} %; it was told {lines} lines over {} commands: connects, not commands).",
        (on / off - 1.0) * 100.0,
        rounds * 100 + 5
    ));

    eprintln!("bench: warm `true` by transport");
    let by_transport = transports::measure(&sshd, rounds, 100);
    let tcp = percentile(&by_transport[0].1, 0.5);
    let figures: Vec<String> = by_transport
        .iter()
        .map(|(name, v)| {
            let median = percentile(v, 0.5);
            format!(
                "{name} {median:.3} ms (p95 {:.3}, {:+.1} % vs TCP)",
                percentile(v, 0.95),
                (median / tcp - 1.0) * 100.0
            )
        })
        .collect();
    results.notes.push(format!(
        "Warm `true` by transport (smol-ssh, same sshd; the Unix socket and the descriptor are \
         served by `sshd -i` on the stream itself), median: {}.",
        figures.join("; ")
    ));

    eprintln!("bench: 100 MB through a forward");
    let by_forward = forward::measure(&sshd, rounds);
    let stdout_rate = percentile(&by_forward.rates[0].1, 0.5);
    let figures: Vec<String> = by_forward
        .rates
        .iter()
        .map(|(name, v)| {
            let median = percentile(v, 0.5);
            format!(
                "{name} {median:.0} MB/s ({:.2}× the command stdout)",
                median / stdout_rate
            )
        })
        .collect();
    results.notes.push(format!(
        "100 MB from a service on the guest's loopback (default cipher), median: {}. Warm \
         `true` on the same client: {:.2} ms alone, {:.2} ms (p95 {:.2}) while its forward \
         moves data at full speed.",
        figures.join("; "),
        percentile(&by_forward.warm_idle, 0.5),
        percentile(&by_forward.warm_beside, 0.5),
        percentile(&by_forward.warm_beside, 0.95),
    ));

    let handles: Vec<usize> = std::env::var("BENCH_HANDLES")
        .unwrap_or_else(|_| "1,100,1000".into())
        .split(',')
        .filter_map(|h| h.trim().parse().ok())
        .collect();
    for h in handles {
        eprintln!("bench: {h} idle connected handles");
        let out = run_peer(&self_peer("smol"), &target, "rss", h, None);
        let (kib, threads) = parse_rss(&out);
        results.add("smol-ssh (Rust)", &format!("rss{h}"), &[kib]);
        results.add("smol-ssh (Rust)", &format!("threads{h}"), &[threads]);
    }

    let table = render_table(&results, &peers);
    println!("{table}");
    let results_dir = root.join("bench/results");
    std::fs::create_dir_all(&results_dir).unwrap();
    std::fs::write(results_dir.join("latest.md"), &table).unwrap();
    std::fs::write(results_dir.join("latest.svg"), render_svg(&results, &peers)).unwrap();
    eprintln!("bench: wrote bench/results/latest.md and latest.svg");
}

fn self_peer(name: &str) -> Vec<String> {
    vec![
        std::env::current_exe().unwrap().display().to_string(),
        "peer".into(),
        name.into(),
    ]
}

fn build_peers(root: &Path, build: &Path) -> Vec<Peer> {
    let lib = root.join("target/release");
    let sh = |cmd: &mut Command, what: &str| {
        let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
        assert!(
            out.status.success(),
            "{what} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let peers_dir = root.join("bench/peers");
    sh(
        Command::new("cc")
            .args(["-O2", "-std=c11", "-Wall", "-I"])
            .arg(root.join("include"))
            .arg(peers_dir.join("smolc_peer.c"))
            .arg("-o")
            .arg(build.join("smolc_peer"))
            .arg(format!("-L{}", lib.display()))
            .arg(format!("-Wl,-rpath,{}", lib.display()))
            .args(["-lsmol_ssh", "-lpthread"]),
        "cc smolc_peer",
    );
    sh(
        Command::new("cc")
            .args(["-O2", "-std=c11", "-Wall"])
            .arg(peers_dir.join("libssh_peer.c"))
            .arg("-o")
            .arg(build.join("libssh_peer"))
            .arg("-lssh"),
        "cc libssh_peer (apt-get install libssh-dev)",
    );
    sh(
        Command::new("go")
            .args(["build", "-o"])
            .arg(build.join("gopeer"))
            .arg(".")
            .current_dir(peers_dir.join("go"))
            .env("GOPROXY", "off")
            .env("GOFLAGS", "-mod=mod"),
        "go build (apt-get install golang-go golang-golang-x-crypto-dev)",
    );
    let python = root.join("build/bench-venv/bin/python");
    let py = |script: &str| {
        vec![
            python.display().to_string(),
            peers_dir.join(script).display().to_string(),
        ]
    };
    vec![
        Peer {
            name: "smol-ssh (Rust)",
            kind: Kind::Program(self_peer("smol")),
            concurrent: true,
        },
        Peer {
            name: "smol-ssh (C ABI)",
            kind: Kind::Program(vec![build.join("smolc_peer").display().to_string()]),
            concurrent: true,
        },
        Peer {
            name: "raw ssh2",
            kind: Kind::Program(self_peer("ssh2")),
            concurrent: false,
        },
        Peer {
            name: "libssh (C)",
            kind: Kind::Program(vec![build.join("libssh_peer").display().to_string()]),
            concurrent: true,
        },
        Peer {
            name: "Go x/crypto/ssh",
            kind: Kind::Program(vec![build.join("gopeer").display().to_string()]),
            concurrent: true,
        },
        Peer {
            name: "paramiko",
            kind: Kind::Program(py("paramiko_peer.py")),
            concurrent: true,
        },
        Peer {
            name: "asyncssh",
            kind: Kind::Program(py("asyncssh_peer.py")),
            concurrent: true,
        },
        Peer {
            name: "OpenSSH ControlMaster",
            kind: Kind::OpenSsh,
            concurrent: true,
        },
    ]
}

/// Runs one figure of one peer; returns its cipher and samples. `cold` is timed here, from
/// process start to exit.
fn measure(
    peer: &Peer,
    target: &Target,
    figure: &str,
    n: usize,
    cipher: Option<&str>,
) -> (String, Vec<f64>) {
    match &peer.kind {
        Kind::Program(argv) => {
            let start = Instant::now();
            let out = run_peer(argv, target, figure, n, cipher);
            let wall = start.elapsed().as_secs_f64() * 1e3;
            let cipher_name = out
                .lines()
                .find_map(|l| l.strip_prefix("cipher "))
                .unwrap_or("?")
                .to_owned();
            let samples = if figure == "cold" {
                vec![wall]
            } else {
                parse_samples(&out)
            };
            (cipher_name, samples)
        }
        Kind::OpenSsh => openssh(target, figure, n, cipher),
    }
}

fn run_peer(
    argv: &[String],
    target: &Target,
    figure: &str,
    n: usize,
    cipher: Option<&str>,
) -> String {
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..])
        .arg(figure)
        .arg(n.to_string())
        .env("SMOL_SSH_HOST", &target.host)
        .env("SMOL_SSH_PORT", target.port.to_string())
        .env("SMOL_SSH_USER", &target.user)
        .env("SMOL_SSH_KEY", &target.key)
        .env_remove("BENCH_CIPHER");
    if let Some(c) = cipher {
        cmd.env("BENCH_CIPHER", c);
    }
    let out = cmd.output().unwrap_or_else(|e| panic!("{}: {e}", argv[0]));
    if !out.status.success() {
        eprintln!(
            "bench: {} {figure} failed: {}",
            argv.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn parse_samples(out: &str) -> Vec<f64> {
    out.lines()
        .filter_map(|l| l.strip_prefix("sample "))
        .filter_map(|v| v.trim().parse().ok())
        .collect()
}

fn parse_rss(out: &str) -> (f64, f64) {
    let field = |name: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(f64::NAN)
    };
    (field("sample "), field("threads "))
}

// ---------------------------------------------------------------------------------------------
// OpenSSH ControlMaster: one master connection, a `ssh -S` process per command.

fn openssh(target: &Target, figure: &str, n: usize, cipher: Option<&str>) -> (String, Vec<f64>) {
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

// ---------------------------------------------------------------------------------------------
// The Rust peers.

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} not set"))
}

fn smol_peer(figure: &str, n: usize) {
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
fn smol_rss(cfg: smol_ssh::Config, n: usize) {
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
fn in_flight(k: usize, total: usize, job: impl Fn() + Sync) -> f64 {
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
fn sequential_figure(figure: &str, n: usize, run: impl Fn(&str) -> usize) {
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

fn ssh2_peer(figure: &str, n: usize) {
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

// ---------------------------------------------------------------------------------------------
// Output.

fn render_table(r: &Results, peers: &[Peer]) -> String {
    let med = |peer: &str, fig: &str, digits: usize| -> String {
        r.get(peer, fig)
            .map(|v| format!("{:.*}", digits, percentile(v, 0.5)))
            .unwrap_or_else(|| "n/a".into())
    };
    let med_p95 = |peer: &str, fig: &str| -> String {
        r.get(peer, fig)
            .map(|v| format!("{:.2} ({:.2})", percentile(v, 0.5), percentile(v, 0.95)))
            .unwrap_or_else(|| "n/a".into())
    };
    let mut out = String::new();
    let machine = machine_line();
    out.push_str(&format!("smol-ssh bench, {machine}\n\n"));
    out.push_str("| client | cipher (default) | warm `true` ms, median (p95) | login-shell `true` ms | cold ms | 100 MB, default cipher, MB/s | 100 MB, aes128-ctr, MB/s | 8 × `sleep 0.2` at once, s | commands/s, 1 / 4 / 8 in flight | round trips per warm command |\n");
    out.push_str("|---|---|---|---|---|---|---|---|---|---|\n");
    for p in peers {
        let n = p.name;
        out.push_str(&format!(
            "| {n} | {} | {} | {} | {} | {} | {} | {} | {} / {} / {} | {} |\n",
            r.ciphers.get(n).map(String::as_str).unwrap_or("?"),
            med_p95(n, "warm"),
            med_p95(n, "login"),
            med(n, "cold", 1),
            med(n, "throughput", 0),
            med(n, "throughput-equal", 0),
            med(n, "parallel", 3),
            med(n, "rate1", 0),
            med(n, "rate4", 0),
            med(n, "rate8", 0),
            med(n, "round-trips", 2),
        ));
    }
    out.push_str(&format!(
        "| local `bash -c true` | | {} | | | | | | | |\n",
        med_p95("local bash -c true", "warm")
    ));
    let rss: Vec<String> = r
        .samples
        .keys()
        .filter(|(p, f)| p == "smol-ssh (Rust)" && f.starts_with("rss"))
        .map(|(_, f)| {
            let h = &f[3..];
            format!(
                "{h} handles: {} KiB and {} threads per handle",
                med("smol-ssh (Rust)", f, 0),
                med("smol-ssh (Rust)", &format!("threads{h}"), 2)
            )
        })
        .collect();
    out.push_str(&format!(
        "\nIdle connected smol-ssh handles: {}.\n",
        rss.join("; ")
    ));
    for note in &r.notes {
        out.push_str(&format!("\n{note}\n"));
    }
    out
}

fn machine_line() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "?".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let ssh = Command::new("ssh")
        .arg("-V")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stderr).trim().to_owned())
        .unwrap_or_default();
    format!("{cores} cores ({cpu}), loopback sshd: {ssh}")
}

/// Two bar charts: warm `true` latency and 100 MB throughput, medians per client.
fn render_svg(r: &Results, peers: &[Peer]) -> String {
    let mut names: Vec<&str> = peers.iter().map(|p| p.name).collect();
    names.push("local bash -c true");
    let panel = |title: &str, fig: &str, unit: &str, y0: f64| -> String {
        let values: Vec<(&str, f64)> = names
            .iter()
            .filter_map(|n| r.get(n, fig).map(|v| (*n, percentile(v, 0.5))))
            .collect();
        let max = values.iter().map(|v| v.1).fold(0.0, f64::max).max(1e-9);
        let mut s = format!(
            "<text x=\"10\" y=\"{}\" font-size=\"15\" font-weight=\"bold\">{title}</text>\n",
            y0 + 18.0
        );
        for (i, (name, v)) in values.iter().enumerate() {
            let y = y0 + 30.0 + i as f64 * 24.0;
            let w = 420.0 * v / max;
            let color = if name.starts_with("smol-ssh") {
                "#d9480f"
            } else {
                "#868e96"
            };
            s.push_str(&format!(
                "<text x=\"190\" y=\"{:.0}\" font-size=\"12\" text-anchor=\"end\">{name}</text>\
                 <rect x=\"200\" y=\"{:.0}\" width=\"{w:.1}\" height=\"16\" fill=\"{color}\"/>\
                 <text x=\"{:.1}\" y=\"{:.0}\" font-size=\"12\">{v:.2} {unit}</text>\n",
                y + 12.0,
                y,
                205.0 + w,
                y + 12.0
            ));
        }
        s
    };
    let h1 = 40.0 + names.len() as f64 * 24.0;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"760\" height=\"{:.0}\" font-family=\"sans-serif\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
        2.0 * h1 + 20.0
    );
    svg.push_str(&panel(
        "warm `true` latency, median (lower is better)",
        "warm",
        "ms",
        0.0,
    ));
    svg.push_str(&panel(
        "100 MB of stdout, default cipher, median (higher is better)",
        "throughput",
        "MB/s",
        h1 + 10.0,
    ));
    svg.push_str("</svg>\n");
    svg
}

fn raise_fd_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain getrlimit/setrlimit on a local struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}
