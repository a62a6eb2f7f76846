//! The remote file operations: stat, list_dir, mkdir (with parents), remove, remove_dir,
//! rename, exists. Where SFTP answers a bare "failure" (OpenSSH's sftp-server maps every errno
//! but ENOENT and EACCES to it), a stat of the path says which of not-a-directory, is-a-
//! directory, exists or not-empty it was.

use super::remote_path;
use super::session::{status_error, Limits, Session};
use super::wire::{self, Attrs, Reply, Request};
use crate::client::{Client, RunOptions};
use crate::error::{Error, ErrorKind, Result};

/// The most memory a directory listing may take (names, and `ENTRY_BYTES` for each entry's
/// own fields): a guest cannot make the client hold more than this for one `list_dir`.
const MAX_LISTING_BYTES: usize = 64 * 1024 * 1024;
const ENTRY_BYTES: usize = 96;

/// What kind of file a path names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileType {
    File,
    Directory,
    Symlink,
    /// A device, FIFO or socket, or a type the server did not say.
    Other,
}

/// What the guest says about a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileInfo {
    pub file_type: FileType,
    /// Size in bytes, when the server says it.
    pub size: Option<u64>,
    /// Permission bits (`0o7777` of `st_mode`), when the server says them.
    pub permissions: Option<u32>,
    /// Last modification, seconds since the Unix epoch, when the server says it.
    pub modified: Option<u64>,
    /// Owner and group ids, when the server says them.
    pub uid: Option<u32>,
    pub gid: Option<u32>,
}

impl FileInfo {
    pub(crate) fn from_attrs(a: &Attrs) -> Self {
        let file_type = match a.permissions.map(|p| p & 0o170000) {
            Some(0o100000) => FileType::File,
            Some(0o040000) => FileType::Directory,
            Some(0o120000) => FileType::Symlink,
            _ => FileType::Other,
        };
        FileInfo {
            file_type,
            size: a.size,
            permissions: a.permissions.map(|p| p & 0o7777),
            modified: a.atime_mtime.map(|(_, m)| u64::from(m)),
            uid: a.uid_gid.map(|(u, _)| u),
            gid: a.uid_gid.map(|(_, g)| g),
        }
    }

    pub fn is_dir(&self) -> bool {
        self.file_type == FileType::Directory
    }
}

/// One entry of a directory listing. The name is the guest's bytes read as UTF-8 (invalid
/// sequences become U+FFFD). Its info is the entry's own (a symbolic link is `Symlink`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEntry {
    pub name: String,
    pub info: FileInfo,
}

/// Why a bare SFTP failure happened, found with stats of `path` and its parents. OpenSSH's
/// sftp-server reports ENOTDIR as "no such file", and every errno but ENOENT, ENOTDIR and
/// EACCES as "failure": `want_dir` says what `path` had to be (a directory: Some(true), not
/// one: Some(false)).
fn explain(
    s: &mut Session,
    err: Error,
    path: &str,
    limits: &Limits,
    want_dir: Option<bool>,
) -> Result<Error> {
    if !matches!(err.kind(), ErrorKind::RemoteFailed | ErrorKind::NotFound) {
        return Ok(err);
    }
    let found = match s.stat(path, true, limits) {
        Ok(a) => Some(FileInfo::from_attrs(&a)),
        Err(e) if e.kind() == ErrorKind::NotFound => None,
        Err(e)
            if matches!(
                e.kind(),
                ErrorKind::PermissionDenied | ErrorKind::RemoteFailed
            ) =>
        {
            return Ok(err)
        }
        Err(e) => return Err(e),
    };
    Ok(match (found, want_dir) {
        (Some(info), Some(true)) if !info.is_dir() => {
            Error::new(ErrorKind::NotADirectory, format!("{path}: not a directory"))
        }
        (Some(info), Some(false)) if info.is_dir() => Error::new(
            ErrorKind::RemoteFailed,
            format!("{path}: is a directory (remove_dir removes directories)"),
        ),
        (Some(_), _) => err,
        // Not there: was a parent a file?
        (None, _) => {
            let parents = prefixes(path);
            for prefix in &parents[..parents.len().saturating_sub(1)] {
                match s.stat(prefix, true, limits) {
                    Ok(a) if FileInfo::from_attrs(&a).is_dir() => continue,
                    Ok(_) => {
                        return Ok(Error::new(
                            ErrorKind::NotADirectory,
                            format!("{prefix}: not a directory (in {path})"),
                        ))
                    }
                    Err(e)
                        if e.kind() == ErrorKind::Timeout || e.kind() == ErrorKind::Cancelled =>
                    {
                        return Err(e)
                    }
                    Err(_) => break,
                }
            }
            err
        }
    })
}

