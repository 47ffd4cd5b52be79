//! The rings the thread that starts a session needs only for a moment — the preflight check
//! that a ring can be created, and the REGISTER that switches io_uring off for a connection —
//! are created, used and closed on a short-lived helper thread, never on the caller's.
//!
//! Why. The kernel links every thread that creates or submits to a ring to that ring. When
//! the ring is torn down (`io_ring_exit_work`, on a kernel worker, one RCU grace period or
//! more after the ring's last close: 7–15 ms measured on the project machine) it queues task
//! work on each linked thread that is still alive, with TWA_SIGNAL. To that thread this is a
//! pending signal (`signal_pending()` is true until the task work runs): a FUSE request it is
//! blocked in is taken as interrupted, so the kernel sends FUSE_INTERRUPT and a filesystem
//! that honours it answers EINTR, which the caller gets (FUSE does not restart the call);
//! epoll_wait(2) returns EINTR too. The thread that starts a session is often the next to use
//! the mount (tests; programs that serve their own files), and that is what happened: over
//! io_uring the async adapter answered EINTR to requests of the test thread that no signal
//! had reached. A helper thread unlinks itself from its rings when it exits, before `join`
//! returns, so a later teardown signals nobody. The queue threads own their rings for the
//! whole session and end with them.

use std::io;

/// Runs `f` on a helper thread named `fusekit-{what}` and returns its result once that thread
/// has exited. A panic in `f` is resumed on the caller.
pub(crate) fn on_helper_thread<T: Send>(what: &str, f: impl FnOnce() -> T + Send) -> io::Result<T> {
    std::thread::scope(|scope| {
        let helper = std::thread::Builder::new()
            .name(format!("fusekit-{what}"))
            .spawn_scoped(scope, f)?;
        match helper.join() {
            Ok(value) => Ok(value),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_on_another_thread_and_returns_its_value() {
        let caller = std::thread::current().id();
        let (id, name) = on_helper_thread("probe", || {
            let me = std::thread::current();
            (me.id(), me.name().map(str::to_owned))
        })
        .unwrap();
        assert_ne!(id, caller);
        assert_eq!(name.as_deref(), Some("fusekit-probe"));
    }
}
