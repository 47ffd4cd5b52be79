//! How bytes move between the kernel and the session. A transport never interprets opcodes:
//! it reads whole requests into buffers it owns and writes whole replies.

pub(crate) mod backing;
pub(crate) mod dev;
pub(crate) mod uring;
