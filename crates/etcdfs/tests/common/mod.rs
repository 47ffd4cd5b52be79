//! Shared by the etcdfs integration tests: a real etcd cluster per test (tests of one binary
//! run one at a time, the CPU is small), a connected store, deadlines.
#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;

use fusekit_etcd_cluster::{Cluster, ClusterOptions};
use fusekit_etcdfs::store::{EtcdConfig, EtcdStore};

static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A cluster, a client on all its members, and the serialization guard.
pub struct Env {
    pub store: EtcdStore,
    pub cluster: Cluster,
    _serial: tokio::sync::MutexGuard<'static, ()>,
}

/// Starts a cluster with `options` and connects (timeout 2 s); `None` when etcd is missing
/// (and CI is not set).
pub async fn env(options: ClusterOptions) -> Option<Env> {
    let serial = SERIAL.lock().await;
    let cluster = Cluster::start_or_skip(options)?;
    let config = EtcdConfig::new(cluster.endpoints_arg()).timeout(Duration::from_secs(2));
    let store = EtcdStore::connect(&config).await.expect("connect");
    Some(Env {
        store,
        cluster,
        _serial: serial,
    })
}

/// A second, independent client of the same cluster (its own connections).
pub async fn client(cluster: &Cluster) -> EtcdStore {
    let config = EtcdConfig::new(cluster.endpoints_arg()).timeout(Duration::from_secs(2));
    EtcdStore::connect(&config).await.expect("connect")
}

/// Runs `fut` with a deadline, failing the test when it passes.
pub async fn deadline<T>(secs: u64, fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(secs), fut)
        .await
        .unwrap_or_else(|_| panic!("test exceeded its {secs} s deadline"))
}
