//! The serve loop, one for every transport: decode a request frame, stamp it on the release
//! fence, dispatch it to the [`Filesystem`], and let the reply handle answer (now, or later
//! from any thread). Transports call it through [`FrameHandler`]; they know nothing of what
//! happens here. Malformed requests get an error reply and a warning; a panicking handler is
//! caught (its dropped reply answers EIO) and the transport's thread goes on.

mod dispatch;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use fusekit_abi as abi;
use zerocopy::FromBytes;

use crate::conn::{Connection, Stats};
use crate::lowlevel::Filesystem;
use crate::op;
use crate::reply::{Channel, ReplyInner};
use crate::transport::{FrameHandler, FrameSink};
use dispatch::dispatch;

/// A filesystem and the connection it serves: what every transport hands its frames to.
#[derive(Debug)]
pub(crate) struct Server<FS> {
    fs: Arc<FS>,
    conn: Arc<Connection>,
}

impl<FS> Server<FS> {
    pub(crate) fn new(fs: Arc<FS>, conn: Arc<Connection>) -> Self {
        Server { fs, conn }
    }
}

impl<FS: Filesystem> FrameHandler for Server<FS> {
    type ReplyPath = Arc<Channel>;

    fn reply_path(&self, sink: Arc<dyn FrameSink>) -> Arc<Channel> {
        Arc::new(Channel::new(sink, Arc::clone(&self.conn)))
    }

    fn handle(&self, frame: &[u8], path: &Arc<Channel>) {
        // Counted by opcode; the total is their sum.
        self.conn.stats.by_opcode.count(frame);
        serve_frame(&*self.fs, path, frame);
    }
}

/// Decodes and serves one request frame whose reply goes through `chan`.
pub(crate) fn serve_frame<FS: Filesystem>(fs: &FS, chan: &Arc<Channel>, bytes: &[u8]) {
    let conn = chan.conn();
    match op::decode(bytes, &conn.decode_context()) {
        Ok(decoded) => {
            conn.release_fence.request_read(&decoded.header);
            let span = tracing::debug_span!(
                "request",
                unique = decoded.header.unique,
                opcode = decoded.header.opcode,
                nodeid = decoded.header.nodeid
            );
            let _entered = span.enter();
            tracing::trace!(op = ?decoded.op, "dispatch");
            if catch_unwind(AssertUnwindSafe(|| dispatch(fs, chan, &decoded))).is_err() {
                tracing::error!(
                    unique = decoded.header.unique,
                    opcode = decoded.header.opcode,
                    "filesystem handler panicked; request answered EIO, serving goes on"
                );
            }
        }
        Err(e) => {
            Stats::bump(&conn.stats.decode_errors);
            match abi::InHeader::read_from_prefix(bytes) {
                Ok((header, _)) => {
                    conn.release_fence.request_read(&header);
                    tracing::warn!(unique = header.unique, opcode = header.opcode, error = %e, "malformed request");
                    if abi::Opcode::expects_reply_to(header.opcode) {
                        ReplyInner::new(header.unique, header.opcode, Arc::clone(chan))
                            .error(e.errno());
                    }
                }
                Err(_) => tracing::warn!(error = %e, "malformed request without a header; dropped"),
            }
        }
    }
}
