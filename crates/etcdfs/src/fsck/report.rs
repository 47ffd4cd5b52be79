//! What the checker found.

use std::fmt;

/// One broken invariant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// A key under the prefix that is none of the schema's.
    UnknownKey { key: Vec<u8> },
    /// A schema key whose value does not decode.
    BadValue { key: Vec<u8> },
    /// No root directory.
    NoRoot,
    /// An entry whose parent is missing or not a directory.
    EntryWithoutDir { parent: u64, name: Vec<u8> },
    /// An entry naming a missing inode.
    DanglingEntry {
        parent: u64,
        name: Vec<u8>,
        ino: u64,
    },
    /// An entry whose file type differs from its inode's.
    EntryTypeMismatch {
        parent: u64,
        name: Vec<u8>,
        ino: u64,
    },
    /// An inode's nlink differs from what its entries say.
    LinkCountMismatch {
        ino: u64,
        stored: u64,
        expected: u64,
    },
    /// A directory with several names (or a named root).
    DirectoryMultiplyLinked { ino: u64, names: usize },
    /// A directory whose `parent` field is not the directory holding its entry.
    WrongParent { ino: u64, stored: u64, actual: u64 },
    /// Directories not reachable from the root (a cycle, or a detached subtree).
    Unreachable { ino: u64 },
    /// An inode with no name, nlink 0, and no orphan key: nothing will ever delete it.
    LostInode { ino: u64 },
    /// A chunk of a missing inode.
    StrayChunk { ino: u64, index: u64 },
    /// An inode whose chunk count differs from its stored chunk keys.
    ChunkCountMismatch { ino: u64, stored: u64, actual: u64 },
    /// A chunk that starts at or past its file's size, of an inode not marked as having
    /// chunks allocated past its end.
    ChunkPastEnd { ino: u64, index: u64 },
    /// An xattr of a missing inode.
    StrayXattr { ino: u64, name: Vec<u8> },
    /// An orphan key of a missing inode, or of an inode that still has links.
    BadOrphan { ino: u64 },
    /// An orphan whose session (lease) has ended: reclaimable.
    ExpiredOrphan { ino: u64, lease: i64 },
    /// A lock record or lock version key of a missing inode.
    StrayLock { ino: u64 },
    /// A lock record whose session key is gone (its lease should have taken it along).
    ExpiredLock { ino: u64, lease: i64 },
    /// The inode counter is at or below an inode in use (numbers could be handed out twice).
    CounterBehind { next: u64, max_ino: u64 },
    /// An open record of a missing inode.
    StrayOpen { ino: u64, lease: i64 },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        match self {
            Violation::UnknownKey { key } => write!(f, "unknown key {:?}", s(key)),
            Violation::BadValue { key } => write!(f, "undecodable value at {:?}", s(key)),
            Violation::NoRoot => write!(f, "no root directory"),
            Violation::EntryWithoutDir { parent, name } => {
                write!(
                    f,
                    "entry {:?} in {parent}, which is not a directory",
                    s(name)
                )
            }
            Violation::DanglingEntry { parent, name, ino } => {
                write!(
                    f,
                    "entry {:?} in {parent} names missing inode {ino}",
                    s(name)
                )
            }
            Violation::EntryTypeMismatch { parent, name, ino } => {
                write!(
                    f,
                    "entry {:?} in {parent}: type differs from inode {ino}",
                    s(name)
                )
            }
            Violation::LinkCountMismatch {
                ino,
                stored,
                expected,
            } => write!(f, "inode {ino}: nlink {stored}, entries say {expected}"),
            Violation::DirectoryMultiplyLinked { ino, names } => {
                write!(f, "directory {ino} has {names} names")
            }
            Violation::WrongParent {
                ino,
                stored,
                actual,
            } => write!(
                f,
                "directory {ino}: parent field {stored}, entry in {actual}"
            ),
            Violation::Unreachable { ino } => {
                write!(
                    f,
                    "directory {ino} is not reachable from the root (cycle or detached)"
                )
            }
            Violation::LostInode { ino } => write!(f, "inode {ino} has no name and no orphan key"),
            Violation::StrayChunk { ino, index } => {
                write!(f, "chunk {index} of missing inode {ino}")
            }
            Violation::StrayXattr { ino, name } => {
                write!(f, "xattr {:?} of missing inode {ino}", s(name))
            }
            Violation::BadOrphan { ino } => {
                write!(
                    f,
                    "orphan key of inode {ino}, which is missing or still linked"
                )
            }
            Violation::ExpiredOrphan { ino, lease } => {
                write!(f, "orphan {ino} held by ended session {lease:#x}")
            }
            Violation::ChunkCountMismatch {
                ino,
                stored,
                actual,
            } => write!(f, "inode {ino} counts {stored} chunks, {actual} are stored"),
            Violation::ChunkPastEnd { ino, index } => {
                write!(f, "chunk {index} of inode {ino} lies past its size")
            }
            Violation::StrayLock { ino } => write!(f, "lock key of missing inode {ino}"),
            Violation::ExpiredLock { ino, lease } => {
                write!(f, "lock on inode {ino} held by ended session {lease:#x}")
            }
            Violation::CounterBehind { next, max_ino } => {
                write!(f, "inode counter {next} not above inode {max_ino}")
            }
            Violation::StrayOpen { ino, lease } => {
                write!(
                    f,
                    "open record of missing inode {ino} by session {lease:#x}"
                )
            }
        }
    }
}

/// The checker's findings and what it looked at.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The store revision the whole scan was read at.
    pub revision: i64,
    pub keys: usize,
    pub inodes: usize,
    pub entries: usize,
    pub violations: Vec<Violation>,
}

impl Report {
    /// No violation found.
    pub fn is_clean(&self) -> bool {
        self.violations.is_empty()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} keys, {} inodes, {} entries at revision {}: {} violation(s)",
            self.keys,
            self.inodes,
            self.entries,
            self.revision,
            self.violations.len()
        )?;
        for v in &self.violations {
            writeln!(f, "  {v}")?;
        }
        Ok(())
    }
}
