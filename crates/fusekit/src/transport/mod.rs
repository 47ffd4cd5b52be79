//! How frames move between the kernel and the serve loop. A transport reads whole requests
//! into buffers it owns, hands each one to a [`FrameHandler`] (the serve loop, `crate::serve`)
//! together with the [`FrameSink`] its reply must go to, and writes whole replies back. It
//! never interprets opcodes and knows no filesystem, no session and no connection state.
//!
//! The interface, all of it:
//! - [`FrameSink`]: deliver one complete reply (or notification) message.
//! - [`ControlPath`]: the connection's control path — notifications, and the device
//!   descriptor that ioctls on the connection need (kernel passthrough), when there is one.
//! - [`FrameHandler`]: what a transport calls for every request frame.
//! - [`TransportExit`]: why a transport's loop stopped.
//!
//! A new transport is one folder here implementing a loop that calls
//! [`FrameHandler::handle`] and a [`FrameSink`] for its replies, plus one registration in
//! `session::start` (which chooses, starts and falls back between transports).

pub(crate) mod dev;
pub(crate) mod uring;

use std::io::IoSlice;
use std::os::fd::BorrowedFd;

use fusekit_abi as abi;
use rustix::io::Errno;

/// Where replies go: something that can deliver one complete message to the kernel.
pub(crate) trait FrameSink: Send + Sync + std::fmt::Debug {
    /// Delivers `header` followed by `payload`. `header.len` is the total length. Errors are
    /// the kernel's, unclassified: ENOENT (the request is gone), ENODEV (the connection is
    /// gone), anything else (a real failure); the reply layer classifies them.
    fn send(&self, header: &abi::OutHeader, payload: &[IoSlice<'_>]) -> Result<(), Errno>;
}

/// The connection's control path: notifications are sent on it, and ioctls that act on the
/// whole connection (registering backing files for kernel passthrough) use its descriptor.
pub(crate) trait ControlPath: FrameSink {
    /// The FUSE device descriptor, for transports that have one (/dev/fuse, io_uring).
    fn device(&self) -> Option<BorrowedFd<'_>>;
}

/// The layer above the transports: every request frame is handed to it.
pub(crate) trait FrameHandler: Send + Sync + 'static {
    /// What a reply needs to find its way back through one sink (a worker's descriptor, a ring
    /// entry). Made once per sink, when the transport sets up, so that serving a request
    /// allocates nothing.
    type ReplyPath: Send + Sync + 'static;

    /// Makes the reply path for `sink`.
    fn reply_path(&self, sink: std::sync::Arc<dyn FrameSink>) -> Self::ReplyPath;

    /// Serves one request frame (decode, dispatch, reply). The reply may leave later from
    /// any thread through `path`. Must not panic and must not block on other requests.
    fn handle(&self, frame: &[u8], path: &Self::ReplyPath);
}

/// Why a transport's loop (a /dev/fuse worker, an io_uring queue thread) stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TransportExit {
    /// The filesystem was unmounted (ENODEV) or the connection aborted.
    Unmounted,
    /// The device failed in an unexpected way.
    DeviceError(Errno),
}
