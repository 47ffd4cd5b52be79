//! Why a passthrough filesystem could not be set up. Errors of individual requests are errnos
//! answered to the kernel, never this type.

use std::path::PathBuf;

use rustix::io::Errno;

/// Setting up a [`Passthrough`](crate::Passthrough) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The source directory could not be opened.
    #[error("cannot open source directory {path}: {source}")]
    OpenSource {
        /// The source path.
        path: PathBuf,
        /// The error.
        source: Errno,
    },
    /// The source path is not a directory.
    #[error("source {0} is not a directory")]
    NotADirectory(PathBuf),
    /// The source directory could not be examined.
    #[error("cannot stat source directory {path}: {source}")]
    StatSource {
        /// The source path.
        path: PathBuf,
        /// The error.
        source: Errno,
    },
}