impl Client {
    /// What the guest says about `path` (symbolic links followed). `NotFound` when there is
    /// nothing there.
    pub fn stat(&self, path: &str, options: &RunOptions) -> Result<FileInfo> {
        let path = remote_path(path)?;
        self.with_sftp(format!("sftp stat {path}"), options, |s, limits| {
            s.stat(path, true, limits).map(|a| FileInfo::from_attrs(&a))
        })
    }

    /// Whether `path` exists on the guest (symbolic links followed: a dangling link does
    /// not). Errors other than "not found" (permission denied on a parent, ...) are errors.
    pub fn exists(&self, path: &str, options: &RunOptions) -> Result<bool> {
        let path = remote_path(path)?;
        self.with_sftp(format!("sftp exists {path}"), options, |s, limits| match s
            .stat(path, true, limits)
        {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        })
    }

    /// The entries of the directory `path`, without "." and "..", in the server's order.
    /// A file is `NotADirectory`.
    pub fn list_dir(&self, path: &str, options: &RunOptions) -> Result<Vec<DirEntry>> {
        let path = remote_path(path)?;
        self.with_sftp(format!("sftp list_dir {path}"), options, |s, limits| {
            let handle = match s.open_dir(path, limits) {
                Ok(h) => h,
                Err(e) => return Err(explain(s, e, path, limits, Some(true))?),
            };
            let mut entries = Vec::new();
            let mut held = 0usize;
            let listed = loop {
                let id = s.id();
                let request = Request::new(wire::READDIR, id).bytes(&handle);
                match s.call(request, id, limits)? {
                    Reply::Name(names) => {
                        // A guest that lists without end fills memory, not only time.
                        held += names
                            .iter()
                            .map(|(n, _)| n.len() + ENTRY_BYTES)
                            .sum::<usize>();
                        if held > MAX_LISTING_BYTES {
                            break Err(Error::new(
                                ErrorKind::RemoteFailed,
                                format!(
                                    "{path}: the listing passed {} MiB (the most a listing may \
                                     hold)",
                                    MAX_LISTING_BYTES >> 20
                                ),
                            ));
                        }
                        for (name, attrs) in names {
                            if name != b"." && name != b".." {
                                entries.push(DirEntry {
                                    name: String::from_utf8_lossy(&name).into_owned(),
                                    info: FileInfo::from_attrs(&attrs),
                                });
                            }
                        }
                    }
                    Reply::Status {
                        code: wire::FX_EOF, ..
                    } => break Ok(()),
                    Reply::Status { code, message } => {
                        break Err(status_error(code, &message, path))
                    }
                    other => return Err(s.unexpected(&other)),
                }
            };
            s.close_handle(&handle, path, limits)?;
            listed.map(|()| entries)
        })
    }

