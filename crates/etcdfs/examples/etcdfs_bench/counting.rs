//! A [`Store`] wrapper that counts every call by kind (and the value bytes moved), so the bench
//! can say how many store round trips one filesystem operation costs. Counting is a few relaxed
//! atomic adds per call, far below the cost of one round trip.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use fusekit_etcdfs::store::{
    KeyValue, LeaseId, RangeResult, Store, StoreError, Txn, TxnOp, TxnResult,
};

#[derive(Debug, Default)]
struct Counters {
    get: AtomicU64,
    range: AtomicU64,
    read_bytes: AtomicU64,
    txn: AtomicU64,
    txn_failed: AtomicU64,
    txn_bytes: AtomicU64,
    other: AtomicU64,
}

/// Store calls made, by kind (a snapshot, or the difference of two).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Calls {
    /// Point reads.
    pub get: u64,
    /// Range reads (keys-only ones included).
    pub range: u64,
    /// Value bytes returned by gets and ranges.
    pub read_bytes: u64,
    /// Transactions sent.
    pub txn: u64,
    /// Transactions whose compares failed (a conflict: the caller retries).
    pub txn_failed: u64,
    /// Value bytes put by transactions.
    pub txn_bytes: u64,
    /// Watches and lease calls.
    pub other: u64,
}

impl Calls {
    /// The calls made between `before` and `self`.
    pub fn since(self, before: Calls) -> Calls {
        Calls {
            get: self.get - before.get,
            range: self.range - before.range,
            read_bytes: self.read_bytes - before.read_bytes,
            txn: self.txn - before.txn,
            txn_failed: self.txn_failed - before.txn_failed,
            txn_bytes: self.txn_bytes - before.txn_bytes,
            other: self.other - before.other,
        }
    }

    /// Every request sent to the cluster.
    pub fn round_trips(&self) -> u64 {
        self.get + self.range + self.txn + self.other
    }

    /// One line: the calls per operation for `ops` operations.
    pub fn per_op(&self, ops: u64) -> String {
        let n = ops.max(1) as f64;
        format!(
            "{:.2} store round trips per op ({:.2} get, {:.2} range, {:.2} txn of which {:.3} conflicted)",
            self.round_trips() as f64 / n,
            self.get as f64 / n,
            self.range as f64 / n,
            self.txn as f64 / n,
            self.txn_failed as f64 / n,
        )
    }
}

impl std::ops::AddAssign for Calls {
    fn add_assign(&mut self, b: Calls) {
        self.get += b.get;
        self.range += b.range;
        self.read_bytes += b.read_bytes;
        self.txn += b.txn;
        self.txn_failed += b.txn_failed;
        self.txn_bytes += b.txn_bytes;
        self.other += b.other;
    }
}

/// `S` with every call counted; clones share the counters.
#[derive(Debug, Clone)]
pub struct Counting<S> {
    inner: S,
    counters: Arc<Counters>,
}

impl<S> Counting<S> {
    /// Wraps `inner`.
    pub fn new(inner: S) -> Counting<S> {
        Counting {
            inner,
            counters: Arc::default(),
        }
    }

    /// The counts so far.
    pub fn calls(&self) -> Calls {
        let c = &self.counters;
        Calls {
            get: c.get.load(Relaxed),
            range: c.range.load(Relaxed),
            read_bytes: c.read_bytes.load(Relaxed),
            txn: c.txn.load(Relaxed),
            txn_failed: c.txn_failed.load(Relaxed),
            txn_bytes: c.txn_bytes.load(Relaxed),
            other: c.other.load(Relaxed),
        }
    }

    fn read(&self, bytes: usize) {
        self.counters.read_bytes.fetch_add(bytes as u64, Relaxed);
    }
}

fn range_bytes(r: &Result<RangeResult, StoreError>) -> usize {
    r.as_ref()
        .map_or(0, |r| r.kvs.iter().map(|kv| kv.value.len()).sum())
}

impl<S: Store> Store for Counting<S> {
    type Watch = S::Watch;

    async fn get(&self, key: &[u8]) -> Result<Option<KeyValue>, StoreError> {
        self.counters.get.fetch_add(1, Relaxed);
        let r = self.inner.get(key).await;
        if let Ok(Some(kv)) = &r {
            self.read(kv.value.len());
        }
        r
    }

    async fn range(
        &self,
        start: &[u8],
        end: &[u8],
        limit: usize,
        revision: i64,
    ) -> Result<RangeResult, StoreError> {
        self.counters.range.fetch_add(1, Relaxed);
        let r = self.inner.range(start, end, limit, revision).await;
        self.read(range_bytes(&r));
        r
    }

    async fn range_keys(
        &self,
        start: &[u8],
        end: &[u8],
        limit: usize,
        revision: i64,
    ) -> Result<RangeResult, StoreError> {
        self.counters.range.fetch_add(1, Relaxed);
        self.inner.range_keys(start, end, limit, revision).await
    }

    async fn txn(&self, txn: Txn) -> Result<TxnResult, StoreError> {
        let put: usize = txn
            .then
            .iter()
            .map(|op| match op {
                TxnOp::Put { value, .. } => value.len(),
                _ => 0,
            })
            .sum();
        self.counters.txn.fetch_add(1, Relaxed);
        let r = self.inner.txn(txn).await;
        match &r {
            Ok(t) if t.succeeded => {
                self.counters.txn_bytes.fetch_add(put as u64, Relaxed);
            }
            Ok(_) => {
                self.counters.txn_failed.fetch_add(1, Relaxed);
            }
            Err(_) => {}
        }
        r
    }

    async fn watch(&self, start: &[u8], end: &[u8], from: i64) -> Result<Self::Watch, StoreError> {
        self.counters.other.fetch_add(1, Relaxed);
        self.inner.watch(start, end, from).await
    }

    async fn lease_grant(&self, ttl_secs: i64) -> Result<LeaseId, StoreError> {
        self.counters.other.fetch_add(1, Relaxed);
        self.inner.lease_grant(ttl_secs).await
    }

    async fn lease_keep_alive(&self, lease: LeaseId) -> Result<i64, StoreError> {
        self.counters.other.fetch_add(1, Relaxed);
        self.inner.lease_keep_alive(lease).await
    }

    async fn lease_revoke(&self, lease: LeaseId) -> Result<(), StoreError> {
        self.counters.other.fetch_add(1, Relaxed);
        self.inner.lease_revoke(lease).await
    }
}
