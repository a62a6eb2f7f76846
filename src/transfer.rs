//! File transfer with the reference semantics, over exec channels or SFTP
//! (`Config::file_transfer`; the SFTP path is src/sftp/transfer.rs, and the README's "Files"
//! section says which is the default and why).
//!
//! The exec path inherits everything runs have: one deadline, cancel tokens, many transfers at
//! once on one connection, the output cap (as the `max_bytes` limit). Its price: the guest
//! needs a POSIX `sh`, `cat`, `head` and `chmod` (every Linux guest has them); forced onto a
//! Windows guest it is INVALID_ARGUMENT (the default sends those over SFTP).
//!
//! Uploads (`transfer/put.sh`) never write through a path the guest could have prepared: the
//! temporary file beside the target gets a 128-bit random name from the client, is created
//! exclusively (`set -C`: an existing name or a planted link fails the upload instead of being
//! followed) under `umask 077`, is checked to be the new regular file it should be (through
//! `/proc/$$/fd/3`), and is written, chmod-ed and renamed through what was opened, not
//! through its name: `cat >&3`, `chmod MODE /proc/$$/fd/3`, `mv -f -T --` (a directory put in
//! the target's place meanwhile is not moved into). Paths starting with `-` are made `./-…`
//! and every command gets `--`. A directory target gets the local file's name appended
//! (`put_file`, as the reference does) or is refused (`put_bytes`: there is no name). It needs
//! Linux's /proc on the guest; without it uploads fail, they do not fall back.

use std::fs;
use std::io::Write;
use std::ops::ControlFlow;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use crate::client::{Client, RunOptions};
use crate::config::FileTransfer;
use crate::error::{Error, ErrorKind, Result};
use crate::output::{Output, Stream};
use crate::sftp::Source;
use crate::shell::{push_posix_quoted, sh_c, ShellKind, ShellMode};

/// What an upload sends.
enum Upload {
    Bytes(Vec<u8>),
    /// Streamed from disk by the driver.
    File(fs::File),
}

