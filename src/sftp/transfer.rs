//! Transfers over SFTP, with the exec path's guarantees (see transfer.rs): an upload goes to
//! a temporary name beside the target (`.<name>.smol-ssh-<128 random bits>`), created
//! exclusively (an existing name or a planted link fails the open, never followed) with mode
//! 0600, written, given its mode through the handle, closed, then renamed over the target
//! (atomically with `posix-rename@openssh.com`; a directory in the target's place is never
//! moved into). Requests are pipelined (`WINDOW` bytes in flight each way). A call that fails
//! removes its temporary file; one cut short by its deadline or cancel token leaves the
//! removal to a background thread with `CLEANUP` to do it, so that the caller gets its answer
//! on time.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::time::{Duration, Instant};

use super::ops::{rename, FileInfo};
use super::session::{status_error, Limits, Session};
use super::wire::{self, Reply, Request};
use crate::error::{Error, ErrorKind, Result};

/// Bytes per READ request.
const CHUNK: usize = 64 * 1024;
/// Bytes per WRITE request (OpenSSH's sftp-server takes packets of up to 256 KiB).
const WRITE_CHUNK: usize = 128 * 1024;
/// Bytes in flight: requests sent and not yet answered.
const WINDOW: usize = 2 * 1024 * 1024;
/// How long the background removal of an abandoned upload's temporary file may take.
const CLEANUP: Duration = Duration::from_secs(10);

/// Where an upload's bytes come from.
pub(crate) enum Source<'a> {
    Bytes(&'a [u8]),
    File(std::fs::File),
}

impl Source<'_> {
    /// Fills `buf` (up to its length); 0 at the end.
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Source::Bytes(b) => {
                let n = b.len().min(buf.len());
                buf[..n].copy_from_slice(&b[..n]);
                *b = &b[n..];
                Ok(n)
            }
            Source::File(f) => {
                let mut filled = 0;
                while filled < buf.len() {
                    match f.read(&mut buf[filled..]) {
                        Ok(0) => break,
                        Ok(n) => filled += n,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(e),
                    }
                }
                Ok(filled)
            }
        }
    }
}

/// Uploads `source` to `remote` (a directory gets `name` appended, or is refused without
/// one) with permission bits `mode`; returns the path written.
pub(crate) fn put(
    s: &mut Session,
    limits: &Limits,
    mut source: Source<'_>,
    remote: &str,
    name: Option<&str>,
    mode: u32,
) -> Result<String> {
    let target = match s.stat(remote, true, limits) {
        Ok(a) if FileInfo::from_attrs(&a).is_dir() => match name {
            Some(name) => format!("{}/{name}", remote.trim_end_matches('/')),
            None => {
                return Err(Error::new(
                    ErrorKind::RemoteFailed,
                    format!("{remote} is a directory"),
                ))
            }
        },
        Ok(_) => remote.to_owned(),
        Err(e) if e.kind() == ErrorKind::NotFound => remote.to_owned(),
        Err(e) => return Err(e),
    };
    let (dir, base) = match target.rfind('/') {
        Some(i) => (&target[..=i], &target[i + 1..]),
        None => ("", target.as_str()),
    };
    if base.is_empty() || base == "." || base == ".." {
        return Err(Error::invalid(format!("{target}: no file name")));
    }
    let temp = format!("{dir}.{base}.smol-ssh-{}", crate::transfer::nonce());
    let pflags = wire::FXF_WRITE | wire::FXF_CREAT | wire::FXF_EXCL;
    // Errors name the target the caller asked for (the temporary name is ours).
    let handle = s
        .open_file(&temp, pflags, Some(0o600), limits)
        .map_err(|e| Error::new(e.kind(), format!("cannot write {target}: {}", e.message())))?;
    let written = write_all(s, limits, &handle, &mut source, &temp)
        .and_then(|()| set_mode(s, limits, &handle, mode, &temp))
        .and_then(|()| s.close_handle(&handle, &temp, limits))
        .and_then(|()| rename(s, &temp, &target, limits));
    match written {
        Ok(()) => Ok(target),
        Err(e) if s.tainted => {
            abandon(s, handle, temp);
            Err(e)
        }
        Err(e) => {
            // The session is in step: close (if still open) and remove, within the deadline.
            let _ = s.close_handle(&handle, &temp, limits);
            let _ = s.simple(wire::REMOVE, &temp, limits);
            Err(e)
        }
    }
}

