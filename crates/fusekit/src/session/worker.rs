//! One worker: read a request into its own reused buffer, decode, dispatch, repeat — until the
//! device reports the filesystem unmounted. Malformed requests get an error reply and a warning;
//! a panicking handler is caught (its dropped reply answers EIO) and the worker goes on.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use fusekit_abi as abi;
use rustix::io::Errno;
use zerocopy::FromBytes;

use super::dispatch::{dispatch, expects_no_reply};
use crate::conn::Stats;
use crate::lowlevel::Filesystem;
use crate::op;
use crate::reply::{Channel, ReplyInner};
use crate::transport::dev::DevFd;

/// Why a worker stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WorkerExit {
    /// The filesystem was unmounted (ENODEV) or the connection aborted.
    Unmounted,
    /// The device failed in an unexpected way.
    DeviceError(Errno),
}

pub(crate) fn run_worker<FS: Filesystem>(
    fs: &FS,
    dev: &DevFd,
    chan: &Arc<Channel>,
    buf: &mut [u8],
) -> WorkerExit {
    let conn = chan.conn();
    loop {
        let n = match dev.read(buf) {
            Ok(0) => return WorkerExit::Unmounted,
            Ok(n) => n,
            // ENOENT: the request was interrupted/aborted between poll and read.
            Err(Errno::INTR | Errno::AGAIN | Errno::NOENT) => continue,
            Err(Errno::NODEV | Errno::CONNABORTED) => return WorkerExit::Unmounted,
            Err(e) => {
                tracing::error!(error = %e, "reading /dev/fuse failed; worker stops");
                return WorkerExit::DeviceError(e);
            }
        };
        Stats::bump(&conn.stats.requests);
        serve_one(fs, chan, &buf[..n]);
    }
}

/// Decodes and serves one request buffer. Shared by every transport.
pub(crate) fn serve_one<FS: Filesystem>(fs: &FS, chan: &Arc<Channel>, bytes: &[u8]) {
    let conn = chan.conn();
    match op::decode(bytes, &conn.decode_context()) {
        Ok(decoded) => {
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
                    "filesystem handler panicked; request answered EIO, worker continues"
                );
            }
        }
        Err(e) => {
            Stats::bump(&conn.stats.decode_errors);
            match abi::InHeader::read_from_prefix(bytes) {
                Ok((header, _)) => {
                    tracing::warn!(unique = header.unique, opcode = header.opcode, error = %e, "malformed request");
                    if !expects_no_reply(header.opcode) {
                        ReplyInner::new(header.unique, header.opcode, Arc::clone(chan))
                            .error(e.errno());
                    }
                }
                Err(_) => tracing::warn!(error = %e, "malformed request without a header; dropped"),
            }
        }
    }
}
