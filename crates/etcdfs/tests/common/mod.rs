//! Shared by the etcdfs integration tests: a real etcd cluster per test (tests of one binary
//! run one at a time, the CPU is small), a connected store, a formatted namespace, deadlines.
#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;

use fusekit_etcd_cluster::{Cluster, ClusterOptions};
use fusekit_etcdfs::fsck;
use fusekit_etcdfs::ns::Namespace;
use fusekit_etcdfs::store::{EtcdConfig, EtcdStore};

static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A cluster, a client on all its members, and the serialization guard.
pub struct Env {
    pub store: EtcdStore,
    pub cluster: Cluster,
    _serial: tokio::sync::MutexGuard<'static, ()>,
}

/// Starts a cluster with `options` and connects (timeout 5 s: the CPU may be shared); `None` when etcd is missing
/// (and CI is not set).
pub async fn env(options: ClusterOptions) -> Option<Env> {
    let serial = SERIAL.lock().await;
    let cluster = Cluster::start_or_skip(options)?;
    let config = EtcdConfig::new(cluster.endpoints_arg()).timeout(Duration::from_secs(5));
    let store = EtcdStore::connect(&config).await.expect("connect");
    Some(Env {
        store,
        cluster,
        _serial: serial,
    })
}

/// A second, independent client of the same cluster (its own connections).
pub async fn client(cluster: &Cluster) -> EtcdStore {
    let config = EtcdConfig::new(cluster.endpoints_arg()).timeout(Duration::from_secs(5));
    EtcdStore::connect(&config).await.expect("connect")
}

/// A formatted namespace under `prefix`.
pub async fn namespace(store: &EtcdStore, prefix: &str) -> Namespace<EtcdStore> {
    let ns = Namespace::new(store.clone(), prefix.as_bytes().to_vec(), None);
    ns.format(0, 0).await.expect("format");
    ns
}

/// Nothing is open.
pub fn none_open(_ino: u64) -> bool {
    false
}

/// The checker passes on `prefix`.
pub async fn assert_clean(store: &EtcdStore, prefix: &str) -> fsck::Report {
    let report = fsck::check(store, prefix.as_bytes()).await.expect("fsck");
    assert!(report.is_clean(), "{report}");
    report
}

/// Runs `fut` with a deadline, failing the test when it passes. The future is boxed before
/// anything else holds it: test bodies awaiting many namespace calls are large.
pub fn deadline<'a, T: 'a>(
    secs: u64,
    fut: impl Future<Output = T> + 'a,
) -> std::pin::Pin<Box<dyn Future<Output = T> + 'a>> {
    let fut = Box::pin(fut);
    Box::pin(async move {
        tokio::time::timeout(Duration::from_secs(secs), fut)
            .await
            .unwrap_or_else(|_| panic!("test exceeded its {secs} s deadline"))
    })
}
