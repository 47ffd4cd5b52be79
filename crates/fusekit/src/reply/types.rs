//! One reply type per kind of answer. Every type has `error(errno)`; the success method names
//! what is being answered; `result` (or `result_with` where a type has two success forms)
//! takes an operation's `Result` and answers the value or the error, so a filesystem writes
//! `reply.result(self.op(..))` instead of matching. Policy that is not part of the outcome
//! (a cache TTL, open flags) stays a separate argument. All are `Send` and may be completed
//! from any thread.

use std::io::IoSlice;
use std::time::Duration;

use fusekit_abi as abi;
use rustix::io::Errno;
use zerocopy::IntoBytes;

use super::ReplyInner;
use crate::attr::{Entry, FileAttr, Lock, Statfs};

macro_rules! reply_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug)]
        #[must_use = "an unanswered reply is answered EIO when dropped"]
        pub struct $name {
            pub(crate) inner: ReplyInner,
        }

        impl $name {
            pub(crate) fn new(inner: ReplyInner) -> Self {
                $name { inner }
            }

            /// Answers with an error.
            pub fn error(self, errno: Errno) {
                self.inner.error(errno)
            }

            /// The id of the request this reply answers.
            pub fn unique(&self) -> u64 {
                self.inner.unique()
            }
        }
    };
}

reply_type!(
    /// Success or an error, nothing else (UNLINK, RMDIR, RENAME, FLUSH, RELEASE, FSYNC, ...).
    ReplyEmpty
);
reply_type!(
    /// A directory entry (LOOKUP, MKNOD, MKDIR, SYMLINK, LINK).
    ReplyEntry
);
reply_type!(
    /// Attributes (GETATTR, SETATTR).
    ReplyAttr
);
reply_type!(
    /// Bytes (READ, READLINK).
    ReplyData
);
reply_type!(
    /// A new file handle (OPEN, OPENDIR).
    ReplyOpen
);
reply_type!(
    /// The number of bytes written (WRITE).
    ReplyWrite
);
reply_type!(
    /// Filesystem statistics (STATFS).
    ReplyStatfs
);
reply_type!(
    /// An entry plus an open handle (CREATE, TMPFILE).
    ReplyCreate
);
reply_type!(
    /// A conflicting lock, or F_UNLCK (GETLK).
    ReplyLock
);
reply_type!(
    /// A device block index (BMAP).
    ReplyBmap
);
reply_type!(
    /// An extended attribute's size or value, or the list of names (GETXATTR, LISTXATTR).
    ReplyXattr
);
reply_type!(
    /// A file offset (LSEEK).
    ReplyLseek
);
reply_type!(
    /// Ready events (POLL).
    ReplyPoll
);
reply_type!(
    /// An ioctl's result and output data (IOCTL).
    ReplyIoctl
);
reply_type!(
    /// Attributes for statx(2), birth time included (STATX).
    ReplyStatx
);
reply_type!(
    /// Bytes copied (COPY_FILE_RANGE and COPY_FILE_RANGE_64; the wire format follows the opcode).
    ReplyCopy
);

impl ReplyEmpty {
    /// Success.
    pub fn ok(self) {
        self.inner.ok()
    }

    /// Success or the error, as an operation returned it.
    pub fn result(self, result: Result<(), Errno>) {
        match result {
            Ok(()) => self.ok(),
            Err(e) => self.error(e),
        }
    }
}

impl ReplyEntry {
    /// The entry (or a negative entry with `ino == 0`).
    pub fn entry(self, entry: &Entry) {
        let out = entry.to_abi();
        if self.inner.minor() < 9 {
            self.inner
                .ok_struct_prefix(&out, abi::COMPAT_ENTRY_OUT_SIZE);
        } else {
            self.inner.ok_struct(&out);
        }
    }

    /// [`entry`](Self::entry) on `Ok`, [`error`](Self::error) on `Err`.
    pub fn result(self, result: Result<Entry, Errno>) {
        match result {
            Ok(entry) => self.entry(&entry),
            Err(e) => self.error(e),
        }
    }
}

