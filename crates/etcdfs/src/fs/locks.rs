//! The kernel's lock requests on etcdfs: GETLK and SETLK/SETLKW (POSIX and OFD locks) and
//! flock, answered by the lock table in etcd ([`crate::ns::Locks`], which documents the lock
//! model), so that they exclude across hosts. INIT asks for POSIX_LOCKS and FLOCK_LOCKS, or
//! the kernel would keep locks to itself.
//!
//! - Waiting: a blocked F_SETLKW or flock retries when the cache's watch brings a change of the
//!   inode's lock keys (another host released, or its session expired), when this daemon
//!   changes them, and at the latest every [`RECHECK`]. An INTERRUPT drops the request's
//!   future: each attempt runs detached ([`Locks::set_detached`]), so a lock it took after its
//!   caller left is released again (restored to what the owner held before).
//! - Release on close, as the kernel asks: FLUSH drops the closing process's POSIX locks on the
//!   inode (close(2) semantics); RELEASE of a handle drops the flock locks taken through it
//!   and the POSIX locks of owners that locked through it and through no other open handle of
//!   the inode (OFD locks, whose owner is the open file: the kernel sends no unlock for them).
//!   Releases run to completion on a task of their own even if the request is dropped.
//!
//! A daemon without a metadata cache has no watch: its waiters re-check every [`RECHECK`].

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fusekit::abi::InitFlags;
use fusekit::{Errno, KernelConfig, Lock};
use tokio::sync::Notify;

use super::{errno, stale, EtcdFs};
use crate::cache::CacheEvent;
use crate::ns::{FsError, LockChange, Locks, SetOutcome};
use crate::schema::{Keys, ParsedKey};
use crate::store::Store;

/// Longest sleep of a blocked waiter between two attempts when nothing woke it.
pub(super) const RECHECK: Duration = Duration::from_millis(500);

/// Wake-up shards: a waiter on `ino` waits on shard `ino % SHARDS` (an unrelated wake only
/// costs one extra attempt).
const SHARDS: usize = 64;

/// A lock taken through a handle: which inode, owner and kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Via {
    ino: u64,
    owner: u64,
    flock: bool,
}

/// The daemon's side of the lock table: wake-ups of waiters and which owners locked through
/// which handle.
#[derive(Debug)]
pub(super) struct LockState {
    wakers: Arc<[Notify]>,
    /// File handle → the locks taken through it.
    via: Mutex<HashMap<u64, Vec<Via>>>,
}

impl Default for LockState {
    fn default() -> Self {
        LockState {
            wakers: (0..SHARDS).map(|_| Notify::new()).collect(),
            via: Mutex::new(HashMap::new()),
        }
    }
}

fn shard(ino: u64) -> usize {
    (ino % SHARDS as u64) as usize
}

fn wake(wakers: &[Notify], ino: u64) {
    wakers[shard(ino)].notify_waiters();
}

