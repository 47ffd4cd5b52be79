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
        self.0[(ino % STRIPES as u64) as usize].lock().await
    }
}
