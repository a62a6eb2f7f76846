//! The SFTP protocol, version 3 (draft-ietf-secsh-filexfer-02, what OpenSSH's sftp-server and
//! Windows' OpenSSH speak): requests encoded, responses decoded, bounds checked. A response is
//! read from guest bytes, so every length is checked against what arrived and against
//! `MAX_PACKET` before anything is allocated.

use std::fmt;

/// Packet types (requests).
pub(crate) const INIT: u8 = 1;
pub(crate) const OPEN: u8 = 3;
pub(crate) const CLOSE: u8 = 4;
pub(crate) const READ: u8 = 5;
pub(crate) const WRITE: u8 = 6;
pub(crate) const LSTAT: u8 = 7;
pub(crate) const FSTAT: u8 = 8;
pub(crate) const FSETSTAT: u8 = 10;
pub(crate) const OPENDIR: u8 = 11;
pub(crate) const READDIR: u8 = 12;
pub(crate) const REMOVE: u8 = 13;
pub(crate) const MKDIR: u8 = 14;
pub(crate) const RMDIR: u8 = 15;
pub(crate) const STAT: u8 = 17;
pub(crate) const RENAME: u8 = 18;
pub(crate) const EXTENDED: u8 = 200;

/// Packet types (responses).
const VERSION: u8 = 2;
const STATUS: u8 = 101;
const HANDLE: u8 = 102;
const DATA: u8 = 103;
const NAME: u8 = 104;
const ATTRS: u8 = 105;

/// `pflags` of OPEN.
pub(crate) const FXF_READ: u32 = 0x01;
pub(crate) const FXF_WRITE: u32 = 0x02;
pub(crate) const FXF_CREAT: u32 = 0x08;
pub(crate) const FXF_EXCL: u32 = 0x20;

/// Status codes.
pub(crate) const FX_OK: u32 = 0;
pub(crate) const FX_EOF: u32 = 1;
pub(crate) const FX_NO_SUCH_FILE: u32 = 2;
pub(crate) const FX_PERMISSION_DENIED: u32 = 3;
pub(crate) const FX_OP_UNSUPPORTED: u32 = 8;

/// Attribute flags.
const ATTR_SIZE: u32 = 0x01;
const ATTR_UIDGID: u32 = 0x02;
const ATTR_PERMISSIONS: u32 = 0x04;
const ATTR_ACMODTIME: u32 = 0x08;
const ATTR_EXTENDED: u32 = 0x8000_0000;

/// The largest packet accepted from the guest (OpenSSH's sftp-server sends at most 256 KiB;
/// a directory listing of many long names comes in several NAME packets).
pub(crate) const MAX_PACKET: usize = 1024 * 1024;

/// A file's attributes, as far as the server sent them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Attrs {
    pub size: Option<u64>,
    pub uid_gid: Option<(u32, u32)>,
    /// Type and permission bits (`st_mode`).
    pub permissions: Option<u32>,
    /// Access and modification times, seconds since the epoch.
    pub atime_mtime: Option<(u32, u32)>,
}

/// Something the guest sent that is not SFTP as it should be.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Malformed(pub String);

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn malformed(what: impl Into<String>) -> Malformed {
    Malformed(what.into())
}

/// A request being built: `uint32 length, byte type, [uint32 id], fields`.
pub(crate) struct Request(Vec<u8>);

impl Request {
    /// A request of `kind` with request id `id`.
    pub(crate) fn new(kind: u8, id: u32) -> Self {
        let mut r = Request(Vec::with_capacity(64));
        r.0.extend_from_slice(&[0, 0, 0, 0, kind]);
        r.u32(id)
    }

    /// SSH_FXP_INIT (no request id: the version takes its place).
    pub(crate) fn init() -> Self {
        let mut r = Request(Vec::with_capacity(9));
        r.0.extend_from_slice(&[0, 0, 0, 0, INIT]);
        r.u32(3)
    }

    pub(crate) fn u32(mut self, v: u32) -> Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }

    pub(crate) fn u64(mut self, v: u64) -> Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }

    pub(crate) fn bytes(mut self, v: &[u8]) -> Self {
        self.0.extend_from_slice(&(v.len() as u32).to_be_bytes());
        self.0.extend_from_slice(v);
        self
    }

    /// Attributes carrying only permission bits (or none).
    pub(crate) fn attrs(self, permissions: Option<u32>) -> Self {
        match permissions {
            Some(p) => self.u32(ATTR_PERMISSIONS).u32(p),
            None => self.u32(0),
        }
    }

    /// The packet, its length filled in.
    pub(crate) fn finish(mut self) -> Vec<u8> {
        let len = (self.0.len() - 4) as u32;
        self.0[..4].copy_from_slice(&len.to_be_bytes());
        self.0
    }
}

