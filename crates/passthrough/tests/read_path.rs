//! Kernel passthrough keeps file I/O away from the daemon: a 64 MiB read through the mount
//! reaches it as zero READ requests when on, and as about 64 MiB / max_read requests when off;
//! as root the readahead window is raised to 1 MiB, so those requests are large.

mod common;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use common::{mount_passthrough, require_kernel, with_deadline, Tmpfs};
use fusekit_passthrough::PassthroughOptions;

const SIZE: usize = 64 << 20;

/// Writes the file through the mount, drops the page cache's copy, reads it back through the
/// mount. Returns (READ requests during the read, READ bytes, MB/s, session max read size,
/// readahead window in effect).
fn read_64m(kernel_passthrough: bool) -> (u64, u64, f64, u32, u32) {
    let src = Tmpfs::mount();
    let (mnt, stats) = mount_passthrough(
        src.path(),
        PassthroughOptions::default().kernel_passthrough(kernel_passthrough),
    );
    let path = mnt.path().join("big");
    let chunk: Vec<u8> = (0..1 << 20).map(|i| (i * 7 % 251) as u8).collect();
    let mut f = std::fs::File::create(&path).unwrap();
    for _ in 0..SIZE / chunk.len() {
        f.write_all(&chunk).unwrap();
    }
    drop(f);
    // A fresh open without KEEP_CACHE drops the pages cached through the mount.
    let before = stats.snapshot();
    let start = Instant::now();
    let mut f = std::fs::File::open(&path).unwrap();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0;
    loop {
        let n = f.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        assert_eq!(&buf[..n], &chunk[..n], "data at {total}");
        total += n;
    }
    let secs = start.elapsed().as_secs_f64();
    drop(f);
    assert_eq!(total, SIZE);
    let after = stats.snapshot();
    let max_read = mnt
        .session()
        .negotiated()
        .max_readahead
        .max(mnt.session().negotiated().max_pages as u32 * 4096);
    let window = mnt.session().negotiated().readahead_window;
    let reads = after.reads - before.reads;
    let bytes = after.read_bytes - before.read_bytes;
    let mbps = SIZE as f64 / secs / 1e6;
    if kernel_passthrough {
        assert!(
            after.passthrough_opens > before.passthrough_opens,
            "{after:?}"
        );
    }
    drop(mnt);
    (reads, bytes, mbps, max_read, window)
}

#[test]
fn kernel_passthrough_read_sends_no_read_requests() {
    if !require_kernel("kernel_passthrough_read_sends_no_read_requests") {
        return;
    }
    with_deadline(Duration::from_secs(120), || {
        let (reads, bytes, mbps, ..) = read_64m(true);
        println!("kernel passthrough: {reads} READs, {bytes} bytes, {mbps:.0} MB/s");
        assert_eq!(reads, 0);
        assert_eq!(bytes, 0);
    });
}

#[test]
fn ordinary_read_sends_read_requests() {
    if !require_kernel("ordinary_read_sends_read_requests") {
        return;
    }
    with_deadline(Duration::from_secs(120), || {
        let (reads, bytes, mbps, max_read, window) = read_64m(false);
        println!(
            "daemon reads: {reads} READs, {bytes} bytes, {mbps:.0} MB/s, max read {max_read}, \
             readahead window {window}"
        );
        assert_eq!(bytes, SIZE as u64, "every byte came through the daemon");
        let least = (SIZE / max_read as usize) as u64;
        assert!(reads >= least, "{reads} READs, expected at least {least}");
        assert!(
            reads <= (SIZE / 4096) as u64,
            "{reads} READs is more than one per page"
        );
    });
}

/// As root the session raises the readahead window past the kernel's 128 KiB proposal, and a
/// sequential read then reaches the daemon in requests of several times that size.
#[test]
fn raised_readahead_window_makes_large_reads() {
    if !require_kernel("raised_readahead_window_makes_large_reads") {
        return;
    }
    with_deadline(Duration::from_secs(120), || {
        // Root in a container may still see /sys read-only: nothing to raise the window with.
        let sys_ro = rustix::fs::statvfs("/sys")
            .is_ok_and(|v| v.f_flag.contains(rustix::fs::StatVfsMountFlags::RDONLY));
        if sys_ro && std::env::var_os("CI").is_none() {
            eprintln!("SKIP raised_readahead_window_makes_large_reads: /sys is read-only");
            return;
        }
        let (reads, bytes, _, _, window) = read_64m(false);
        assert_eq!(
            window,
            1 << 20,
            "the session raises the window to 1 MiB as root"
        );
        assert_eq!(bytes, SIZE as u64);
        // A 128 KiB window needs 512 READs for 64 MiB; with 1 MiB far fewer.
        let most = (SIZE / (256 << 10)) as u64;
        assert!(
            reads <= most,
            "{reads} READs: at most {most} expected with a 1 MiB window"
        );
    });
}

/// One backing id per inode: concurrent opens share it (hard links included), and it is
/// registered anew only after the last handle was released.
#[test]
fn backing_id_is_shared_per_inode_and_released_with_the_last_handle() {
    if !require_kernel("backing_id_is_shared_per_inode_and_released_with_the_last_handle") {
        return;
    }
    with_deadline(Duration::from_secs(60), || {
        let src = Tmpfs::mount();
        std::fs::write(src.path().join("a"), b"data").unwrap();
        std::fs::hard_link(src.path().join("a"), src.path().join("b")).unwrap();
        std::fs::write(src.path().join("other"), b"data").unwrap();
        let (mnt, stats) = mount_passthrough(src.path(), PassthroughOptions::default());
        let m = mnt.path();
        let s0 = stats.snapshot();
        let f1 = std::fs::File::open(m.join("a")).unwrap();
        let f2 = std::fs::OpenOptions::new()
            .write(true)
            .open(m.join("a"))
            .unwrap();
        let f3 = std::fs::File::open(m.join("b")).unwrap();
        let s1 = stats.snapshot();
        assert_eq!(s1.passthrough_opens - s0.passthrough_opens, 3, "{s1:?}");
        assert_eq!(
            s1.backing_ids - s0.backing_ids,
            1,
            "three opens of one inode: {s1:?}"
        );
        let g = std::fs::File::open(m.join("other")).unwrap();
        assert_eq!(stats.snapshot().backing_ids - s0.backing_ids, 2);
        drop((f1, f2, f3, g));
        // RELEASE is asynchronous: wait until the daemon has seen all four.
        let deadline = Instant::now() + Duration::from_secs(5);
        let reopened = loop {
            let before = stats.snapshot().backing_ids;
            let f = std::fs::File::open(m.join("a")).unwrap();
            if stats.snapshot().backing_ids > before {
                break f;
            }
            drop(f);
            assert!(
                Instant::now() < deadline,
                "backing id of 'a' never released"
            );
            std::thread::sleep(Duration::from_millis(10));
        };
        drop(reopened);
        drop(mnt);
    });
}
