//! Per-inode memory overhead of empty files, measured with a counting global allocator:
//! 200,000 empty files in one directory (each with a 7-byte name); the bytes still allocated
//! afterwards, divided by the file count, must stay within 256 bytes. The number printed here
//! is the one quoted in the crate documentation.

use std::alloc::{GlobalAlloc, Layout, System};
use std::ffi::OsStr;
use std::sync::atomic::{AtomicIsize, Ordering};

use fusekit_memfs::{Caller, Limits, MemFs, ROOT_ID};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: delegates every call to the system allocator unchanged, only counting sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: same contract as our caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const FILES: u64 = 200_000;

#[test]
fn empty_files_cost_at_most_256_bytes_each() {
    let fs = MemFs::new(Limits::UNLIMITED, (0, 0), 0o755);
    let c = Caller::root();
    // Names are built before measuring, so only the filesystem's own allocations count.
    let names: Vec<String> = (0..FILES).map(|i| format!("f{i:06}")).collect();
    let before = LIVE.load(Ordering::Relaxed);
    for name in &names {
        let a = fs
            .mknod(&c, ROOT_ID, OsStr::new(name), 0o100644, 0)
            .unwrap();
        fs.forget(a.ino, 1);
    }
    let after = LIVE.load(Ordering::Relaxed);
    let per_file = (after - before) as f64 / FILES as f64;
    eprintln!("memfs: {per_file:.1} bytes allocated per empty file ({FILES} files, 7-byte names)");
    assert_eq!(fs.stats().inodes, FILES + 1);
    assert!(
        per_file <= 256.0,
        "{per_file:.1} bytes per empty file exceeds the 256-byte budget"
    );
    // And it all comes back.
    for name in &names {
        fs.unlink(&c, ROOT_ID, OsStr::new(name)).unwrap();
    }
    let freed = LIVE.load(Ordering::Relaxed);
    assert!(
        ((freed - before) as f64) < FILES as f64 * 8.0,
        "memory returned after unlink"
    );
}
