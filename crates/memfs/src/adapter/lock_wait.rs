//! Blocking lock requests (SETLKW, blocking flock) wait on a thread of their own, holding the
//! reply, so no worker is tied up: a waiter can never keep the lock holder's unlock request
//! from being served. The wait ends when the lock is granted, on EDEADLK, or when the caller is
//! interrupted (EINTR) — including when the session ends.

use std::sync::Arc;

use fusekit::{Ino, InterruptToken, Lock, ReplyEmpty};

use crate::MemFs;

pub(super) fn wait_in_background(
    fs: Arc<MemFs>,
    interrupt: InterruptToken,
    ino: Ino,
    owner: u64,
    lock: Lock,
    flock: bool,
    reply: ReplyEmpty,
) {
    let spawned = std::thread::Builder::new()
        .name("memfs-lock-wait".into())
        .spawn(move || {
            reply.result(fs.setlk_wait(ino, owner, &lock, flock, &|| interrupt.is_interrupted()))
        });
    if let Err(e) = spawned {
        // The reply moved into the closure is dropped with it: the caller gets EIO.
        tracing::error!(error = %e, "cannot start a lock-wait thread");
    }
}
