//! Minimal reproducers of memfs bugs found by the fuzz targets (fuzz/, docs/fuzzing.md).
//! A test that still fails is `#[ignore]`d with the reason; the fix removes the `ignore` (and
//! the matching `known_bug` filter in fuzz/src/memfs/mod.rs).

use std::ffi::OsStr;

use fusekit_memfs::{Caller, Errno, Limits, MemFs, MAX_FILE_SIZE, ROOT_INO};

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
        .create(&root, ROOT_INO, OsStr::new("f"), 0o644, O_RDWR)
        .expect("create");
    let result = fs.write(&root, attr.ino, fh, MAX_FILE_SIZE + 1, &[], false);
    assert!(
        matches!(result, Ok(0) | Err(Errno::FBIG) | Err(Errno::INVAL)),
        "empty write past the limit answered {result:?}"
    );
    assert_eq!(fs.getattr(attr.ino).expect("getattr").size, 0);
}
