//! The peers: programs speaking one protocol (`PEER FIGURE N`, the target in SMOL_SSH_HOST /
//! _PORT / _USER / _KEY, printing `cipher NAME` and `sample VALUE`), built here, and how one
//! figure of one peer is measured.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use crate::openssh::openssh;
use crate::Target;

#[derive(Clone)]
pub(crate) enum Kind {
    /// A program (and its leading arguments) speaking the peer protocol.
    Program(Vec<String>),
    OpenSsh,
}

#[derive(Clone)]
pub(crate) struct Peer {
    pub(crate) name: &'static str,
    pub(crate) kind: Kind,
    /// Whether it can run several commands at once on one connection.
    pub(crate) concurrent: bool,
}

pub(crate) fn self_peer(name: &str) -> Vec<String> {
    vec![
        std::env::current_exe().unwrap().display().to_string(),
        "peer".into(),
        name.into(),
    ]
}

pub(crate) fn build_peers(root: &Path, build: &Path) -> Vec<Peer> {
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
    // The Go binding against this build (no install): a smol-ssh.pc for the build tree.
    let pc_dir = build.join("pkgconfig");
    std::fs::create_dir_all(&pc_dir).unwrap();
    std::fs::write(
        pc_dir.join("smol-ssh.pc"),
        format!(
            "Name: smol-ssh\nDescription: this build\nVersion: 0\nCflags: -I{inc}\n\
             Libs: -L{lib} -Wl,-rpath,{lib} -lsmol_ssh\n",
            inc = root.join("include").display(),
            lib = lib.display()
        ),
    )
    .unwrap();
    sh(
        Command::new("go")
            .args(["build", "-o"])
            .arg(build.join("smolgo_peer"))
            .arg(".")
            .current_dir(peers_dir.join("smolgo"))
            .env("GOPROXY", "off")
            .env("GOFLAGS", "-mod=mod")
            .env("PKG_CONFIG_PATH", &pc_dir),
        "go build of the smol-ssh Go peer",
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
            name: "smol-ssh (Go)",
            kind: Kind::Program(vec![build.join("smolgo_peer").display().to_string()]),
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
pub(crate) fn measure(
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

pub(crate) fn run_peer(
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

pub(crate) fn parse_samples(out: &str) -> Vec<f64> {
    out.lines()
        .filter_map(|l| l.strip_prefix("sample "))
        .filter_map(|v| v.trim().parse().ok())
        .collect()
}

pub(crate) fn parse_rss(out: &str) -> (f64, f64) {
    let field = |name: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(f64::NAN)
    };
    (field("sample "), field("threads "))
}
