//! The reclaimer: every session TTL, the daemon deletes the orphans of daemons whose session
//! has ended (a host that died holding open-but-unlinked files), so that they go once the
//! dead host's lease has expired, not only when some daemon next starts. It works on a
//! namespace of its own (no cache: it reads the store); the daemon's cache learns of the
//! deletions through its watch. Dropping the [`Reclaimer`] stops it.

use std::time::Duration;

use tokio::task::JoinHandle;

use crate::ns::Namespace;
use crate::store::Store;

/// The running reclaimer task.
#[derive(Debug)]
pub(super) struct Reclaimer(JoinHandle<()>);

impl Reclaimer {
    /// Reclaims every `period` on the current tokio runtime.
    pub(super) fn start<S: Store>(ns: Namespace<S>, period: Duration) -> Reclaimer {
        Reclaimer(tokio::spawn(async move {
            loop {
                tokio::time::sleep(period).await;
                match ns.reclaim_expired_orphans().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(reclaimed = n, "reclaimed files of ended sessions"),
                    Err(e) => {
                        tracing::debug!(error = %e, "reclaiming files of ended sessions failed")
                    }
                }
            }
        }))
    }
}

impl Drop for Reclaimer {
    fn drop(&mut self) {
        self.0.abort();
    }
}
