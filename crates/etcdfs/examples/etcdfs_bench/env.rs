//! The bench's world: its own 3-member etcd cluster (data on /dev/shm, as the test helper puts
//! it), one tokio runtime, one etcd client shared by the raw workloads and etcdfs (etcdfs
//! through the call-counting wrapper), an admin client per member (status, compaction,
//! defragmentation), and in-process mounts of etcdfs and memfs.

use std::sync::Arc;
use std::time::Duration;

use etcd_client::{Client, CompactionOptions};
use fusekit::asyncfs::{AsyncAdapter, AsyncConfig};
use fusekit::MountOptions;
use fusekit_etcd_cluster::{Cluster, ClusterOptions};
use fusekit_etcdfs::fs::{EtcdFs, EtcdFsOptions};
use fusekit_etcdfs::store::{EtcdConfig, EtcdStore};
use fusekit_testkit::TestMount;

use crate::counting::Counting;

/// Bound of every store call (generous: the machine may be shared).
const CALL_TIMEOUT: Duration = Duration::from_secs(20);
/// etcd's backend quota: the sequential workload writes hundreds of MiB per round (every
/// round's data is deleted and compacted away before the next).
const QUOTA: u64 = 8 << 30;

/// Everything the workloads need. Field order is drop order: clients before the runtime, the
/// cluster last.
pub struct Env {
    pub admin: Admin,
    pub store: EtcdStore,
    pub counting: Counting<EtcdStore>,
    pub rt: tokio::runtime::Runtime,
    pub cluster: Cluster,
}

impl Env {
    /// Starts the cluster and connects.
    pub fn start() -> Result<Env, String> {
        let options = ClusterOptions::default()
            .quota_backend_bytes(QUOTA)
            // Snapshots (and so the raft log trimmed in memory) every 5000 entries instead of
            // 100000: the sequential workload's entries are 1 MiB each.
            .arg("--snapshot-count=5000");
        let cluster = Cluster::start(options).map_err(|e| format!("etcd cluster: {e}"))?;
        let rt = tokio::runtime::Runtime::new().map_err(|e| format!("tokio runtime: {e}"))?;
        let config = EtcdConfig::new(cluster.endpoints_arg()).timeout(CALL_TIMEOUT);
        let store = rt
            .block_on(EtcdStore::connect(&config))
            .map_err(|e| format!("connect: {e}"))?;
        let admin = rt
            .block_on(Admin::connect(&cluster.endpoints()))
            .map_err(|e| format!("admin clients: {e}"))?;
        Ok(Env {
            admin,
            counting: Counting::new(store.clone()),
            store,
            rt,
            cluster,
        })
    }

    /// etcdfs on `prefix` (through the counting store), mounted on a temp dir, names and
    /// attributes cached by the kernel for `ttl`.
    pub fn mount_etcdfs(&self, prefix: &[u8], ttl: Duration) -> TestMount {
        let options = EtcdFsOptions {
            cache_ttl: ttl,
            ..EtcdFsOptions::default()
        };
        let fs = self
            .rt
            .block_on(EtcdFs::start(
                self.counting.clone(),
                prefix.to_vec(),
                &options,
            ))
            .expect("start etcdfs");
        let adapter = AsyncAdapter::new(
            fs,
            AsyncConfig::new()
                .handle(self.rt.handle().clone())
                .deadline(CALL_TIMEOUT),
        )
        .expect("async adapter");
        let options = MountOptions::default()
            .fsname("etcdfs")
            .subtype("etcdfs")
            .default_permissions(true)
            .allow_other(true);
        TestMount::new(adapter, &options)
    }
}

/// A fresh memfs mounted like `fusekit mount memfs`, with the kernel TTL `ttl`.
pub fn mount_memfs(ttl: Duration) -> TestMount {
    let engine = Arc::new(fusekit_memfs::MemFs::new(
        fusekit_memfs::Limits::default(),
        (0, 0),
        0o755,
    ));
    let adapter = fusekit_memfs::MemFsAdapter::new(
        engine,
        fusekit_memfs::AdapterOptions {
            ttl,
            ..fusekit_memfs::AdapterOptions::default()
        },
    );
    let options = MountOptions::new()
        .fsname("memfs")
        .default_permissions(true)
        .allow_other(true);
    TestMount::new(adapter, &options)
}

/// One client per member, for what must address members one by one.
pub struct Admin {
    members: Vec<Client>,
}

impl Admin {
    async fn connect(endpoints: &[String]) -> Result<Admin, etcd_client::Error> {
        let mut members = Vec::new();
        for e in endpoints {
            members.push(Client::connect([e.as_str()], None).await?);
        }
        Ok(Admin { members })
    }

    /// Compacts history up to the current revision (waiting until it is physically done),
    /// defragments every member, and returns the mean bytes in use of the members' databases.
    /// What this measures is live data, not the history of rewritten keys.
    pub async fn settle(&mut self) -> Result<f64, etcd_client::Error> {
        let first = &mut self.members[0];
        let rev = first.status().await?.header().map_or(0, |h| h.revision());
        if let Err(e) = first
            .compact(rev, Some(CompactionOptions::new().with_physical()))
            .await
        {
            // Nothing new since the last compaction.
            if !e.to_string().contains("compacted") {
                return Err(e);
            }
        }
        for m in &mut self.members {
            m.defragment().await?;
        }
        self.in_use().await
    }

    /// The mean bytes in use of the members' databases, without compacting.
    pub async fn in_use(&mut self) -> Result<f64, etcd_client::Error> {
        let mut sum = 0.0;
        for m in &mut self.members {
            sum += m.status().await?.raft_used_db_size() as f64;
        }
        Ok(sum / self.members.len() as f64)
    }
}
