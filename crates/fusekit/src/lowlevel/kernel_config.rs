//! INIT negotiation as the filesystem sees it: what the kernel offers, what the filesystem asks
//! for, and the connection's tunables. The session intersects requests with offers.

use std::time::Duration;

use fusekit_abi::InitFlags;

use crate::notify::Notifier;

/// Largest WRITE the session accepts by default: 1 MiB (256 pages).
pub const DEFAULT_MAX_WRITE: u32 = 1 << 20;

const PAGE: u32 = 4096;

/// Capabilities requested unless the filesystem disables them: all are safe for any
/// filesystem (the kernel simply does more in parallel or asks less).
pub fn default_capabilities() -> InitFlags {
    InitFlags::ASYNC_READ
        | InitFlags::BIG_WRITES
        | InitFlags::MAX_PAGES
        | InitFlags::PARALLEL_DIROPS
        | InitFlags::ASYNC_DIO
        | InitFlags::HAS_IOCTL_DIR
        | InitFlags::AUTO_INVAL_DATA
        | InitFlags::NO_OPEN_SUPPORT
        | InitFlags::NO_OPENDIR_SUPPORT
        | InitFlags::SETXATTR_EXT
        | InitFlags::HAS_EXPIRE_ONLY
        | InitFlags::HAS_RESEND
}

/// How the mount treats access times, from its mount options (`noatime`, `strictatime`,
/// `relatime`, the default). The kernel leaves atime on a FUSE mount to the filesystem and
/// does not tell it the mount's options, so a filesystem that keeps atime reads the policy
/// from [`KernelConfig::atime_policy`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AtimePolicy {
    /// Update atime on access when it is older than mtime or ctime, or a day old.
    #[default]
    Relatime,
    /// Never update atime on access (`noatime`).
    NoAtime,
    /// Update atime on every access (`strictatime`).
    StrictAtime,
}

impl AtimePolicy {
    /// The policy raw mount options ask for: the last of `noatime`, `strictatime`,
    /// `relatime`, `atime` and `norelatime` wins, as for mount(8); the last three mean the
    /// kernel's default, relatime.
    pub fn from_options<'a>(options: impl IntoIterator<Item = &'a str>) -> Self {
        let mut policy = AtimePolicy::Relatime;
        for o in options {
            match o {
                "noatime" => policy = AtimePolicy::NoAtime,
                "strictatime" => policy = AtimePolicy::StrictAtime,
                "relatime" | "atime" | "norelatime" => policy = AtimePolicy::Relatime,
                _ => {}
            }
        }
        policy
    }

    pub(crate) fn to_u8(self) -> u8 {
        self as u8
    }

    pub(crate) fn from_u8(v: u8) -> Self {
        match v {
            1 => AtimePolicy::NoAtime,
            2 => AtimePolicy::StrictAtime,
            _ => AtimePolicy::Relatime,
        }
    }
}

/// Flags the session manages itself (never requested through [`KernelConfig::enable`]).
pub(crate) fn session_managed() -> InitFlags {
    InitFlags::INIT_EXT | InitFlags::OVER_IO_URING
}

/// The connection parameters a filesystem may adjust in `Filesystem::init`.
#[derive(Debug)]
pub struct KernelConfig {
    pub(crate) offered: InitFlags,
    pub(crate) requested: InitFlags,
    pub(crate) minor: u32,
    pub(crate) max_write: u32,
    pub(crate) max_readahead: u32,
    pub(crate) readahead_window: u32,
    pub(crate) max_background: u16,
    pub(crate) congestion_threshold: u16,
    pub(crate) time_gran: u32,
    pub(crate) max_stack_depth: u32,
    pub(crate) request_timeout: u16,
    pub(crate) requests_in_flight: u32,
    pub(crate) notifier: Notifier,
    pub(crate) atime: AtimePolicy,
}

impl KernelConfig {
    pub(crate) fn new(
        offered: InitFlags,
        minor: u32,
        max_readahead: u32,
        notifier: Notifier,
    ) -> Self {
        KernelConfig {
            offered,
            requested: default_capabilities(),
            minor,
            max_write: DEFAULT_MAX_WRITE,
            max_readahead,
            readahead_window: max_readahead,
            max_background: 64,
            congestion_threshold: 48,
            time_gran: 1,
            max_stack_depth: 0,
            request_timeout: 0,
            requests_in_flight: 0,
            notifier,
            atime: AtimePolicy::Relatime,
        }
    }

