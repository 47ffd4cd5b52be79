//! Shared by the etcdfs tests that mount through the kernel: a client of a cluster, and an
//! etcdfs mount served in-process on a given runtime over the test transport
//! (`FUSEKIT_TEST_TRANSPORT`), unmounted when finished or dropped.
#![allow(dead_code)]

use std::time::Duration;

use fusekit::asyncfs::{AsyncAdapter, AsyncConfig};
use fusekit::MountOptions;
use fusekit_etcdfs::fs::{EtcdFs, EtcdFsOptions};
use fusekit_etcdfs::store::{EtcdConfig, EtcdStore};
use fusekit_testkit::TestMount;
use tokio::runtime::Runtime;

/// A client of `endpoints` whose every call is bounded by `timeout`.
pub fn connect(runtime: &Runtime, endpoints: String, timeout: Duration) -> EtcdStore {
    let config = EtcdConfig::new(endpoints).timeout(timeout);
    runtime
        .block_on(EtcdStore::connect(&config))
        .expect("connect")
}

/// etcdfs on `store` under `prefix`, mounted with the CLI's options (default permissions,
/// allow_other); a request running longer than `deadline` is answered EIO.
pub fn mount_etcdfs(
    runtime: &Runtime,
    store: EtcdStore,
    prefix: &[u8],
    options: &EtcdFsOptions,
    deadline: Duration,
) -> TestMount {
    let fs = runtime
        .block_on(EtcdFs::start(store, prefix.to_vec(), options))
        .expect("start etcdfs");
    let adapter = AsyncAdapter::new(
        fs,
        AsyncConfig::new()
            .handle(runtime.handle().clone())
            .deadline(deadline),
    )
    .expect("adapter");
    let options = MountOptions::default()
        .fsname("etcdfs")
        .subtype("etcdfs")
        .default_permissions(true)
        .allow_other(true);
    TestMount::new(adapter, &options)
}