impl ReplyAttr {
    /// Attributes, cacheable for `ttl`.
    pub fn attr(self, attr: &FileAttr, ttl: Duration) {
        let out = abi::AttrOut {
            attr_valid: ttl.as_secs(),
            attr_valid_nsec: ttl.subsec_nanos(),
            dummy: 0,
            attr: attr.to_abi(),
        };
        if self.inner.minor() < 9 {
            self.inner.ok_struct_prefix(&out, abi::COMPAT_ATTR_OUT_SIZE);
        } else {
            self.inner.ok_struct(&out);
        }
    }

    /// [`attr`](Self::attr) on `Ok` (cacheable for `ttl`), [`error`](Self::error) on `Err`.
    pub fn result(self, result: Result<FileAttr, Errno>, ttl: Duration) {
        match result {
            Ok(attr) => self.attr(&attr, ttl),
            Err(e) => self.error(e),
        }
    }
}

impl ReplyData {
    /// The bytes. A READ may answer fewer bytes than asked (end of file).
    pub fn data(self, data: &[u8]) {
        self.inner.send(0, &[IoSlice::new(data)]);
    }

    /// The bytes, gathered from several slices without copying.
    pub fn data_vectored(self, data: &[IoSlice<'_>]) {
        self.inner.send(0, data);
    }

    /// [`data`](Self::data) on `Ok`, [`error`](Self::error) on `Err`. Takes any byte container
    /// (`Vec<u8>`, `&[u8]`, ...); a bare `Err` needs its type named (`Err::<&[u8], _>(e)`), or
    /// use [`error`](Self::error).
    pub fn result<D: AsRef<[u8]>>(self, result: Result<D, Errno>) {
        match result {
            Ok(data) => self.data(data.as_ref()),
            Err(e) => self.error(e),
        }
    }
}

/// Flags and kernel-passthrough id of an open reply.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpenOptions {
    /// FOPEN_* flags (direct I/O, keep cache, ...).
    pub flags: abi::OpenOutFlags,
    /// Kernel passthrough backing id (from FUSE_DEV_IOC_BACKING_OPEN); sets FOPEN_PASSTHROUGH.
    pub backing_id: Option<i32>,
}

impl OpenOptions {
    fn to_abi(self, fh: u64) -> abi::OpenOut {
        let mut flags = self.flags;
        if self.backing_id.is_some() {
            flags |= abi::OpenOutFlags::PASSTHROUGH;
        }
        abi::OpenOut {
            fh,
            open_flags: flags.bits(),
            backing_id: self.backing_id.unwrap_or(0),
        }
    }
}

impl ReplyOpen {
    /// The handle `fh`, passed back on every later request for this open file.
    pub fn opened(self, fh: u64, flags: abi::OpenOutFlags) {
        self.opened_with(
            fh,
            OpenOptions {
                flags,
                backing_id: None,
            },
        )
    }

    /// The handle with full options (e.g. a kernel-passthrough backing id).
    pub fn opened_with(self, fh: u64, options: OpenOptions) {
        self.inner.ok_struct(&options.to_abi(fh))
    }

    /// [`opened`](Self::opened) with the handle on `Ok` and the fixed `flags`,
    /// [`error`](Self::error) on `Err`.
    pub fn result(self, result: Result<u64, Errno>, flags: abi::OpenOutFlags) {
        match result {
            Ok(fh) => self.opened(fh, flags),
            Err(e) => self.error(e),
        }
    }

    /// [`opened_with`](Self::opened_with) on `Ok((fh, options))`, for operations that decide
    /// the options themselves (e.g. a backing id); [`error`](Self::error) on `Err`.
    pub fn result_with(self, result: Result<(u64, OpenOptions), Errno>) {
        match result {
            Ok((fh, options)) => self.opened_with(fh, options),
            Err(e) => self.error(e),
        }
    }
}

impl ReplyWrite {
    /// `size` bytes were written.
    pub fn written(self, size: u32) {
        self.inner.ok_struct(&abi::WriteOut { size, padding: 0 })
    }

    /// [`written`](Self::written) on `Ok`, [`error`](Self::error) on `Err`.
    pub fn result(self, result: Result<u32, Errno>) {
        match result {
            Ok(size) => self.written(size),
            Err(e) => self.error(e),
        }
    }
}