impl LockState {
    fn via(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Vec<Via>>> {
        self.via.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A listener for [`crate::cache::MetaCache::add_listener`]: wakes the waiters of every
    /// inode whose lock keys others changed (all of them after a reload). Never blocks.
    pub(super) fn listener(&self, keys: Keys) -> impl Fn(CacheEvent) + Send + Sync + 'static {
        let wakers = Arc::clone(&self.wakers);
        move |event| match event {
            CacheEvent::Changed(changes) => {
                for change in &changes {
                    if let Some(ParsedKey::LockVersion(ino) | ParsedKey::Lock { ino, .. }) =
                        keys.parse(&change.key)
                    {
                        wake(&wakers, ino);
                    }
                }
            }
            CacheEvent::Reloaded => wakers.iter().for_each(Notify::notify_waiters),
        }
    }

    fn note(&self, fh: u64, via: Via) {
        let mut table = self.via();
        let list = table.entry(fh).or_default();
        if !list.contains(&via) {
            list.push(via);
        }
    }

    /// Forgets `owner`'s POSIX locks on `ino` (all handles); returns whether it had any.
    fn forget_posix_owner(&self, ino: u64, owner: u64) -> bool {
        let target = Via {
            ino,
            owner,
            flock: false,
        };
        let mut found = false;
        self.via().retain(|_, list| {
            let before = list.len();
            list.retain(|v| *v != target);
            found |= list.len() != before;
            !list.is_empty()
        });
        found
    }

    /// Forgets handle `fh`; returns the locks to release with it: its flock locks, and the
    /// POSIX owners that locked through no other open handle of the same inode.
    fn forget_handle(&self, fh: u64) -> Vec<Via> {
        let mut table = self.via();
        let Some(mine) = table.remove(&fh) else {
            return Vec::new();
        };
        mine.into_iter()
            .filter(|v| v.flock || !table.values().any(|list| list.contains(v)))
            .collect()
    }
}

/// Asks the kernel to send lock requests (else it keeps locks on its own host).
pub(super) fn negotiate(config: &mut KernelConfig) {
    let wanted = InitFlags::POSIX_LOCKS | InitFlags::FLOCK_LOCKS;
    let granted = config.enable_if_offered(wanted);
    if granted != wanted {
        tracing::warn!(
            missing = ?(wanted - granted),
            "the kernel offers no remote locks of some kind: those stay local to this host"
        );
    }
}

/// The change a kernel lock asks for; EINVAL for an unknown type.
fn change_of(lock: &Lock) -> Result<LockChange, Errno> {
    match lock.typ {
        libc::F_RDLCK | libc::F_WRLCK => Ok(LockChange::Lock {
            start: lock.start,
            end: lock.end,
            write: lock.typ == libc::F_WRLCK,
            pid: lock.pid,
        }),
        libc::F_UNLCK => Ok(LockChange::Unlock {
            start: lock.start,
            end: lock.end,
        }),
        _ => Err(Errno::INVAL),
    }
}

/// Waits for `fut`, run on a task of its own: dropping the wait leaves the task running to
/// completion.
async fn detached<T: Send + 'static>(
    fut: impl Future<Output = Result<T, FsError>> + Send + 'static,
) -> Result<T, FsError> {
    tokio::spawn(fut).await.map_err(|e| {
        FsError::Store(crate::store::StoreError::Other(format!(
            "lock task failed: {e}"
        )))
    })?
}

impl<S: Store> EtcdFs<S> {
    fn lock_table(&self) -> Result<Locks<S>, Errno> {
        self.ns.locks().ok_or(Errno::NOLCK)
    }

    /// GETLK: the first conflicting lock of another owner, or `lock` with type F_UNLCK. A lock
    /// held through another daemon is reported with pid 0 (its pid means nothing here).
    pub(super) async fn lock_get(&self, ino: u64, owner: u64, lock: Lock) -> Result<Lock, Errno> {
        let LockChange::Lock {
            start, end, write, ..
        } = change_of(&lock)?
        else {
            return Ok(lock);
        };
        let locks = self.lock_table()?;
        let held = locks
            .test(ino, false, owner, start, end, write)
            .await
            .map_err(stale)?;
        Ok(match held {
            Some(h) => Lock {
                start: h.range.start,
                end: h.range.end,
                typ: if h.range.write {
                    libc::F_WRLCK
                } else {
                    libc::F_RDLCK
                },
                pid: if h.lease == locks.lease().0 {
                    h.range.pid
                } else {
                    0
                },
            },
            None => Lock {
                typ: libc::F_UNLCK,
                ..lock
            },
        })
    }

