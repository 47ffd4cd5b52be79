//! One reply type per kind of answer. Every type has `error(errno)`; the success method names
//! what is being answered. All are `Send` and may be completed from any thread.

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
    /// Extended attributes (STATX).
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
}

impl ReplyWrite {
    /// `size` bytes were written.
    pub fn written(self, size: u32) {
        self.inner.ok_struct(&abi::WriteOut { size, padding: 0 })
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
}

impl ReplyLock {
    /// The conflicting lock, or a lock with `typ == F_UNLCK` when there is none.
    pub fn locked(self, lock: &Lock) {
        self.inner.ok_struct(&abi::LkOut { lk: lock.to_abi() })
    }
}

impl ReplyBmap {
    /// The device block.
    pub fn bmap(self, block: u64) {
        self.inner.ok_struct(&abi::BmapOut { block })
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
}

impl ReplyLseek {
    /// The resulting offset.
    pub fn offset(self, offset: u64) {
        self.inner.ok_struct(&abi::LseekOut { offset })
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
}