/// What the server answered a request.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Reply {
    Status {
        code: u32,
        message: String,
    },
    Handle(Vec<u8>),
    Data(Vec<u8>),
    /// Directory entries: name and attributes ("." and ".." included, as sent).
    Name(Vec<(Vec<u8>, Attrs)>),
    Attrs(Attrs),
}

/// A response: the request id it answers, and the answer.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Response {
    pub id: u32,
    pub reply: Reply,
}

/// The server's VERSION: its protocol version and the extensions it names.
#[derive(Clone, Debug, Default)]
pub(crate) struct Version {
    pub version: u32,
    pub extensions: Vec<(String, String)>,
}

impl Version {
    pub(crate) fn has(&self, name: &str) -> bool {
        self.extensions.iter().any(|(n, _)| n == name)
    }
}

/// Reads fields from a packet's body, every length checked.
struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], Malformed> {
        if self.buf.len() < n {
            return Err(malformed(format!("a packet ends inside its {what}")));
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    fn u8(&mut self, what: &str) -> Result<u8, Malformed> {
        Ok(self.take(1, what)?[0])
    }

    fn u32(&mut self, what: &str) -> Result<u32, Malformed> {
        let b = self.take(4, what)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self, what: &str) -> Result<u64, Malformed> {
        let hi = u64::from(self.u32(what)?);
        Ok(hi << 32 | u64::from(self.u32(what)?))
    }

    fn bytes(&mut self, what: &str) -> Result<&'a [u8], Malformed> {
        let n = self.u32(what)? as usize;
        self.take(n, what)
    }

    fn text(&mut self, what: &str) -> Result<String, Malformed> {
        Ok(String::from_utf8_lossy(self.bytes(what)?).into_owned())
    }

    fn attrs(&mut self) -> Result<Attrs, Malformed> {
        let flags = self.u32("attributes")?;
        let mut a = Attrs::default();
        if flags & ATTR_SIZE != 0 {
            a.size = Some(self.u64("size")?);
        }
        if flags & ATTR_UIDGID != 0 {
            a.uid_gid = Some((self.u32("uid")?, self.u32("gid")?));
        }
        if flags & ATTR_PERMISSIONS != 0 {
            a.permissions = Some(self.u32("permissions")?);
        }
        if flags & ATTR_ACMODTIME != 0 {
            a.atime_mtime = Some((self.u32("atime")?, self.u32("mtime")?));
        }
        if flags & ATTR_EXTENDED != 0 {
            let count = self.u32("extended attributes")?;
            for _ in 0..count {
                self.bytes("extended attribute")?;
                self.bytes("extended attribute")?;
            }
        }
        Ok(a)
    }
}

/// The length of the packet at the start of `buf`, once its 4-byte length has arrived:
/// `Ok(Some(total))` with the length field included, or `Err` beyond `MAX_PACKET`.
pub(crate) fn packet_len(buf: &[u8]) -> Result<Option<usize>, Malformed> {
    if buf.len() < 4 {
        return Ok(None);
    }
    let n = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
    if n == 0 || n > MAX_PACKET {
        return Err(malformed(format!(
            "the guest sent an SFTP packet of {n} bytes (at most {MAX_PACKET} are accepted)"
        )));
    }
    Ok(Some(4 + n))
}

/// Decodes the server's VERSION packet (length field included).
pub(crate) fn version(packet: &[u8]) -> Result<Version, Malformed> {
    let mut r = Reader { buf: &packet[4..] };
    if r.u8("type")? != VERSION {
        return Err(malformed(
            "the guest's sftp server did not answer with its version",
        ));
    }
    let mut v = Version {
        version: r.u32("version")?,
        extensions: Vec::new(),
    };
    while !r.buf.is_empty() {
        let name = r.text("extension name")?;
        let data = r.text("extension data")?;
        v.extensions.push((name, data));
    }
    Ok(v)
}