    /// SETLK / SETLKW (`sleep`), POSIX or flock: take, convert or release `owner`'s lock.
    /// EAGAIN when another owner holds a conflicting lock and `sleep` is false.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn lock_set(
        &self,
        ino: u64,
        fh: u64,
        owner: u64,
        lock: Lock,
        sleep: bool,
        flock: bool,
    ) -> Result<(), Errno> {
        let change = change_of(&lock)?;
        let locks = self.lock_table()?;
        if matches!(change, LockChange::Lock { .. }) {
            // Noted before the attempt: a close must release it even if the answer is lost.
            self.locks.note(fh, Via { ino, owner, flock });
        }
        let waker = &self.locks.wakers[shard(ino)];
        loop {
            // Registered before the attempt, so a release between the attempt's read and the
            // wait still wakes it.
            let notified = waker.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let out = locks.set_detached(ino, flock, owner, change).await;
            match out.map_err(stale)? {
                SetOutcome::Applied(applied) => {
                    if applied.before != applied.after {
                        wake(&self.locks.wakers, ino);
                    }
                    return Ok(());
                }
                SetOutcome::Conflict(_) if !sleep => return Err(Errno::AGAIN),
                SetOutcome::Conflict(held) => {
                    tracing::trace!(ino, owner, ?held, "etcdfs: lock waiter blocked");
                    let _ = tokio::time::timeout(RECHECK, notified).await;
                }
            }
        }
    }

    /// FLUSH: `owner` (a process) closed a descriptor of `ino`, which releases its POSIX locks
    /// on it.
    pub(super) async fn locks_flush(&self, ino: u64, owner: u64) -> Result<(), Errno> {
        if !self.locks.forget_posix_owner(ino, owner) {
            return Ok(());
        }
        let locks = self.lock_table()?;
        let wakers = Arc::clone(&self.locks.wakers);
        detached(async move {
            locks.release(ino, false, owner).await?;
            wake(&wakers, ino);
            Ok(())
        })
        .await
        .map_err(errno)
    }

    /// RELEASE of handle `fh`: its flock locks and its OFD locks go (see the module comment).
    /// Failures are logged: the locks then last until the session ends.
    pub(super) async fn locks_release(&self, fh: u64) {
        let doomed = self.locks.forget_handle(fh);
        if doomed.is_empty() {
            return;
        }
        let Ok(locks) = self.lock_table() else { return };
        let wakers = Arc::clone(&self.locks.wakers);
        let done = detached(async move {
            for v in doomed {
                locks.release(v.ino, v.flock, v.owner).await?;
                wake(&wakers, v.ino);
            }
            Ok(())
        })
        .await;
        if let Err(e) = done {
            tracing::warn!(fh, error = %e, "etcdfs: releasing a handle's locks failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_handle_releases_its_flocks_and_its_only_posix_owners() {
        let s = LockState::default();
        let ofd = Via {
            ino: 5,
            owner: 100,
            flock: false,
        };
        let process = Via {
            ino: 5,
            owner: 200,
            flock: false,
        };
        let flock = Via {
            ino: 5,
            owner: 100,
            flock: true,
        };
        s.note(1, ofd);
        s.note(1, flock);
        s.note(1, process);
        s.note(2, process);
        let mut gone = s.forget_handle(1);
        gone.sort_by_key(|v| (v.owner, v.flock));
        assert_eq!(
            gone,
            vec![ofd, flock],
            "the process still locks through handle 2"
        );
        assert!(s.forget_posix_owner(5, 200));
        assert!(!s.forget_posix_owner(5, 200), "forgotten once");
        assert!(s.forget_handle(2).is_empty());
    }

    #[test]
    fn kernel_lock_types_map_onto_changes() {
        let lock = |typ| Lock {
            start: 3,
            end: 9,
            typ,
            pid: 7,
        };
        assert_eq!(
            change_of(&lock(libc::F_WRLCK)),
            Ok(LockChange::Lock {
                start: 3,
                end: 9,
                write: true,
                pid: 7
            })
        );
        assert_eq!(
            change_of(&lock(libc::F_UNLCK)),
            Ok(LockChange::Unlock { start: 3, end: 9 })
        );
        assert_eq!(change_of(&lock(42)), Err(Errno::INVAL));
    }
}
