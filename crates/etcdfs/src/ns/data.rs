//! File data: a write is one transaction over the chunks it touches (a partly written chunk is
//! read and guarded, a wholly written one just replaced) and the inode (size, mtime); a read
//! takes the inode and its chunks from one store revision, holes read as zeros. Truncation is
//! [`Namespace::setattr`]'s. A write counts the chunks it adds in the inode (st_blocks): a
//! partly written chunk is read anyway, wholly written ones are looked up by key only.

use super::chunks::chunks_below;
use super::{transact, FsError, Namespace};
use crate::schema::{FileType, Inode, ParsedKey, Timestamp, CHUNK_SIZE};
use crate::store::Store;

/// Largest write accepted in one call: 16 chunks, well under etcd's 1.5 MiB request limit.
pub const MAX_WRITE: usize = 16 * CHUNK_SIZE;

impl<S: Store> Namespace<S> {
    /// Writes `data` at `offset` of regular file `ino`; returns the new attributes.
    pub async fn write(&self, ino: u64, offset: u64, data: &[u8]) -> Result<Inode, FsError> {
        Ok(self.write_at(ino, Some(offset), data).await?.0)
    }

    /// Appends `data` at the end of regular file `ino` as the store has it (not as any
    /// kernel's cached size says: appends from several hosts never overwrite each other);
    /// returns the new attributes and the offset written at.
    pub async fn append(&self, ino: u64, data: &[u8]) -> Result<(Inode, u64), FsError> {
        self.write_at(ino, None, data).await
    }

    /// Writes `data` at `offset` (`None`: at the end of the file).
    async fn write_at(
        &self,
        ino: u64,
        at: Option<u64>,
        data: &[u8],
    ) -> Result<(Inode, u64), FsError> {
        if data.len() > MAX_WRITE {
            return Err(FsError::Invalid("write larger than MAX_WRITE"));
        }
        let chunk = CHUNK_SIZE as u64;
        let written = transact!(self, |plan| {
            let mut inode = plan.need_inode(ino).await?;
            match inode.kind() {
                Some(FileType::Regular) => {}
                Some(FileType::Directory) => return Err(FsError::IsDir),
                _ => return Err(FsError::Invalid("not a regular file")),
            }
            let offset = at.unwrap_or(inode.size);
            let end = offset
                .checked_add(data.len() as u64)
                .ok_or(FsError::Invalid("offset overflow"))?;
            // Whole chunks replaced without reading them: which of them were stored, for the
            // chunk count. None starts at or past the size unless fallocate put one there.
            let slots = if inode.chunks_past_eof {
                u64::MAX
            } else {
                chunks_below(inode.size)
            };
            let whole = (offset.div_ceil(chunk), end / chunk);
            let replaced = if inode.chunks.is_some() {
                self.stored_chunks(ino, whole.0, whole.1.min(slots)).await?
            } else {
                Default::default()
            };
            let mut added = 0;
            let mut pos = offset;
            while pos < end {
                let index = pos / chunk;
                let at = index * chunk;
                let within = (pos - at) as usize;
                let take = ((chunk - pos % chunk).min(end - pos)) as usize;
                let from = (pos - offset) as usize;
                let buf = if within == 0 && take == CHUNK_SIZE {
                    // A whole chunk: nothing of the old one survives, no need to read it.
                    added += u64::from(!replaced.contains(&index));
                    data[from..from + take].to_vec()
                } else {
                    let old = plan.chunk(ino, index).await?;
                    added += u64::from(old.is_none());
                    let mut buf = old.unwrap_or_default();
                    // Bytes at or past the old size read as zeros whatever a chunk holds.
                    buf.truncate(inode.size.saturating_sub(at).min(chunk) as usize);
                    if buf.len() < within + take {
                        buf.resize(within + take, 0);
                    }
                    buf[within..within + take].copy_from_slice(&data[from..from + take]);
                    buf
                };
                plan.put_chunk(ino, index, buf);
                pos += take as u64;
            }
            let now = Timestamp::now();
            inode.size = inode.size.max(end);
            inode.chunks = inode.chunks.map(|n| n + added);
            inode.mtime = now;
            inode.ctime = now;
            plan.put_inode(ino, inode.clone());
            (inode, offset)
        });
        Ok(written)
    }

    /// Reads up to `size` bytes at `offset` of file `ino` (fewer at the end of the file).
    pub async fn read(&self, ino: u64, offset: u64, size: usize) -> Result<Vec<u8>, FsError> {
        Ok(self.read_snapshot(ino, offset, size).await?.0)
    }

    /// Like [`Namespace::read`], also returning the inode read: the inode and the chunks come
    /// from one revision of the store (two requests), so a concurrent write is seen whole or
    /// not at all.
    pub async fn read_snapshot(
        &self,
        ino: u64,
        offset: u64,
        size: usize,
    ) -> Result<(Vec<u8>, Inode), FsError> {
        let inode_key = self.keys.inode(ino);
        let mut after = inode_key.clone();
        after.push(0);
        let got = self.store.range(&inode_key, &after, 1, 0).await?;
        let kv = got.kvs.first().ok_or(FsError::NotFound)?;
        let inode = Inode::decode(&kv.value)
            .ok_or_else(|| FsError::Corrupt(format!("inode {ino} record")))?;
        if inode.is_dir() {
            return Err(FsError::IsDir);
        }
        let end = inode.size.min(offset.saturating_add(size as u64));
        if end <= offset {
            return Ok((Vec::new(), inode));
        }
        let chunk = CHUNK_SIZE as u64;
        let mut out = vec![0u8; (end - offset) as usize];
        let (first, last) = (offset / chunk, (end - 1) / chunk);
        let chunks = self
            .store
            .range(
                &self.keys.chunk(ino, first),
                &self.keys.chunk(ino, last + 1),
                0,
                got.revision,
            )
            .await?;
        for kv in chunks.kvs {
            let Some(ParsedKey::Chunk { index, .. }) = self.keys.parse(&kv.key) else {
                continue;
            };
            copy_overlap(&mut out, offset, index * chunk, &kv.value);
        }
        Ok((out, inode))
    }
}

/// Copies the part of `chunk` (holding the file's bytes from offset `at`) that falls into
/// `out` (which holds the file's bytes from offset `start`).
fn copy_overlap(out: &mut [u8], start: u64, at: u64, chunk: &[u8]) {
    let lo = start.max(at);
    let hi = (start + out.len() as u64).min(at + chunk.len() as u64);
    if lo >= hi {
        return;
    }
    let dst = (lo - start) as usize..(hi - start) as usize;
    let src = (lo - at) as usize..(hi - at) as usize;
    out[dst].copy_from_slice(&chunk[src]);
}

#[cfg(test)]
mod tests {
    use super::copy_overlap;

    #[test]
    fn overlap_copies_only_the_shared_bytes() {
        let mut out = vec![0u8; 8];
        copy_overlap(&mut out, 10, 6, &[1, 2, 3, 4, 5, 6]); // chunk covers 6..12
        assert_eq!(out, [5, 6, 0, 0, 0, 0, 0, 0]);
        let mut out = vec![0u8; 4];
        copy_overlap(&mut out, 0, 2, &[9, 9, 9, 9, 9]); // covers 2..7
        assert_eq!(out, [0, 0, 9, 9]);
        let mut out = vec![7u8; 2];
        copy_overlap(&mut out, 0, 5, &[1]); // disjoint
        assert_eq!(out, [7, 7]);
    }
}
