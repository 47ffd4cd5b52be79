//! What a user may tune: kernel passthrough, writeback cache, cache lifetimes, credential
//! switching. Defaults favour coherence with changes made directly in the source directory.

use std::time::Duration;

/// Options of a [`Passthrough`](crate::Passthrough) filesystem.
///
/// # Permissions
/// Mount with `default_permissions` (the CLI does by default): the kernel then checks every
/// access against the modes and owners the source reports, as for any local filesystem.
/// Without it a root daemon opens, reads, writes, renames and removes on behalf of anyone
/// who can reach the mount (only create-like calls run as the caller, and ACCESS answers
/// with the caller's rights) — acceptable for a single-user mount, not with `allow_other`.
///
/// # Coherence with the source directory
/// Changes made directly in the source directory become visible through the mount once the
/// kernel's cached names and attributes expire: `entry_timeout` for names (lookups and
/// negative lookups), `attr_timeout` for attributes (size, mtime, mode). File data is never
/// cached across opens (no `FOPEN_KEEP_CACHE`), and `AUTO_INVAL_DATA` drops cached pages when a
/// fresh GETATTR shows a changed mtime or size. With kernel passthrough the kernel reads the
/// source file itself, so data is always current. Set both timeouts to zero for
/// immediate coherence at the cost of a GETATTR/LOOKUP per access; the defaults (1 s) are the
/// usual compromise.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PassthroughOptions {
    /// Let the kernel do read/write/mmap on the source files directly (FUSE_PASSTHROUGH,
    /// needs CAP_SYS_ADMIN and Linux 6.9+). Falls back to ordinary READ/WRITE requests,
    /// saying why once, when the kernel refuses. Default: true.
    pub kernel_passthrough: bool,
    /// Ask for the kernel's writeback cache (writes are gathered in the page cache).
    /// Disables kernel passthrough (the kernel refuses the two together). Default: false.
    pub writeback_cache: bool,
    /// How long the kernel may cache names (and negative lookups). Default: 1 s.
    pub entry_timeout: Duration,
    /// How long the kernel may cache attributes. Default: 1 s.
    pub attr_timeout: Duration,
    /// When the daemon runs as root, create files, directories, nodes and symlinks with the
    /// caller's uid, gid and supplementary groups (per-thread credential switch), so that
    /// ownership and the source filesystem's permission checks match the caller.
    /// Default: true.
    pub switch_credentials: bool,
    /// Hand POSIX record locks and flock(2) to the source filesystem (negotiates
    /// POSIX_LOCKS and FLOCK_LOCKS), so they also conflict with programs using the source
    /// directly. When false the kernel keeps locks local to the mount. Default: true.
    pub delegate_locks: bool,
    /// Ask the kernel to abort the connection when a request stays unanswered this long
    /// (FUSE_REQUEST_TIMEOUT, Linux 6.14+), e.g. when the source filesystem hangs: callers
    /// then get ECONNABORTED/ENOTCONN instead of hanging. Whole seconds; the kernel checks
    /// every 15 s, so a stuck request may wait up to 15 s longer (with 1 s: 15-30 s).
    /// `None` or zero: no timeout. Default: `None`. When the kernel does not offer it,
    /// the mount goes on without one and says so.
    pub request_timeout: Option<Duration>,
    /// The most `O_PATH` descriptors the filesystem keeps open for the inodes the kernel
    /// knows. Inodes on source filesystems that make file handles (ext4, xfs, btrfs, tmpfs,
    /// ...; the daemon needs CAP_DAC_READ_SEARCH, as root has) only cache their descriptor
    /// and reopen it from the handle after eviction, so trees of any size fit; other inodes
    /// keep theirs open, and once those alone fill the budget new lookups fail with EMFILE.
    /// `None`: derived from the soft `RLIMIT_NOFILE` at construction (the limit less a
    /// reserve of a quarter, between 128 and 4096, for open files, directories and the
    /// session: 15904 for a limit of 20000, 768 for 1024). Values below 64 count as 64.
    /// Default: `None`.
    pub inode_fd_budget: Option<usize>,
    /// The device of the mount being served, once known: lookups reaching it are refused
    /// (see [`Passthrough::own_mount`](crate::Passthrough::own_mount)).
    pub(crate) own_mount: crate::OwnMount,
}

impl Default for PassthroughOptions {
    fn default() -> Self {
        PassthroughOptions {
            kernel_passthrough: true,
            writeback_cache: false,
            entry_timeout: Duration::from_secs(1),
            attr_timeout: Duration::from_secs(1),
            switch_credentials: true,
            delegate_locks: true,
            request_timeout: None,
            inode_fd_budget: None,
            own_mount: crate::OwnMount::default(),
        }
    }
}

impl PassthroughOptions {
    /// The defaults (see the field docs).
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets [`kernel_passthrough`](Self::kernel_passthrough).
    pub fn kernel_passthrough(mut self, on: bool) -> Self {
        self.kernel_passthrough = on;
        self
    }

    /// Sets [`writeback_cache`](Self::writeback_cache).
    pub fn writeback_cache(mut self, on: bool) -> Self {
        self.writeback_cache = on;
        self
    }

    /// Sets both the entry and the attribute timeout.
    pub fn timeout(mut self, ttl: Duration) -> Self {
        self.entry_timeout = ttl;
        self.attr_timeout = ttl;
        self
    }

    /// Sets [`entry_timeout`](Self::entry_timeout).
    pub fn entry_timeout(mut self, ttl: Duration) -> Self {
        self.entry_timeout = ttl;
        self
    }

    /// Sets [`attr_timeout`](Self::attr_timeout).
    pub fn attr_timeout(mut self, ttl: Duration) -> Self {
        self.attr_timeout = ttl;
        self
    }

    /// Sets [`switch_credentials`](Self::switch_credentials).
    pub fn switch_credentials(mut self, on: bool) -> Self {
        self.switch_credentials = on;
        self
    }

    /// Sets [`delegate_locks`](Self::delegate_locks).
    pub fn delegate_locks(mut self, on: bool) -> Self {
        self.delegate_locks = on;
        self
    }

    /// Sets [`request_timeout`](Self::request_timeout); `Duration::ZERO` means none.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = (!timeout.is_zero()).then_some(timeout);
        self
    }

    /// Sets [`inode_fd_budget`](Self::inode_fd_budget).
    pub fn inode_fd_budget(mut self, budget: usize) -> Self {
        self.inode_fd_budget = Some(budget);
        self
    }
}
