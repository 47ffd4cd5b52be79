//! The key layout of an etcdfs tree under its prefix `P`, and the binary encoding of values.
//!
//! `<ino>` is the inode number as an unsigned LEB128 varint (1 byte up to 127, 2 up to 16383;
//! varints are prefix-free, so `P x <ino>` never prefixes another inode's keys). Keys are kept
//! short because every revision of every key is stored in etcd's database.
//!
//! | key                    | value                                                        |
//! |------------------------|--------------------------------------------------------------|
//! | `P n`                  | next inode number not yet reserved (varint)                  |
//! | `P i <ino>`            | inode record ([`Inode`]); a symlink's target is inlined      |
//! | `P d <parent> <name>`  | directory entry ([`Entry`]): child ino + file type           |
//! | `P x <ino> <name>`     | extended attribute value                                     |
//! | `P c <ino> <index>`    | file data chunk `index` (u64 big endian: file order), [`CHUNK_SIZE`] bytes max, shorter ones (even empty: allocated by fallocate) read as zeros past their end; bytes past the file size are never kept |
//! | `P o <ino>`            | orphan: inode with no name kept for an open handle; value is the holder's lease (8 bytes, big endian) |
//! | `P s <lease>`          | session of a live daemon (lease id, 8 bytes big endian), attached to that lease |
//! | `P l <ino>`            | lock version of an inode (empty value): every lock change on the inode rewrites it |
//! | `P l <ino> <kind> <lease> <owner>` | one lock owner's locks on the inode (`p` POSIX/OFD, `f` flock; lease and owner 8 bytes big endian), attached to the daemon's lease; value: its ranges (see [`crate::ns::LockRange`]) |
//!
//! The root directory is inode [`ROOT_INO`]. Invariants (checked by [`crate::fsck`]):
//! an entry names a live inode; a non-directory's nlink is its number of entries; a directory
//! has exactly one entry (none for the root), its `parent` field names that entry's directory,
//! and its nlink is 2 + its subdirectories; an inode with nlink 0 has an orphan key whose
//! session is alive; chunks, xattrs, orphans and locks belong to live inodes, and a lock's
//! session is alive; an inode's chunk count
//! (when recorded) is its number of chunk keys; no chunk starts at or past its file's size
//! unless the inode is marked `chunks_past_eof` (fallocate KEEP_SIZE); directories form a tree
//! rooted at the root; every inode number is below `P n`.
//!
//! An empty file costs two keys (`P i`, `P d`) plus the parent's inode rewrite (mtime), which
//! is what keeps etcd's database growth per created file near 250 bytes.

mod entry;
mod inode;
mod keys;
pub mod varint;

pub use entry::Entry;
pub use inode::{FileType, Inode, Timestamp};
pub use keys::{Keys, ParsedKey};

/// Inode number of the root directory.
pub const ROOT_INO: u64 = 1;

/// Bytes per data chunk: far below etcd's 1.5 MiB request limit, so a write of up to 1 MiB
/// (16 chunks) still fits one transaction.
pub const CHUNK_SIZE: usize = 64 * 1024;

/// Longest file name, in bytes.
pub const NAME_MAX: usize = 255;

/// Longest symlink target, in bytes.
pub const SYMLINK_MAX: usize = 4095;
