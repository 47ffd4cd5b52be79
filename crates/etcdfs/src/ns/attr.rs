//! setattr: mode, owner, times and size (truncate) of one inode, as one transaction.
//! Shrinking deletes the chunks past the new size with one key range (chunk keys sort in file
//! order) and trims the last kept chunk, so no stale bytes reappear if the file grows again;
//! the inode's chunk count loses the deleted chunks (counted by key beforehand).

use super::{transact, FsError, Namespace};
use crate::schema::{FileType, Inode, Timestamp, CHUNK_SIZE};
use crate::store::Store;

/// What a setattr changes; `None` leaves the field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SetAttr {
    /// Permission bits (the type bits are kept).
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    /// New size of a regular file.
    pub size: Option<u64>,
    pub atime: Option<Timestamp>,
    pub mtime: Option<Timestamp>,
}

impl<S: Store> Namespace<S> {
    /// Applies `changes` to inode `ino`; returns the new attributes.
    pub async fn setattr(&self, ino: u64, changes: SetAttr) -> Result<Inode, FsError> {
        let chunk = CHUNK_SIZE as u64;
        let inode = transact!(self, |plan| {
            let mut inode = plan.need_inode(ino).await?;
            let now = Timestamp::now();
            if let Some(mode) = changes.mode {
                inode.mode = (inode.mode & libc::S_IFMT) | (mode & 0o7777);
            }
            if let Some(uid) = changes.uid {
                inode.uid = uid;
            }
            if let Some(gid) = changes.gid {
                inode.gid = gid;
            }
            if let Some(size) = changes.size {
                match inode.kind() {
                    Some(FileType::Regular) => {}
                    Some(FileType::Directory) => return Err(FsError::IsDir),
                    _ => return Err(FsError::Invalid("size of a non-regular file")),
                }
                if size < inode.size {
                    let keep = size.div_ceil(chunk);
                    if let Some(n) = inode.chunks {
                        let gone = self.stored_chunks(ino, keep, u64::MAX).await?.len() as u64;
                        inode.chunks = Some(n.saturating_sub(gone));
                    }
                    inode.chunks_past_eof = false;
                    plan.delete_chunks_from(ino, keep);
                    let tail = (size % chunk) as usize;
                    if tail > 0 {
                        let last = size / chunk;
                        if let Some(mut buf) = plan.chunk(ino, last).await? {
                            if buf.len() > tail {
                                buf.truncate(tail);
                                plan.put_chunk(ino, last, buf);
                            }
                        }
                    }
                }
                if size != inode.size {
                    inode.size = size;
                    inode.mtime = now;
                }
            }
            if let Some(t) = changes.atime {
                inode.atime = t;
            }
            if let Some(t) = changes.mtime {
                inode.mtime = t;
            }
            inode.ctime = now;
            plan.put_inode(ino, inode.clone());
            inode
        });
        Ok(inode)
    }
}
