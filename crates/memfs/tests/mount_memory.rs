//! Memory comes back through a real mount: 16 MiB written, unlinked while open and closed is
//! returned (bytes and inode) once the kernel has sent its RELEASE and FORGET.

mod common;

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::time::{Duration, Instant};

use common::mount::{mount_memfs, require_kernel, with_deadline};
use fusekit_memfs::{Limits, MemFs, Stats};

/// Waits (up to 10 s) until `done(stats)` holds, asking the kernel to drop its dentry and
/// inode caches (which sends FORGET) while waiting. Returns the last stats.
fn wait_for(engine: &MemFs, done: impl Fn(&Stats) -> bool) -> Stats {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let s = engine.stats();
        if done(&s) || Instant::now() > deadline {
            return s;
        }
        fs::write("/proc/sys/vm/drop_caches", "2").expect("write /proc/sys/vm/drop_caches");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn memory_returns_after_last_release_and_forget() {
    if !require_kernel("memory_returns_after_last_release_and_forget") {
        return;
    }
    with_deadline(Duration::from_secs(60), || {
        let (engine, mnt) = mount_memfs(Limits::UNLIMITED);
        let baseline = engine.stats();
        let p = mnt.path().join("big");
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&p)
            .unwrap();
        let chunk = vec![0x5au8; 1 << 20];
        for _ in 0..16 {
            f.write_all(&chunk).unwrap();
        }
        let full = engine.stats();
        assert!(
            full.bytes_used >= 16 << 20,
            "16 MiB written but {} bytes charged",
            full.bytes_used
        );
        fs::remove_file(&p).unwrap();
        let unlinked = engine.stats();
        assert!(
            unlinked.bytes_used >= 16 << 20,
            "data must live while the file is open: {unlinked:?}"
        );
        drop(f);
        let end = wait_for(&engine, |s| {
            s.bytes_used == baseline.bytes_used && s.inodes == baseline.inodes
        });
        assert_eq!(
            end.bytes_used, baseline.bytes_used,
            "bytes: {end:?} vs {baseline:?}"
        );
        assert_eq!(
            end.inodes, baseline.inodes,
            "inodes: {end:?} vs {baseline:?}"
        );
        assert_eq!(end.open_handles, baseline.open_handles);
        drop(mnt);
    });
}

#[test]
fn memory_returns_at_unmount() {
    if !require_kernel("memory_returns_at_unmount") {
        return;
    }
    with_deadline(Duration::from_secs(60), || {
        let (engine, mnt) = mount_memfs(Limits::UNLIMITED);
        let baseline = engine.stats();
        let p = mnt.path().join("big");
        let f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&p)
            .unwrap();
        f.set_len(0).unwrap();
        rustix::io::pwrite(&f, &vec![1u8; 16 << 20], 0).unwrap();
        fs::remove_file(&p).unwrap();
        drop(f);
        mnt.finish();
        let end = engine.stats();
        assert_eq!(
            end.bytes_used, baseline.bytes_used,
            "{end:?} vs {baseline:?}"
        );
        assert_eq!(end.inodes, baseline.inodes, "{end:?} vs {baseline:?}");
    });
}
