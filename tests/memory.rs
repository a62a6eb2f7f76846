//! 1 GiB of output through a 16 MiB cap: memory stays bounded. In a test binary of its own,
//! so that the process's peak RSS is this test's.

mod support;

use support::{raw, Sshd};

fn peak_rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

#[test]
fn one_gib_through_a_16_mib_cap_stays_under_4x_the_cap() {
    let sshd = Sshd::start();
    let cap = 16 * 1024 * 1024;
    let mut cfg = support::config(&sshd);
    cfg.max_output_bytes = cap;
    let c = smol_ssh::Client::new(cfg).unwrap();
    let out = c
        .run("head -c 1073741824 /dev/zero; exit 3", &raw(120))
        .unwrap();
    assert_eq!(out.exit_code, Some(3));
    assert_eq!(out.stdout.len(), cap);
    assert!(out.stdout_truncated);
    let peak = peak_rss_bytes();
    assert!(peak < 4 * cap as u64, "peak RSS {} MiB", peak >> 20);
    eprintln!("peak RSS {} MiB for 1 GiB through a 16 MiB cap", peak >> 20);
}
