//! [`Store`] on etcd v3 through the `etcd-client` crate. Every call is bounded as a whole by
//! the configured deadline (`tokio::time::timeout`, on top of the gRPC deadline the client
//! sets), so a stopped or quorum-less cluster fails calls in bounded time; the same client works
//! again once the cluster does. Requests that never reached a member are retried within the
//! deadline (see `EtcdStore::call`); a write that may have reached one and got no answer fails
//! with [`StoreError::Ambiguous`], for `ns` to resolve.
//!
//! # How the client fails over (etcd-client 0.21 on tonic 0.14; read in their source, measured
//! with `tests/mount_faults.rs` on a 3-member etcd 3.4 cluster on loopback)
//!
//! - `Client::connect` puts every endpoint (even a single one) into tonic's balanced channel:
//!   tower's power-of-two-choices balancer (by requests in flight) over one lazily connected
//!   HTTP/2 connection per endpoint. There is no health check and no ejection: an endpoint
//!   stays in the set until `Client::remove_endpoint`, whatever state its member is in.
//! - A killed member's endpoint keeps being picked (with nothing in flight it even looks the
//!   least loaded); each request routed to it fails at once, before anything is sent, with
//!   status Unavailable "tcp connect error" and a `tonic::ConnectError` in the status's source
//!   chain. That is the only failure known to be unsent; those requests are retried here.
//! - A request in flight on the connection of a member killed -9 fails at once with "transport
//!   error" (Unknown; the connection was reset) or an HTTP/2 error: for a write, ambiguous.
//! - A write proposed through a follower whose leader dies can be lost inside etcd: the call
//!   then waits for its deadline (the gRPC timeout, set to the store timeout, answers
//!   Cancelled "Timeout expired"). Measured: while the leader was killed -9 during a mixed
//!   workload, the slowest call took 3.2 to 5.8 s with a 5 s store timeout (six runs); most
//!   calls stayed under 1.2 s. etcd also answers "etcdserver: leader changed" (Unavailable) while a
//!   new leader takes over.
//! - A SIGSTOPped member accepts TCP connections (the kernel's backlog) and answers nothing:
//!   requests routed to it, and linearizable reads on a member without quorum, run into the
//!   deadline. Measured with two of three members stopped and a 2 s store timeout: every
//!   request failed after 1.97 to 2.01 s (EIO). After SIGCONT the same client and connections
//!   served again at once: the first call after SIGCONT succeeded, in 0.1 to 0.6 s (four
//!   runs), without reconnecting by hand.

use std::time::{Duration, Instant};

use etcd_client::{
    Client, Compare as EtcdCompare, CompareOp, ConnectOptions, DeleteOptions, EventType,
    GetOptions, PutOptions, Txn as EtcdTxn, TxnOp as EtcdTxnOp, WatchOptions,
};

use super::types::{CmpOp, CmpTarget, Event, EventKind, KeyValue, LeaseId, RangeResult};
use super::{parse_endpoints, Store, StoreError, Txn, TxnOp, TxnResult, WatchBatch, WatchStream};

/// How to reach the cluster.
#[derive(Debug, Clone)]
pub struct EtcdConfig {
    /// Comma-separated `host:port` or `http://host:port`.
    pub endpoints: String,
    /// Bound of every call (default 5 s).
    pub timeout: Duration,
}

impl EtcdConfig {
    /// A config with the default timeout.
    pub fn new(endpoints: impl Into<String>) -> EtcdConfig {
        EtcdConfig {
            endpoints: endpoints.into(),
            timeout: Duration::from_secs(5),
        }
    }

    /// Sets the bound of every call.
    pub fn timeout(mut self, timeout: Duration) -> EtcdConfig {
        self.timeout = timeout;
        self
    }
}

/// Sizes and revision of the member that answered a status call.
#[derive(Debug, Clone, Copy)]
pub struct StoreStatus {
    /// Physical size of the backend database file.
    pub db_size: i64,
    /// Bytes of the database file in use (what grows with data, before compaction).
    pub db_size_in_use: i64,
    /// Current store revision.
    pub revision: i64,
}

/// The etcd implementation of [`Store`]; cheap to clone (clones share connections).
#[derive(Clone)]
pub struct EtcdStore {
    client: Client,
    timeout: Duration,
}