    /// How the mount treats access times (see [`AtimePolicy`]): from the options the
    /// session mounted with ([`Session::mount`](crate::Session::mount)), or as set with
    /// [`Session::atime_policy`](crate::Session::atime_policy); relatime otherwise.
    pub fn atime_policy(&self) -> AtimePolicy {
        self.atime
    }

    /// Capabilities the kernel offers.
    pub fn kernel_capabilities(&self) -> InitFlags {
        self.offered
    }

    /// The protocol minor version in use.
    pub fn protocol_minor(&self) -> u32 {
        self.minor
    }

    /// Capabilities requested so far.
    pub fn requested(&self) -> InitFlags {
        self.requested
    }

    /// Requests capabilities. Fails with the flags the kernel does not offer; nothing is
    /// changed then.
    pub fn enable(&mut self, flags: InitFlags) -> Result<(), InitFlags> {
        let missing = flags - self.offered;
        if !missing.is_empty() {
            return Err(missing);
        }
        self.requested |= flags - session_managed();
        Ok(())
    }

    /// Requests whichever of `flags` the kernel offers and returns those.
    pub fn enable_if_offered(&mut self, flags: InitFlags) -> InitFlags {
        let granted = (flags & self.offered) - session_managed();
        self.requested |= granted;
        granted
    }

    /// Withdraws capabilities (e.g. a filesystem that wants serialized directory operations
    /// disables PARALLEL_DIROPS).
    pub fn disable(&mut self, flags: InitFlags) {
        self.requested -= flags;
    }

    /// Largest WRITE payload (rounded down to whole pages, between 4 KiB and 1 MiB... up to
    /// the kernel's page limit). Returns the value in effect.
    pub fn set_max_write(&mut self, bytes: u32) -> u32 {
        self.max_write = (bytes / PAGE).clamp(1, 256) * PAGE;
        self.max_write
    }

    /// Current maximum WRITE payload.
    pub fn max_write(&self) -> u32 {
        self.max_write
    }

    /// The readahead window: how far ahead of a sequential reader the kernel reads, in
    /// bytes (whole pages). Up to what the kernel proposed ([`Self::max_readahead`], 128 KiB
    /// unless the system changed the default) it is negotiated in INIT. A larger window is
    /// applied right after INIT through the mount's `/sys/class/bdi/0:N/read_ahead_kb`,
    /// which needs root: otherwise the proposal stays in effect (said at debug level).
    /// Sequential reads then come as fewer, larger READs (up to `max_write` each).
    /// [`Negotiated::readahead_window`] tells what took effect. Returns the window asked for.
    ///
    /// [`Negotiated::readahead_window`]: crate::Negotiated::readahead_window
    pub fn set_max_readahead(&mut self, bytes: u32) -> u32 {
        let bytes = bytes / PAGE * PAGE;
        self.readahead_window = bytes;
        self.max_readahead = self.max_readahead.min(bytes);
        self.readahead_window
    }

    /// The readahead window INIT will answer with (bytes): the kernel's proposal, or less
    /// after [`Self::set_max_readahead`] asked for less.
    pub fn max_readahead(&self) -> u32 {
        self.max_readahead
    }

    /// Maximum number of background (asynchronous) requests in flight.
    pub fn set_max_background(&mut self, n: u16) {
        self.max_background = n.max(1);
        self.congestion_threshold = self.congestion_threshold.min(self.max_background);
    }

    /// Background request count at which the kernel considers the connection congested.
    pub fn set_congestion_threshold(&mut self, n: u16) {
        self.congestion_threshold = n.min(self.max_background);
    }

    /// Timestamp granularity in nanoseconds (1 = nanosecond timestamps).
    pub fn set_time_gran(&mut self, nanos: u32) {
        self.time_gran = nanos.clamp(1, 1_000_000_000);
    }

    /// Enables kernel passthrough (FUSE_PASSTHROUGH) with the given stacking depth. Fails when
    /// the kernel does not offer it.
    pub fn enable_passthrough(&mut self, max_stack_depth: u32) -> Result<(), InitFlags> {
        self.enable(InitFlags::PASSTHROUGH)?;
        self.max_stack_depth = max_stack_depth.max(1);
        Ok(())
    }

