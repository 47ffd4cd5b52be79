//! What a handler knows about the request it serves: who asked (uid, gid, pid), which request
//! it is, and whether the kernel has asked to interrupt it.

use std::sync::Arc;
use std::time::Duration;

use fusekit_abi as abi;

use crate::backing::Backing;
use crate::conn::Connection;
use crate::notify::Notifier;

/// The caller's identity and the request's id, passed to every `Filesystem` method.
#[derive(Debug)]
pub struct Request<'a> {
    header: &'a abi::InHeader,
    ext: &'a [u8],
    conn: &'a Arc<Connection>,
}

impl<'a> Request<'a> {
    pub(crate) fn new(header: &'a abi::InHeader, ext: &'a [u8], conn: &'a Arc<Connection>) -> Self {
        Request { header, ext, conn }
    }

    /// The request id.
    pub fn unique(&self) -> u64 {
        self.header.unique
    }

    /// The node the request is about (0 for requests without one).
    pub fn nodeid(&self) -> u64 {
        self.header.nodeid
    }

    /// The caller's filesystem uid.
    pub fn uid(&self) -> u32 {
        self.header.uid
    }

    /// The caller's filesystem gid.
    pub fn gid(&self) -> u32 {
        self.header.gid
    }

    /// The caller's thread group id (0 for requests the kernel makes on its own behalf).
    pub fn pid(&self) -> u32 {
        self.header.pid
    }

    /// The raw opcode.
    pub fn opcode(&self) -> u32 {
        self.header.opcode
    }

    /// The caller's supplementary group sent with a create-like request (FUSE_CREATE_SUPP_GROUP
    /// extension), if the kernel added one.
    pub fn supplementary_group(&self) -> Option<u32> {
        crate::ext::supplementary_group(self.ext)
    }

    /// True when the kernel has asked to interrupt this request (the caller got a signal).
    /// A handler that notices should stop and answer EINTR (or finish quickly).
    pub fn is_interrupted(&self) -> bool {
        self.conn.interrupts.is_interrupted(self.header.unique)
    }

    /// Blocks until this request is interrupted (true) or `timeout` passes (false). Also
    /// returns true when the session is shutting down. `None` waits without limit.
    pub fn wait_interrupted(&self, timeout: Option<Duration>) -> bool {
        self.conn.interrupts.wait(self.header.unique, timeout)
    }

    /// An owned handle to this request's interrupt state, for work finished on another thread.
    pub fn interrupt_token(&self) -> InterruptToken {
        InterruptToken {
            unique: self.header.unique,
            conn: Arc::clone(self.conn),
        }
    }

    /// A notifier for this session.
    pub fn notifier(&self) -> Notifier {
        Notifier::new(Arc::clone(self.conn))
    }

    /// Registers backing files for kernel passthrough on this session.
    pub fn backing(&self) -> Backing {
        Backing::new(Arc::clone(self.conn.control()))
    }
}

/// Interrupt state of one request, usable from any thread after the handler returned.
#[derive(Debug, Clone)]
pub struct InterruptToken {
    unique: u64,
    conn: Arc<Connection>,
}

impl InterruptToken {
    /// See [`Request::is_interrupted`].
    pub fn is_interrupted(&self) -> bool {
        self.conn.interrupts.is_interrupted(self.unique)
    }

    /// See [`Request::wait_interrupted`].
    pub fn wait_interrupted(&self, timeout: Option<Duration>) -> bool {
        self.conn.interrupts.wait(self.unique, timeout)
    }

    /// The id of the request this token watches.
    pub fn unique(&self) -> u64 {
        self.unique
    }

    /// Asks for `waker` to be woken when this request is interrupted or the session ends;
    /// returns whether that already happened. Undo with [`unwatch`](Self::unwatch).
    #[cfg(feature = "tokio")]
    pub(crate) fn watch(&self, waker: &std::task::Waker) -> bool {
        self.conn.interrupts.watch(self.unique, waker)
    }

    /// Forgets the waker registered by [`watch`](Self::watch).
    #[cfg(feature = "tokio")]
    pub(crate) fn unwatch(&self) {
        self.conn.interrupts.unwatch(self.unique)
    }

    /// A notifier for the session this request came from.
    #[cfg(feature = "tokio")]
    pub(crate) fn notifier(&self) -> Notifier {
        Notifier::new(Arc::clone(&self.conn))
    }

    /// Registers backing files on the session this request came from.
    #[cfg(feature = "tokio")]
    pub(crate) fn backing(&self) -> Backing {
        Backing::new(Arc::clone(self.conn.control()))
    }
}
