//! fallocate(2): allocating (mode 0, extending the size; KEEP_SIZE, not), PUNCH_HOLE|KEEP_SIZE
//! and ZERO_RANGE (with or without KEEP_SIZE). Other modes (COLLAPSE_RANGE, INSERT_RANGE,
//! UNSHARE_RANGE, PUNCH_HOLE without KEEP_SIZE) answer EOPNOTSUPP.
//!
//! Allocation marks each hole chunk of the range as stored with an empty value (an empty chunk
//! reads as zeros, like a hole): st_blocks and SEEK_DATA then count it as allocated. etcd cannot
//! reserve space for later writes (every write adds a revision), so allocation promises no
//! room; it costs one small key per 64 KiB. A chunk allocated past the size with KEEP_SIZE sets
//! the inode's `chunks_past_eof`. Allocation runs in transactions of at most [`ALLOC_BATCH`]
//! chunks (etcd bounds the operations of one transaction), each extending the size (mode 0) to
//! the end of its chunks: a crash part-way leaves part of the range allocated and the size part
//! way, both reading as zeros.
//!
//! Punching and zeroing is one transaction: chunks wholly inside the range are deleted with
//! one key range, the (at most two) chunks it covers partly have the range's bytes zeroed.

use super::chunks::chunks_below;
use super::{transact, FsError, Namespace};
use crate::schema::{FileType, Inode, Timestamp, CHUNK_SIZE};
use crate::store::Store;

/// Chunks allocated per transaction (etcd's default limit is 128 operations).
pub const ALLOC_BATCH: u64 = 64;

/// Longest range one fallocate call allocates: 1 GiB (16384 chunk keys); longer is ENOSPC.
pub const MAX_ALLOCATE: u64 = 1 << 30;

const KEEP_SIZE: i32 = 0x01;
const PUNCH_HOLE: i32 = 0x02;
const ZERO_RANGE: i32 = 0x10;

/// The fallocate modes etcdfs implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FallocMode {
    /// Mode 0 (`keep_size: false`) or KEEP_SIZE.
    Allocate { keep_size: bool },
    /// PUNCH_HOLE | KEEP_SIZE.
    PunchHole,
    /// ZERO_RANGE, with or without KEEP_SIZE.
    ZeroRange { keep_size: bool },
}

impl FallocMode {
    /// From fallocate(2)'s `mode` bits; what is not implemented is EOPNOTSUPP.
    pub fn from_bits(mode: i32) -> Result<FallocMode, FsError> {
        let keep_size = mode & KEEP_SIZE != 0;
        match mode & !KEEP_SIZE {
            0 => Ok(FallocMode::Allocate { keep_size }),
            PUNCH_HOLE if keep_size => Ok(FallocMode::PunchHole),
            PUNCH_HOLE => Err(FsError::Unsupported("PUNCH_HOLE without KEEP_SIZE")),
            ZERO_RANGE => Ok(FallocMode::ZeroRange { keep_size }),
            _ => Err(FsError::Unsupported("fallocate mode")),
        }
    }
}

fn need_regular(inode: &Inode) -> Result<(), FsError> {
    match inode.kind() {
        Some(FileType::Regular) => Ok(()),
        Some(FileType::Directory) => Err(FsError::IsDir),
        _ => Err(FsError::Invalid("fallocate of a non-regular file")),
    }
}

impl<S: Store> Namespace<S> {
    /// fallocate(2) on regular file `ino` over `[offset, offset + length)`; returns the new
    /// attributes.
    pub async fn fallocate(
        &self,
        ino: u64,
        offset: u64,
        length: u64,
        mode: FallocMode,
    ) -> Result<Inode, FsError> {
        if length == 0 {
            return Err(FsError::Invalid("fallocate of length 0"));
        }
        let end = offset
            .checked_add(length)
            .filter(|e| *e <= i64::MAX as u64)
            .ok_or(FsError::Invalid("offset overflow"))?;
        match mode {
            FallocMode::Allocate { keep_size } => self.allocate(ino, offset, end, keep_size).await,
            FallocMode::PunchHole => self.zero(ino, offset, end, true).await,
            FallocMode::ZeroRange { keep_size } => self.zero(ino, offset, end, keep_size).await,
        }
    }

