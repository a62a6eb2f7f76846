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
//! adding 10 ms each way, and RSS and threads per idle connected smol-ssh handle at 1, 1,000
//! and 10,000 handles.
//!
//! Environment: BENCH_ROUNDS (default 3), BENCH_HANDLES (default "1,1000,10000"), BENCH_ONLY
//! (some parts only, e.g. "flood,many"; the results files are then left alone).
//!
//! The parts: peers.rs (the peer protocol and the peers), openssh.rs (the ControlMaster
//! driver), rust_peers.rs (this program as the Rust peers), results.rs (collecting and
//! rendering), and one file per extra measurement: transports.rs, forward.rs, files.rs,
//! pending.rs, flood.rs, log.rs, idle.rs, many.rs.

#[path = "../tests/support/mod.rs"]
mod support;

mod files;
mod flood;
mod forward;
mod idle;
mod log;
mod many;
mod openssh;
mod peers;
mod pending;
mod results;
mod rust_peers;
mod transports;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use peers::{build_peers, measure};
use results::{percentile, render_svg, render_table, Results};
use rust_peers::{smol_peer, ssh2_peer};

pub(crate) const EQUAL_CIPHER: &str = "aes128-ctr";
pub(crate) const LOGIN_TRUE: &str = "SHELL_BIN=\"${SHELL:-/bin/sh}\"; exec \"$SHELL_BIN\" -lc true";
pub(crate) const BIG: &str = "head -c 100000000 /dev/zero";
pub(crate) const BIG_BYTES: usize = 100_000_000;

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

pub(crate) struct Target {
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) user: String,
    pub(crate) key: PathBuf,
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

    if wanted("peers") {
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
    }

    if wanted("files") {
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
    }

    if wanted("pending") {
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
    }

    if wanted("flood") {
        eprintln!("bench: warm `true` of a quiet client while another floods");
        let mut beside_flood = Vec::new();
        for drivers in [1, 2] {
            let (alone, beside) = flood::measure(&sshd, rounds, 50, drivers);
            let (alone, beside) = (percentile(&alone, 0.5), percentile(&beside, 0.5));
            beside_flood.push(format!(
                "{} {alone:.3} ms alone, {beside:.3} ms beside the flood ({:.2}x)",
                if drivers == 1 {
                    "on the same driver thread:"
                } else {
                    "on a driver thread each:"
                },
                beside / alone
            ));
        }
        results.notes.push(format!(
            "Warm `true` of a quiet client while another client of the same sshd reads `cat \
             /dev/zero` at full speed, {}.",
            beside_flood.join("; ")
        ));
    }

    if wanted("many") {
        eprintln!("bench: commands/s with 1,000 clients, one command at a time each");
        let many = many::measure(&sshd, 1000, 10.0);
        results.notes.push(format!(
            "{} clients each running `true` one at a time, driven from one thread through the \
             submission API (poll on their descriptors): {:.0} commands/s over 10 s, with {} \
             threads more in the process (connecting them, 16 threads at once: {:.1} s).",
            many.clients, many.per_second, many.threads, many.connect_secs
        ));
    }

    if wanted("log") {
        eprintln!("bench: warm `true` with the log function off and on");
        let (off, on, lines) = log::measure(&sshd, rounds, 100);
        let (off, on) = (percentile(&off, 0.5), percentile(&on, 0.5));
        results.notes.push(format!(
            "Warm `true` with the log function off (the default) {off:.3} ms, on {on:.3} ms \
             ({:+.1} %; it was told {lines} lines over {} commands: connects, not commands).",
            (on / off - 1.0) * 100.0,
            rounds * 100 + 5
        ));
    }

    if wanted("transports") {
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
    }

    if wanted("forward") {
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
    }

    if wanted("idle") {
        let handles: Vec<usize> = std::env::var("BENCH_HANDLES")
            .unwrap_or_else(|_| "1,1000,10000".into())
            .split(',')
            .filter_map(|h| h.trim().parse().ok())
            .collect();
        let by_count = idle::measure(&target, root, &handles);
        let mut rows = String::new();
        for (n, kib, threads, server) in &by_count {
            rows += &format!(
                "| {n} | {kib:.1} | {threads:.4} ({:.0} in all) | {server} |\n",
                threads * *n as f64
            );
        }
        results.notes.push(format!(
            "Idle connected handles in one process (smol-ssh's Rust API; {} driver threads by \
             default, one per core):\n\n| handles | RSS per handle, KiB | threads per handle | \
             server |\n|---|---|---|---|\n{rows}",
            smol_ssh::driver_threads()
        ));
    }

    let table = render_table(&results, &peers);
    println!("{table}");
    if std::env::var_os("BENCH_ONLY").is_some() {
        eprintln!("bench: BENCH_ONLY is set: bench/results left as they were");
        return;
    }
    let results_dir = root.join("bench/results");
    std::fs::create_dir_all(&results_dir).unwrap();
    std::fs::write(results_dir.join("latest.md"), &table).unwrap();
    std::fs::write(results_dir.join("latest.svg"), render_svg(&results, &peers)).unwrap();
    eprintln!("bench: wrote bench/results/latest.md and latest.svg");
}

/// 10,000 handles need ~20,000 descriptors in the peer and as many in the idle server (both
/// inherit this): the hard limit is raised too where allowed (root), else the soft one to it.
/// Whether a part of the bench runs: all of them, or those BENCH_ONLY names (comma-separated:
/// peers, files, pending, flood, many, log, transports, forward, idle).
fn wanted(part: &str) -> bool {
    match std::env::var("BENCH_ONLY") {
        Err(_) => true,
        Ok(only) => only.split(',').any(|p| p.trim() == part),
    }
}

fn raise_fd_limit() {
    const WANTED: libc::rlim_t = 65536;
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain getrlimit/setrlimit on a local struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 {
            let raised = libc::rlimit {
                rlim_cur: WANTED.max(lim.rlim_cur),
                rlim_max: WANTED.max(lim.rlim_max),
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) != 0 {
                lim.rlim_cur = lim.rlim_max;
                libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
            }
        }
    }
}
