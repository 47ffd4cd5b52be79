//! Why a request buffer could not be decoded. Decoding never panics: every malformed input
//! ends here, and the session answers it with the errno this error maps to.

use rustix::io::Errno;

/// A request that could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Fewer bytes than a `fuse_in_header`.
    #[error("request of {got} bytes is shorter than the 40-byte header")]
    ShortHeader {
        /// Bytes received.
        got: usize,
    },
    /// The header's `len` disagrees with the number of bytes received.
    #[error("header says {claimed} bytes but {got} were received")]
    LengthMismatch {
        /// `len` from the header.
        claimed: u32,
        /// Bytes received.
        got: usize,
    },
    /// The extension area (`total_extlen`) does not fit in the request.
    #[error("extension area of {ext} bytes does not fit in a {len}-byte request")]
    BadExtension {
        /// Extension bytes claimed.
        ext: usize,
        /// Request length.
        len: usize,
    },
    /// An argument struct or name is cut short.
    #[error("{opcode}: argument `{what}` truncated")]
    Truncated {
        /// Opcode name.
        opcode: &'static str,
        /// Which argument.
        what: &'static str,
    },
    /// A name argument lacks its terminating NUL byte, or is empty where a name is required.
    #[error("{opcode}: malformed name `{what}`")]
    BadName {
        /// Opcode name.
        opcode: &'static str,
        /// Which argument.
        what: &'static str,
    },
    /// A count or size inside the arguments contradicts the request length.
    #[error("{opcode}: {what}")]
    Inconsistent {
        /// Opcode name.
        opcode: &'static str,
        /// What is wrong.
        what: &'static str,
    },
}

impl DecodeError {
    /// The errno the kernel receives for this request.
    pub fn errno(&self) -> Errno {
        match self {
            DecodeError::ShortHeader { .. } | DecodeError::LengthMismatch { .. } => Errno::IO,
            _ => Errno::INVAL,
        }
    }
}
