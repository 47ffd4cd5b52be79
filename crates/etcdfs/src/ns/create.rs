//! Changes that add a name: format (the root), create/mknod/mkdir/symlink, link.

use super::{check_name, transact, FsError, Namespace};
use crate::schema::{varint, Entry, FileType, Inode, Timestamp, ROOT_INO, SYMLINK_MAX};
use crate::store::{Compare, Store, Txn, TxnOp};

/// What a new inode starts as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNode {
    /// Type and permission bits (`S_IFREG | 0o644`, `S_IFDIR | 0o755`, …).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// Device number of a character or block device.
    pub rdev: u64,
    /// The creator opens it (O_CREAT): the daemon's open record is written with it.
    pub open: bool,
}

impl NewNode {
    /// A node of `mode` owned by `uid:gid`.
    pub fn new(mode: u32, uid: u32, gid: u32) -> NewNode {
        NewNode {
            mode,
            uid,
            gid,
            rdev: 0,
            open: false,
        }
    }
}

impl<S: Store> Namespace<S> {
    /// Creates the root directory and the inode counter if the tree is empty; a no-op on a
    /// formatted tree.
    pub async fn format(&self, uid: u32, gid: u32) -> Result<(), FsError> {
        let now = Timestamp::now();
        let root = Inode {
            parent: ROOT_INO,
            ..Inode::new(libc::S_IFDIR | 0o755, 2, uid, gid, 0, now)
        };
        let mut next = Vec::new();
        varint::put(&mut next, ROOT_INO + 1);
        let (root_key, next_key) = (self.keys.inode(ROOT_INO), self.keys.next());
        let txn = Txn {
            compares: vec![
                Compare::absent(root_key.clone()),
                Compare::absent(next_key.clone()),
            ],
            then: vec![
                TxnOp::Put {
                    key: root_key,
                    value: root.encode(),
                    lease: None,
                },
                TxnOp::Put {
                    key: next_key,
                    value: next,
                    lease: None,
                },
            ],
            otherwise: Vec::new(),
        };
        if self.commit(txn).await? {
            return Ok(());
        }
        match self.getattr(ROOT_INO).await {
            Ok(root) if root.is_dir() => Ok(()),
            Ok(_) => Err(FsError::Corrupt("root is not a directory".into())),
            Err(e) => Err(e),
        }
    }

    /// Creates a regular file, device, fifo, socket or directory named `name` in `parent`
    /// (create, mknod and mkdir are this with different modes).
    pub async fn create(
        &self,
        parent: u64,
        name: &[u8],
        node: NewNode,
    ) -> Result<(u64, Inode), FsError> {
        let kind =
            FileType::from_mode(node.mode).ok_or(FsError::Invalid("mode has no file type"))?;
        if kind == FileType::Symlink {
            return Err(FsError::Invalid("symlinks are made by symlink()"));
        }
        self.create_node(parent, name, node, Vec::new()).await
    }

    /// Creates a directory (mode's type bits are set to S_IFDIR).
    pub async fn mkdir(
        &self,
        parent: u64,
        name: &[u8],
        mode: u32,
        uid: u32,
        gid: u32,
    ) -> Result<(u64, Inode), FsError> {
        let node = NewNode::new(libc::S_IFDIR | (mode & 0o7777), uid, gid);
        self.create_node(parent, name, node, Vec::new()).await
    }

    /// Creates a symlink to `target`.
    pub async fn symlink(
        &self,
        parent: u64,
        name: &[u8],
        target: &[u8],
        uid: u32,
        gid: u32,
    ) -> Result<(u64, Inode), FsError> {
        if target.is_empty() {
            return Err(FsError::NotFound);
        }
        if target.len() > SYMLINK_MAX {
            return Err(FsError::NameTooLong);
        }
        let node = NewNode::new(libc::S_IFLNK | 0o777, uid, gid);
        self.create_node(parent, name, node, target.to_vec()).await
    }

    async fn create_node(
        &self,
        parent: u64,
        name: &[u8],
        node: NewNode,
        target: Vec<u8>,
    ) -> Result<(u64, Inode), FsError> {
        check_name(name)?;
        let is_dir = FileType::from_mode(node.mode) == Some(FileType::Directory);
        // Allocated once: a retry reuses it (its key is guarded on being absent).
        let ino = self.alloc.alloc(&self.store, &self.keys).await?;
        let inode = transact!(self, |plan| {
            let mut dir = plan.need_dir(parent).await?;
            if let Some(existing) = plan.entry(parent, name).await? {
                if existing.ino == ino {
                    // The number is ours alone: an earlier attempt of this very call took
                    // effect though its answer was lost. The change is done.
                    return Ok((ino, plan.need_inode(ino).await?));
                }
                return Err(FsError::Exists);
            }
            let now = Timestamp::now();
            // A setgid directory gives its group to new nodes, and its setgid bit to new
            // directories (as the kernel does for local filesystems).
            let (gid, mode) = if dir.mode & libc::S_ISGID != 0 {
                let mode = if is_dir {
                    node.mode | libc::S_ISGID
                } else {
                    node.mode
                };
                (dir.gid, mode)
            } else {
                (node.gid, node.mode)
            };
            let inode = Inode {
                size: target.len() as u64,
                parent: if is_dir { parent } else { 0 },
                target: target.clone(),
                ..Inode::new(
                    mode,
                    if is_dir { 2 } else { 1 },
                    node.uid,
                    gid,
                    node.rdev,
                    now,
                )
            };
            let kind = inode
                .kind()
                .ok_or(FsError::Invalid("mode has no file type"))?;
            plan.put_inode(ino, inode.clone());
            if let (true, Some(lease)) = (node.open, self.session) {
                plan.put_open(ino, lease);
            }
            plan.set_entry(parent, name, Some(Entry { ino, kind }));
            if is_dir {
                dir.nlink += 1;
            }
            dir.mtime = now;
            dir.ctime = now;
            plan.put_inode(parent, dir);
            inode
        });
        Ok((ino, inode))
    }

    /// Adds the name `name` in `parent` to inode `ino` (not a directory). An inode without
    /// names can be linked only while it is an orphan (an O_TMPFILE file, or an open unlinked
    /// one: the kernel allows the former alone); its orphan key goes in the same transaction.
    pub async fn link(&self, ino: u64, parent: u64, name: &[u8]) -> Result<Inode, FsError> {
        check_name(name)?;
        let inode = transact!(self, |plan| {
            let mut inode = plan.need_inode(ino).await?;
            if inode.is_dir() {
                return Err(FsError::NotPermitted("hard link to a directory"));
            }
            if inode.nlink == 0 {
                let orphan = self.keys.orphan(ino);
                if plan.other(orphan.clone()).await?.is_none() {
                    return Err(FsError::NotFound);
                }
                plan.set_other(orphan, None);
            }
            let mut dir = plan.need_dir(parent).await?;
            if plan.entry(parent, name).await?.is_some() {
                return Err(FsError::Exists);
            }
            let now = Timestamp::now();
            let kind = inode
                .kind()
                .ok_or(FsError::Invalid("mode has no file type"))?;
            plan.set_entry(parent, name, Some(Entry { ino, kind }));
            dir.mtime = now;
            dir.ctime = now;
            plan.put_inode(parent, dir);
            // Re-read: the parent may be the inode itself only for directories, excluded above.
            inode.nlink += 1;
            inode.ctime = now;
            plan.put_inode(ino, inode.clone());
            inode
        });
        Ok(inode)
    }
}
