//! rename(2) and renameat2(2)'s RENAME_NOREPLACE, RENAME_EXCHANGE and RENAME_WHITEOUT, as one
//! transaction (a whiteout's inode and entry included).
//!
//! Moving a directory under a new parent walks from that parent up to the root through the
//! directories' `parent` fields; meeting the moved directory means a cycle (EINVAL). Every
//! inode on the walk is read through the plan, so the transaction is guarded on the whole path:
//! a concurrent rename that moves any ancestor rewrites that ancestor's inode, fails this
//! transaction, and the retry walks the new path. Two crossing renames (a into b, b into a)
//! can therefore never both commit.

use super::plan::Plan;
use super::remove::IsOpen;
use super::{check_name, transact, FsError, Namespace};
use crate::schema::{Entry, FileType, Inode, Timestamp, ROOT_INO};
use crate::store::Store;

/// Deepest directory nesting the cycle walk follows before calling the tree corrupt.
const MAX_DEPTH: usize = 4096;

/// renameat2 flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RenameFlags {
    /// Fail with EEXIST instead of replacing the target.
    pub noreplace: bool,
    /// Swap source and target (both must exist).
    pub exchange: bool,
    /// RENAME_WHITEOUT: leave a whiteout (a 0:0 character device, what overlayfs uses to hide
    /// a lower file) at the source name, owned by this uid:gid, in the same transaction.
    pub whiteout: Option<(u32, u32)>,
}

impl RenameFlags {
    /// From the kernel's `RENAME_*` bits; unknown bits are EINVAL, and so are NOREPLACE and
    /// WHITEOUT with EXCHANGE. A whiteout is owned by root until [`RenameFlags::owned_by`].
    pub fn from_bits(bits: u32) -> Result<RenameFlags, FsError> {
        const NOREPLACE: u32 = 1;
        const EXCHANGE: u32 = 2;
        const WHITEOUT: u32 = 4;
        if bits & !(NOREPLACE | EXCHANGE | WHITEOUT) != 0 {
            return Err(FsError::Invalid("unsupported rename flags"));
        }
        let flags = RenameFlags {
            noreplace: bits & NOREPLACE != 0,
            exchange: bits & EXCHANGE != 0,
            whiteout: (bits & WHITEOUT != 0).then_some((0, 0)),
        };
        if flags.exchange && (flags.noreplace || flags.whiteout.is_some()) {
            return Err(FsError::Invalid(
                "RENAME_EXCHANGE with RENAME_NOREPLACE or RENAME_WHITEOUT",
            ));
        }
        Ok(flags)
    }

    /// The same flags, a whiteout (if asked for) owned by `uid:gid`.
    pub fn owned_by(self, uid: u32, gid: u32) -> RenameFlags {
        RenameFlags {
            whiteout: self.whiteout.map(|_| (uid, gid)),
            ..self
        }
    }
}

impl<S: Store> Namespace<S> {
    /// Renames `parent/name` to `new_parent/new_name`.
    pub async fn rename(
        &self,
        parent: u64,
        name: &[u8],
        new_parent: u64,
        new_name: &[u8],
        flags: RenameFlags,
        is_open: IsOpen<'_>,
    ) -> Result<(), FsError> {
        check_name(name)?;
        check_name(new_name)?;
        if flags.exchange && (flags.noreplace || flags.whiteout.is_some()) {
            return Err(FsError::Invalid(
                "RENAME_EXCHANGE with RENAME_NOREPLACE or RENAME_WHITEOUT",
            ));
        }
        // Allocated once: a retry reuses it (its key is guarded on being absent).
        let whiteout = match flags.whiteout {
            Some(owner) => Some((self.alloc.alloc(&self.store, &self.keys).await?, owner)),
            None => None,
        };
        transact!(self, |plan| {
            plan.need_dir(parent).await?;
            plan.need_dir(new_parent).await?;
            let src = plan.entry(parent, name).await?.ok_or(FsError::NotFound)?;
            let dst = plan.entry(new_parent, new_name).await?;
            if parent == new_parent && name == new_name {
                return Ok(());
            }
            match dst {
                Some(_) if flags.noreplace => return Err(FsError::Exists),
                None if flags.exchange => return Err(FsError::NotFound),
                // Two names of one inode: rename does nothing (POSIX).
                Some(d) if d.ino == src.ino => return Ok(()),
                _ => {}
            }
            let now = Timestamp::now();
            if flags.exchange {
                let dst = dst.ok_or(FsError::NotFound)?;
                self.exchange(
                    &mut plan,
                    (parent, name, src),
                    (new_parent, new_name, dst),
                    now,
                )
                .await?;
            } else {
                self.move_over(
                    &mut plan,
                    (parent, name, src),
                    (new_parent, new_name, dst),
                    now,
                    is_open,
                )
                .await?;
                if let Some((ino, (uid, gid))) = whiteout {
                    let node = Inode::new(libc::S_IFCHR, 1, uid, gid, 0, now);
                    plan.put_inode(ino, node);
                    let kind = FileType::CharDevice;
                    plan.set_entry(parent, name, Some(Entry { ino, kind }));
                }
            }
        });
        Ok(())
    }

