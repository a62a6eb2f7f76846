//! A private OpenSSH sshd on 127.0.0.1 for tests, benchmarks and the demo.
//!
//! Keys are made with ssh-keygen at run time in a private directory. Run as root, the server
//! logs in a dedicated account, `smolssh` (created if missing, with an empty home and a fresh
//! random password, so that commands do not pay for root's shell rc files and password auth can
//! be tested); `make test` removes the account afterwards. Run as an ordinary user, the server
//! can only log in that user, with keys (there is no password to test with).
#![allow(dead_code)]

use std::fs;
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub const TEST_ACCOUNT: &str = "smolssh";
const SSHD: &str = "/usr/sbin/sshd";

/// The account the test server logs in, and its password when it has one.
#[derive(Clone, Debug)]
pub struct Account {
    pub name: String,
    pub password: Option<String>,
}

/// The account tests log in as: `smolssh` when root, else the current user.
pub fn account() -> &'static Account {
    static ACCOUNT: OnceLock<Account> = OnceLock::new();
    ACCOUNT.get_or_init(|| {
        if !is_root() {
            let name = output("id", &["-un"]);
            return Account {
                name,
                password: None,
            };
        }
        let home = format!("/var/tmp/{TEST_ACCOUNT}-home");
        if !Command::new("id")
            .arg(TEST_ACCOUNT)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
        {
            // A concurrent creator may win the race; the check below is what counts.
            let _ = Command::new("useradd")
                .args([
                    "--no-create-home",
                    "--home-dir",
                    &home,
                    "--shell",
                    "/bin/sh",
                ])
                .arg(TEST_ACCOUNT)
                .status();
        }
        fs::create_dir_all(&home).expect("create the test account's home");
        run("chown", &[&format!("{TEST_ACCOUNT}:"), &home]);
        let password = random_hex(16);
        let mut chpasswd = Command::new("chpasswd")
            .stdin(Stdio::piped())
            .spawn()
            .expect("chpasswd");
        use std::io::Write;
        chpasswd
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{TEST_ACCOUNT}:{password}\n").as_bytes())
            .unwrap();
        assert!(chpasswd.wait().unwrap().success(), "chpasswd failed");
        Account {
            name: TEST_ACCOUNT.to_owned(),
            password: Some(password),
        }
    })
}

pub fn is_root() -> bool {
    output("id", &["-u"]) == "0"
}

/// Options of a test server.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Extra sshd_config lines.
    pub extra_config: Vec<String>,
    /// No `Subsystem sftp` line: the server offers no SFTP.
    pub without_sftp: bool,
}

/// A running sshd. Dropping it kills the server and every session process it started.
pub struct Sshd {
    dir: tempfile::TempDir,
    pub port: u16,
    pub user: String,
    pub password: Option<String>,
    /// The authorized client key (OpenSSH ed25519, no passphrase).
    pub key: PathBuf,
    /// A valid key the server does not accept.
    pub other_key: PathBuf,
    options: Options,
    child: Option<Child>,
}

impl Sshd {
    pub fn start() -> Sshd {
        Self::start_with(Options::default())
    }

