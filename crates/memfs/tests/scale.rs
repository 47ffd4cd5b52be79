//! Large directories: lookup cost must not grow with the directory size. An always-on run
//! with 100,000 entries compares lookup time against a 1,000-entry directory (a linear scan
//! would be ~100x slower; the bound is a loose 10x); the 1,000,000-entry run is `#[ignore]`d.

mod common;
use std::time::{Duration, Instant};

use common::*;
use fusekit_memfs::*;

fn fill(fs: &MemFs, dir: Ino, count: u64) {
    for i in 0..count {
        let a = fs
            .mknod(&root(), dir, n(&format!("file-{i}")), 0o100644, 0)
            .unwrap();
        fs.forget(a.ino, 1);
    }
}

fn time_lookups(fs: &MemFs, dir: Ino, count: u64, probes: u64) -> Duration {
    let start = Instant::now();
    for k in 0..probes {
        let i = (k * 7919) % count;
        let a = fs.lookup(dir, n(&format!("file-{i}"))).unwrap();
        fs.forget(a.ino, 1);
    }
    assert_eq!(fs.lookup(dir, n("file-missing")).err(), Some(Errno::NOENT));
    start.elapsed()
}

fn check_scaling(big: u64) {
    let fs = fs();
    let small_dir = fs.mkdir(&root(), ROOT_ID, n("small"), 0o755).unwrap().ino;
    let big_dir = fs.mkdir(&root(), ROOT_ID, n("big"), 0o755).unwrap().ino;
    fill(&fs, small_dir, 1000);
    fill(&fs, big_dir, big);
    assert_eq!(fs.getattr(big_dir).unwrap().size, 40 + 20 * big);
    let probes = 20_000;
    // Best of three to shrug off scheduler noise.
    let t_small = (0..3)
        .map(|_| time_lookups(&fs, small_dir, 1000, probes))
        .min()
        .unwrap();
    let t_big = (0..3)
        .map(|_| time_lookups(&fs, big_dir, big, probes))
        .min()
        .unwrap();
    let ratio = t_big.as_secs_f64() / t_small.as_secs_f64();
    eprintln!(
        "lookup: {:?} per op at 1k entries, {:?} at {big} ({ratio:.2}x)",
        t_small / probes as u32,
        t_big / probes as u32
    );
    assert!(
        ratio < 10.0,
        "lookup looks linear in directory size: {ratio:.1}x"
    );
    // A full listing sees every entry exactly once.
    let fh = fs.opendir(&root(), big_dir, 0).unwrap();
    let mut count = 0u64;
    let mut last = 0;
    fs.readdir(big_dir, fh, 0, |e| {
        assert!(e.offset > last, "offsets increase");
        last = e.offset;
        count += 1;
        std::ops::ControlFlow::Continue(())
    })
    .unwrap();
    assert_eq!(count, big + 2);
}

#[test]
fn hundred_thousand_entries_lookup_is_not_linear() {
    check_scaling(100_000);
}

#[test]
#[ignore = "takes a while in debug builds; run with --ignored (and --release)"]
fn one_million_entries_in_one_directory() {
    check_scaling(1_000_000);
}
