//! The node table's bookkeeping through the kernel: after a workload of creates, lookups,
//! opens, renames, hard links and unlinks (of open files too), once every file is closed and
//! the kernel has dropped its cached dentries and inodes (drop_caches sends the FORGETs),
//! the table must be back to the root alone — no leaked lookup or open count, no hidden
//! file — in both unlink modes.

mod common;
#[path = "path_mapfs.rs"]
mod mapfs;

use std::io::Write;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{require_kernel, with_deadline, TestMount};
use fusekit::path::{PathAdapter, PathConfig, PathSnapshot, UnlinkMode};
use fusekit::MountOptions;
use mapfs::MapFs;

fn drop_kernel_caches() {
    // 2 = reclaim dentries and inodes: the kernel forgets every unused FUSE node.
    std::fs::write("/proc/sys/vm/drop_caches", "2").expect("write drop_caches");
}

fn table_drains(mode: UnlinkMode) {
    let fs = MapFs::new(mode == UnlinkMode::Hide, Duration::ZERO);
    let inner = Arc::clone(&fs.inner);
    let config = PathConfig::new(mode).io_paths(mode == UnlinkMode::Hide);
    let adapter = PathAdapter::new(fs, config);
    let stats = adapter.stats();
    let mount = TestMount::new(adapter, &MountOptions::default());
    let root = mount.path();

    for d in 0..4 {
        let dir = root.join(format!("d{d}"));
        std::fs::create_dir(&dir).expect("mkdir");
        for f in 0..10 {
            std::fs::write(dir.join(format!("f{f}")), b"data").expect("write");
        }
    }
    // Open files, then unlink and rename over some of them while open.
    let mut open = Vec::new();
    for d in 0..4 {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(root.join(format!("d{d}/f0")))
            .expect("open");
        f.write_all(b"+").expect("append");
        open.push(f);
    }
    std::fs::remove_file(root.join("d0/f0")).expect("unlink open");
    std::fs::rename(root.join("d1/f1"), root.join("d1/f0")).expect("rename over open");
    std::fs::rename(root.join("d2"), root.join("d2-moved")).expect("rename dir");
    std::fs::write(root.join("d3/extra"), b"x").expect("write extra");
    // RELEASE is asynchronous to close(): wait until only the 4 kept files are open.
    let start = Instant::now();
    while inner.open.load(Ordering::SeqCst) != 4 && start.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(2));
    }
    let during = stats.snapshot();
    assert_eq!(
        during.open, 4,
        "open nodes while 4 files are open: {during:?}"
    );
    if mode == UnlinkMode::Hide {
        assert_eq!(during.hidden, 2, "hidden while open: {during:?}");
    } else {
        assert_eq!(during.nameless, 2, "nameless while open: {during:?}");
    }
    for e in std::fs::read_dir(root).expect("readdir") {
        let _ = e.expect("entry").metadata();
    }
    drop(open);
    assert!(
        inner.wait_closed(Duration::from_secs(20)),
        "releases did not arrive"
    );

    let start = Instant::now();
    let mut last = PathSnapshot::default();
    while start.elapsed() < Duration::from_secs(20) {
        drop_kernel_caches();
        last = stats.snapshot();
        if last.nodes == 1 {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let left = inner.hidden_left();
    drop(mount);
    assert_eq!(
        last,
        PathSnapshot {
            nodes: 1,
            ..PathSnapshot::default()
        },
        "the table still holds nodes after every file closed and the kernel forgot all"
    );
    assert!(left.is_empty(), "hidden files left: {left:?}");
}

#[test]
fn path_table_drains_handle_based() {
    if !require_kernel("path_table_drains_handle_based") {
        return;
    }
    with_deadline(Duration::from_secs(90), || {
        table_drains(UnlinkMode::HandleBased)
    });
}

#[test]
fn path_table_drains_hide() {
    if !require_kernel("path_table_drains_hide") {
        return;
    }
    with_deadline(Duration::from_secs(90), || table_drains(UnlinkMode::Hide));
}
