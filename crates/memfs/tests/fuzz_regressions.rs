//! Minimal reproducers of memfs bugs found by the fuzz targets (fuzz/, docs/fuzzing.md).
//! A test that still fails is `#[ignore]`d with the reason; the fix removes the `ignore` (and
//! the matching `known_bug` filter in fuzz/src/memfs/mod.rs).

use std::ffi::OsStr;

use fusekit_memfs::{Caller, Errno, Limits, MemFs, MAX_FILE_SIZE, ROOT_ID};

const O_RDWR: u32 = 2;

/// Found by the `memfs` target: a zero-length WRITE at an offset beyond `MAX_FILE_SIZE`
/// computes `MAX_FILE_SIZE - offset` (crates/memfs/src/io.rs, `write`) and panics with
/// "attempt to subtract with overflow" in builds with overflow checks (in release builds it
/// wrapped and happened to answer 0). The kernel never sends such an offset, but the engine's
/// API is public. Fixed with a saturating subtraction.
#[test]
fn empty_write_beyond_max_file_size() {
    let fs = MemFs::new(Limits::UNLIMITED, (0, 0), 0o755);
    let root = Caller::root();
    let (attr, fh) = fs
        .create(&root, ROOT_ID, OsStr::new("f"), 0o644, O_RDWR)
        .expect("create");
    let result = fs.write(&root, attr.ino, fh, MAX_FILE_SIZE + 1, &[], false);
    assert!(
        matches!(result, Ok(0) | Err(Errno::FBIG) | Err(Errno::INVAL)),
        "empty write past the limit answered {result:?}"
    );
    assert_eq!(fs.getattr(attr.ino).expect("getattr").size, 0);
}

/// Found by the `memfs` target (the run stalled in `MemFs::copy_file_range`,
/// crates/memfs/src/io.rs:~310-330): copying a range of a sparse file walks it one 4 KiB page
/// at a time even through holes, so the time is proportional to the length asked for, not to
/// the data present. A sparse source of 2^50 bytes (one `truncate`) and `len` = 2^50 means
/// 2^38 iterations: the worker serving the request spins for hours and cannot be interrupted.
/// tmpfs answers the same copy promptly. The test gives it 10 seconds. Fixed: holes are now
/// skipped whole (`Pages::seek_data`), and a chunk counts data bytes only.
#[test]
fn copy_file_range_over_a_huge_hole_is_prompt() {
    use std::sync::Arc;
    use std::time::Duration;

    use fusekit_memfs::SetAttr;

    const SIZE: u64 = 1 << 50;
    let fs = Arc::new(MemFs::new(Limits::UNLIMITED, (0, 0), 0o755));
    let root = Caller::root();
    let (src, fh_in) = fs
        .create(&root, ROOT_ID, OsStr::new("sparse"), 0o644, O_RDWR)
        .expect("create source");
    let (dst, fh_out) = fs
        .create(&root, ROOT_ID, OsStr::new("copy"), 0o644, O_RDWR)
        .expect("create destination");
    let grow = SetAttr {
        size: Some(SIZE),
        ..SetAttr::default()
    };
    fs.setattr(&root, src.ino, &grow).expect("truncate up");
    let (tx, rx) = std::sync::mpsc::channel();
    let worker = Arc::clone(&fs);
    // Left running if it overruns: the test process ends with the test binary.
    std::thread::spawn(move || {
        let copied = worker.copy_file_range(
            &Caller::root(),
            (src.ino, fh_in, 0),
            (dst.ino, fh_out, 0),
            SIZE,
            0,
        );
        let _ = tx.send(copied);
    });
    let copied = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("copy_file_range of a 2^50-byte hole still running after 10 s");
    assert_eq!(copied, Ok(SIZE));
}
