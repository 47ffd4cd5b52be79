//! Scale through a real mount: 100,000 files in one directory (create, stat each, list and
//! count), timed; 1,000,000 is `#[ignore]`d (run with `--ignored`, ideally `--release`).

mod common;

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::time::{Duration, Instant};

use common::mount::{mount_memfs, require_kernel, with_deadline};
use fusekit_memfs::Limits;

fn many_files(test: &'static str, count: usize, limit: Duration) {
    if !require_kernel(test) {
        return;
    }
    with_deadline(limit, move || {
        let (engine, mnt) = mount_memfs(Limits::UNLIMITED);
        let dir = mnt.path().join("big");
        fs::create_dir(&dir).unwrap();
        let t = Instant::now();
        // Four threads (two cores): the kernel serializes creates in one directory on its
        // inode lock, but the FUSE round trips overlap.
        std::thread::scope(|s| {
            for k in 0..4 {
                let dir = &dir;
                s.spawn(move || {
                    for i in (k..count).step_by(4) {
                        fs::File::create(dir.join(format!("f{i}"))).unwrap();
                    }
                });
            }
        });
        let created = t.elapsed();
        let t = Instant::now();
        for i in (0..count).step_by(7) {
            let m = fs::metadata(dir.join(format!("f{i}"))).unwrap();
            assert!(m.is_file() && m.nlink() == 1);
        }
        let stated = t.elapsed();
        // Drop the kernel's page cache, dentries and inodes: the listing comes from memfs.
        let _ = fs::write("/proc/sys/vm/drop_caches", "3");
        let t = Instant::now();
        let mut listed = 0usize;
        let mut seen = vec![false; count];
        for e in fs::read_dir(&dir).unwrap() {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            let i: usize = name[1..].parse().unwrap();
            assert!(!seen[i], "{name} listed twice");
            seen[i] = true;
            listed += 1;
        }
        let readdir = t.elapsed();
        assert_eq!(listed, count);
        assert_eq!(fs::metadata(&dir).unwrap().nlink(), 2);
        assert!(engine.stats().inode_slots >= count as u64 + 2);
        eprintln!(
            "{count} files in one directory through FUSE: create {created:?}, stat of 1/7 \
             {stated:?}, readdir {readdir:?}"
        );
        drop(mnt);
    });
}

#[test]
fn hundred_thousand_files_in_one_directory() {
    many_files(
        "hundred_thousand_files_in_one_directory",
        100_000,
        Duration::from_secs(120),
    );
}

#[test]
#[ignore = "takes minutes in debug builds; run with --ignored (and --release)"]
fn one_million_files_in_one_directory() {
    many_files(
        "one_million_files_in_one_directory",
        1_000_000,
        Duration::from_secs(1200),
    );
}
