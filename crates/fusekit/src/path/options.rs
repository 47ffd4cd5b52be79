//! The options of a [`PathAdapter`](super::PathAdapter) ([`PathConfig`]): the unlink mode,
//! whether I/O callbacks get paths, which inode numbers `stat` shows, and cache lifetimes.

use std::time::Duration;

/// What happens when an open file is unlinked or renamed over. See the module docs of
/// [`crate::path`] for when to pick which.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum UnlinkMode {
    /// The filesystem's handles work without names (like file descriptors): unlink and
    /// rename pass straight through, and I/O on an open file whose name is gone gets
    /// `path = None` and its handle.
    #[default]
    HandleBased,
    /// The adapter renames an open file that is unlinked or renamed over to a hidden name
    /// (`.fusekit_hidden<node>_<n>` in the same directory), hides that name from readdir and
    /// lookup, and removes it at the last release. Every open file keeps a path, so a
    /// filesystem that can only do I/O by path works.
    Hide,
}

/// Configuration of a [`PathAdapter`](super::PathAdapter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathConfig {
    /// How unlink/rename of open files is handled. Default: [`UnlinkMode::HandleBased`].
    pub unlink_mode: UnlinkMode,
    /// Pass the file's current path to read, write, flush, fsync, fallocate and release.
    /// With `false` those get `None` and run without path locks (fastest; fine for
    /// filesystems that do I/O by handle). Default: `true`.
    pub io_paths: bool,
    /// Report the filesystem's own `FileAttr::ino` to `stat` and readdir (like libfuse's
    /// `use_ino`); otherwise the node id is shown. Default: `false`.
    pub use_ino: bool,
    /// How long the kernel may cache names. Default: 1 s.
    pub entry_ttl: Duration,
    /// How long the kernel may cache attributes. Default: 1 s.
    pub attr_ttl: Duration,
}

impl Default for PathConfig {
    fn default() -> Self {
        PathConfig::new(UnlinkMode::default())
    }
}

impl PathConfig {
    /// Defaults with the given unlink mode.
    pub fn new(unlink_mode: UnlinkMode) -> Self {
        PathConfig {
            unlink_mode,
            io_paths: true,
            use_ino: false,
            entry_ttl: Duration::from_secs(1),
            attr_ttl: Duration::from_secs(1),
        }
    }

    /// Sets [`io_paths`](Self::io_paths).
    pub fn io_paths(mut self, on: bool) -> Self {
        self.io_paths = on;
        self
    }

    /// Sets [`use_ino`](Self::use_ino).
    pub fn use_ino(mut self, on: bool) -> Self {
        self.use_ino = on;
        self
    }

    /// Sets both cache lifetimes.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.entry_ttl = ttl;
        self.attr_ttl = ttl;
        self
    }
}