    /// Asks the kernel to abort the connection when a request is not answered within
    /// `timeout` (FUSE_REQUEST_TIMEOUT, protocol 7.43). The protocol counts whole seconds: a
    /// fraction rounds up, and more than 65535 s is capped. `Duration::ZERO` turns the timeout
    /// off (the default). Fails when the kernel does not offer it. The kernel checks only every
    /// 15 s (measured on Linux 6.18, see docs/kernel-notes.md), so a request ends 15-30 s after
    /// it began when a shorter timeout is asked for.
    pub fn set_request_timeout(&mut self, timeout: Duration) -> Result<(), InitFlags> {
        if timeout.is_zero() {
            self.disable(InitFlags::REQUEST_TIMEOUT);
            self.request_timeout = 0;
            return Ok(());
        }
        self.enable(InitFlags::REQUEST_TIMEOUT)?;
        let secs = timeout.as_secs() + u64::from(timeout.subsec_nanos() > 0);
        self.request_timeout = secs.min(u64::from(u16::MAX)) as u16;
        Ok(())
    }

    /// Says how many requests this filesystem works on at once when it answers them later,
    /// from other threads (an async filesystem: `fusekit::asyncfs` says its in-flight limit
    /// here by itself). Over io_uring a request holds its ring entry until it is answered, so
    /// unless [`Session::uring_queue_depth`](crate::Session::uring_queue_depth) fixed the
    /// depth, each CPU's queue gets room for twice its even share of `n`: at least the
    /// default 8 entries, at most 32. /dev/fuse needs nothing: its workers hand requests on.
    /// 0 (the default) says nothing.
    pub fn set_requests_in_flight(&mut self, n: u32) {
        self.requests_in_flight = n;
    }

    /// What [`Self::set_requests_in_flight`] set (0 unless set).
    pub fn requests_in_flight(&self) -> u32 {
        self.requests_in_flight
    }

    /// A notifier for this session, e.g. to keep for invalidations later.
    pub fn notifier(&self) -> Notifier {
        self.notifier.clone()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn atime_policy_from_mount_options() {
        use super::AtimePolicy as A;
        assert_eq!(A::from_options(["rw", "allow_other"]), A::Relatime);
        assert_eq!(A::from_options(["noatime"]), A::NoAtime);
        assert_eq!(A::from_options(["noatime", "strictatime"]), A::StrictAtime);
        assert_eq!(A::from_options(["strictatime", "relatime"]), A::Relatime);
        for p in [A::Relatime, A::NoAtime, A::StrictAtime] {
            assert_eq!(A::from_u8(p.to_u8()), p);
        }
    }

    use std::sync::Arc;
    use std::time::Duration;

    use fusekit_abi::InitFlags;
    use rustix::fs::{Mode, OFlags};

    use super::KernelConfig;
    use crate::conn::Connection;
    use crate::notify::Notifier;
    use crate::transport::dev::DevFd;

    fn config(offered: InitFlags) -> KernelConfig {
        let null = rustix::fs::open("/dev/null", OFlags::RDWR | OFlags::CLOEXEC, Mode::empty())
            .expect("open /dev/null");
        let conn = Arc::new(Connection::new(Arc::new(DevFd::new(null))));
        KernelConfig::new(offered, 45, 0, Notifier::new(conn))
    }

    #[test]
    fn request_timeout_rounds_up_caps_and_turns_off_at_zero() {
        let mut c = config(InitFlags::REQUEST_TIMEOUT);
        c.set_request_timeout(Duration::from_millis(1900)).unwrap();
        assert_eq!(c.request_timeout, 2);
        assert!(c.requested.contains(InitFlags::REQUEST_TIMEOUT));
        c.set_request_timeout(Duration::from_millis(1)).unwrap();
        assert_eq!(c.request_timeout, 1);
        c.set_request_timeout(Duration::from_secs(1 << 20)).unwrap();
        assert_eq!(c.request_timeout, u16::MAX);
        c.set_request_timeout(Duration::ZERO).unwrap();
        assert_eq!(c.request_timeout, 0);
        assert!(!c.requested.contains(InitFlags::REQUEST_TIMEOUT));
    }

    #[test]
    fn request_timeout_needs_the_kernel_to_offer_it() {
        let mut c = config(InitFlags::empty());
        assert!(c.set_request_timeout(Duration::from_secs(5)).is_err());
        assert_eq!(c.request_timeout, 0);
        assert!(c.set_request_timeout(Duration::ZERO).is_ok());
    }
}
