//! The one-shot core shared by every typed reply: request id, channel, and the EIO-on-drop
//! guarantee.

use std::io::IoSlice;
use std::sync::Arc;

use rustix::io::Errno;
use zerocopy::{Immutable, IntoBytes};

use super::Channel;
use crate::conn::Stats;

/// An unanswered request. Answering consumes it; dropping it answers EIO.
#[derive(Debug)]
pub(crate) struct ReplyInner {
    unique: u64,
    opcode: u32,
    chan: Option<Arc<Channel>>,
}

impl ReplyInner {
    pub(crate) fn new(unique: u64, opcode: u32, chan: Arc<Channel>) -> Self {
        ReplyInner {
            unique,
            opcode,
            chan: Some(chan),
        }
    }

    pub(crate) fn unique(&self) -> u64 {
        self.unique
    }

    pub(crate) fn opcode(&self) -> u32 {
        self.opcode
    }

    /// The negotiated protocol minor version of the connection this request came from.
    pub(crate) fn minor(&self) -> u32 {
        self.chan
            .as_ref()
            .map_or(fusekit_abi::KERNEL_MINOR_VERSION, |c| c.conn().minor())
    }

    pub(crate) fn send(mut self, error: i32, payload: &[IoSlice<'_>]) {
        if let Some(chan) = self.chan.take() {
            chan.send(self.unique, error, payload);
        }
    }

    pub(crate) fn ok(self) {
        self.send(0, &[]);
    }

    pub(crate) fn ok_struct<T: IntoBytes + Immutable>(self, value: &T) {
        self.send(0, &[IoSlice::new(value.as_bytes())]);
    }

    /// Sends only the first `len` bytes of `value` (older protocol minors use shorter structs).
    pub(crate) fn ok_struct_prefix<T: IntoBytes + Immutable>(self, value: &T, len: usize) {
        let bytes = value.as_bytes();
        self.send(0, &[IoSlice::new(&bytes[..len.min(bytes.len())])]);
    }

    pub(crate) fn error(self, errno: Errno) {
        let code = errno.raw_os_error();
        // A zero errno would be read as success with no payload; never send it as an error.
        let code = if code == 0 {
            Errno::IO.raw_os_error()
        } else {
            code
        };
        self.send(-code, &[]);
    }
}

impl Drop for ReplyInner {
    fn drop(&mut self) {
        if let Some(chan) = self.chan.take() {
            Stats::bump(&chan.conn().stats.dropped_replies);
            tracing::warn!(
                unique = self.unique,
                opcode = self.opcode,
                "reply dropped without an answer; answering EIO"
            );
            chan.send(self.unique, -Errno::IO.raw_os_error(), &[]);
        }
    }
}
