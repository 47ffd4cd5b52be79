//! [`Store`] on etcd v3 through the `etcd-client` crate. Every call runs under
//! `tokio::time::timeout` with the configured deadline (on top of the gRPC deadline the client
//! sets), so a stopped or quorum-less cluster fails calls in bounded time; the same client works
//! again once the cluster does.

use std::time::Duration;

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
        let mut c = self.client.clone();
        let r = self.bounded(c.status()).await?;
        Ok(StoreStatus {
            db_size: r.db_size(),
            db_size_in_use: r.raft_used_db_size(),
            revision: r.header().map_or(0, |h| h.revision()),
        })
    }

    /// The remaining TTL of `lease` in seconds, `None` when it expired or never existed.
    pub async fn lease_ttl(&self, lease: LeaseId) -> Result<Option<i64>, StoreError> {
        let mut c = self.client.clone();
        let r = self.bounded(c.lease_time_to_live(lease.0, None)).await?;
        Ok((r.ttl() > 0).then_some(r.ttl()))
    }

    /// Bounds `fut` by the timeout. The client's future is boxed at once: its state is large,
    /// and leaving it inline would make every future built on the store's calls large too.
    fn bounded<'f, T: 'f>(
        &self,
        fut: impl std::future::Future<Output = Result<T, etcd_client::Error>> + Send + 'f,
    ) -> impl std::future::Future<Output = Result<T, StoreError>> + Send + 'f {
        let timeout = self.timeout;
        let fut = Box::pin(fut);
        async move {
            match tokio::time::timeout(timeout, fut).await {
                Ok(r) => r.map_err(StoreError::from),
                Err(_) => Err(StoreError::Timeout(timeout)),
            }
        }
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
        let mut c = self.client.clone();
        let r = self.bounded(c.get(key, None)).await?;
        Ok(r.kvs().first().map(convert_kv))
    }

    async fn range(
        &self,
        start: &[u8],
        end: &[u8],
        limit: usize,
        revision: i64,
    ) -> Result<RangeResult, StoreError> {
        let mut c = self.client.clone();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let opts = GetOptions::new()
            .with_range(end)
            .with_limit(limit)
            .with_revision(revision);
        let r = self.bounded(c.get(start, Some(opts))).await?;
        Ok(RangeResult {
            kvs: r.kvs().iter().map(convert_kv).collect(),
            more: r.more(),
            revision: r.header().map_or(0, |h| h.revision()),
        })
    }

    async fn txn(&self, txn: Txn) -> Result<TxnResult, StoreError> {
        let mut c = self.client.clone();
        let r = self.bounded(c.txn(convert_txn(txn))).await?;
        Ok(TxnResult {
            succeeded: r.succeeded(),
            revision: r.header().map_or(0, |h| h.revision()),
        })
    }

    async fn watch(&self, prefix: &[u8], from: i64) -> Result<EtcdWatch, StoreError> {
        let mut c = self.client.clone();
        let mut opts = WatchOptions::new().with_prefix();
        if from > 0 {
            opts = opts.with_start_revision(from);
        }
        let stream = self.bounded(c.watch(prefix, Some(opts))).await?;
        Ok(EtcdWatch { stream })
    }

    async fn lease_grant(&self, ttl_secs: i64) -> Result<LeaseId, StoreError> {
        let mut c = self.client.clone();
        let r = self.bounded(c.lease_grant(ttl_secs, None)).await?;
        Ok(LeaseId(r.id()))
    }

    async fn lease_keep_alive(&self, lease: LeaseId) -> Result<i64, StoreError> {
        let mut c = self.client.clone();
        let timeout = self.timeout;
        let once = Box::pin(async move {
            let (mut keeper, mut stream) = c.lease_keep_alive(lease.0).await?;
            keeper.keep_alive().await?;
            let answer = stream.message().await?;
            Ok::<_, etcd_client::Error>(answer.map_or(0, |a| a.ttl().max(0)))
        });
        match tokio::time::timeout(timeout, once).await {
            Ok(r) => match r.map_err(StoreError::from) {
                Err(StoreError::LeaseNotFound) => Ok(0),
                other => other,
            },
            Err(_) => Err(StoreError::Timeout(timeout)),
        }
    }

    async fn lease_revoke(&self, lease: LeaseId) -> Result<(), StoreError> {
        let mut c = self.client.clone();
        self.bounded(c.lease_revoke(lease.0)).await.map(|_| ())
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
