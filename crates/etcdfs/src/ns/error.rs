//! Errors of namespace operations and their errno.

use crate::store::StoreError;

/// Why a namespace operation failed.
#[derive(Debug, thiserror::Error)]
pub enum FsError {
    #[error("no such file or directory")]
    NotFound,
    #[error("file exists")]
    Exists,
    #[error("not a directory")]
    NotDir,
    #[error("is a directory")]
    IsDir,
    #[error("directory not empty")]
    NotEmpty,
    #[error("name longer than 255 bytes")]
    NameTooLong,
    #[error("no such attribute")]
    NoData,
    #[error("attribute name too long")]
    Range,
    #[error("attribute value too large")]
    TooBig,
    #[error("invalid argument: {0}")]
    Invalid(&'static str),
    #[error("operation not permitted: {0}")]
    NotPermitted(&'static str),
    /// SEEK_DATA / SEEK_HOLE at or past the end of the file (ENXIO).
    #[error("offset at or past the end of the file")]
    PastEnd,
    /// More than one call may allocate (ENOSPC).
    #[error("no space: {0}")]
    NoSpace(&'static str),
    /// A mode or flag this filesystem does not implement (EOPNOTSUPP).
    #[error("not supported: {0}")]
    Unsupported(&'static str),
    /// Conflicting concurrent changes made every attempt fail.
    #[error("gave up after {0} conflicting attempts")]
    Contention(usize),
    /// This daemon's session (lease) has ended: it can no longer keep open inodes.
    #[error("the daemon's etcd session has ended")]
    SessionEnded,
    /// The stored tree breaks an invariant (run the checker).
    #[error("corrupt tree: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl FsError {
    /// The errno to answer the kernel with.
    pub fn errno(&self) -> i32 {
        match self {
            FsError::NotFound => libc::ENOENT,
            FsError::Exists => libc::EEXIST,
            FsError::NotDir => libc::ENOTDIR,
            FsError::IsDir => libc::EISDIR,
            FsError::NotEmpty => libc::ENOTEMPTY,
            FsError::NameTooLong => libc::ENAMETOOLONG,
            FsError::NoData => libc::ENODATA,
            FsError::Range => libc::ERANGE,
            FsError::TooBig => libc::E2BIG,
            FsError::Invalid(_) => libc::EINVAL,
            FsError::NotPermitted(_) => libc::EPERM,
            FsError::Unsupported(_) => libc::EOPNOTSUPP,
            FsError::PastEnd => libc::ENXIO,
            FsError::NoSpace(_) => libc::ENOSPC,
            FsError::Contention(_) | FsError::SessionEnded | FsError::Corrupt(_) => libc::EIO,
            FsError::Store(e) => e.errno(),
        }
    }
}