impl std::fmt::Debug for EtcdStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtcdStore")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl EtcdStore {
    /// Connects and checks that at least one endpoint answers; otherwise fails with one line
    /// naming every endpoint tried.
    pub async fn connect(config: &EtcdConfig) -> Result<EtcdStore, StoreError> {
        let endpoints = parse_endpoints(&config.endpoints)?;
        let named = endpoints.join(", ");
        let fail = |reason: String| StoreError::Connect {
            endpoints: named.clone(),
            reason,
        };
        let options = ConnectOptions::new()
            .with_timeout(config.timeout)
            .with_connect_timeout(config.timeout)
            .with_keep_alive(Duration::from_secs(2), config.timeout);
        let client =
            tokio::time::timeout(config.timeout, Client::connect(&endpoints, Some(options)))
                .await
                .map_err(|_| fail(format!("no answer within {:?}", config.timeout)))?
                .map_err(|e| fail(one_line(&e.to_string())))?;
        let store = EtcdStore {
            client,
            timeout: config.timeout,
        };
        // The channel connects lazily: prove that some endpoint answers.
        store
            .status()
            .await
            .map_err(|e| fail(one_line(&e.to_string())))?;
        Ok(store)
    }

    /// Status of whichever member answers.
    pub async fn status(&self) -> Result<StoreStatus, StoreError> {
        let c = self.client.clone();
        let r = self
            .call(true, || {
                let mut c = c.clone();
                async move { c.status().await }
            })
            .await?;
        Ok(StoreStatus {
            db_size: r.db_size(),
            db_size_in_use: r.raft_used_db_size(),
            revision: r.header().map_or(0, |h| h.revision()),
        })
    }

    /// The remaining TTL of `lease` in seconds, `None` when it expired or never existed.
    pub async fn lease_ttl(&self, lease: LeaseId) -> Result<Option<i64>, StoreError> {
        let c = self.client.clone();
        let r = self
            .call(true, || {
                let mut c = c.clone();
                async move { c.lease_time_to_live(lease.0, None).await }
            })
            .await?;
        Ok((r.ttl() > 0).then_some(r.ttl()))
    }

    async fn range_with(
        &self,
        start: &[u8],
        end: &[u8],
        limit: usize,
        revision: i64,
        keys_only: bool,
    ) -> Result<RangeResult, StoreError> {
        let c = self.client.clone();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let (start, end) = (start.to_vec(), end.to_vec());
        let r = self
            .call(true, || {
                let (mut c, start) = (c.clone(), start.clone());
                let mut opts = GetOptions::new()
                    .with_range(end.clone())
                    .with_limit(limit)
                    .with_revision(revision);
                if keys_only {
                    opts = opts.with_keys_only();
                }
                async move { c.get(start, Some(opts)).await }
            })
            .await?;
        Ok(RangeResult {
            kvs: r.kvs().iter().map(convert_kv).collect(),
            more: r.more(),
            revision: r.header().map_or(0, |h| h.revision()),
        })
    }

    /// Runs one call made by `make`, bounded by the timeout as a whole. A failure that says
    /// the request never reached a member (a refused connection to a dead member, which the
    /// balanced channel may still pick) is retried within the deadline; so is any transport
    /// failure of an `idempotent` call (reads). A write that may have reached the cluster is
    /// never resent: it fails with [`StoreError::Ambiguous`] (also when it timed out), and its
    /// outcome is the caller's to find out. Each attempt's future is boxed: the client's futures are large, and inline
    /// they would make every future built on the store large too.
    async fn call<T, F, Fut>(&self, idempotent: bool, mut make: F) -> Result<T, StoreError>
    where
        F: FnMut() -> Fut + Send,
        Fut: std::future::Future<Output = Result<T, etcd_client::Error>> + Send + 'static,
        T: Send,
    {
        let deadline = Instant::now() + self.timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let attempt = Box::pin(make());
            let err = match tokio::time::timeout(left, attempt).await {
                Ok(Ok(v)) => return Ok(v),
                Ok(Err(e)) => e,
                // A write without an answer may still have been applied.
                Err(_) if !idempotent => {
                    return Err(StoreError::Ambiguous(format!(
                        "no answer within {:?}",
                        self.timeout
                    )))
                }
                Err(_) => return Err(StoreError::Timeout(self.timeout)),
            };
            if !retryable(&err, idempotent) || Instant::now() + RETRY_PAUSE >= deadline {
                if !idempotent && maybe_applied(&err) {
                    return Err(StoreError::Ambiguous(one_line(&err.to_string())));
                }
                return Err(err.into());
            }
            tracing::debug!("etcd call failed, retrying: {err}");
            tokio::time::sleep(RETRY_PAUSE).await;
        }
    }
}

