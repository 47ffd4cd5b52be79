//! Directory listings for async handlers. A handler fills a [`DirBuffer`] (or
//! [`DirPlusBuffer`]) that writes straight into the request's reply. The reply is lent to the
//! buffer through a shared slot: if the handler fails, or its future is dropped (interrupt,
//! deadline), the buffer puts the reply back and the error is answered through it.

use std::ffi::OsStr;
use std::sync::{Arc, Mutex};

use rustix::io::Errno;

use super::answer::Answer;
use crate::attr::Entry;
use crate::reply::{ReplyDirectory, ReplyDirectoryPlus};

/// Where a listing's reply waits while no buffer holds it.
type Slot<R> = Arc<Mutex<Option<R>>>;

fn take<R>(slot: &Slot<R>) -> Option<R> {
    slot.lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .take()
}

fn put_back<R>(slot: &Slot<R>, reply: R) {
    *slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(reply);
}

macro_rules! listing {
    ($(#[$doc:meta])* $buffer:ident, $answer:ident, $reply:ty) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $buffer {
            reply: Option<$reply>,
            slot: Slot<$reply>,
            added: usize,
        }

        impl $buffer {
            /// Entries added so far.
            pub fn len(&self) -> usize {
                self.added
            }

            /// Whether no entry was added (an empty answer means end of directory).
            pub fn is_empty(&self) -> bool {
                self.added == 0
            }
        }

        impl Drop for $buffer {
            fn drop(&mut self) {
                if let Some(reply) = self.reply.take() {
                    put_back(&self.slot, reply);
                }
            }
        }

        /// Answers a listing: sends the buffer, or an error through the slot's reply.
        #[derive(Debug)]
        pub(crate) struct $answer(Slot<$reply>);

        impl $answer {
            /// The answer, and a way for the handler's task to take the reply into a buffer.
            pub(crate) fn new(reply: $reply) -> (Self, impl FnOnce() -> $buffer + Send) {
                let slot = Arc::new(Mutex::new(Some(reply)));
                let lent = Arc::clone(&slot);
                let make = move || $buffer {
                    reply: take(&lent),
                    slot: lent,
                    added: 0,
                };
                ($answer(slot), make)
            }
        }

        impl Answer for $answer {
            type Value = $buffer;

            fn answer(self, mut buf: $buffer) {
                if let Some(reply) = buf.reply.take() {
                    reply.ok();
                }
            }

            fn fail(self, errno: Errno) {
                if let Some(reply) = take(&self.0) {
                    reply.error(errno);
                }
            }
        }
    };
}

listing!(
    /// Entries for a READDIR answer, written into the reply as they are added.
    DirBuffer,
    DirAnswer,
    ReplyDirectory
);
listing!(
    /// Entries with attributes for a READDIRPLUS answer. Every entry added (with a non-zero
    /// node id) counts as a LOOKUP; one that did not fit (`add` returned `true`) does not.
    DirPlusBuffer,
    DirPlusAnswer,
    ReplyDirectoryPlus
);

impl DirBuffer {
    /// Adds an entry, like [`ReplyDirectory::add`]: `offset` is the cookie of the NEXT entry,
    /// `typ` the `d_type`. Returns `true` when the entry did not fit (it was not added): stop
    /// and return.
    pub fn add(&mut self, ino: u64, offset: u64, typ: u32, name: &OsStr) -> bool {
        let Some(reply) = self.reply.as_mut() else {
            return true;
        };
        let full = reply.add(ino, offset, typ, name);
        self.added += usize::from(!full);
        full
    }
}

impl DirPlusBuffer {
    /// Adds an entry, like [`ReplyDirectoryPlus::add`]. Returns `true` when it did not fit.
    pub fn add(&mut self, entry: &Entry, offset: u64, name: &OsStr) -> bool {
        let Some(reply) = self.reply.as_mut() else {
            return true;
        };
        let full = reply.add(entry, offset, name);
        self.added += usize::from(!full);
        full
    }
}
