//! Errors of the store layer, and how etcd's errors map onto them.

use std::time::Duration;

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No endpoint answered at connect time.
    #[error("cannot reach etcd at {endpoints}: {reason}")]
    Connect { endpoints: String, reason: String },
    /// The endpoint list could not be parsed.
    #[error("bad etcd endpoint {0:?}: expected host:port or http://host:port")]
    Endpoint(String),
    /// The call did not complete within the configured timeout.
    #[error("etcd call timed out after {0:?}")]
    Timeout(Duration),
    /// The cluster could not serve the call (no leader, no connection).
    #[error("etcd unavailable: {0}")]
    Unavailable(String),
    /// A transaction with writes failed after it may have reached the cluster (the connection
    /// broke with the request sent): it may or may not have been applied. Never resent blindly;
    /// `ns` finds out which (module `ns::ambiguous`).
    #[error("etcd transaction outcome unknown: {0}")]
    Ambiguous(String),
    /// The database reached its quota (NOSPACE alarm): only reads and deletes work.
    #[error("etcd database space exceeded (NOSPACE alarm)")]
    NoSpace,
    /// A watch or read asked for history that was compacted away.
    #[error("etcd history compacted (at revision {0})")]
    Compacted(i64),
    /// A lease that does not exist (anymore).
    #[error("etcd lease not found")]
    LeaseNotFound,
    /// Anything else the engine reported.
    #[error("etcd error: {0}")]
    Other(String),
}

impl StoreError {
    /// The errno a filesystem answers for this error: ENOSPC for a full quota, EIO otherwise.
    pub fn errno(&self) -> i32 {
        match self {
            StoreError::NoSpace => libc::ENOSPC,
            _ => libc::EIO,
        }
    }
}

impl From<etcd_client::Error> for StoreError {
    fn from(e: etcd_client::Error) -> StoreError {
        use etcd_client::Error as E;
        match e {
            E::GRpcStatus(s) => {
                let msg = s.message();
                if msg.contains("database space exceeded") {
                    StoreError::NoSpace
                } else if msg.contains("requested lease not found") {
                    StoreError::LeaseNotFound
                } else if msg.contains("transport error") {
                    StoreError::Unavailable(msg.to_string())
                } else if msg.contains("compacted") {
                    StoreError::Compacted(0)
                } else {
                    match s.code() {
                        tonic_code::Unavailable
                        | tonic_code::DeadlineExceeded
                        | tonic_code::Cancelled => StoreError::Unavailable(msg.to_string()),
                        _ => StoreError::Other(format!("{:?}: {msg}", s.code())),
                    }
                }
            }
            E::LeaseKeepAliveError(m) if m.contains("not found") => StoreError::LeaseNotFound,
            E::TransportError(t) => StoreError::Unavailable(t.to_string()),
            E::IoError(io) => StoreError::Unavailable(io.to_string()),
            other => StoreError::Other(other.to_string()),
        }
    }
}

/// gRPC status codes (tonic is etcd-client's transport).
mod tonic_code {
    pub use tonic::Code::{Cancelled, DeadlineExceeded, Unavailable};
}