/// Writes everything `source` holds through `handle`, pipelined.
fn write_all(
    s: &mut Session,
    limits: &Limits,
    handle: &[u8],
    source: &mut Source<'_>,
    path: &str,
) -> Result<()> {
    let mut outstanding = 0usize;
    let mut offset = 0u64;
    let mut done = false;
    // One packet buffer: the WRITE header, then the data read straight behind it.
    let mut packet = Vec::with_capacity(64 + handle.len() + WRITE_CHUNK);
    let mut first_error = None;
    while !done || outstanding > 0 {
        while !done && first_error.is_none() && (outstanding + 1) * WRITE_CHUNK <= WINDOW {
            let id = s.id();
            packet.clear();
            packet.extend_from_slice(
                &Request::new(wire::WRITE, id)
                    .bytes(handle)
                    .u64(offset)
                    .u32(0)
                    .finish(),
            );
            let header = packet.len();
            packet.resize(header + WRITE_CHUNK, 0);
            let n = source.read(&mut packet[header..]).map_err(|e| {
                Error::invalid(format!("cannot read the local file being sent: {e}"))
            })?;
            if n == 0 {
                done = true;
                break;
            }
            packet.truncate(header + n);
            // The data's length, and the packet's.
            packet[header - 4..header].copy_from_slice(&(n as u32).to_be_bytes());
            let total = (packet.len() - 4) as u32;
            packet[..4].copy_from_slice(&total.to_be_bytes());
            s.send(&packet, limits)?;
            offset += n as u64;
            outstanding += 1;
        }
        if outstanding == 0 {
            break;
        }
        let r = s.response(limits)?;
        outstanding -= 1;
        match r.reply {
            Reply::Status {
                code: wire::FX_OK, ..
            } => {}
            Reply::Status { code, message } => {
                first_error.get_or_insert_with(|| status_error(code, &message, path));
                done = true;
            }
            other => return Err(s.unexpected(&other)),
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// Gives the file its permission bits through its handle (a server without them, Windows',
/// may say it does not support that: the file keeps its default).
fn set_mode(s: &mut Session, limits: &Limits, handle: &[u8], mode: u32, path: &str) -> Result<()> {
    let id = s.id();
    let request = Request::new(wire::FSETSTAT, id)
        .bytes(handle)
        .attrs(Some(mode & 0o7777));
    match s.call(request, id, limits)? {
        Reply::Status {
            code: wire::FX_OK | wire::FX_OP_UNSUPPORTED,
            ..
        } => Ok(()),
        Reply::Status { code, message } => Err(status_error(code, &message, path)),
        other => Err(s.unexpected(&other)),
    }
}

/// Hands an upload cut short to a background thread: it waits for the replies in flight,
/// closes the handle and removes the temporary file, within `CLEANUP`.
fn abandon(s: &mut Session, handle: Vec<u8>, temp: String) {
    // An empty session stays with the caller (it is dropped as tainted).
    let Ok(mut session) = s.detach() else {
        return;
    };
    let started = Instant::now();
    let cleanup = Limits {
        started,
        deadline: started + CLEANUP,
        cancel: None,
        label: format!("removing the abandoned {temp}"),
    };
    let _ = std::thread::Builder::new()
        .name("smol-ssh-sftp-cleanup".into())
        .spawn(move || {
            let close = session.id();
            let remove = session.id();
            let close_req = Request::new(wire::CLOSE, close).bytes(&handle).finish();
            let remove_req = Request::new(wire::REMOVE, remove)
                .bytes(temp.as_bytes())
                .finish();
            if session.send(&close_req, &cleanup).is_err()
                || session.send(&remove_req, &cleanup).is_err()
            {
                return;
            }
            // Replies to the writes still in flight come first; the removal's ends it.
            while let Ok(r) = session.response(&cleanup) {
                if r.id == remove {
                    break;
                }
            }
        });
}

/// Downloads `remote` into `sink`, at most `max_bytes` (else `TooLarge`); returns the bytes
/// delivered. Reads are pipelined and delivered in order.
pub(crate) fn get(
    s: &mut Session,
    limits: &Limits,
    remote: &str,
    max_bytes: u64,
    sink: &mut dyn FnMut(&[u8]) -> Result<()>,
) -> Result<u64> {
    let handle = s.open_file(remote, wire::FXF_READ, None, limits)?;
    let result = read_all(s, limits, &handle, remote, max_bytes, sink);
    if !s.tainted {
        let closed = s.close_handle(&handle, remote, limits);
        if result.is_ok() {
            closed?;
        }
    }
    result
}

fn too_large(remote: &str, max_bytes: u64) -> Error {
    Error::new(
        ErrorKind::TooLarge,
        format!("{remote} is larger than max_bytes ({max_bytes})"),
    )
}

fn read_all(
    s: &mut Session,
    limits: &Limits,
    handle: &[u8],
    remote: &str,
    max_bytes: u64,
    sink: &mut dyn FnMut(&[u8]) -> Result<()>,
) -> Result<u64> {
    let id = s.id();
    match s.call(Request::new(wire::FSTAT, id).bytes(handle), id, limits)? {
        Reply::Attrs(a) => {
            let info = FileInfo::from_attrs(&a);
            if info.is_dir() {
                return Err(Error::new(
                    ErrorKind::RemoteFailed,
                    format!("{remote} is a directory"),
                ));
            }
            if info.size.is_some_and(|n| n > max_bytes) {
                return Err(too_large(remote, max_bytes));
            }
        }
        Reply::Status { code, message } => return Err(status_error(code, &message, remote)),
        other => return Err(s.unexpected(&other)),
    }
    // Read up to one byte past the limit: it tells "too large" from "exactly the limit".
    let stop_at = max_bytes.saturating_add(1);
    let mut asked: HashMap<u32, (u64, usize)> = HashMap::new();
    let mut arrived: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
    let mut next = 0u64;
    let mut delivered = 0u64;
    let mut eof_at: Option<u64> = None;
    loop {
        // Ask for more while the window has room (not past the end, when known).
        while asked.len() * CHUNK < WINDOW && next < stop_at && eof_at.map_or(true, |e| next < e) {
            let len = CHUNK.min((stop_at - next).min(usize::MAX as u64) as usize);
            let id = s.id();
            let packet = Request::new(wire::READ, id)
                .bytes(handle)
                .u64(next)
                .u32(len as u32)
                .finish();
            s.send(&packet, limits)?;
            asked.insert(id, (next, len));
            next += len as u64;
        }
        // Deliver what is contiguous.
        while let Some(data) = arrived.remove(&delivered) {
            delivered += data.len() as u64;
            if delivered > max_bytes {
                return Err(too_large(remote, max_bytes));
            }
            sink(&data)?;
        }
        if asked.is_empty() {
            return Ok(delivered);
        }
        let r = s.response(limits)?;
        let Some((offset, len)) = asked.remove(&r.id) else {
            return Err(s.bad(wire::Malformed(format!(
                "the guest's sftp server answered request {} that was not asked",
                r.id
            ))));
        };
        match r.reply {
            Reply::Data(data) if data.len() > len || data.is_empty() => {
                return Err(s.bad(wire::Malformed(format!(
                    "the guest's sftp server sent {} bytes for a read of {len}",
                    data.len()
                ))))
            }
            Reply::Data(data) => {
                if data.len() < len && eof_at.map_or(true, |e| offset + (data.len() as u64) < e) {
                    // A short read before the end: ask for the rest of that range.
                    let rest = offset + data.len() as u64;
                    let id = s.id();
                    let want = len - data.len();
                    let packet = Request::new(wire::READ, id)
                        .bytes(handle)
                        .u64(rest)
                        .u32(want as u32)
                        .finish();
                    s.send(&packet, limits)?;
                    asked.insert(id, (rest, want));
                }
                arrived.insert(offset, data);
            }
            Reply::Status {
                code: wire::FX_EOF, ..
            } => {
                eof_at = Some(eof_at.map_or(offset, |e| e.min(offset)));
            }
            Reply::Status { code, message } => return Err(status_error(code, &message, remote)),
            other => return Err(s.unexpected(&other)),
        }
        if let Some(end) = eof_at {
            // Requests at or past the end only ever answer EOF; nothing past it is data.
            arrived.retain(|&o, _| o < end);
            if delivered >= end && arrived.is_empty() && asked.values().all(|&(o, _)| o >= end) {
                // Their replies are still owed: wait for them (the session stays in step).
                while !asked.is_empty() {
                    let r = s.response(limits)?;
                    asked.remove(&r.id);
                }
                return Ok(delivered);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_fill_their_buffer() {
        let data = vec![7u8; 100];
        let mut src = Source::Bytes(&data);
        let mut buf = [0u8; 64];
        assert_eq!(src.read(&mut buf).unwrap(), 64);
        assert_eq!(src.read(&mut buf).unwrap(), 36);
        assert_eq!(src.read(&mut buf).unwrap(), 0);
    }
}
