//! `fusekit mount etcd ENDPOINTS MNT`: connect to the cluster (failing with the endpoints
//! tried when none answers), open or create the tree under the prefix, and serve it on a tokio
//! runtime through fusekit's async adapter. `fusekit fsck etcd ENDPOINTS`: the consistency
//! checker on a prefix.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use fusekit::asyncfs::{AsyncAdapter, AsyncConfig};
use fusekit::MountOptions;
use fusekit_etcdfs::fs::{EtcdFs, EtcdFsOptions};
use fusekit_etcdfs::store::{EtcdConfig, EtcdStore};
use rustix::process::{getgid, getuid};

use crate::args::{CommonMount, FsckArgs, FsckStore};
use crate::serve;

/// What `fusekit mount etcd` was asked for.
pub struct EtcdMount {
    pub endpoints: String,
    pub prefix: String,
    pub store_timeout: Duration,
    pub ttl: Duration,
    /// The session lease's lifetime, in seconds.
    pub session_ttl: i64,
    pub request_timeout: Option<Duration>,
}

pub fn mount(
    m: EtcdMount,
    mountpoint: &Path,
    options: &MountOptions,
    common: &CommonMount,
) -> anyhow::Result<ExitCode> {
    if m.prefix.is_empty() || m.prefix.contains('\0') {
        anyhow::bail!("--prefix {:?}: must be a non-empty name", m.prefix);
    }
    if m.store_timeout.is_zero() {
        anyhow::bail!("--store-timeout: must be more than 0 seconds");
    }
    if !(2..=3600).contains(&m.session_ttl) {
        anyhow::bail!(
            "--session-ttl {}: must be 2 to 3600 seconds (etcd's minimum lease is about 2 s)",
            m.session_ttl
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("etcdfs")
        .build()
        .context("cannot start the async runtime")?;
    let fs_options = EtcdFsOptions {
        cache_ttl: m.ttl,
        request_timeout: m.request_timeout,
        root_owner: (getuid().as_raw(), getgid().as_raw()),
        session_ttl_secs: m.session_ttl,
        ..EtcdFsOptions::default()
    };
    let prefix = format!("{}/", m.prefix);
    let config = EtcdConfig::new(m.endpoints.clone()).timeout(m.store_timeout);
    let fs = runtime.block_on(async {
        let store = EtcdStore::connect(&config).await?;
        EtcdFs::start(store, prefix.into_bytes(), &fs_options)
            .await
            .map_err(anyhow::Error::from)
    })?;
    // A call retries conflicting transactions; past three store timeouts it is answered EIO
    // (and logged) rather than left hanging.
    let async_config = AsyncConfig::new()
        .handle(runtime.handle().clone())
        .deadline(m.store_timeout * 3);
    let adapter = AsyncAdapter::new(fs, async_config).context("cannot start the async adapter")?;
    let code = serve::serve(adapter, mountpoint, options, common, None);
    // Handlers still running end with the runtime.
    runtime.shutdown_timeout(Duration::from_secs(1));
    code
}

/// `fusekit fsck etcd`: prints the checker's report; exit 0 when clean, 1 when not.
pub fn fsck(args: FsckArgs) -> anyhow::Result<ExitCode> {
    let FsckStore::Etcd {
        endpoints,
        prefix,
        store_timeout,
    } = args.store;
    let timeout = Duration::try_from_secs_f64(store_timeout)
        .ok()
        .filter(|t| !t.is_zero())
        .ok_or_else(|| {
            anyhow::anyhow!("--store-timeout {store_timeout}: must be more than 0 seconds")
        })?;
    if prefix.is_empty() || prefix.contains('\0') {
        anyhow::bail!("--prefix {prefix:?}: must be a non-empty name");
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let config = EtcdConfig::new(endpoints).timeout(timeout);
    let key_prefix = format!("{prefix}/");
    let report = runtime.block_on(async {
        let store = EtcdStore::connect(&config).await?;
        fusekit_etcdfs::fsck::check(&store, key_prefix.as_bytes())
            .await
            .map_err(anyhow::Error::from)
    })?;
    crate::out::print(&format!("{report}"))?;
    Ok(if report.is_clean() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