    pub fn start_with(options: Options) -> Sshd {
        let account = account();
        let dir = tempfile::Builder::new()
            .prefix("smol-ssh-sshd-")
            .tempdir()
            .expect("temp dir");
        // The account reads authorized_keys (and its home) as itself.
        set_mode(dir.path(), 0o755);
        let p = |name: &str| dir.path().join(name);
        keygen(&p("host_ed25519"), "");
        keygen(&p("client_ed25519"), "");
        keygen(&p("other_ed25519"), "");
        fs::copy(p("client_ed25519.pub"), p("authorized_keys")).unwrap();
        set_mode(&p("authorized_keys"), 0o644);
        let mut sshd = Sshd {
            port: 0,
            user: account.name.clone(),
            password: account.password.clone(),
            key: p("client_ed25519"),
            other_key: p("other_ed25519"),
            dir,
            options,
            child: None,
        };
        sshd.launch(None);
        sshd
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The sshd log (LogLevel VERBOSE).
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir().join("sshd.log")).unwrap_or_default()
    }

    /// TCP connections the server has accepted, counted from its log.
    pub fn connections(&self) -> usize {
        self.log().matches("Connection from 127.0.0.1").count()
    }

    /// The host key's fingerprint as `ssh-keygen -lf` prints it.
    pub fn host_fingerprint(&self) -> String {
        let line = output(
            "ssh-keygen",
            &[
                "-E",
                "sha256",
                "-lf",
                self.dir().join("host_ed25519.pub").to_str().unwrap(),
            ],
        );
        line.split_whitespace().nth(1).unwrap().to_owned()
    }

    /// Points a program at this server: SMOL_SSH_HOST, _PORT, _USER, _KEY and _HOST_KEY, what
    /// the smoke program, the binding tests and the bench's peers read.
    pub fn point_at<'c>(&self, cmd: &'c mut Command) -> &'c mut Command {
        cmd.env("SMOL_SSH_HOST", "127.0.0.1")
            .env("SMOL_SSH_PORT", self.port.to_string())
            .env("SMOL_SSH_USER", &self.user)
            .env("SMOL_SSH_KEY", &self.key)
            .env("SMOL_SSH_HOST_KEY", self.host_fingerprint())
    }

    /// Makes a new client key pair in the server's directory, encrypted with `passphrase` when
    /// it is not empty, and authorizes it. Returns the private key's path.
    pub fn new_authorized_key(&self, name: &str, passphrase: &str) -> PathBuf {
        let key = self.dir().join(name);
        keygen(&key, passphrase);
        let public = fs::read_to_string(key.with_extension("pub")).unwrap();
        let mut keys = fs::OpenOptions::new()
            .append(true)
            .open(self.dir().join("authorized_keys"))
            .unwrap();
        std::io::Write::write_all(&mut keys, public.as_bytes()).unwrap();
        key
    }

    /// Replaces the host key (takes effect at the next start).
    pub fn new_host_key(&self) {
        let key = self.dir().join("host_ed25519");
        let _ = fs::remove_file(&key);
        let _ = fs::remove_file(key.with_extension("pub"));
        keygen(&key, "");
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// Kills the listener and every process it started (the sessions and their commands).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let mut pids = descendants(child.id());
            pids.push(child.id());
            for pid in pids {
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .stderr(Stdio::null())
                    .status();
            }
            let _ = child.wait();
        }
    }

    /// Stops the server and starts it again on the same port with the same keys.
    pub fn restart(&mut self) {
        self.stop();
        let port = self.port;
        self.launch(Some(port));
    }

    /// Starts the server on the same port after `delay`, from another thread; returns at once.
    pub fn stop_then_start_later(&mut self, delay: Duration) -> std::thread::JoinHandle<Sshd> {
        self.stop();
        let mut moved = Sshd {
            dir: tempfile::Builder::new().tempdir().unwrap(),
            port: self.port,
            user: self.user.clone(),
            password: self.password.clone(),
            key: self.key.clone(),
            other_key: self.other_key.clone(),
            options: self.options.clone(),
            child: None,
        };
        std::mem::swap(&mut moved.dir, &mut self.dir);
        std::thread::spawn(move || {
            std::thread::sleep(delay);
            let port = moved.port;
            moved.launch(Some(port));
            moved
        })
    }

    /// Processes below the listener (per-connection sshd processes, shells, commands).
    pub fn session_processes(&self) -> Vec<u32> {
        self.pid().map(descendants).unwrap_or_default()
    }

    fn write_config(&self, port: u16) -> PathBuf {
        let d = self.dir();
        // sshd keeps the first value of a directive: extra lines go first, to override.
        let mut lines = self.options.extra_config.clone();
        lines.extend([
            format!("Port {port}"),
            "ListenAddress 127.0.0.1".into(),
            format!("HostKey {}", d.join("host_ed25519").display()),
            format!("PidFile {}", d.join("sshd.pid").display()),
            format!("AuthorizedKeysFile {}", d.join("authorized_keys").display()),
            "StrictModes no".into(),
            "UsePAM no".into(),
            "PubkeyAuthentication yes".into(),
            "PasswordAuthentication yes".into(),
            "KbdInteractiveAuthentication no".into(),
            "PermitRootLogin prohibit-password".into(),
            format!("AllowUsers {}", self.user),
            "LogLevel VERBOSE".into(),
            "MaxStartups 200".into(),
            "PrintMotd no".into(),
            "PrintLastLog no".into(),
        ]);
        if !self.options.without_sftp {
            lines.push("Subsystem sftp internal-sftp".into());
        }
        let path = d.join("sshd_config");
        fs::write(&path, lines.join("\n") + "\n").unwrap();
        path
    }

    fn launch(&mut self, port: Option<u16>) {
        if is_root() {
            fs::create_dir_all("/run/sshd").unwrap();
        }
        for _ in 0..20 {
            let port = port.unwrap_or_else(free_port);
            let config = self.write_config(port);
            let log = fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.dir().join("sshd.log"))
                .unwrap();
            let mut child = Command::new(SSHD)
                .args(["-D", "-e", "-f"])
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .unwrap_or_else(|e| {
                    panic!("cannot start {SSHD}: {e} (apt-get install openssh-server)")
                });
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                if banner_ok(port) {
                    self.port = port;
                    self.child = Some(child);
                    return;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            let _ = child.kill();
            let _ = child.wait();
            if self.log().contains("Address already in use") && port_is_random(port) {
                continue;
            }
            panic!("sshd did not start on port {port}; log:\n{}", self.log());
        }
        panic!("no free port for sshd");
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.stop();
    }
}

