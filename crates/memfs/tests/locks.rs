//! POSIX record locks and flock: conflicts, getlk, split/merge, release by owner, blocking
//! waits with interruption, deadlock detection.

mod common;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use fusekit_memfs::*;

fn lk(start: u64, end: u64, typ: LockType, pid: u32) -> Lock {
    Lock {
        start,
        end,
        typ: typ.raw(),
        pid,
    }
}

/// The type of a lock `getlk` answered.
fn typ(l: &Lock) -> LockType {
    LockType::from_raw(l.typ).expect("getlk answers a valid lock type")
}

#[test]
fn posix_conflicts_and_getlk() {
    let fs = fs();
    let (a, fh) = create(&fs, ROOT_ID, "f");
    fs.setlk(a.ino, 1, &lk(0, 99, LockType::Read, 11), false)
        .unwrap();
    fs.setlk(a.ino, 2, &lk(50, 149, LockType::Read, 22), false)
        .unwrap();
    assert_eq!(
        fs.setlk(a.ino, 3, &lk(90, 95, LockType::Write, 33), false),
        Err(Errno::AGAIN)
    );
    fs.setlk(a.ino, 3, &lk(150, u64::MAX, LockType::Write, 33), false)
        .unwrap();
    let g = fs
        .getlk(a.ino, 3, &lk(0, 10, LockType::Write, 33), false)
        .unwrap();
    assert_eq!(
        (g.start, g.end, typ(&g), g.pid),
        (0, 99, LockType::Read, 11)
    );
    let g = fs
        .getlk(a.ino, 1, &lk(0, 10, LockType::Write, 11), false)
        .unwrap();
    assert_eq!(typ(&g), LockType::Unlock, "own locks never conflict");
    // Unlock a middle part of owner 1's lock, then owner 3 can write-lock it.
    fs.setlk(a.ino, 1, &lk(10, 19, LockType::Unlock, 11), false)
        .unwrap();
    fs.setlk(a.ino, 3, &lk(10, 19, LockType::Write, 33), false)
        .unwrap();
    // flock is independent of POSIX locks.
    fs.setlk(a.ino, 9, &lk(0, 0, LockType::Write, 99), true)
        .unwrap();
    assert_eq!(
        fs.setlk(a.ino, 8, &lk(0, 0, LockType::Read, 88), true),
        Err(Errno::AGAIN)
    );
    // Flush drops POSIX locks of the owner, release drops flock locks too.
    fs.flush(a.ino, fh, Some(3)).unwrap();
    fs.setlk(a.ino, 4, &lk(150, 200, LockType::Write, 44), false)
        .unwrap();
    fs.release(a.ino, fh, Some(9)).unwrap();
    fs.setlk(a.ino, 8, &lk(0, 0, LockType::Read, 88), true)
        .unwrap();
}

#[test]
fn blocking_wait_is_woken_by_unlock() {
    let fs = Arc::new(fs());
    let (a, _fh) = create(&fs, ROOT_ID, "f");
    fs.setlk(a.ino, 1, &lk(0, 9, LockType::Write, 1), false)
        .unwrap();
    let fs2 = Arc::clone(&fs);
    let t = std::thread::spawn(move || {
        fs2.setlk_wait(a.ino, 2, &lk(5, 5, LockType::Write, 2), false, &|| false)
    });
    std::thread::sleep(Duration::from_millis(30));
    assert!(!t.is_finished());
    fs.setlk(a.ino, 1, &lk(0, 9, LockType::Unlock, 1), false)
        .unwrap();
    assert_eq!(t.join().unwrap(), Ok(()));
    assert_eq!(
        fs.getlk(a.ino, 3, &lk(0, 9, LockType::Read, 3), false)
            .unwrap()
            .pid,
        2
    );
}