    /// Makes the directory `path`; with `parents`, also its missing parents, and an existing
    /// directory is fine (as `mkdir -p`). A file in the way is `NotADirectory`.
    pub fn mkdir(&self, path: &str, parents: bool, options: &RunOptions) -> Result<()> {
        let path = remote_path(path)?;
        self.with_sftp(format!("sftp mkdir {path}"), options, |s, limits| {
            if !parents {
                return match mkdir_one(s, path, limits) {
                    Err(e)
                        if e.kind() == ErrorKind::RemoteFailed
                            && s.stat(path, true, limits).is_ok() =>
                    {
                        Err(Error::new(
                            ErrorKind::RemoteFailed,
                            format!("{path}: already exists"),
                        ))
                    }
                    Err(e) => Err(explain(s, e, path, limits, None)?),
                    ok => ok,
                };
            }
            for prefix in prefixes(path) {
                match s.stat(prefix, true, limits) {
                    Ok(a) if FileInfo::from_attrs(&a).is_dir() => continue,
                    Ok(_) => {
                        return Err(Error::new(
                            ErrorKind::NotADirectory,
                            format!("{prefix}: not a directory"),
                        ))
                    }
                    Err(e) if e.kind() == ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
                if let Err(e) = mkdir_one(s, prefix, limits) {
                    // Made meanwhile by someone else: fine if it is a directory now.
                    match s.stat(prefix, true, limits) {
                        Ok(a) if FileInfo::from_attrs(&a).is_dir() => {}
                        _ => return Err(e),
                    }
                }
            }
            Ok(())
        })
    }

    /// Removes the file (or symbolic link) `path`. A directory is `RemoteFailed` (see
    /// `remove_dir`).
    pub fn remove(&self, path: &str, options: &RunOptions) -> Result<()> {
        let path = remote_path(path)?;
        self.with_sftp(
            format!("sftp remove {path}"),
            options,
            |s, limits| match s.simple(wire::REMOVE, path, limits) {
                Err(e) => Err(explain(s, e, path, limits, Some(false))?),
                ok => ok,
            },
        )
    }

    /// Removes the empty directory `path`. A file is `NotADirectory`; a directory with
    /// entries is `RemoteFailed`.
    pub fn remove_dir(&self, path: &str, options: &RunOptions) -> Result<()> {
        let path = remote_path(path)?;
        self.with_sftp(
            format!("sftp remove_dir {path}"),
            options,
            |s, limits| match s.simple(wire::RMDIR, path, limits) {
                Err(e) => Err(explain(s, e, path, limits, Some(true))?),
                ok => ok,
            },
        )
    }

    /// Renames `from` to `to`, replacing `to` atomically when the guest's server supports it
    /// (OpenSSH's `posix-rename@openssh.com`); plain SFTP rename refuses an existing `to`.
    pub fn rename(&self, from: &str, to: &str, options: &RunOptions) -> Result<()> {
        let (from, to) = (remote_path(from)?, remote_path(to)?);
        self.with_sftp(
            format!("sftp rename {from} to {to}"),
            options,
            |s, limits| rename(s, from, to, limits),
        )
    }
}

fn mkdir_one(s: &mut Session, path: &str, limits: &Limits) -> Result<()> {
    let id = s.id();
    let request = Request::new(wire::MKDIR, id)
        .bytes(path.as_bytes())
        .attrs(None);
    let reply = s.call(request, id, limits)?;
    s.expect_ok(reply, path)
}

/// Renames, replacing the target atomically where the server can.
pub(crate) fn rename(s: &mut Session, from: &str, to: &str, limits: &Limits) -> Result<()> {
    let id = s.id();
    let request = if s.version.has("posix-rename@openssh.com") {
        Request::new(wire::EXTENDED, id)
            .bytes(b"posix-rename@openssh.com")
            .bytes(from.as_bytes())
            .bytes(to.as_bytes())
    } else {
        Request::new(wire::RENAME, id)
            .bytes(from.as_bytes())
            .bytes(to.as_bytes())
    };
    let reply = s.call(request, id, limits)?;
    s.expect_ok(reply, from)
}

/// "a/b/c" -> "a", "a/b", "a/b/c"; "/x/y" -> "/x", "/x/y" (empty components skipped).
fn prefixes(path: &str) -> Vec<&str> {
    let trimmed = path.trim_end_matches('/');
    let mut out = Vec::new();
    for (i, c) in trimmed.char_indices() {
        if c == '/' && i > 0 && !trimmed[..i].ends_with('/') {
            out.push(&trimmed[..i]);
        }
    }
    if !trimmed.is_empty() {
        out.push(trimmed);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_of_paths() {
        assert_eq!(prefixes("/a/b/c/"), vec!["/a", "/a/b", "/a/b/c"]);
        assert_eq!(prefixes("a//b"), vec!["a", "a//b"]);
        assert_eq!(prefixes("x"), vec!["x"]);
    }

    #[test]
    fn types_from_mode() {
        let info = |mode| {
            FileInfo::from_attrs(&Attrs {
                permissions: Some(mode),
                ..Attrs::default()
            })
        };
        assert_eq!(info(0o100644).file_type, FileType::File);
        assert_eq!(info(0o100644).permissions, Some(0o644));
        assert_eq!(info(0o040755).file_type, FileType::Directory);
        assert_eq!(info(0o120777).file_type, FileType::Symlink);
        assert_eq!(info(0o010644).file_type, FileType::Other);
        assert_eq!(
            FileInfo::from_attrs(&Attrs::default()).file_type,
            FileType::Other
        );
    }
}
