//! Changes that remove a name: unlink, rmdir, and dropping the link of an inode (shared with
//! rename over an existing target).

use super::plan::Plan;
use super::{check_name, transact, FsError, Namespace};
use crate::schema::Timestamp;
use crate::store::Store;

/// Answers whether the daemon holds inode `ino` open (its handle table).
pub type IsOpen<'a> = &'a (dyn Fn(u64) -> bool + Sync);

impl<S: Store> Namespace<S> {
    /// Removes the name `name` (not a directory) from `parent`.
    pub async fn unlink(
        &self,
        parent: u64,
        name: &[u8],
        is_open: IsOpen<'_>,
    ) -> Result<(), FsError> {
        self.remove(parent, name, false, is_open).await
    }

    /// Removes the empty directory `name` from `parent`.
    pub async fn rmdir(
        &self,
        parent: u64,
        name: &[u8],
        is_open: IsOpen<'_>,
    ) -> Result<(), FsError> {
        self.remove(parent, name, true, is_open).await
    }

    async fn remove(
        &self,
        parent: u64,
        name: &[u8],
        want_dir: bool,
        is_open: IsOpen<'_>,
    ) -> Result<(), FsError> {
        check_name(name)?;
        transact!(self, |plan| {
            let mut dir = plan.need_dir(parent).await?;
            let entry = plan.entry(parent, name).await?.ok_or(FsError::NotFound)?;
            let child = plan.need_inode(entry.ino).await?;
            match (want_dir, child.is_dir()) {
                (false, true) => return Err(FsError::IsDir),
                (true, false) => return Err(FsError::NotDir),
                (true, true) if !plan.dir_is_empty(entry.ino).await? => {
                    return Err(FsError::NotEmpty)
                }
                _ => {}
            }
            let now = Timestamp::now();
            plan.set_entry(parent, name, None);
            if child.is_dir() {
                dir.nlink -= 1;
            }
            dir.mtime = now;
            dir.ctime = now;
            plan.put_inode(parent, dir);
            self.drop_link(&mut plan, entry.ino, now, is_open).await?;
        });
        Ok(())
    }

    /// Takes one link away from `ino` (whose entry the caller removes): the inode is rewritten,
    /// kept as an orphan if it was the last link of an inode open here or on another host, or
    /// deleted with its data.
    pub(crate) async fn drop_link(
        &self,
        plan: &mut Plan<'_, S>,
        ino: u64,
        now: Timestamp,
        is_open: IsOpen<'_>,
    ) -> Result<(), FsError> {
        let mut inode = plan.need_inode(ino).await?;
        // A directory has one name; losing it also ends its "." link.
        inode.nlink = if inode.is_dir() {
            0
        } else {
            inode.nlink.saturating_sub(1)
        };
        inode.ctime = now;
        if inode.nlink > 0 {
            plan.put_inode(ino, inode);
            return Ok(());
        }
        // Kept while anyone holds it open: this daemon (its handle table), or another
        // daemon (its open record); the orphan names the session that deletes it at its
        // last close (or hands it to another holder).
        let holder = match self.session {
            Some(lease) if is_open(ino) => Some(lease),
            own => plan.other_holders(ino, own).await?.first().copied(),
        };
        match holder {
            Some(lease) => {
                plan.put_inode(ino, inode);
                plan.put_orphan(ino, lease).await?;
            }
            None => plan.delete_inode(ino),
        }
        Ok(())
    }
}