    async fn allocate(
        &self,
        ino: u64,
        offset: u64,
        end: u64,
        keep_size: bool,
    ) -> Result<Inode, FsError> {
        if end - offset > MAX_ALLOCATE {
            return Err(FsError::NoSpace("fallocate of more than MAX_ALLOCATE"));
        }
        let chunk = CHUNK_SIZE as u64;
        let (first, last) = (offset / chunk, (end - 1) / chunk);
        let mut from = first;
        loop {
            let to = (from + ALLOC_BATCH).min(last + 1);
            let done = to > last;
            let inode = transact!(self, |plan| {
                let mut inode = plan.need_inode(ino).await?;
                need_regular(&inode)?;
                let stored = self.stored_chunks(ino, from, to).await?;
                let mut added = 0;
                for index in (from..to).filter(|i| !stored.contains(i)) {
                    plan.put_chunk(ino, index, Vec::new());
                    added += 1;
                }
                let now = Timestamp::now();
                // Without KEEP_SIZE the size follows the batches, so no chunk is ever past it.
                let size = end.min(to.saturating_mul(chunk));
                if !keep_size && size > inode.size {
                    inode.size = size;
                    inode.mtime = now;
                }
                if to > chunks_below(inode.size) && added > 0 {
                    inode.chunks_past_eof = true;
                }
                inode.chunks = inode.chunks.map(|n| n + added);
                inode.ctime = now;
                plan.put_inode(ino, inode.clone());
                inode
            });
            if done {
                return Ok(inode);
            }
            from = to;
        }
    }

    /// PUNCH_HOLE (`keep_size`) and ZERO_RANGE: the range reads as zeros afterwards.
    async fn zero(
        &self,
        ino: u64,
        offset: u64,
        end: u64,
        keep_size: bool,
    ) -> Result<Inode, FsError> {
        let chunk = CHUNK_SIZE as u64;
        let inode = transact!(self, |plan| {
            let mut inode = plan.need_inode(ino).await?;
            need_regular(&inode)?;
            // Chunks wholly inside the range go; the partly covered ones are zeroed in place.
            let whole = (offset.div_ceil(chunk), end / chunk);
            if whole.0 < whole.1 {
                let gone = self.stored_chunks(ino, whole.0, whole.1).await?.len() as u64;
                inode.chunks = inode.chunks.map(|n| n.saturating_sub(gone));
                plan.delete_chunk_range(ino, whole.0, whole.1);
            }
            let mut edges = vec![offset / chunk, (end - 1) / chunk];
            edges.dedup();
            for index in edges {
                let at = index * chunk;
                if offset <= at && at + chunk <= end {
                    continue;
                }
                let Some(mut buf) = plan.chunk(ino, index).await? else {
                    continue;
                };
                let lo = (offset.max(at) - at) as usize;
                let hi = ((end.min(at + chunk) - at) as usize).min(buf.len());
                if lo < hi {
                    buf[lo..hi].fill(0);
                    plan.put_chunk(ino, index, buf);
                }
            }
            let now = Timestamp::now();
            if !keep_size && end > inode.size {
                inode.size = end;
            }
            inode.mtime = now;
            inode.ctime = now;
            plan.put_inode(ino, inode.clone());
            inode
        });
        Ok(inode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_from_bits() {
        assert_eq!(
            FallocMode::from_bits(0).unwrap(),
            FallocMode::Allocate { keep_size: false }
        );
        assert_eq!(
            FallocMode::from_bits(KEEP_SIZE).unwrap(),
            FallocMode::Allocate { keep_size: true }
        );
        assert_eq!(
            FallocMode::from_bits(PUNCH_HOLE | KEEP_SIZE).unwrap(),
            FallocMode::PunchHole
        );
        assert_eq!(
            FallocMode::from_bits(ZERO_RANGE | KEEP_SIZE).unwrap(),
            FallocMode::ZeroRange { keep_size: true }
        );
        for bad in [
            PUNCH_HOLE,
            0x08,
            0x20,
            0x40,
            PUNCH_HOLE | ZERO_RANGE | KEEP_SIZE,
        ] {
            assert_eq!(
                FallocMode::from_bits(bad).unwrap_err().errno(),
                libc::EOPNOTSUPP
            );
        }
    }
}
