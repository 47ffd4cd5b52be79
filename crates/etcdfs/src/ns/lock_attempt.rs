//! A lock change that outlives its caller. The kernel interrupts a blocked F_SETLKW or flock
//! by dropping the request's future, wherever it waits: possibly with a transaction in the air
//! that then commits a lock nobody will ever release (until the session ends). So the attempt
//! runs on a task of its own and answers through a channel; if the caller is gone when the
//! answer is ready (the send fails, or the answer sits unread in the closed channel), a lock it
//! took is undone: the owner's record is restored to what it was before, if it is still what
//! the attempt wrote.

use tokio::sync::oneshot;

use super::locks::{Applied, LockChange, Locks, SetOutcome};
use super::FsError;
use crate::store::{Store, StoreError};

/// What undoing a taken lock needs.
#[derive(Clone)]
struct Undo<S> {
    locks: Locks<S>,
    ino: u64,
    flock: bool,
    owner: u64,
    runtime: tokio::runtime::Handle,
}

impl<S: Store> Undo<S> {
    fn spawn(self, applied: Applied) {
        let runtime = self.runtime.clone();
        runtime.spawn(async move {
            let (ino, owner) = (self.ino, self.owner);
            let restore = self
                .locks
                .restore(ino, self.flock, owner, applied.after, applied.before);
            match restore.await {
                Ok(undone) => tracing::debug!(ino, owner, undone, "etcdfs: abandoned lock undone"),
                Err(e) => tracing::warn!(
                    ino,
                    owner,
                    error = %e,
                    "etcdfs: undoing an abandoned lock failed; it lasts until the session ends"
                ),
            }
        });
    }
}

/// The caller's end of a detached attempt; dropped unanswered, it undoes what was taken.
struct Pending<S: Store> {
    rx: Option<oneshot::Receiver<Result<SetOutcome, FsError>>>,
    undo: Undo<S>,
    /// The change takes a lock (an unlock is never undone).
    taking: bool,
}

impl<S: Store> Drop for Pending<S> {
    fn drop(&mut self) {
        let Some(mut rx) = self.rx.take() else { return };
        // Once closed, the task's send fails (and it undoes by itself), or its answer is here.
        rx.close();
        if let Ok(Ok(SetOutcome::Applied(applied))) = rx.try_recv() {
            if self.taking {
                self.undo.clone().spawn(applied);
            }
        }
    }
}

impl<S: Store> Locks<S> {
    /// [`Locks::set`] on a task of its own: dropping the returned future before it answers
    /// leaves no lock behind (see the module comment). Outside a tokio runtime it is a plain
    /// [`Locks::set`].
    pub async fn set_detached(
        &self,
        ino: u64,
        flock: bool,
        owner: u64,
        change: LockChange,
    ) -> Result<SetOutcome, FsError> {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return self.set(ino, flock, owner, change).await;
        };
        let taking = matches!(change, LockChange::Lock { .. });
        let undo = Undo {
            locks: self.clone(),
            ino,
            flock,
            owner,
            runtime,
        };
        let (tx, rx) = oneshot::channel();
        let worker = undo.clone();
        undo.runtime.spawn(async move {
            let out = worker.locks.set(ino, flock, owner, change).await;
            if let Err(Ok(SetOutcome::Applied(applied))) = tx.send(out) {
                // The caller is gone: nobody will ever know this lock was taken.
                if taking {
                    worker.spawn(applied);
                }
            }
        });
        let mut pending = Pending {
            rx: Some(rx),
            undo,
            taking,
        };
        let Some(rx) = pending.rx.as_mut() else {
            return Err(FsError::Invalid("lock attempt without a channel"));
        };
        let answer = rx.await;
        pending.rx = None;
        answer.unwrap_or_else(|_| {
            Err(FsError::Store(StoreError::Other(
                "the lock attempt's task ended without an answer".into(),
            )))
        })
    }
}
