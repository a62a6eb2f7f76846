//! What a run's stdin is fed from: bytes in memory, then (for uploads) a local file read a
//! chunk at a time, so that a file's size is bounded by disk, not memory. The file is read on
//! the client's driver thread, a chunk per step: a local disk answers from its cache in tens of
//! microseconds, but a slow one (a network file system) slows the turns of every client of
//! that driver thread. (Uploads over SFTP read the file on the caller's thread.)

use std::fs::File;
use std::io::Read;

/// Bytes of a file read per refill.
const CHUNK: usize = 256 * 1024;

#[derive(Default)]
pub(crate) struct Input {
    /// What is to be sent next; `buf[pos..]` is not sent yet.
    buf: Vec<u8>,
    pos: usize,
    /// More to come, once `buf` is sent.
    file: Option<File>,
}

impl Input {
    pub(crate) fn new(bytes: Vec<u8>, file: Option<File>) -> Self {
        Input {
            buf: bytes,
            pos: 0,
            file,
        }
    }

    /// Nothing at all to send (the command gets EOF at once).
    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty() && self.file.is_none()
    }

    /// The bytes to send next (refilled from the file when the buffer is sent); empty when
    /// everything was sent. Err: the local file could not be read.
    pub(crate) fn pending(&mut self) -> std::io::Result<&[u8]> {
        if self.pos == self.buf.len() {
            if let Some(file) = &mut self.file {
                self.buf.resize(CHUNK, 0);
                let n = file.read(&mut self.buf)?;
                self.buf.truncate(n);
                self.pos = 0;
                if n == 0 {
                    self.file = None;
                }
            }
        }
        Ok(&self.buf[self.pos..])
    }

    /// `n` bytes of `pending` were sent.
    pub(crate) fn advance(&mut self, n: usize) {
        self.pos += n;
    }

    /// Everything was sent (or is no longer wanted).
    pub(crate) fn done(&self) -> bool {
        self.pos == self.buf.len() && self.file.is_none()
    }

    /// The command no longer reads its input: the rest is dropped (and the memory with it).
    pub(crate) fn drop_rest(&mut self) {
        *self = Input::default();
    }
}
