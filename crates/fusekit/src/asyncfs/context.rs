//! The owned request context an async handler gets instead of `&Request<'_>`: who asked, which
//! request it is, and handles (interrupt state, notifier, backing files) that outlive the
//! request buffer, so the handler's future can hold them across `.await`.

use crate::backing::Backing;
use crate::notify::Notifier;
use crate::request::{InterruptToken, Request};

/// What an [`AsyncFilesystem`](super::AsyncFilesystem) method knows about its request. Owned
/// and cheap to clone (one reference count).
#[derive(Debug, Clone)]
pub struct RequestContext {
    unique: u64,
    nodeid: u64,
    uid: u32,
    gid: u32,
    pid: u32,
    opcode: u32,
    supplementary_group: Option<u32>,
    token: InterruptToken,
}

impl RequestContext {
    pub(crate) fn new(req: &Request<'_>) -> Self {
        RequestContext {
            unique: req.unique(),
            nodeid: req.nodeid(),
            uid: req.uid(),
            gid: req.gid(),
            pid: req.pid(),
            opcode: req.opcode(),
            supplementary_group: req.supplementary_group(),
            token: req.interrupt_token(),
        }
    }

    /// The request id.
    pub fn unique(&self) -> u64 {
        self.unique
    }

    /// The node the request is about (0 for requests without one).
    pub fn nodeid(&self) -> u64 {
        self.nodeid
    }

    /// The caller's filesystem uid.
    pub fn uid(&self) -> u32 {
        self.uid
    }

    /// The caller's filesystem gid.
    pub fn gid(&self) -> u32 {
        self.gid
    }

    /// The caller's thread group id (0 for requests the kernel makes on its own behalf).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The raw opcode.
    pub fn opcode(&self) -> u32 {
        self.opcode
    }

    /// The caller's supplementary group sent with a create-like request, if any
    /// (see [`Request::supplementary_group`]).
    pub fn supplementary_group(&self) -> Option<u32> {
        self.supplementary_group
    }

    /// True when the kernel asked to interrupt this request. Rarely needed: the adapter drops
    /// an interrupted request's future by itself and answers EINTR.
    pub fn is_interrupted(&self) -> bool {
        self.token.is_interrupted()
    }

    /// The request's interrupt state as an owned token.
    pub fn interrupt_token(&self) -> &InterruptToken {
        &self.token
    }

    /// A notifier for this session (invalidate, store, ...). Like in sync handlers, a
    /// notification about the node being served may wait on kernel locks the request holds:
    /// send it from another task, or after the handler returned.
    pub fn notifier(&self) -> Notifier {
        self.token.notifier()
    }

    /// Registers backing files for kernel passthrough on this session.
    pub fn backing(&self) -> Backing {
        self.token.backing()
    }
}
