//! Locks taken through the mount are real locks on the source files: they conflict with
//! programs using the source directory directly, and closing a descriptor through the mount
//! lets them go.

mod common;

use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use common::{mount_passthrough, require_kernel, with_deadline, Tmpfs};
use fusekit_passthrough::PassthroughOptions;
use rustix::fs::{FlockOperation, Mode, OFlags};

fn open(path: &std::path::Path) -> std::os::fd::OwnedFd {
    rustix::fs::open(path, OFlags::RDWR | OFlags::CLOEXEC, Mode::empty()).expect("open")
}

fn flock_conflicts_both_ways(kernel_passthrough: bool) {
    let src = Tmpfs::mount();
    std::fs::write(src.path().join("f"), b"x").unwrap();
    let (mnt, _) = mount_passthrough(
        src.path(),
        PassthroughOptions::default().kernel_passthrough(kernel_passthrough),
    );
    let through = open(&mnt.path().join("f"));
    let direct = open(&src.path().join("f"));
    rustix::fs::flock(through.as_fd(), FlockOperation::NonBlockingLockExclusive).unwrap();
    assert_eq!(
        rustix::fs::flock(direct.as_fd(), FlockOperation::NonBlockingLockExclusive),
        Err(rustix::io::Errno::WOULDBLOCK),
        "a flock through the mount must hold on the source file"
    );
    let start = Instant::now();
    drop(through);
    // Released with the (asynchronous) RELEASE; give it a moment.
    loop {
        match rustix::fs::flock(direct.as_fd(), FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => break,
            Err(e) if start.elapsed() > Duration::from_secs(5) => {
                panic!("flock still held 5 s after close: {e}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(1)),
        }
    }
    println!(
        "flock released {:?} after close (kernel passthrough {kernel_passthrough})",
        start.elapsed()
    );
    // And the other way round: the source's lock blocks the mount.
    let through = open(&mnt.path().join("f"));
    assert_eq!(
        rustix::fs::flock(through.as_fd(), FlockOperation::NonBlockingLockExclusive),
        Err(rustix::io::Errno::WOULDBLOCK)
    );
    drop(through);
    drop(direct);
    // Two descriptions through the mount: closing the holder lets the other lock at once
    // (the daemon gives the kernel's asynchronous RELEASE a moment to arrive).
    let a = open(&mnt.path().join("f"));
    let b = open(&mnt.path().join("f"));
    rustix::fs::flock(a.as_fd(), FlockOperation::LockExclusive).unwrap();
    let start = Instant::now();
    drop(a);
    let r = rustix::fs::flock(b.as_fd(), FlockOperation::NonBlockingLockExclusive);
    println!(
        "relock through the mount after close: {r:?} in {:?}",
        start.elapsed()
    );
    r.expect("flock b after closing a");
    drop(b);
    drop(mnt);
}

#[test]
fn flock_is_a_source_lock() {
    if !require_kernel("flock_is_a_source_lock") {
        return;
    }
    with_deadline(Duration::from_secs(60), || {
        flock_conflicts_both_ways(false);
        flock_conflicts_both_ways(true);
    });
}
