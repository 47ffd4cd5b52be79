//! The key-value engine behind etcdfs, as a small async trait: point reads, key-range reads with
//! a limit, transactions (compares on version, mod_revision or value, then puts and deletes),
//! watches of a range from a revision, and leases with keep-alive. etcd implements it
//! ([`EtcdStore`]); TiKV or FoundationDB could later, without the schema noticing.
//!
//! Every call of an implementation is bounded by its configured timeout: an unreachable or
//! quorum-less cluster fails a call with [`StoreError::Timeout`] or
//! [`StoreError::Unavailable`] (EIO to the filesystem), never hangs; a full quota fails with
//! [`StoreError::NoSpace`] (ENOSPC). A transaction with writes whose answer was lost (or did not
//! come in time) fails with [`StoreError::Ambiguous`]: it may have been applied. Only waiting on
//! a watch for the next event is unbounded.

mod endpoints;
mod error;
mod etcd;
mod types;

use std::future::Future;

pub use endpoints::parse_endpoints;
pub use error::StoreError;
pub use etcd::{EtcdConfig, EtcdStore, EtcdWatch, StoreStatus};
pub use types::{
    prefix_end, CmpOp, CmpTarget, Compare, Event, EventKind, KeyValue, LeaseId, RangeResult, Txn,
    TxnOp, TxnResult, WatchBatch,
};

/// A key-value engine with etcd v3's data model (revisions, versions, leases).
pub trait Store: Clone + Send + Sync + 'static {
    /// The stream of a [`Store::watch`].
    type Watch: WatchStream;

    /// The newest value of `key`, linearizably read.
    fn get(&self, key: &[u8]) -> impl Future<Output = Result<Option<KeyValue>, StoreError>> + Send;

    /// Keys in `[start, end)` in key order, at most `limit` of them (0: no limit), as of
    /// `revision` (0: the newest; a fixed revision lets a paginated scan see one snapshot).
    fn range(
        &self,
        start: &[u8],
        end: &[u8],
        limit: usize,
        revision: i64,
    ) -> impl Future<Output = Result<RangeResult, StoreError>> + Send;

    /// Like [`Store::range`], with keys and revisions only (values left empty): for scans over
    /// keys whose values may be large (file data).
    fn range_keys(
        &self,
        start: &[u8],
        end: &[u8],
        limit: usize,
        revision: i64,
    ) -> impl Future<Output = Result<RangeResult, StoreError>> + Send;

    /// Runs `txn` atomically: if every compare holds, its `then` ops, else its `otherwise` ops.
    fn txn(&self, txn: Txn) -> impl Future<Output = Result<TxnResult, StoreError>> + Send;

    /// Watches every key in `[start, end)` (use [`prefix_end`] for a prefix), from revision
    /// `from` (0: from now).
    fn watch(
        &self,
        start: &[u8],
        end: &[u8],
        from: i64,
    ) -> impl Future<Output = Result<Self::Watch, StoreError>> + Send;

    /// Grants a lease of `ttl_secs` seconds.
    fn lease_grant(
        &self,
        ttl_secs: i64,
    ) -> impl Future<Output = Result<LeaseId, StoreError>> + Send;

    /// Renews `lease` once; returns its new TTL in seconds, 0 when it has already expired.
    fn lease_keep_alive(
        &self,
        lease: LeaseId,
    ) -> impl Future<Output = Result<i64, StoreError>> + Send;

    /// Revokes `lease`, deleting the keys attached to it.
    fn lease_revoke(&self, lease: LeaseId) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Events of a watch, in revision order.
pub trait WatchStream: Send {
    /// The next batch of events; `None` when the watch ended.
    /// Cancel-safe: dropping the future loses no event.
    fn next(&mut self) -> impl Future<Output = Result<Option<WatchBatch>, StoreError>> + Send;

    /// Asks for a batch without events whose revision says how far the watch has got: every
    /// event up to it has been delivered.
    fn request_progress(&mut self) -> impl Future<Output = Result<(), StoreError>> + Send;
}
