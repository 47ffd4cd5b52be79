//! Running a closure as another user, per thread. Linux credentials are per-thread in the
//! kernel; rustix's `set_thread_*` calls are the raw syscalls (not glibc's process-wide
//! broadcast), so a dedicated scoped thread drops to the target uid/gid, runs the closure and
//! dies with those credentials. The calling thread and the rest of the process stay root.

use rustix::fs::{Gid, Uid};
use rustix::thread::{set_thread_groups, set_thread_res_gid, set_thread_res_uid};

use crate::util::{Must, R};

/// The conventional unprivileged user and group (`nobody`/`nogroup`).
pub const NOBODY: u32 = 65534;

/// Runs `f` in a fresh thread whose real, effective, saved and filesystem uid/gid are
/// `uid`/`gid` with supplementary groups `[gid]`. Needs root (CAP_SETUID/CAP_SETGID); dropping
/// uid 0 also clears the thread's effective capabilities, so `f` runs truly unprivileged.
pub fn as_user<T: Send>(uid: u32, gid: u32, f: impl FnOnce() -> T + Send) -> R<T> {
    std::thread::scope(|s| {
        let h = s.spawn(move || -> R<T> {
            let g = Gid::from_raw(gid);
            set_thread_groups(&[g]).must("setgroups in the unprivileged thread")?;
            set_thread_res_gid(g, g, g).must("setresgid in the unprivileged thread")?;
            let u = Uid::from_raw(uid);
            set_thread_res_uid(u, u, u).must("setresuid in the unprivileged thread")?;
            Ok(f())
        });
        match h.join() {
            Ok(r) => r,
            Err(p) => std::panic::resume_unwind(p),
        }
    })
}

/// Runs `f` as `nobody:nogroup`.
pub fn as_nobody<T: Send>(f: impl FnOnce() -> T + Send) -> R<T> {
    as_user(NOBODY, NOBODY, f)
}

/// Runs `f` in a fresh thread that keeps its uid (root) but has `CAP_FSETID` dropped from its
/// effective, permitted and inheritable sets (container root without that capability, or
/// `capsh --drop=cap_fsetid`): the caller for which Linux clears setuid/setgid on a write,
/// fallocate or truncate although it is root.
pub fn without_fsetid<T: Send>(f: impl FnOnce() -> T + Send) -> R<T> {
    use rustix::thread::{capabilities, set_capabilities, CapabilitySet};
    std::thread::scope(|s| {
        let h = s.spawn(move || -> R<T> {
            let mut caps = capabilities(None).must("capget in the helper thread")?;
            caps.effective.remove(CapabilitySet::FSETID);
            caps.permitted.remove(CapabilitySet::FSETID);
            caps.inheritable.remove(CapabilitySet::FSETID);
            set_capabilities(None, caps).must("capset without CAP_FSETID")?;
            Ok(f())
        });
        match h.join() {
            Ok(r) => r,
            Err(p) => std::panic::resume_unwind(p),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_change_only_in_the_helper_thread() {
        if !rustix::process::geteuid().is_root() {
            eprintln!("skipped: needs root to switch credentials");
            return;
        }
        let inside = as_nobody(|| rustix::process::geteuid().as_raw()).unwrap();
        assert_eq!(inside, NOBODY);
        assert!(rustix::process::geteuid().is_root());
    }
}
