//! File data: a write is one transaction over the chunks it touches (each read and guarded,
//! then rewritten) and the inode (size, mtime); a read gets the chunks it needs, holes read as
//! zeros. Truncation is [`Namespace::setattr`]'s.

use super::{transact, FsError, Namespace};
use crate::schema::{FileType, Inode, Timestamp, CHUNK_SIZE};
use crate::store::Store;

/// Largest write accepted in one call: 16 chunks, well under etcd's 1.5 MiB request limit.
pub const MAX_WRITE: usize = 16 * CHUNK_SIZE;

impl<S: Store> Namespace<S> {
    /// Writes `data` at `offset` of regular file `ino`; returns the new attributes.
    pub async fn write(&self, ino: u64, offset: u64, data: &[u8]) -> Result<Inode, FsError> {
        if data.len() > MAX_WRITE {
            return Err(FsError::Invalid("write larger than MAX_WRITE"));
        }
        let end = offset
            .checked_add(data.len() as u64)
            .ok_or(FsError::Invalid("offset overflow"))?;
        let chunk = CHUNK_SIZE as u64;
        let inode = transact!(self, |plan| {
            let mut inode = plan.need_inode(ino).await?;
            match inode.kind() {
                Some(FileType::Regular) => {}
                Some(FileType::Directory) => return Err(FsError::IsDir),
                _ => return Err(FsError::Invalid("not a regular file")),
            }
            let mut pos = offset;
            while pos < end {
                let index = pos / chunk;
                let within = (pos % chunk) as usize;
                let take = ((chunk - pos % chunk).min(end - pos)) as usize;
                let mut buf = plan.chunk(ino, index).await?.unwrap_or_default();
                if buf.len() < within + take {
                    buf.resize(within + take, 0);
                }
                let from = (pos - offset) as usize;
                buf[within..within + take].copy_from_slice(&data[from..from + take]);
                plan.put_chunk(ino, index, buf);
                pos += take as u64;
            }
            let now = Timestamp::now();
            inode.size = inode.size.max(end);
            inode.mtime = now;
            inode.ctime = now;
            plan.put_inode(ino, inode.clone());
            inode
        });
        Ok(inode)
    }

    /// Reads up to `size` bytes at `offset` of file `ino` (fewer at the end of the file).
    pub async fn read(&self, ino: u64, offset: u64, size: usize) -> Result<Vec<u8>, FsError> {
        let inode = self.getattr(ino).await?;
        if inode.is_dir() {
            return Err(FsError::IsDir);
        }
        let end = inode.size.min(offset.saturating_add(size as u64));
        let mut out = Vec::with_capacity(end.saturating_sub(offset) as usize);
        let chunk = CHUNK_SIZE as u64;
        let mut pos = offset;
        while pos < end {
            let index = pos / chunk;
            let within = (pos % chunk) as usize;
            let take = ((chunk - pos % chunk).min(end - pos)) as usize;
            let data = self
                .store
                .get(&self.keys.chunk(ino, index))
                .await?
                .map(|kv| kv.value)
                .unwrap_or_default();
            let have = data.len().saturating_sub(within).min(take);
            if have > 0 {
                out.extend_from_slice(&data[within..within + have]);
            }
            out.resize(out.len() + (take - have), 0);
            pos += take as u64;
        }
        Ok(out)
    }
}