impl ReplyStatfs {
    /// The statistics.
    pub fn statfs(self, st: &Statfs) {
        let out = abi::StatfsOut { st: st.to_abi() };
        if self.inner.minor() < 4 {
            self.inner.ok_struct_prefix(&out, abi::COMPAT_STATFS_SIZE);
        } else {
            self.inner.ok_struct(&out);
        }
    }

    /// [`statfs`](Self::statfs) on `Ok`, [`error`](Self::error) on `Err`.
    pub fn result(self, result: Result<Statfs, Errno>) {
        match result {
            Ok(st) => self.statfs(&st),
            Err(e) => self.error(e),
        }
    }
}

impl ReplyCreate {
    /// The new entry and its open handle.
    pub fn created(self, entry: &Entry, fh: u64, flags: abi::OpenOutFlags) {
        self.created_with(
            entry,
            fh,
            OpenOptions {
                flags,
                backing_id: None,
            },
        )
    }

    /// The new entry and its open handle, with full open options.
    pub fn created_with(self, entry: &Entry, fh: u64, options: OpenOptions) {
        let entry_out = entry.to_abi();
        let open_out = options.to_abi(fh);
        self.inner.send(
            0,
            &[
                IoSlice::new(entry_out.as_bytes()),
                IoSlice::new(open_out.as_bytes()),
            ],
        );
    }

    /// [`created`](Self::created) with the entry and handle on `Ok((entry, fh))` and the
    /// fixed `flags`; [`error`](Self::error) on `Err`.
    pub fn result(self, result: Result<(Entry, u64), Errno>, flags: abi::OpenOutFlags) {
        match result {
            Ok((entry, fh)) => self.created(&entry, fh, flags),
            Err(e) => self.error(e),
        }
    }

    /// [`created_with`](Self::created_with) on `Ok((entry, fh, options))`, for operations
    /// that decide the open options themselves; [`error`](Self::error) on `Err`.
    pub fn result_with(self, result: Result<(Entry, u64, OpenOptions), Errno>) {
        match result {
            Ok((entry, fh, options)) => self.created_with(&entry, fh, options),
            Err(e) => self.error(e),
        }
    }
}

impl ReplyLock {
    /// The conflicting lock, or a lock with `typ == F_UNLCK` when there is none.
    pub fn locked(self, lock: &Lock) {
        self.inner.ok_struct(&abi::LkOut { lk: lock.to_abi() })
    }

    /// [`locked`](Self::locked) on `Ok`, [`error`](Self::error) on `Err`.
    pub fn result(self, result: Result<Lock, Errno>) {
        match result {
            Ok(lock) => self.locked(&lock),
            Err(e) => self.error(e),
        }
    }
}

impl ReplyBmap {
    /// The device block.
    pub fn bmap(self, block: u64) {
        self.inner.ok_struct(&abi::BmapOut { block })
    }

    /// [`bmap`](Self::bmap) on `Ok`, [`error`](Self::error) on `Err`.
    pub fn result(self, result: Result<u64, Errno>) {
        match result {
            Ok(block) => self.bmap(block),
            Err(e) => self.error(e),
        }
    }
}

/// The answer to GETXATTR or LISTXATTR: the size a buffer needs (the request's size was 0),
/// or the value / the NUL-separated list of names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Xattr {
    /// The number of bytes the value (or list) has.
    Size(u32),
    /// The value, or the list of names.
    Data(Vec<u8>),
}

impl Xattr {
    /// The answer to a request that gave `size` for a value of `value.len()` bytes, by the
    /// kernel's rules: size 0 asks for the length; a value longer than `size` is `ERANGE`; a
    /// length that does not fit the reply's 32 bits is `E2BIG`.
    pub fn fit(value: Vec<u8>, size: u32) -> Result<Xattr, Errno> {
        if size == 0 {
            u32::try_from(value.len())
                .map(Xattr::Size)
                .map_err(|_| Errno::TOOBIG)
        } else if value.len() > size as usize {
            Err(Errno::RANGE)
        } else {
            Ok(Xattr::Data(value))
        }
    }
}

