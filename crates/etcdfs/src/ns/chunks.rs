//! Which data chunks of a file are stored, from chunk keys alone (no values): the basis of
//! the inode's chunk count (st_blocks), of SEEK_DATA / SEEK_HOLE, and of fallocate.
//!
//! These reads are not guarded key by key: every change of an inode's chunks also rewrites the
//! inode, so a transaction guarded on the inode fails if any chunk changed meanwhile.

use std::collections::BTreeSet;

use super::{FsError, Namespace};
use crate::schema::{ParsedKey, CHUNK_SIZE};
use crate::store::{prefix_end, Store};

/// Chunk keys read per store request.
const PAGE: usize = 1000;

/// lseek(2)'s SEEK_DATA and SEEK_HOLE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeekTo {
    Data,
    Hole,
}

impl<S: Store> Namespace<S> {
    /// SEEK_DATA / SEEK_HOLE from `offset` in regular file `ino`, at chunk granularity: a stored
    /// chunk (written or allocated) is data over its whole 64 KiB, a missing one is a hole, and
    /// the end of the file is a hole. ENXIO ([`FsError::PastEnd`]) at or past the size, or
    /// when no data follows `offset`.
    pub async fn seek(&self, ino: u64, offset: u64, to: SeekTo) -> Result<u64, FsError> {
        let inode = self.getattr(ino).await?;
        if inode.is_dir() {
            return Err(FsError::IsDir);
        }
        if offset >= inode.size {
            return Err(FsError::PastEnd);
        }
        let chunk = CHUNK_SIZE as u64;
        let first = offset / chunk;
        let slots = chunks_below(inode.size);
        let stored = self.stored_chunks(ino, first, slots).await?;
        let found = match to {
            SeekTo::Data => match stored.first() {
                Some(&index) => (index * chunk).max(offset),
                None => return Err(FsError::PastEnd),
            },
            SeekTo::Hole => {
                let hole = (first..slots)
                    .zip(stored.iter().copied().chain(std::iter::repeat(u64::MAX)))
                    .find(|(want, have)| want != have)
                    .map_or(slots, |(index, _)| index);
                (hole.saturating_mul(chunk)).max(offset)
            }
        };
        Ok(found.min(inode.size))
    }

    /// The indexes of the stored chunks of `ino` in `[from, to)` (`to == u64::MAX`: to the
    /// last chunk), in order.
    pub(crate) async fn stored_chunks(
        &self,
        ino: u64,
        from: u64,
        to: u64,
    ) -> Result<BTreeSet<u64>, FsError> {
        let mut out = BTreeSet::new();
        if from >= to {
            return Ok(out);
        }
        let end = if to == u64::MAX {
            prefix_end(&self.keys.chunks(ino))
        } else {
            self.keys.chunk(ino, to)
        };
        let mut start = self.keys.chunk(ino, from);
        loop {
            let page = self.store.range_keys(&start, &end, PAGE, 0).await?;
            for kv in &page.kvs {
                if let Some(ParsedKey::Chunk { index, .. }) = self.keys.parse(&kv.key) {
                    out.insert(index);
                }
            }
            match page.kvs.last() {
                Some(last) if page.more => {
                    start = last.key.clone();
                    start.push(0);
                }
                _ => return Ok(out),
            }
        }
    }
}

/// How many chunk slots the first `size` bytes span: every chunk index from there on starts
/// at or past `size`.
pub(crate) fn chunks_below(size: u64) -> u64 {
    size.div_ceil(CHUNK_SIZE as u64)
}