#[test]
fn blocking_wait_can_be_interrupted_and_detects_deadlock() {
    let fs = Arc::new(fs());
    let (a, _fh) = create(&fs, ROOT_ID, "f");
    fs.setlk(a.ino, 1, &lk(0, 0, LockType::Write, 1), false)
        .unwrap();
    fs.setlk(a.ino, 2, &lk(1, 1, LockType::Write, 2), false)
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let (fs2, stop2) = (Arc::clone(&fs), Arc::clone(&stop));
    // Owner 1 waits for owner 2's byte.
    let t = std::thread::spawn(move || {
        fs2.setlk_wait(a.ino, 1, &lk(1, 1, LockType::Write, 1), false, &|| {
            stop2.load(Ordering::SeqCst)
        })
    });
    std::thread::sleep(Duration::from_millis(60));
    // Owner 2 waiting for owner 1's byte would close the cycle.
    assert_eq!(
        fs.setlk_wait(a.ino, 2, &lk(0, 0, LockType::Write, 2), false, &|| false),
        Err(Errno::DEADLK)
    );
    stop.store(true, Ordering::SeqCst);
    assert_eq!(t.join().unwrap(), Err(Errno::INTR));
}

#[test]
fn generation_moves_on_change() {
    let fs = fs();
    let (a, _fh) = create(&fs, ROOT_ID, "f");
    let g = fs.lock_generation();
    assert!(!fs.wait_lock_change(g, Duration::from_millis(1)));
    fs.setlk(a.ino, 1, &lk(0, 0, LockType::Read, 1), false)
        .unwrap();
    assert!(fs.wait_lock_change(g, Duration::from_millis(1)));
}

/// Whether `owner` could not take a write lock on byte 0 (someone else holds it).
fn blocked(fs: &MemFs, ino: Ino, owner: u64) -> bool {
    fs.getlk(ino, owner, &lk(0, 0, LockType::Write, 0), false)
        .unwrap()
        .typ
        != LockType::Unlock.raw()
}

#[test]
fn ofd_style_owner_loses_its_locks_when_its_handle_is_released() {
    let fs = fs();
    let (a, fh1) = create(&fs, ROOT_ID, "f");
    let fh2 = fs.open(&root(), a.ino, O_RDWR).unwrap();
    // Owner 100 is an open file description: it locks through fh1 only.
    fs.lock_through(a.ino, fh1, 100).unwrap();
    fs.setlk(a.ino, 100, &lk(0, 9, LockType::Write, 1), false)
        .unwrap();
    assert!(blocked(&fs, a.ino, 200));
    // Closing another handle does not touch it.
    fs.release(a.ino, fh2, None).unwrap();
    assert!(blocked(&fs, a.ino, 200));
    fs.release(a.ino, fh1, None).unwrap();
    assert!(!blocked(&fs, a.ino, 200), "lock must die with its handle");
    assert_eq!(fs.lock_through(a.ino, fh1, 100), Err(Errno::BADF));
}

#[test]
fn process_owner_keeps_locks_taken_through_another_open_handle() {
    let fs = fs();
    let (a, fh1) = create(&fs, ROOT_ID, "f");
    let fh2 = fs.open(&root(), a.ino, O_RDWR).unwrap();
    // A process (owner 7) locked through fh1, closed it (FLUSH drops its locks), then
    // locked again through fh2; the late RELEASE of fh1 must not drop the new lock.
    fs.lock_through(a.ino, fh1, 7).unwrap();
    fs.setlk(a.ino, 7, &lk(0, 0, LockType::Write, 1), false)
        .unwrap();
    fs.flush(a.ino, fh1, Some(7)).unwrap();
    assert!(!blocked(&fs, a.ino, 8));
    fs.lock_through(a.ino, fh2, 7).unwrap();
    fs.setlk(a.ino, 7, &lk(0, 0, LockType::Write, 1), false)
        .unwrap();
    fs.release(a.ino, fh1, None).unwrap();
    assert!(blocked(&fs, a.ino, 8), "lock held through fh2 survives");
    fs.release(a.ino, fh2, None).unwrap();
    assert!(!blocked(&fs, a.ino, 8));
}

#[test]
fn unknown_lock_type_is_einval() {
    let fs = fs();
    let (a, _fh) = create(&fs, ROOT_ID, "f");
    let bad = Lock {
        start: 0,
        end: 0,
        typ: 7,
        pid: 1,
    };
    assert_eq!(fs.setlk(a.ino, 1, &bad, false), Err(Errno::INVAL));
    assert_eq!(fs.getlk(a.ino, 1, &bad, false), Err(Errno::INVAL));
    assert_eq!(
        fs.setlk_wait(a.ino, 1, &bad, true, &|| false),
        Err(Errno::INVAL)
    );
}
