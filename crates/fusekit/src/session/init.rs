//! The INIT handshake: read the kernel's offer, let the filesystem adjust a `KernelConfig`,
//! answer with what is in effect, and record it on the connection.

use std::sync::Arc;

use fusekit_abi::{self as abi, InitFlags};
use rustix::io::Errno;

use super::SessionError;
use crate::conn::{Connection, Negotiated};
use crate::lowlevel::{Filesystem, KernelConfig};
use crate::notify::Notifier;
use crate::op::{self, Op};
use crate::reply::{Channel, ReplyInner};
use crate::request::Request;
use crate::transport::dev::DevFd;

/// The oldest protocol this library speaks (the kernel's since Linux 3.x).
const MIN_MINOR: u32 = 12;

/// Reads requests on `dev` until INIT arrives and answers it, asking for what the filesystem
/// requested plus `transport_flags` (what the chosen transport needs, e.g. OVER_IO_URING).
/// Requests before INIT cannot happen with a real kernel; a fake transport sending them gets
/// EIO.
pub(crate) fn handshake<FS: Filesystem>(
    fs: &FS,
    dev: &Arc<DevFd>,
    chan: &Arc<Channel>,
    conn: &Arc<Connection>,
    buf: &mut [u8],
    transport_flags: InitFlags,
) -> Result<Negotiated, SessionError> {
    loop {
        let n = match dev.read(buf) {
            // End of file: a transport that is not /dev/fuse was closed before INIT.
            Ok(0) => {
                return Err(SessionError::Device {
                    during: "reading INIT",
                    source: Errno::NODEV,
                })
            }
            Ok(n) => n,
            Err(Errno::INTR | Errno::AGAIN | Errno::NOENT) => continue,
            Err(e) => {
                return Err(SessionError::Device {
                    during: "reading INIT",
                    source: e,
                })
            }
        };
        let decoded = match op::decode(&buf[..n], &conn.decode_context()) {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e, "malformed request before INIT");
                if n >= core::mem::size_of::<abi::InHeader>() {
                    let unique = u64::from_ne_bytes(buf[8..16].try_into().unwrap_or_default());
                    ReplyInner::new(unique, 0, Arc::clone(chan)).error(e.errno());
                }
                continue;
            }
        };
        let Op::Init { arg } = decoded.op else {
            tracing::warn!(
                opcode = decoded.header.opcode,
                "request before INIT; answering EIO"
            );
            ReplyInner::new(
                decoded.header.unique,
                decoded.header.opcode,
                Arc::clone(chan),
            )
            .error(Errno::IO);
            continue;
        };
        let reply = ReplyInner::new(
            decoded.header.unique,
            decoded.header.opcode,
            Arc::clone(chan),
        );
        if arg.major != abi::KERNEL_VERSION || arg.minor < MIN_MINOR {
            tracing::error!(
                major = arg.major,
                minor = arg.minor,
                "unsupported kernel FUSE protocol"
            );
            reply.error(Errno::PROTO);
            return Err(SessionError::Protocol {
                major: arg.major,
                minor: arg.minor,
            });
        }
        let minor = arg.minor.min(abi::KERNEL_MINOR_VERSION);
        let offered = if InitFlags::from_halves(arg.flags, 0).contains(InitFlags::INIT_EXT) {
            InitFlags::from_halves(arg.flags, arg.flags2)
        } else {
            InitFlags::from_halves(arg.flags, 0)
        };
        let mut config = KernelConfig::new(
            offered,
            minor,
            arg.max_readahead,
            Notifier::new(Arc::clone(conn)),
        );
        config.atime = conn.atime();
        let req = Request::new(&decoded.header, decoded.ext, conn);
        if let Err(e) = fs.init(&req, &mut config) {
            tracing::error!(error = %e, "filesystem refused INIT");
            reply.error(e);
            return Err(SessionError::InitRefused(e));
        }
        let mut flags = (config.requested | transport_flags) & offered;
        if offered.contains(InitFlags::INIT_EXT) {
            flags |= InitFlags::INIT_EXT;
        }
        let max_pages = (config.max_write / 4096).max(1) as u16;
        let (lo, hi) = flags.split();
        let out = abi::InitOut {
            major: abi::KERNEL_VERSION,
            minor,
            max_readahead: config.max_readahead,
            flags: lo,
            max_background: config.max_background,
            congestion_threshold: config.congestion_threshold,
            max_write: config.max_write,
            time_gran: config.time_gran,
            max_pages,
            map_alignment: 0,
            flags2: hi,
            max_stack_depth: if flags.contains(InitFlags::PASSTHROUGH) {
                config.max_stack_depth
            } else {
                0
            },
            request_timeout: if flags.contains(InitFlags::REQUEST_TIMEOUT) {
                config.request_timeout
            } else {
                0
            },
            ..Default::default()
        };
        let negotiated = Negotiated {
            major: abi::KERNEL_VERSION,
            minor,
            offered,
            flags,
            max_write: config.max_write,
            max_readahead: config.max_readahead,
            readahead_window: config.readahead_window.max(config.max_readahead),
            max_pages,
            requests_in_flight: config.requests_in_flight,
        };
        // Record before answering: requests may arrive the moment the kernel has the reply.
        conn.set_negotiated(negotiated);
        conn.release_fence.begin(decoded.header.unique);
        if minor < 23 {
            reply.ok_struct_prefix(&out, abi::COMPAT_22_INIT_OUT_SIZE);
        } else {
            reply.ok_struct(&out);
        }
        tracing::debug!(
            minor,
            ?flags,
            max_write = config.max_write,
            "INIT negotiated"
        );
        return Ok(negotiated);
    }
}