impl ReplyXattr {
    /// The size a buffer needs (when the request's size was 0).
    pub fn size(self, size: u32) {
        self.inner.ok_struct(&abi::GetxattrOut { size, padding: 0 })
    }

    /// The value, or the NUL-separated list of names.
    pub fn data(self, data: &[u8]) {
        self.inner.send(0, &[IoSlice::new(data)]);
    }

    /// [`size`](Self::size) or [`data`](Self::data), as the [`Xattr`] says, on `Ok`;
    /// [`error`](Self::error) on `Err`.
    pub fn result(self, result: Result<Xattr, Errno>) {
        match result {
            Ok(Xattr::Size(size)) => self.size(size),
            Ok(Xattr::Data(data)) => self.data(&data),
            Err(e) => self.error(e),
        }
    }
}

impl ReplyLseek {
    /// The resulting offset.
    pub fn offset(self, offset: u64) {
        self.inner.ok_struct(&abi::LseekOut { offset })
    }

    /// [`offset`](Self::offset) on `Ok`, [`error`](Self::error) on `Err`.
    pub fn result(self, result: Result<u64, Errno>) {
        match result {
            Ok(offset) => self.offset(offset),
            Err(e) => self.error(e),
        }
    }
}

impl ReplyPoll {
    /// Ready events (POLLIN etc.).
    pub fn revents(self, revents: u32) {
        self.inner.ok_struct(&abi::PollOut {
            revents,
            padding: 0,
        })
    }

    /// [`revents`](Self::revents) on `Ok`, [`error`](Self::error) on `Err`.
    pub fn result(self, result: Result<u32, Errno>) {
        match result {
            Ok(revents) => self.revents(revents),
            Err(e) => self.error(e),
        }
    }
}

impl ReplyIoctl {
    /// The ioctl's return value and its output bytes.
    pub fn ioctl(self, result: i32, data: &[u8]) {
        let out = abi::IoctlOut {
            result,
            flags: 0,
            in_iovs: 0,
            out_iovs: 0,
        };
        self.inner
            .send(0, &[IoSlice::new(out.as_bytes()), IoSlice::new(data)]);
    }

    /// [`ioctl`](Self::ioctl) on `Ok((result, data))`, [`error`](Self::error) on `Err`.
    pub fn result<D: AsRef<[u8]>>(self, result: Result<(i32, D), Errno>) {
        match result {
            Ok((value, data)) => self.ioctl(value, data.as_ref()),
            Err(e) => self.error(e),
        }
    }
}

impl ReplyStatx {
    /// The statx result, attributes cacheable for `ttl`.
    pub fn statx(self, stat: &abi::Statx, ttl: Duration) {
        let out = abi::StatxOut {
            attr_valid: ttl.as_secs(),
            attr_valid_nsec: ttl.subsec_nanos(),
            flags: 0,
            spare: [0; 2],
            stat: *stat,
        };
        self.inner.ok_struct(&out)
    }

    /// [`statx`](Self::statx) on `Ok` (cacheable for `ttl`), [`error`](Self::error) on `Err`.
    pub fn result(self, result: Result<abi::Statx, Errno>, ttl: Duration) {
        match result {
            Ok(stat) => self.statx(&stat, ttl),
            Err(e) => self.error(e),
        }
    }
}

impl ReplyCopy {
    /// `count` bytes were copied. For the 32-bit opcode the count is capped at `u32::MAX`
    /// (the kernel never asks for more than that through it).
    pub fn copied(self, count: u64) {
        if self.inner.opcode() == abi::Opcode::CopyFileRange64 as u32 {
            self.inner.ok_struct(&abi::CopyFileRangeOut {
                bytes_copied: count,
            })
        } else {
            let size = u32::try_from(count).unwrap_or(u32::MAX);
            self.inner.ok_struct(&abi::WriteOut { size, padding: 0 })
        }
    }

    /// [`copied`](Self::copied) on `Ok`, [`error`](Self::error) on `Err`.
    pub fn result(self, result: Result<u64, Errno>) {
        match result {
            Ok(count) => self.copied(count),
            Err(e) => self.error(e),
        }
    }
}

#[cfg(test)]
mod tests;
