//! A real etcd cluster for tests: N members (3 by default) of the `etcd` binary on free
//! loopback ports (127.0.0.1 only), each with its data dir in one temp dir, waited on until
//! every member answers `/health` over HTTP, with member control (kill -9, SIGSTOP/SIGCONT,
//! restart) for fault tests, and a [`Partition`] that can cut one client off from every
//! member. Dropping the [`Cluster`] (also while a test panics) kills every member, reaps it
//! and removes the temp dir. If the test process dies without unwinding
//! (abort, SIGKILL), a small watchdog shell process does the same within about a second.
//!
//! When `etcd` is missing, [`Cluster::start_or_skip`] prints why and returns `None`, except under
//! `CI=true`, where it panics: CI installs `etcd-server` and must not skip silently.
//!
//! std only: this crate owns processes, ports and files, and knows nothing of etcd's API beyond
//! the HTTP `/health` endpoint.

mod cluster;
mod error;
mod health;
mod member;
mod options;
mod partition;
mod ports;
mod reaper;
mod tempdir;

pub use cluster::Cluster;
pub use error::ClusterError;
pub use options::ClusterOptions;
pub use partition::Partition;

/// The etcd binary used, overridable with `FUSEKIT_ETCD_BIN`.
pub fn etcd_binary() -> std::path::PathBuf {
    std::env::var_os("FUSEKIT_ETCD_BIN")
        .map(Into::into)
        .unwrap_or_else(|| "etcd".into())
}