/// Pause between attempts of a retried call.
const RETRY_PAUSE: Duration = Duration::from_millis(50);

/// Whether `e` allows another attempt (see [`EtcdStore::call`]).
fn retryable(e: &etcd_client::Error, idempotent: bool) -> bool {
    use etcd_client::Error as E;
    match e {
        E::TransportError(_) => true,
        E::GRpcStatus(s) => never_sent(s) || (idempotent && transient(s)),
        E::IoError(_) => idempotent,
        _ => false,
    }
}

/// The request never left this process: the balanced channel picked an endpoint it could not
/// connect to (tonic then reports a `ConnectError` in the status's source chain). Only this
/// lets a write be resent; a message test would not do ("connection reset" names a connection
/// too, and a reset request may have been applied).
fn never_sent(s: &tonic::Status) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(s);
    while let Some(e) = cause {
        if e.is::<tonic::ConnectError>() {
            return true;
        }
        cause = e.source();
    }
    false
}

/// A failure of the transport or of the cluster's availability, not a refusal of the request
/// itself: worth another attempt for a read.
fn transient(s: &tonic::Status) -> bool {
    matches!(
        s.code(),
        tonic::Code::Unavailable
            | tonic::Code::Unknown
            | tonic::Code::Cancelled
            | tonic::Code::Internal
            | tonic::Code::Aborted
    ) && !s.message().contains("database space exceeded")
}

