//! Inode numbers, safe with several daemons on one prefix: each daemon reserves a batch of
//! numbers by one transaction on the `P n` counter (compare its mod_revision, put it + batch),
//! then hands them out locally. A reserved number is never handed out twice, by anyone;
//! numbers left unused when a daemon stops are simply skipped.

use tokio::sync::Mutex;

use super::FsError;
use crate::schema::{varint, Keys};
use crate::store::{Compare, Store, Txn, TxnOp};

/// Numbers reserved per transaction.
const BATCH: u64 = 64;
/// Attempts at reserving a batch against concurrent reservers.
const ATTEMPTS: usize = 64;

/// The local pool of reserved inode numbers.
#[derive(Debug, Default)]
pub(crate) struct InoAllocator {
    pool: Mutex<std::ops::Range<u64>>,
}

impl InoAllocator {
    /// One fresh inode number.
    pub(crate) async fn alloc<S: Store>(&self, store: &S, keys: &Keys) -> Result<u64, FsError> {
        let mut pool = self.pool.lock().await;
        if let Some(ino) = pool.next() {
            return Ok(ino);
        }
        let key = keys.next();
        for _ in 0..ATTEMPTS {
            let kv = store
                .get(&key)
                .await?
                .ok_or_else(|| FsError::Corrupt("no inode counter (tree not formatted?)".into()))?;
            let start = varint::get(&mut kv.value.as_slice())
                .ok_or_else(|| FsError::Corrupt("inode counter value".into()))?;
            let end = start
                .checked_add(BATCH)
                .ok_or_else(|| FsError::Corrupt("inode numbers exhausted".into()))?;
            let mut value = Vec::new();
            varint::put(&mut value, end);
            let txn = Txn {
                compares: vec![Compare::mod_revision(key.clone(), kv.mod_revision)],
                then: vec![TxnOp::Put {
                    key: key.clone(),
                    value,
                    lease: None,
                }],
                otherwise: Vec::new(),
            };
            // The counter only grows: a commit of unknown outcome is decided by its value.
            if super::ambiguous::commit(store, txn).await?.applied() {
                *pool = start + 1..end;
                return Ok(start);
            }
        }
        Err(FsError::Contention(ATTEMPTS))
    }
}
