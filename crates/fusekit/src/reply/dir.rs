//! Directory listings: entries packed into the kernel's `fuse_dirent` / `fuse_direntplus`
//! format, up to the size the kernel asked for.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use fusekit_abi as abi;
use rustix::io::Errno;
use zerocopy::IntoBytes;

use super::ReplyInner;
use crate::attr::Entry;

fn pad_to_8(buf: &mut Vec<u8>) {
    let padded = buf.len().next_multiple_of(8);
    buf.resize(padded, 0);
}

/// A READDIR answer being filled. Call [`add`](Self::add) until it returns `true` (full),
/// then [`ok`](Self::ok) (or [`result`](Self::result) with the fill loop's outcome).
#[derive(Debug)]
#[must_use = "an unanswered reply is answered EIO when dropped"]
pub struct ReplyDirectory {
    inner: ReplyInner,
    buf: Vec<u8>,
    max: usize,
}

impl ReplyDirectory {
    pub(crate) fn new(inner: ReplyInner, max: usize) -> Self {
        ReplyDirectory {
            inner,
            buf: Vec::with_capacity(max.min(1 << 20)),
            max,
        }
    }

    /// Adds an entry. `offset` is the cookie of the NEXT entry: the kernel passes it back to
    /// continue after this one, so it must stay valid while entries come and go.
    /// `typ` is the `d_type` (see `FileType::dirent_type`). Returns `true` when the entry did
    /// not fit: it was not added, and the listing should be sent now.
    pub fn add(&mut self, ino: u64, offset: u64, typ: u32, name: &OsStr) -> bool {
        let name = name.as_bytes();
        let size = abi::dirent_size(name.len());
        if self.buf.len() + size > self.max {
            return true;
        }
        let dirent = abi::Dirent {
            ino,
            off: offset,
            namelen: name.len() as u32,
            r#type: typ,
        };
        self.buf.extend_from_slice(dirent.as_bytes());
        self.buf.extend_from_slice(name);
        pad_to_8(&mut self.buf);
        false
    }

    /// Sends the entries added so far (none means end of directory).
    pub fn ok(self) {
        let ReplyDirectory { inner, buf, .. } = self;
        inner.send(0, &[std::io::IoSlice::new(&buf)]);
    }

    /// Answers with an error.
    pub fn error(self, errno: Errno) {
        self.inner.error(errno)
    }

    /// [`ok`](Self::ok) on `Ok` (the entries added so far), [`error`](Self::error) on `Err`
    /// (the entries added are discarded): for a fill loop that returns a `Result`.
    pub fn result(self, result: Result<(), Errno>) {
        match result {
            Ok(()) => self.ok(),
            Err(e) => self.error(e),
        }
    }
}

/// A READDIRPLUS answer being filled: like [`ReplyDirectory`] but each entry carries a full
/// [`Entry`]. Every entry with a non-zero node id counts as a LOOKUP: the kernel will FORGET it.
#[derive(Debug)]
#[must_use = "an unanswered reply is answered EIO when dropped"]
pub struct ReplyDirectoryPlus {
    inner: ReplyInner,
    buf: Vec<u8>,
    max: usize,
}

impl ReplyDirectoryPlus {
    pub(crate) fn new(inner: ReplyInner, max: usize) -> Self {
        ReplyDirectoryPlus {
            inner,
            buf: Vec::with_capacity(max.min(1 << 20)),
            max,
        }
    }

    /// Adds an entry; see [`ReplyDirectory::add`]. Returns `true` when full (not added: do not
    /// count a lookup for it).
    pub fn add(&mut self, entry: &Entry, offset: u64, name: &OsStr) -> bool {
        let name = name.as_bytes();
        let size = abi::direntplus_size(name.len());
        if self.buf.len() + size > self.max {
            return true;
        }
        let typ = entry.attr.mode >> 12 & 0o17;
        let plus = abi::Direntplus {
            entry_out: entry.to_abi(),
            dirent: abi::Dirent {
                ino: entry.attr.ino,
                off: offset,
                namelen: name.len() as u32,
                r#type: typ,
            },
        };
        self.buf.extend_from_slice(plus.as_bytes());
        self.buf.extend_from_slice(name);
        pad_to_8(&mut self.buf);
        false
    }

    /// Sends the entries added so far (none means end of directory).
    pub fn ok(self) {
        let ReplyDirectoryPlus { inner, buf, .. } = self;
        inner.send(0, &[std::io::IoSlice::new(&buf)]);
    }

    /// Answers with an error.
    pub fn error(self, errno: Errno) {
        self.inner.error(errno)
    }

    /// [`ok`](Self::ok) on `Ok` (the entries added so far), [`error`](Self::error) on `Err`
    /// (the entries added are discarded): for a fill loop that returns a `Result`.
    pub fn result(self, result: Result<(), Errno>) {
        match result {
            Ok(()) => self.ok(),
            Err(e) => self.error(e),
        }
    }
}
