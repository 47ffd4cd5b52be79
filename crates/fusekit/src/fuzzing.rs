//! An in-process harness for fuzzing and for replaying fuzz inputs in tests (cargo feature
//! `fuzzing`, hidden from the documentation; not a stable API).
//!
//! It owns only the glue: a connection whose replies land in memory instead of /dev/fuse.
//! Requests go through the serve loop's own decode + dispatch path (`serve::serve_frame`, what
//! every transport's frames go through), and replies through the real typed reply handles, so what a fuzzer
//! sees is exactly what the kernel would receive. Notifications, which need a device, go to
//! `/dev/null`.

use std::io::IoSlice;
use std::os::fd::OwnedFd;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use fusekit_abi as abi;
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;
use zerocopy::IntoBytes;

use crate::conn::{Connection, Negotiated, StatsSnapshot};
use crate::lowlevel::Filesystem;
use crate::op::DecodeContext;
use crate::reply::*;
use crate::serve::serve_frame;
use crate::transport::dev::DevFd;
use crate::transport::FrameSink;

/// Every reply message sent on a harness connection, in order, as the bytes a transport would
/// write (out header followed by the payload).
#[derive(Debug, Default)]
struct CaptureSink {
    replies: Mutex<Vec<Vec<u8>>>,
    arrived: Condvar,
}