/// A failed write that may nevertheless have been applied: the connection broke or the
/// cluster gave up waiting after the request may have reached a member (etcd's own "request
/// timed out" and "leader changed" are documented as ambiguous too). A full quota is checked
/// before a write is proposed, so it is a certain refusal.
fn maybe_applied(e: &etcd_client::Error) -> bool {
    use etcd_client::Error as E;
    match e {
        E::GRpcStatus(s) => {
            !never_sent(s) && (transient(s) || s.code() == tonic::Code::DeadlineExceeded)
        }
        E::IoError(_) => true,
        _ => false,
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn convert_kv(kv: &etcd_client::KeyValue) -> KeyValue {
    KeyValue {
        key: kv.key().to_vec(),
        value: kv.value().to_vec(),
        create_revision: kv.create_revision(),
        mod_revision: kv.mod_revision(),
        version: kv.version(),
        lease: (kv.lease() != 0).then_some(LeaseId(kv.lease())),
    }
}

fn convert_txn(txn: Txn) -> EtcdTxn {
    let compares: Vec<EtcdCompare> = txn
        .compares
        .into_iter()
        .map(|c| {
            let op = match c.op {
                CmpOp::Equal => CompareOp::Equal,
                CmpOp::NotEqual => CompareOp::NotEqual,
                CmpOp::Less => CompareOp::Less,
                CmpOp::Greater => CompareOp::Greater,
            };
            match c.target {
                CmpTarget::Version(v) => EtcdCompare::version(c.key, op, v),
                CmpTarget::ModRevision(r) => EtcdCompare::mod_revision(c.key, op, r),
                CmpTarget::Value(v) => EtcdCompare::value(c.key, op, v),
            }
        })
        .collect();
    let ops = |ops: Vec<TxnOp>| -> Vec<EtcdTxnOp> {
        ops.into_iter()
            .map(|op| match op {
                TxnOp::Put { key, value, lease } => {
                    EtcdTxnOp::put(key, value, lease.map(|l| PutOptions::new().with_lease(l.0)))
                }
                TxnOp::Delete { key } => EtcdTxnOp::delete(key, None),
                TxnOp::DeleteRange { start, end } => {
                    EtcdTxnOp::delete(start, Some(DeleteOptions::new().with_range(end)))
                }
            })
            .collect()
    };
    EtcdTxn::new()
        .when(compares)
        .and_then(ops(txn.then))
        .or_else(ops(txn.otherwise))
}

impl Store for EtcdStore {
    type Watch = EtcdWatch;

    async fn get(&self, key: &[u8]) -> Result<Option<KeyValue>, StoreError> {
        let c = self.client.clone();
        let key = key.to_vec();
        let r = self
            .call(true, || {
                let (mut c, key) = (c.clone(), key.clone());
                async move { c.get(key, None).await }
            })
            .await?;
        Ok(r.kvs().first().map(convert_kv))
    }

    async fn range(
        &self,
        start: &[u8],
        end: &[u8],
        limit: usize,
        revision: i64,
    ) -> Result<RangeResult, StoreError> {
        self.range_with(start, end, limit, revision, false).await
    }

    async fn range_keys(
        &self,
        start: &[u8],
        end: &[u8],
        limit: usize,
        revision: i64,
    ) -> Result<RangeResult, StoreError> {
        self.range_with(start, end, limit, revision, true).await
    }

    async fn txn(&self, txn: Txn) -> Result<TxnResult, StoreError> {
        let c = self.client.clone();
        // Without writes a transaction is a read: safe to resend.
        let read_only = txn.then.is_empty() && txn.otherwise.is_empty();
        let txn = convert_txn(txn);
        let r = self
            .call(read_only, || {
                let (mut c, txn) = (c.clone(), txn.clone());
                async move { c.txn(txn).await }
            })
            .await?;
        Ok(TxnResult {
            succeeded: r.succeeded(),
            revision: r.header().map_or(0, |h| h.revision()),
        })
    }

    async fn watch(&self, start: &[u8], end: &[u8], from: i64) -> Result<EtcdWatch, StoreError> {
        let c = self.client.clone();
        let mut opts = WatchOptions::new().with_range(end.to_vec());
        if from > 0 {
            opts = opts.with_start_revision(from);
        }
        let prefix = start.to_vec();
        let stream = self
            .call(true, || {
                let (mut c, prefix, opts) = (c.clone(), prefix.clone(), opts.clone());
                async move { c.watch(prefix, Some(opts)).await }
            })
            .await?;
        Ok(EtcdWatch { stream })
    }

    async fn lease_grant(&self, ttl_secs: i64) -> Result<LeaseId, StoreError> {
        let c = self.client.clone();
        let r = self
            .call(false, || {
                let mut c = c.clone();
                async move { c.lease_grant(ttl_secs, None).await }
            })
            .await?;
        Ok(LeaseId(r.id()))
    }

    async fn lease_keep_alive(&self, lease: LeaseId) -> Result<i64, StoreError> {
        let c = self.client.clone();
        let r = self
            .call(true, || {
                let mut c = c.clone();
                async move {
                    let (mut keeper, mut stream) = c.lease_keep_alive(lease.0).await?;
                    keeper.keep_alive().await?;
                    let answer = stream.message().await?;
                    Ok::<_, etcd_client::Error>(answer.map_or(0, |a| a.ttl().max(0)))
                }
            })
            .await;
        match r {
            Err(StoreError::LeaseNotFound) => Ok(0),
            other => other,
        }
    }

    async fn lease_revoke(&self, lease: LeaseId) -> Result<(), StoreError> {
        let c = self.client.clone();
        self.call(true, || {
            let mut c = c.clone();
            async move { c.lease_revoke(lease.0).await }
        })
        .await
        .map(|_| ())
    }
}

/// A watch on etcd; dropping it cancels the watch.
pub struct EtcdWatch {
    stream: etcd_client::WatchStream,
}

impl std::fmt::Debug for EtcdWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtcdWatch").finish_non_exhaustive()
    }
}

impl WatchStream for EtcdWatch {
    async fn request_progress(&mut self) -> Result<(), StoreError> {
        self.stream
            .request_progress()
            .await
            .map_err(StoreError::from)
    }

    async fn next(&mut self) -> Result<Option<WatchBatch>, StoreError> {
        loop {
            let Some(r) = self.stream.message().await.map_err(StoreError::from)? else {
                return Ok(None);
            };
            if r.compact_revision() > 0 {
                return Err(StoreError::Compacted(r.compact_revision()));
            }
            if r.canceled() {
                return Err(StoreError::Other(format!(
                    "watch canceled: {}",
                    r.cancel_reason()
                )));
            }
            if r.created() && r.events().is_empty() {
                continue;
            }
            let events = r
                .events()
                .iter()
                .filter_map(|e| {
                    let kind = match e.event_type() {
                        EventType::Put => EventKind::Put,
                        EventType::Delete => EventKind::Delete,
                    };
                    e.kv().map(|kv| Event {
                        kind,
                        kv: convert_kv(kv),
                    })
                })
                .collect();
            return Ok(Some(WatchBatch {
                revision: r.header().map_or(0, |h| h.revision()),
                events,
            }));
        }
    }
}
