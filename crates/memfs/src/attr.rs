//! Metadata changes: `setattr` (chmod, chown, truncate, utimens, ctime) and `access`.
//!
//! The rules mirror the kernel's `setattr_prepare`/`notify_change` plus tmpfs:
//! - chmod needs ownership (or root); a non-root caller not in the file's group loses the
//!   setgid bit (only enforced when groups are known, see [`Caller::groups`]).
//! - chown to another uid needs root; chgrp needs ownership and membership of the new group
//!   (membership is trusted when groups are unknown). A chown of any non-directory (regular
//!   file, FIFO, socket, device node) clears setuid, and setgid when group-execute is set,
//!   whoever does it.
//! - truncate: regular files only (`EISDIR`, `EINVAL`), `EFBIG` past [`MAX_FILE_SIZE`];
//!   always sets mtime and ctime (like `truncate(2)`/`O_TRUNC`); a non-root caller or
//!   `kill_suidgid` clears setuid/setgid(+group-exec).
//! - explicit times need ownership (`EPERM`); `UTIME_NOW` needs ownership or write access
//!   (`EACCES`).
//! - any change sets ctime to now, unless an explicit ctime is given.

use rustix::io::Errno;

use crate::fs::MemFs;
use crate::perm::{self, W_OK};
use crate::table::{Content, Time};
use crate::types::{
    Caller, FileAttr, FileType, Ino, SetAttr, TimeOrNow, Timestamp, MAX_FILE_SIZE, S_ISGID,
};

impl MemFs {
    /// Applies `changes` to `ino` atomically (all checks pass before anything changes) and
    /// returns the new attributes.
    pub fn setattr(&self, c: &Caller, ino: Ino, changes: &SetAttr) -> Result<FileAttr, Errno> {
        if let Some(fh) = changes.fh {
            let dir = self.getattr(ino)?.kind() == Some(FileType::Directory);
            self.handles.get(fh, ino, dir)?;
        }
        let inode = self.table.get(ino)?;
        let mut st = inode.state.write();
        st.check_live()?;
        let owner = perm::is_owner(c, &st);
        // Checks first.
        if changes.mode.is_some() && !owner {
            return Err(Errno::PERM);
        }
        if let Some(uid) = changes.uid {
            if !(c.is_root() || (c.uid == st.uid && uid == st.uid)) {
                return Err(Errno::PERM);
            }
        }
        if let Some(gid) = changes.gid {
            let uid_ok = changes.uid.is_none_or(|u| u == st.uid);
            let member = gid == st.gid || c.in_group(gid).unwrap_or(true);
            if !(c.is_root() || (c.uid == st.uid && uid_ok && member)) {
                return Err(Errno::PERM);
            }
        }
        for t in [changes.atime, changes.mtime].into_iter().flatten() {
            match t {
                TimeOrNow::At(_) if !owner => return Err(Errno::PERM),
                TimeOrNow::Now if !owner && !perm::may_access(c, &st, W_OK) => {
                    return Err(Errno::ACCESS)
                }
                _ => {}
            }
        }
        if let Some(size) = changes.size {
            match st.kind() {
                FileType::RegularFile => {}
                FileType::Directory => return Err(Errno::ISDIR),
                _ => return Err(Errno::INVAL),
            }
            if size > MAX_FILE_SIZE {
                return Err(Errno::FBIG);
            }
        }
        // Then changes.
        let now = Timestamp::now();
        if let Some(size) = changes.size {
            if let Content::File(pages) = &mut st.content {
                pages.truncate(size, &self.usage);
            }
            st.size = size;
            st.touch_mc(now);
            st.mode = perm::mode_after_data_change(c, &st, changes.kill_suidgid);
        }
        if changes.uid.is_some() || changes.gid.is_some() {
            st.mode = perm::killed_priv_mode(&st);
            if let Some(uid) = changes.uid {
                st.uid = uid;
            }
            if let Some(gid) = changes.gid {
                st.gid = gid;
            }
        }
        let chown = changes.uid.is_some() || changes.gid.is_some();
        if changes.kill_suidgid && changes.mode.is_none() {
            st.mode = if chown || changes.size.is_some() {
                perm::killed_priv_mode(&st)
            } else {
                // The kernel's remove-privileges request before a fallocate, copy or write.
                perm::mode_after_data_change(c, &st, true)
            };
        }
        if let Some(mode) = changes.mode {
            let mut perm = mode & 0o7777;
            if !c.is_root() && c.in_group(st.gid) == Some(false) {
                perm &= !S_ISGID;
            }
            st.set_perm(perm);
        }
        let resolve = |t: TimeOrNow| match t {
            TimeOrNow::Now => now,
            TimeOrNow::At(v) => v,
        };
        if let Some(t) = changes.atime {
            st.set_time(Time::A, resolve(t));
        }
        if let Some(t) = changes.mtime {
            st.set_time(Time::M, resolve(t));
        }
        st.set_time(Time::C, changes.ctime.unwrap_or(now));
        Ok(st.attr(ino))
    }

    /// `access(2)`: whether `c` may access `ino` with `mask` (`R_OK`=4, `W_OK`=2, `X_OK`=1;
    /// 0 checks existence). `EACCES` when not. Only needed when mounting without
    /// `default_permissions`; otherwise the kernel checks and never asks.
    pub fn access(&self, c: &Caller, ino: Ino, mask: u32) -> Result<(), Errno> {
        let inode = self.table.get(ino)?;
        let st = inode.state.read();
        st.check_live()?;
        if perm::may_access(c, &st, mask) {
            Ok(())
        } else {
            Err(Errno::ACCESS)
        }
    }
}