impl CaptureSink {
    fn lock(&self) -> MutexGuard<'_, Vec<Vec<u8>>> {
        self.replies
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl FrameSink for CaptureSink {
    fn send(&self, header: &abi::OutHeader, payload: &[IoSlice<'_>]) -> Result<(), Errno> {
        let mut msg = Vec::with_capacity(header.len as usize);
        msg.extend_from_slice(header.as_bytes());
        for slice in payload {
            msg.extend_from_slice(slice);
        }
        self.lock().push(msg);
        self.arrived.notify_all();
        Ok(())
    }
}

/// The notification device shared by every harness: `/dev/null` accepts and drops writes.
fn null_device() -> Arc<DevFd> {
    static DEVICE: OnceLock<Arc<DevFd>> = OnceLock::new();
    Arc::clone(DEVICE.get_or_init(|| {
        let fd: OwnedFd =
            rustix::fs::open("/dev/null", OFlags::RDWR | OFlags::CLOEXEC, Mode::empty())
                .expect("the fuzzing harness needs /dev/null");
        Arc::new(DevFd::new(fd))
    }))
}

/// One simulated kernel connection with an in-memory reply sink.
#[derive(Debug)]
pub struct Harness {
    sink: Arc<CaptureSink>,
    chan: Arc<Channel>,
}

impl Harness {
    /// A connection as if INIT had negotiated `ctx.minor` (and FUSE_SETXATTR_EXT when
    /// `ctx.setxattr_ext`). Any minor is accepted, including ones a real session refuses, so
    /// the decoder's compatibility layouts can be reached.
    pub fn new(ctx: DecodeContext) -> Harness {
        let conn = Arc::new(Connection::new(null_device()));
        let flags = if ctx.setxattr_ext {
            abi::InitFlags::SETXATTR_EXT
        } else {
            abi::InitFlags::empty()
        };
        conn.set_negotiated(Negotiated {
            major: abi::KERNEL_VERSION,
            minor: ctx.minor,
            offered: flags,
            flags,
            max_write: 1 << 20,
            max_readahead: 1 << 20,
            readahead_window: 1 << 20,
            max_pages: 256,
            requests_in_flight: 0,
        });
        let sink = Arc::new(CaptureSink::default());
        let chan = Arc::new(Channel::new(sink.clone(), conn));
        Harness { sink, chan }
    }

    /// Decodes and dispatches one request exactly as a session worker does (a malformed
    /// request is answered with its decode error), then returns the replies sent so far:
    /// those of this request answered synchronously, plus any a filesystem sent meanwhile
    /// from other threads.
    pub fn serve<FS: Filesystem>(&self, fs: &FS, request: &[u8]) -> Vec<Vec<u8>> {
        serve_frame(fs, &self.chan, request);
        self.take_replies()
    }

    /// Removes and returns every reply captured so far.
    pub fn take_replies(&self) -> Vec<Vec<u8>> {
        std::mem::take(&mut *self.sink.lock())
    }

    /// Waits until at least `count` replies are captured (or `timeout` passes), then removes
    /// and returns all of them. For replies completed later on other threads.
    pub fn wait_replies(&self, count: usize, timeout: Duration) -> Vec<Vec<u8>> {
        let deadline = Instant::now() + timeout;
        let mut replies = self.sink.lock();
        while replies.len() < count {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            replies = self
                .sink
                .arrived
                .wait_timeout(replies, deadline - now)
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
        }
        std::mem::take(&mut *replies)
    }

    /// The connection's counters (replies sent, decode errors, replies dropped unanswered...).
    pub fn stats(&self) -> StatsSnapshot {
        self.chan.conn().stats.snapshot()
    }

    fn inner(&self, unique: u64, opcode: u32) -> ReplyInner {
        ReplyInner::new(unique, opcode, Arc::clone(&self.chan))
    }

    /// A READDIR reply handle for request `unique`, limited to `size` bytes as the kernel asked.
    pub fn reply_directory(&self, unique: u64, size: usize) -> ReplyDirectory {
        ReplyDirectory::new(self.inner(unique, abi::Opcode::Readdir as u32), size)
    }

    /// A READDIRPLUS reply handle for request `unique`, limited to `size` bytes.
    pub fn reply_directory_plus(&self, unique: u64, size: usize) -> ReplyDirectoryPlus {
        ReplyDirectoryPlus::new(self.inner(unique, abi::Opcode::Readdirplus as u32), size)
    }
}

macro_rules! reply_constructors {
    ($($(#[$doc:meta])* $method:ident -> $ty:ident;)*) => {
        impl Harness {
            $(
                $(#[$doc])*
                pub fn $method(&self, unique: u64, opcode: u32) -> $ty {
                    $ty::new(self.inner(unique, opcode))
                }
            )*
        }
    };
}

reply_constructors! {
    /// A reply handle answering request `unique` with opcode `opcode`.
    reply_empty -> ReplyEmpty;
    /// A reply handle answering request `unique` with opcode `opcode`.
    reply_entry -> ReplyEntry;
    /// A reply handle answering request `unique` with opcode `opcode`.
    reply_attr -> ReplyAttr;
    /// A reply handle answering request `unique` with opcode `opcode`.
    reply_data -> ReplyData;
    /// A reply handle answering request `unique` with opcode `opcode`.
    reply_open -> ReplyOpen;
    /// A reply handle answering request `unique` with opcode `opcode`.
    reply_write -> ReplyWrite;
    /// A reply handle answering request `unique` with opcode `opcode`.
    reply_statfs -> ReplyStatfs;
    /// A reply handle answering request `unique` with opcode `opcode`.
    reply_create -> ReplyCreate;
    /// A reply handle answering request `unique` with opcode `opcode`.
    reply_lock -> ReplyLock;
    /// A reply handle answering request `unique` with opcode `opcode`.
    reply_bmap -> ReplyBmap;
    /// A reply handle answering request `unique` with opcode `opcode`.
    reply_xattr -> ReplyXattr;
    /// A reply handle answering request `unique` with opcode `opcode`.
    reply_lseek -> ReplyLseek;
    /// A reply handle answering request `unique` with opcode `opcode`.
    reply_poll -> ReplyPoll;
    /// A reply handle answering request `unique` with opcode `opcode`.
    reply_ioctl -> ReplyIoctl;
    /// A reply handle answering request `unique` with opcode `opcode`.
    reply_statx -> ReplyStatx;
    /// A reply handle answering request `unique` with opcode `opcode` (COPY_FILE_RANGE or
    /// COPY_FILE_RANGE_64: the wire format follows it).
    reply_copy -> ReplyCopy;
}

/// Serves one request to `fs` on a fresh connection negotiated at `minor` and returns the
/// replies it produced synchronously (none for FORGET-like requests).
pub fn dispatch<FS: Filesystem>(fs: &FS, request: &[u8], minor: u32) -> Vec<Vec<u8>> {
    let ctx = DecodeContext {
        minor,
        ..DecodeContext::default()
    };
    Harness::new(ctx).serve(fs, request)
}