/// Decodes a response packet (length field included).
pub(crate) fn response(packet: &[u8]) -> Result<Response, Malformed> {
    let mut r = Reader { buf: &packet[4..] };
    let kind = r.u8("type")?;
    let id = r.u32("request id")?;
    let reply = match kind {
        STATUS => {
            let code = r.u32("status code")?;
            // Version 3 servers send a message and a language tag; very old ones neither.
            let message = if r.buf.is_empty() {
                String::new()
            } else {
                r.text("status message")?
            };
            Reply::Status { code, message }
        }
        HANDLE => Reply::Handle(r.bytes("handle")?.to_vec()),
        DATA => Reply::Data(r.bytes("data")?.to_vec()),
        NAME => {
            let count = r.u32("name count")? as usize;
            // Each entry takes at least 12 bytes: a count beyond that is a lie.
            if count > r.buf.len() / 12 {
                return Err(malformed(
                    "a directory listing counts more names than it holds",
                ));
            }
            let mut names = Vec::with_capacity(count);
            for _ in 0..count {
                let name = r.bytes("file name")?.to_vec();
                r.bytes("long name")?;
                names.push((name, r.attrs()?));
            }
            Reply::Name(names)
        }
        ATTRS => Reply::Attrs(r.attrs()?),
        other => {
            return Err(malformed(format!(
                "the guest's sftp server sent a packet of unknown type {other}"
            )))
        }
    };
    Ok(Response { id, reply })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(body: &[u8]) -> Vec<u8> {
        let mut p = (body.len() as u32).to_be_bytes().to_vec();
        p.extend_from_slice(body);
        p
    }

    #[test]
    fn requests_carry_their_length_and_fields() {
        let p = Request::new(OPEN, 7)
            .bytes(b"/tmp/x")
            .u32(FXF_READ)
            .attrs(Some(0o600))
            .finish();
        assert_eq!(&p[..4], &((p.len() - 4) as u32).to_be_bytes());
        assert_eq!(p[4], OPEN);
        assert_eq!(&p[5..9], &7u32.to_be_bytes());
        assert_eq!(&p[9..13], &6u32.to_be_bytes());
        assert_eq!(&p[13..19], b"/tmp/x");
        assert_eq!(Request::init().finish(), vec![0, 0, 0, 5, INIT, 0, 0, 0, 3]);
    }

    #[test]
    fn responses_decode_and_lies_are_refused() {
        let mut body = vec![STATUS];
        body.extend_from_slice(&9u32.to_be_bytes());
        body.extend_from_slice(&FX_NO_SUCH_FILE.to_be_bytes());
        body.extend_from_slice(&4u32.to_be_bytes());
        body.extend_from_slice(b"gone");
        body.extend_from_slice(&0u32.to_be_bytes());
        let r = response(&packet(&body)).unwrap();
        assert_eq!(
            r,
            Response {
                id: 9,
                reply: Reply::Status {
                    code: FX_NO_SUCH_FILE,
                    message: "gone".into()
                }
            }
        );
        // A data length beyond the packet.
        let mut body = vec![DATA, 0, 0, 0, 1];
        body.extend_from_slice(&1000u32.to_be_bytes());
        body.extend_from_slice(b"short");
        assert!(response(&packet(&body)).is_err());
        // A name count beyond what the packet can hold.
        let mut body = vec![NAME, 0, 0, 0, 1];
        body.extend_from_slice(&u32::MAX.to_be_bytes());
        assert!(response(&packet(&body)).is_err());
        // Unknown types, and oversized packets.
        assert!(response(&packet(&[99, 0, 0, 0, 1])).is_err());
        assert!(packet_len(&(MAX_PACKET as u32 + 1).to_be_bytes()).is_err());
        assert!(packet_len(&[0, 0, 0, 0]).is_err());
        assert_eq!(packet_len(&[0, 0, 0]).unwrap(), None);
    }

    #[test]
    fn attributes_decode() {
        let mut body = vec![ATTRS, 0, 0, 0, 2];
        let flags = ATTR_SIZE | ATTR_PERMISSIONS | ATTR_ACMODTIME | ATTR_EXTENDED;
        body.extend_from_slice(&flags.to_be_bytes());
        body.extend_from_slice(&5u64.to_be_bytes());
        body.extend_from_slice(&0o100644u32.to_be_bytes());
        body.extend_from_slice(&1u32.to_be_bytes());
        body.extend_from_slice(&2u32.to_be_bytes());
        body.extend_from_slice(&1u32.to_be_bytes());
        for s in [&b"k"[..], b"v"] {
            body.extend_from_slice(&(s.len() as u32).to_be_bytes());
            body.extend_from_slice(s);
        }
        let r = response(&packet(&body)).unwrap();
        assert_eq!(
            r.reply,
            Reply::Attrs(Attrs {
                size: Some(5),
                uid_gid: None,
                permissions: Some(0o100644),
                atime_mtime: Some((1, 2)),
            })
        );
    }
}