fn port_is_random(_port: u16) -> bool {
    true
}

fn banner_ok(port: u16) -> bool {
    let Ok(mut tcp) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = tcp.set_read_timeout(Some(Duration::from_millis(500)));
    let mut buf = [0u8; 4];
    tcp.read_exact(&mut buf).is_ok() && &buf == b"SSH-"
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind 127.0.0.1:0")
}

/// Makes an ed25519 key pair (OpenSSH format) at `path`, encrypted when `passphrase` is set.
pub fn keygen(path: &Path, passphrase: &str) {
    run(
        "ssh-keygen",
        &[
            "-q",
            "-t",
            "ed25519",
            "-N",
            passphrase,
            "-C",
            "smol-ssh-test",
            "-f",
            path.to_str().unwrap(),
        ],
    );
}

/// Every process below `pid`, found through /proc.
pub fn descendants(pid: u32) -> Vec<u32> {
    let mut parent_of = Vec::new();
    if let Ok(entries) = fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            // The field after the parenthesised command name: state, then ppid.
            let after = &stat[stat.rfind(')').map(|i| i + 1).unwrap_or(0)..];
            if let Some(ppid) = after
                .split_whitespace()
                .nth(1)
                .and_then(|s| s.parse::<u32>().ok())
            {
                parent_of.push((child, ppid));
            }
        }
    }
    let mut found = vec![];
    let mut frontier = vec![pid];
    while let Some(p) = frontier.pop() {
        for &(child, ppid) in &parent_of {
            if ppid == p && !found.contains(&child) {
                found.push(child);
                frontier.push(child);
            }
        }
    }
    found
}

/// Live (not zombie) processes whose command line contains `marker`, as (pid, command line).
pub fn live_processes_with(marker: &str) -> Vec<(u32, String)> {
    let mut found = vec![];
    let Ok(entries) = fs::read_dir("/proc") else {
        return found;
    };
    for entry in entries.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let cmdline = fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        let state = fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        let zombie = state
            .rfind(')')
            .and_then(|i| state[i + 1..].split_whitespace().next())
            .is_some_and(|s| s == "Z");
        if cmdline.contains(marker) && !zombie && pid != std::process::id() {
            found.push((pid, cmdline));
        }
    }
    found
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .expect("/dev/urandom");
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

fn run(cmd: &str, args: &[&str]) {
    let status = Command::new(cmd)
        .args(args)
        .status()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    assert!(status.success(), "{cmd} {args:?} failed");
}

fn output(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}