    /// Plain rename: `src` takes `dst`'s place, dropping the replaced inode's link.
    async fn move_over(
        &self,
        plan: &mut Plan<'_, S>,
        (parent, name, src): (u64, &[u8], Entry),
        (new_parent, new_name, dst): (u64, &[u8], Option<Entry>),
        now: Timestamp,
        is_open: IsOpen<'_>,
    ) -> Result<(), FsError> {
        let src_inode = plan.need_inode(src.ino).await?;
        let src_is_dir = src_inode.is_dir();
        if let Some(d) = dst {
            let dst_inode = plan.need_inode(d.ino).await?;
            match (src_is_dir, dst_inode.is_dir()) {
                (true, false) => return Err(FsError::NotDir),
                (false, true) => return Err(FsError::IsDir),
                (true, true) if !plan.dir_is_empty(d.ino).await? => return Err(FsError::NotEmpty),
                _ => {}
            }
        }
        if src_is_dir && parent != new_parent {
            self.check_no_cycle(plan, src.ino, new_parent).await?;
        }
        plan.set_entry(parent, name, None);
        plan.set_entry(new_parent, new_name, Some(src));
        if let Some(d) = dst {
            let replaced_dir = plan.need_inode(d.ino).await?.is_dir();
            if replaced_dir {
                self.adjust_nlink(plan, new_parent, -1).await?;
            }
            self.drop_link(plan, d.ino, now, is_open).await?;
        }
        let mut src_inode = plan.need_inode(src.ino).await?;
        if src_is_dir && parent != new_parent {
            self.adjust_nlink(plan, parent, -1).await?;
            self.adjust_nlink(plan, new_parent, 1).await?;
            src_inode.parent = new_parent;
        }
        src_inode.ctime = now;
        plan.put_inode(src.ino, src_inode);
        self.touch_dirs(plan, &[parent, new_parent], now).await
    }

    /// RENAME_EXCHANGE: the two names swap inodes.
    async fn exchange(
        &self,
        plan: &mut Plan<'_, S>,
        (parent, name, a): (u64, &[u8], Entry),
        (new_parent, new_name, b): (u64, &[u8], Entry),
        now: Timestamp,
    ) -> Result<(), FsError> {
        let a_dir = plan.need_inode(a.ino).await?.is_dir();
        let b_dir = plan.need_inode(b.ino).await?.is_dir();
        if parent != new_parent {
            if a_dir {
                self.check_no_cycle(plan, a.ino, new_parent).await?;
            }
            if b_dir {
                self.check_no_cycle(plan, b.ino, parent).await?;
            }
        }
        plan.set_entry(parent, name, Some(b));
        plan.set_entry(new_parent, new_name, Some(a));
        if parent != new_parent {
            let moved = i64::from(a_dir) - i64::from(b_dir);
            self.adjust_nlink(plan, parent, -moved).await?;
            self.adjust_nlink(plan, new_parent, moved).await?;
        }
        for (ino, is_dir, dest) in [(a.ino, a_dir, new_parent), (b.ino, b_dir, parent)] {
            let mut inode = plan.need_inode(ino).await?;
            if is_dir {
                inode.parent = dest;
            }
            inode.ctime = now;
            plan.put_inode(ino, inode);
        }
        self.touch_dirs(plan, &[parent, new_parent], now).await
    }

    /// EINVAL if `dir` is `target` or one of its ancestors. Every directory on the way up is
    /// read (and so guarded) through the plan.
    async fn check_no_cycle(
        &self,
        plan: &mut Plan<'_, S>,
        dir: u64,
        target: u64,
    ) -> Result<(), FsError> {
        let mut cur = target;
        for _ in 0..MAX_DEPTH {
            if cur == dir {
                return Err(FsError::Invalid("directory moved under itself"));
            }
            if cur == ROOT_INO {
                return Ok(());
            }
            let inode = plan.need_inode(cur).await?;
            if !inode.is_dir() || inode.parent == 0 {
                return Err(FsError::Corrupt(format!("directory {cur} has no parent")));
            }
            cur = inode.parent;
        }
        Err(FsError::Corrupt(format!("ancestors of {target} loop")))
    }

    async fn adjust_nlink(
        &self,
        plan: &mut Plan<'_, S>,
        dir: u64,
        delta: i64,
    ) -> Result<(), FsError> {
        if delta == 0 {
            return Ok(());
        }
        let mut inode = plan.need_inode(dir).await?;
        inode.nlink = inode
            .nlink
            .checked_add_signed(delta)
            .ok_or_else(|| FsError::Corrupt(format!("nlink of directory {dir}")))?;
        plan.put_inode(dir, inode);
        Ok(())
    }

    async fn touch_dirs(
        &self,
        plan: &mut Plan<'_, S>,
        dirs: &[u64],
        now: Timestamp,
    ) -> Result<(), FsError> {
        for &d in dirs {
            let mut inode = plan.need_inode(d).await?;
            inode.mtime = now;
            inode.ctime = now;
            plan.put_inode(d, inode);
        }
        Ok(())
    }
}
