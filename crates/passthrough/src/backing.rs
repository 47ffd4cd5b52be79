//! Kernel passthrough bookkeeping: whether it is on (negotiated in INIT and not refused by
//! the kernel since), the one backing id per inode shared by its open handles, and the single
//! warning that explains a fallback to ordinary READ/WRITE.

use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use fusekit::{BackingId, Request};
use rustix::fs::OFlags;
use rustix::io::Errno;

use crate::inode::Inode;
use crate::stats::Counters;
use crate::sys::reopen;

/// Kernel passthrough state of one mount.
#[derive(Debug, Default)]
pub(crate) struct BackingState {
    enabled: AtomicBool,
    warned: AtomicBool,
}

impl BackingState {
    /// Called from INIT with whether FUSE_PASSTHROUGH was negotiated.
    pub(crate) fn set_enabled(&self, on: bool) {
        self.enabled.store(on, Ordering::Relaxed);
    }

    pub(crate) fn enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    /// The backing id for an open of `inode`: the inode's existing id when another handle
    /// holds one, else a new registration. `None` means "serve this handle with READ/WRITE".
    ///
    /// The kernel keeps a reference to the open file it is given for as long as the id
    /// lives, and opens its own backing file per FUSE open (with that open's flags). So the
    /// registration uses a descriptor of its own, never a handle's: a handle's open file
    /// description must end when the handle is released, or its flock and OFD locks would
    /// outlive the close that should drop them.
    pub(crate) fn for_open(
        &self,
        req: &Request<'_>,
        inode: &Inode,
        counters: &Counters,
    ) -> Option<Arc<BackingId>> {
        if !self.enabled() {
            return None;
        }
        let mut slot = inode.backing.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(id) = slot.upgrade() {
            return Some(id);
        }
        let fd = match inode.fd().and_then(|path_fd| {
            reopen(
                path_fd.as_fd(),
                OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY,
            )
        }) {
            Ok(fd) => fd,
            Err(e) => {
                tracing::debug!(error = %e, "cannot open a backing descriptor; no passthrough");
                return None;
            }
        };
        match req.backing().open(fd.as_fd()) {
            Ok(id) => {
                let id = Arc::new(id);
                *slot = Arc::downgrade(&id);
                Counters::add(&counters.backing_ids, 1);
                Some(id)
            }
            Err(e) => {
                Counters::add(&counters.backing_failures, 1);
                self.refused(e);
                None
            }
        }
    }

    fn refused(&self, e: Errno) {
        // Missing privilege or support will not change during the mount: stop trying.
        let permanent = matches!(
            e,
            Errno::PERM | Errno::NOTTY | Errno::OPNOTSUPP | Errno::NOSYS
        );
        if permanent {
            self.enabled.store(false, Ordering::Relaxed);
        }
        if !self.warned.swap(true, Ordering::Relaxed) {
            let why = match e {
                Errno::PERM => "the daemon lacks CAP_SYS_ADMIN, or the writeback cache is on",
                Errno::NOTTY | Errno::NOSYS => "this kernel has no FUSE passthrough",
                Errno::OPNOTSUPP | Errno::INVAL => {
                    "passthrough was not negotiated, or the source filesystem is stacked too deep"
                }
                _ => "the kernel refused to register the source file",
            };
            tracing::warn!(
                error = %e,
                reason = why,
                permanent,
                "kernel passthrough unavailable; serving reads and writes through the daemon"
            );
        }
    }
}
