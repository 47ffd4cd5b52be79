//! Striped per-inode locks: requests that would only conflict with each other in the store
//! wait for each other here instead (64 stripes, by inode number).

use tokio::sync::{Mutex, MutexGuard};

/// Stripes per lock set.
const STRIPES: usize = 64;

/// A set of striped async locks.
#[derive(Debug)]
pub(super) struct Stripes(Box<[Mutex<()>]>);

impl Default for Stripes {
    fn default() -> Self {
        Stripes((0..STRIPES).map(|_| Mutex::new(())).collect())
    }
}

impl Stripes {
    /// The lock of `ino`'s stripe.
    pub(super) async fn lock(&self, ino: u64) -> MutexGuard<'_, ()> {
        self.lock_stripe(self.stripe(ino)).await
    }

    /// The stripe of `ino` (several locked at once must be taken in stripe order).
    pub(super) fn stripe(&self, ino: u64) -> u64 {
        ino % STRIPES as u64
    }

    /// The lock of stripe `stripe`.
    pub(super) async fn lock_stripe(&self, stripe: u64) -> MutexGuard<'_, ()> {
        self.0[stripe as usize % STRIPES].lock().await
    }
}
