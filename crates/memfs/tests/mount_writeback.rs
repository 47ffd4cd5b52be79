//! memfs mounted with the kernel's writeback cache: data written through `O_APPEND` and
//! write-only descriptors must land at the offsets the kernel writes back, not at memfs's own
//! end of file. Found by `scripts/soak.sh --writeback` (`cat a > g; cat b >> g` left 3000
//! bytes instead of 2000). The contents are checked in the engine itself, below every kernel
//! cache.

mod common;

use std::ffi::OsStr;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use common::mount::{require_kernel, with_deadline};
use fusekit::MountOptions;
use fusekit_memfs::{AdapterOptions, Caller, Limits, MemFs, MemFsAdapter, ROOT_ID};
use fusekit_testkit::TestMount;

const LIMIT: Duration = Duration::from_secs(60);

fn pattern(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// Everything the engine holds for `name` in the root, read through its own handle.
fn engine_contents(engine: &MemFs, name: &str) -> Vec<u8> {
    let attr = engine.lookup(ROOT_ID, OsStr::new(name)).expect("lookup");
    let fh = engine
        .open(&Caller::root(), attr.ino, 0)
        .expect("open read-only");
    let mut out = Vec::new();
    engine
        .read(attr.ino, fh, 0, attr.size as u32 + 4096, &mut out)
        .expect("read");
    engine.release(attr.ino, fh, None).expect("release");
    assert_eq!(out.len() as u64, attr.size, "read length vs size of {name}");
    out
}

#[test]
fn append_and_write_only_descriptors_under_writeback_cache() {
    if !require_kernel("append_and_write_only_descriptors_under_writeback_cache") {
        return;
    }
    with_deadline(LIMIT, || {
        let engine = Arc::new(MemFs::new(Limits::UNLIMITED, (0, 0), 0o755));
        let adapter = MemFsAdapter::new(
            Arc::clone(&engine),
            AdapterOptions {
                writeback_cache: true,
                ..AdapterOptions::default()
            },
        );
        let mnt = TestMount::new(adapter, &MountOptions::new().default_permissions(true));
        let (a, b, c) = (pattern(1, 1000), pattern(2, 1000), pattern(3, 5000));

        // `cat a > g; cat b >> g`
        let g = mnt.path().join("g");
        File::create(&g).unwrap().write_all(&a).unwrap();
        let mut f = OpenOptions::new().append(true).open(&g).unwrap();
        f.write_all(&b).unwrap();
        f.sync_all().unwrap();
        drop(f);
        // A write-only descriptor writing part of a page the kernel must first read.
        let mut f = OpenOptions::new().write(true).open(&g).unwrap();
        std::io::Seek::seek(&mut f, std::io::SeekFrom::Start(500)).unwrap();
        f.write_all(&c[..100]).unwrap();
        f.sync_all().unwrap();
        drop(f);
        // Appends after a write-only rewrite, many pages long.
        let mut f = OpenOptions::new().append(true).open(&g).unwrap();
        f.write_all(&c).unwrap();
        f.sync_all().unwrap();
        drop(f);

        let mut want = [a.as_slice(), b.as_slice(), c.as_slice()].concat();
        want[500..600].copy_from_slice(&c[..100]);
        let got = engine_contents(&engine, "g");
        assert_eq!(got.len(), want.len(), "size in the engine");
        assert!(got == want, "contents in the engine differ");
        assert_eq!(
            std::fs::read(&g).unwrap(),
            want,
            "contents through the mount"
        );
        mnt.finish();
    });
}
