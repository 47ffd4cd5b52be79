//! State of one kernel connection that the serve loop, replies and notifiers share: what INIT
//! negotiated, the interrupt table, the release fence, the counters, and the control path
//! notifications go to. It holds no concrete transport (only `transport::ControlPath`).
//! Nothing here is locked on the hot path.

mod interrupts;
mod opcode_counts;
mod release_fence;
mod stats;

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;

use fusekit_abi as abi;

pub(crate) use interrupts::InterruptTable;
pub use opcode_counts::RequestCounts;
pub(crate) use release_fence::ReleaseFence;
pub(crate) use stats::Stats;
pub use stats::StatsSnapshot;

use crate::lowlevel::AtimePolicy;
use crate::transport::{ControlPath, FrameSink};

/// What INIT settled, for decoding and for users who want to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Negotiated {
    /// Protocol major version (7).
    pub major: u32,
    /// Protocol minor version in use (the smaller of the kernel's and ours).
    pub minor: u32,
    /// Capabilities the kernel offered.
    pub offered: abi::InitFlags,
    /// Capabilities in effect (offered and requested).
    pub flags: abi::InitFlags,
    /// Largest WRITE payload the kernel will send.
    pub max_write: u32,
    /// The readahead window negotiated in INIT (at most the kernel's proposal, 128 KiB by
    /// default).
    pub max_readahead: u32,
    /// The readahead window in effect after INIT: `max_readahead`, or the larger window the
    /// filesystem asked for with [`KernelConfig::set_max_readahead`] when the session could
    /// raise it (needs root; see there).
    ///
    /// [`KernelConfig::set_max_readahead`]: crate::lowlevel::KernelConfig::set_max_readahead
    pub readahead_window: u32,
    /// Pages per request.
    pub max_pages: u16,
    /// Requests the filesystem said it serves at once
    /// ([`KernelConfig::set_requests_in_flight`]); 0 when it did not say.
    ///
    /// [`KernelConfig::set_requests_in_flight`]: crate::lowlevel::KernelConfig::set_requests_in_flight
    pub requests_in_flight: u32,
}

#[derive(Debug)]
pub(crate) struct Connection {
    pub(crate) stats: Stats,
    pub(crate) interrupts: InterruptTable,
    /// Keeps lock requests behind the RELEASEs queued before them.
    pub(crate) release_fence: ReleaseFence,
    minor: AtomicU32,
    setxattr_ext: AtomicBool,
    next_notify_unique: AtomicU64,
    /// Where notifications go, and the device descriptor for connection ioctls.
    control: Arc<dyn ControlPath>,
    /// Set once `Filesystem::destroy` has run (by DESTROY or at session end).
    pub(crate) destroyed: AtomicBool,
    /// The mount's atime policy (`AtimePolicy` as u8), handed to `Filesystem::init`.
    atime: AtomicU8,
}

impl Connection {
    pub(crate) fn new(control: Arc<dyn ControlPath>) -> Self {
        Connection {
            stats: Stats::default(),
            interrupts: InterruptTable::default(),
            release_fence: ReleaseFence::default(),
            minor: AtomicU32::new(abi::KERNEL_MINOR_VERSION),
            setxattr_ext: AtomicBool::new(false),
            next_notify_unique: AtomicU64::new(1),
            control,
            destroyed: AtomicBool::new(false),
            atime: AtomicU8::new(AtimePolicy::Relatime.to_u8()),
        }
    }

    pub(crate) fn atime(&self) -> AtimePolicy {
        AtimePolicy::from_u8(self.atime.load(Ordering::Relaxed))
    }

    pub(crate) fn set_atime(&self, policy: AtimePolicy) {
        self.atime.store(policy.to_u8(), Ordering::Relaxed);
    }

    pub(crate) fn minor(&self) -> u32 {
        self.minor.load(Ordering::Relaxed)
    }

    pub(crate) fn decode_context(&self) -> crate::op::DecodeContext {
        crate::op::DecodeContext {
            minor: self.minor(),
            setxattr_ext: self.setxattr_ext.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn set_negotiated(&self, n: Negotiated) {
        self.minor.store(n.minor, Ordering::Relaxed);
        self.setxattr_ext.store(
            n.flags.contains(abi::InitFlags::SETXATTR_EXT),
            Ordering::Relaxed,
        );
    }

    pub(crate) fn notify_sink(&self) -> &dyn FrameSink {
        &*self.control
    }

    pub(crate) fn control(&self) -> &Arc<dyn ControlPath> {
        &self.control
    }

    pub(crate) fn next_notify_unique(&self) -> u64 {
        self.next_notify_unique.fetch_add(1, Ordering::Relaxed)
    }
}