/// 128 random bits as hex, for temporary names nobody can plant a link at in advance.
pub(crate) fn nonce() -> String {
    let mut bytes = [0u8; 16];
    if fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes))
        .is_err()
    {
        // No /dev/urandom: the standard library's per-process random hash keys instead.
        use std::hash::{BuildHasher, Hasher};
        for chunk in bytes.chunks_mut(8) {
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u128(
                std::time::SystemTime::now()
                    .elapsed()
                    .map_or(0, |d| d.as_nanos()),
            );
            chunk.copy_from_slice(&h.finish().to_ne_bytes());
        }
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Most bytes of the guest's stderr a transfer keeps (its complaint, for the error message).
const STDERR_CAP: usize = 64 * 1024;
/// Most bytes of that complaint quoted in an error message.
const SAID_MAX: usize = 1024;

fn quoted(word: &str) -> String {
    let mut out = String::new();
    push_posix_quoted(&mut out, word);
    out
}

/// The guest's complaint as an error (its stderr, trimmed), or the exit status if it said
/// nothing.
fn remote_failure(what: &str, out: &Output) -> Error {
    let stderr = out.stderr.trim_ascii();
    let mut said = String::from_utf8_lossy(&stderr[..stderr.len().min(SAID_MAX)]).into_owned();
    if stderr.len() > SAID_MAX {
        said.push_str(" [...]");
    }
    let why = if said.is_empty() {
        format!("exit status {:?}", out.exit_code)
    } else {
        said
    };
    Error::new(ErrorKind::RemoteFailed, format!("{what}: {why}"))
}

fn local_error(path: &Path, what: &str, e: std::io::Error) -> Error {
    Error::invalid(format!("{what} {}: {e}", path.display()))
}

impl Client {
    fn check_posix_guest(&self) -> Result<()> {
        match self.config().shell_kind {
            ShellKind::Sh => Ok(()),
            _ => Err(Error::invalid(
                "file transfer over exec channels needs a POSIX guest (shell_kind sh): it runs \
                 cat, head and chmod (choose FileTransfer::Sftp, or Auto, for other guests)",
            )),
        }
    }

    /// Runs a transfer script with the caller's timeout and cancel token.
    fn transfer(
        &self,
        script: &str,
        stdin: Option<Vec<u8>>,
        file: Option<fs::File>,
        cap: usize,
        options: &RunOptions,
    ) -> Result<Output> {
        self.check_posix_guest()?;
        let run = RunOptions {
            mode: ShellMode::Raw,
            stdin,
            env: Vec::new(),
            secret_env: Vec::new(),
            max_output_bytes: Some(cap),
            ..options.clone()
        };
        self.run_job(&sh_c(script), &run, Some(STDERR_CAP), file, None)
    }

    /// Writes `data` to the file `remote` on the guest with permissions `mode` (e.g. 0o644),
    /// replacing it if it exists (atomically: written under a temporary name beside it, then
    /// renamed; a run that is killed midway may leave `.<name>.smol-ssh-<random>`, mode 0600,
    /// behind). A `remote` that is a directory is REMOTE_FAILED (there is no file name to
    /// append).
    /// Returns the path written.
    pub fn put_bytes(
        &self,
        data: &[u8],
        remote: &str,
        mode: u32,
        options: &RunOptions,
    ) -> Result<String> {
        self.put(Upload::Bytes(data.to_vec()), remote, None, mode, options)
    }

    /// Uploads the local file to `remote`, keeping its permission bits. If `remote` is an
    /// existing directory, the local file's name is appended. Returns the path written. A
    /// missing local file (or a directory) is INVALID_ARGUMENT. The file streams from disk
    /// (memory does not grow with its size).
    pub fn put_file(&self, local: &Path, remote: &str, options: &RunOptions) -> Result<String> {
        let file =
            fs::File::open(local).map_err(|e| local_error(local, "cannot read local file", e))?;
        let meta = file
            .metadata()
            .map_err(|e| local_error(local, "cannot read local file", e))?;
        if !meta.is_file() {
            return Err(Error::invalid(format!(
                "local path {} is not a file",
                local.display()
            )));
        }
        let name = local.file_name().and_then(|n| n.to_str()).ok_or_else(|| {
            Error::invalid(format!(
                "local file name of {} is not UTF-8",
                local.display()
            ))
        })?;
        self.put(
            Upload::File(file),
            remote,
            Some(name),
            meta.permissions().mode() & 0o7777,
            options,
        )
    }

    /// Whether transfers go over SFTP (see `Config::file_transfer`).
    fn over_sftp(&self) -> bool {
        match self.config().file_transfer {
            FileTransfer::Auto => self.config().shell_kind != ShellKind::Sh,
            FileTransfer::Exec => false,
            FileTransfer::Sftp => true,
        }
    }

    fn put(
        &self,
        data: Upload,
        remote: &str,
        name: Option<&str>,
        mode: u32,
        options: &RunOptions,
    ) -> Result<String> {
        if remote.is_empty() {
            return Err(Error::invalid("remote path must not be empty"));
        }
        if self.over_sftp() {
            let source = match &data {
                Upload::Bytes(bytes) => Source::Bytes(bytes),
                Upload::File(file) => Source::File(
                    file.try_clone()
                        .map_err(|e| Error::invalid(format!("cannot read local file: {e}")))?,
                ),
            };
            return self.sftp_put(source, remote, name, mode, options);
        }
        let into_dir = match name {
            Some(name) => format!("p=\"${{p%/}}\"/{}", quoted(name)),
            None => "echo \"$p is a directory\" >&2; exit 21".to_owned(),
        };
        let script = format!(
            include_str!("transfer/put.sh"),
            path = quoted(remote),
            into_dir = into_dir,
            nonce = nonce(),
            mode = format!("{:o}", mode & 0o7777),
        );
        // Echoing the path back: the cap only has to hold it.
        let (bytes, file) = match data {
            Upload::Bytes(bytes) => (Some(bytes), None),
            Upload::File(file) => (None, Some(file)),
        };
        let out = self.transfer(&script, bytes, file, 64 * 1024, options)?;
        if !out.ok() {
            return Err(remote_failure(&format!("cannot write {remote}"), &out));
        }
        String::from_utf8(out.stdout)
            .map_err(|_| Error::new(ErrorKind::RemoteFailed, "the guest wrote a non-UTF-8 path"))
    }

    /// Reads the file `remote` from the guest, at most `max_bytes` of it: a larger file is
    /// TOO_LARGE (`u64::MAX` means no limit).
    pub fn get_bytes(&self, remote: &str, max_bytes: u64, options: &RunOptions) -> Result<Vec<u8>> {
        if remote.is_empty() {
            return Err(Error::invalid("remote path must not be empty"));
        }
        if self.over_sftp() {
            let mut data = Vec::new();
            self.sftp_get(remote, max_bytes, options, &mut |chunk| {
                data.extend_from_slice(chunk);
                Ok(())
            })?;
            return Ok(data);
        }
        // One byte past the limit tells "too large" from "exactly the limit"; `head` stops
        // reading there, so an enormous file is not read to its end.
        let (script, cap) = match max_bytes
            .checked_add(1)
            .and_then(|n| usize::try_from(n).ok())
        {
            Some(n) => (format!("exec head -c {n} -- {}", quoted(remote)), n),
            None => (format!("exec cat -- {}", quoted(remote)), 0),
        };
        let out = self.transfer(&script, None, None, cap, options)?;
        if !out.ok() {
            return Err(remote_failure(&format!("cannot read {remote}"), &out));
        }
        if out.stdout.len() as u64 > max_bytes {
            return Err(Error::new(
                ErrorKind::TooLarge,
                format!("{remote} is larger than max_bytes ({max_bytes})"),
            ));
        }
        Ok(out.stdout)
    }

    /// Downloads `remote` to the local path, creating its parent directories; at most
    /// `max_bytes` (else TOO_LARGE). The file streams to disk (memory does not grow with its
    /// size) into a temporary file beside its destination, created exclusively (an existing
    /// name or a planted link makes it fail, never followed) under an unguessable name with
    /// mode 0600, then renamed into place (a link at the destination is replaced, not
    /// followed). The result is mode 0600: it comes from an untrusted guest, so only its owner
    /// may read it until the caller decides otherwise. Nothing is left behind on failure.
    /// Returns the number of bytes written. A local path that is a directory is
    /// INVALID_ARGUMENT.
    pub fn get_file(
        &self,
        remote: &str,
        local: &Path,
        max_bytes: u64,
        options: &RunOptions,
    ) -> Result<u64> {
        if remote.is_empty() {
            return Err(Error::invalid("remote path must not be empty"));
        }
        if local.is_dir() {
            return Err(Error::invalid(format!(
                "local path {} is a directory",
                local.display()
            )));
        }
        let name = local.file_name().ok_or_else(|| {
            Error::invalid(format!("local path {} has no file name", local.display()))
        })?;
        let parent = local
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        fs::create_dir_all(parent)
            .map_err(|e| local_error(parent, "cannot create directory", e))?;
        let mut temp_name = std::ffi::OsString::from(".");
        temp_name.push(name);
        temp_name.push(format!(".smol-ssh-{}.part", nonce()));
        let temp = parent.join(temp_name);
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&temp)
            .map_err(|e| local_error(&temp, "cannot create local file", e))?;
        let outcome = self.download_into(&mut file, remote, max_bytes, options);
        let written = outcome.and_then(|n| {
            file.sync_all()
                .and_then(|()| fs::rename(&temp, local))
                .map_err(|e| local_error(local, "cannot write local file", e))?;
            Ok(n)
        });
        if written.is_err() {
            let _ = fs::remove_file(&temp);
        }
        written
    }

    /// Streams `remote` into `file`: the bytes written, or why not.
    fn download_into(
        &self,
        file: &mut fs::File,
        remote: &str,
        max_bytes: u64,
        options: &RunOptions,
    ) -> Result<u64> {
        if self.over_sftp() {
            return self.sftp_get(remote, max_bytes, options, &mut |chunk| {
                file.write_all(chunk)
                    .map_err(|e| Error::invalid(format!("cannot write local file: {e}")))
            });
        }
        self.check_posix_guest()?;
        let script = match max_bytes.checked_add(1) {
            Some(n) => format!("exec head -c {n} -- {}", quoted(remote)),
            None => format!("exec cat -- {}", quoted(remote)),
        };
        let mut written = 0u64;
        let mut stderr = Vec::new();
        let mut too_large = false;
        let mut write_error = None;
        let run = RunOptions {
            mode: ShellMode::Raw,
            stdin: None,
            env: Vec::new(),
            secret_env: Vec::new(),
            ..options.clone()
        };
        let result = self.run_job(
            &sh_c(&script),
            &run,
            Some(STDERR_CAP),
            None,
            Some(&mut |stream: Stream, bytes: &[u8]| {
                if stream == Stream::Stderr {
                    let room = STDERR_CAP.saturating_sub(stderr.len());
                    stderr.extend_from_slice(&bytes[..bytes.len().min(room)]);
                    return ControlFlow::Continue(());
                }
                if written + bytes.len() as u64 > max_bytes {
                    too_large = true;
                    return ControlFlow::Break(());
                }
                if let Err(e) = file.write_all(bytes) {
                    write_error = Some(e);
                    return ControlFlow::Break(());
                }
                written += bytes.len() as u64;
                ControlFlow::Continue(())
            }),
        );
        if too_large {
            return Err(Error::new(
                ErrorKind::TooLarge,
                format!("{remote} is larger than max_bytes ({max_bytes})"),
            ));
        }
        if let Some(e) = write_error {
            return Err(Error::invalid(format!("cannot write local file: {e}")));
        }
        let out = result?;
        if !out.ok() {
            let said = Output { stderr, ..out };
            return Err(remote_failure(&format!("cannot read {remote}"), &said));
        }
        Ok(written)
    }
}
