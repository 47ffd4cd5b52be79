//! Randomized data test through a real mount: seeded operations (pwrite/pread at random
//! offsets up to 4 MiB, truncate, fallocate incl. punch-hole and zero-range, MAP_SHARED mmap
//! reads and writes with msync, copy_file_range, close/reopen) on several files, checked
//! against an in-test `Vec<u8>` model after every read. A failure prints the seed; set
//! `MEMFS_MOUNT_SEED` to replay one (and `MEMFS_MOUNT_OPS` to change the count).

mod common;

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::mount::{mount_memfs, require_kernel, with_deadline};
use fusekit_memfs::Limits;
use rustix::fs::FallocateFlags;
use rustix::mm::{MapFlags, MsyncFlags, ProtFlags};

const PAGE: u64 = 4096;
const MAX_OFFSET: u64 = 4 << 20;

/// splitmix64: small, seedable, good enough for test inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// Offsets near page boundaries or anywhere, mostly in the first 256 KiB.
    fn offset(&mut self) -> u64 {
        let span = if self.below(10) == 0 {
            MAX_OFFSET
        } else {
            256 << 10
        };
        match self.below(3) {
            0 => self.below(span / PAGE) * PAGE,
            1 => (self.below(span / PAGE) * PAGE + PAGE).saturating_sub(1 + self.below(3)),
            _ => self.below(span),
        }
    }

    fn len(&mut self) -> u64 {
        match self.below(5) {
            0 => self.below(16),
            1 => PAGE * (1 + self.below(4)),
            2 => self.below(64 << 10),
            _ => self.below(3 * PAGE),
        }
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        let fill = self.next();
        (0..n)
            .map(|i| (fill.wrapping_add(i as u64 * 131) >> 3) as u8)
            .collect()
    }
}

struct Subject {
    path: PathBuf,
    file: File,
    model: Vec<u8>,
}

fn open(path: &Path) -> File {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .unwrap()
}

fn pread_exact(f: &File, len: usize, off: u64) -> Vec<u8> {
    let mut buf = vec![0u8; len];
    let mut done = 0;
    while done < len {
        let n = rustix::io::pread(f, &mut buf[done..], off + done as u64).unwrap();
        if n == 0 {
            break;
        }
        done += n;
    }
    buf.truncate(done);
    buf
}

/// What the model says a read of `len` bytes at `off` returns.
fn expected(model: &[u8], off: u64, len: u64) -> &[u8] {
    let start = (off as usize).min(model.len());
    let end = ((off + len) as usize).min(model.len());
    &model[start..end]
}

fn write_model(model: &mut Vec<u8>, off: u64, data: &[u8]) {
    if data.is_empty() {
        return;
    }
    let end = off as usize + data.len();
    if model.len() < end {
        model.resize(end, 0);
    }
    model[off as usize..end].copy_from_slice(data);
}

fn zero_model(model: &mut [u8], off: u64, len: u64) {
    let start = (off as usize).min(model.len());
    let end = ((off + len) as usize).min(model.len());
    model[start..end].fill(0);
}

/// Maps `len` bytes at page-aligned `off` of `f` (MAP_SHARED) and runs `body` on them.
fn with_map(f: &File, off: u64, len: usize, body: impl FnOnce(&mut [u8])) {
    // SAFETY: a fresh shared mapping inside the file's current size; the slice lives only
    // during `body`, and the mapping is synced and unmapped right after.
    unsafe {
        let ptr = rustix::mm::mmap(
            std::ptr::null_mut(),
            len,
            ProtFlags::READ | ProtFlags::WRITE,
            MapFlags::SHARED,
            f,
            off,
        )
        .expect("mmap");
        body(std::slice::from_raw_parts_mut(ptr.cast::<u8>(), len));
        rustix::mm::msync(ptr, len, MsyncFlags::SYNC).expect("msync");
        rustix::mm::munmap(ptr, len).expect("munmap");
    }
}

fn run(dir: &Path, seed: u64, ops: usize) {
    let mut rng = Rng(seed);
    let mut files: Vec<Subject> = (0..3)
        .map(|i| {
            let path = dir.join(format!("r{i}"));
            let file = open(&path);
            Subject {
                path,
                file,
                model: Vec::new(),
            }
        })
        .collect();
    let mut counts = [0usize; 10];
    for step in 0..ops {
        let which = rng.below(files.len() as u64) as usize;
        let op = rng.below(100);
        let ctx = |what: &str| format!("seed {seed} step {step} file {which} op {what}");
        let kind = match op {
            0..=24 => 0,
            25..=49 => 1,
            50..=56 => 2,
            57..=64 => 3,
            65..=72 => 4,
            73..=80 => 5,
            81..=85 => 6,
            86..=90 => 7,
            _ => 8,
        };
        counts[kind] += 1;
        match kind {
            0 => {
                let (off, len) = (rng.offset(), rng.len());
                let data = rng.bytes(len as usize);
                let s = &mut files[which];
                let n = rustix::io::pwrite(&s.file, &data, off)
                    .unwrap_or_else(|e| panic!("{}: {e}", ctx("pwrite")));
                assert_eq!(n, data.len(), "{}", ctx("short pwrite"));
                write_model(&mut s.model, off, &data);
            }
            1 => {
                let (off, len) = (rng.offset(), rng.len());
                let s = &files[which];
                let got = pread_exact(&s.file, len as usize, off);
                assert!(
                    got == expected(&s.model, off, len),
                    "{}: pread {len} at {off} differs (size {})",
                    ctx("pread"),
                    s.model.len()
                );
            }
            2 => {
                let len = rng.offset();
                let s = &mut files[which];
                s.file
                    .set_len(len)
                    .unwrap_or_else(|e| panic!("{}: {e}", ctx("ftruncate")));
                s.model.resize(len as usize, 0);
            }
            3 => {
                let (off, len) = (rng.offset(), rng.len().max(1));
                let s = &mut files[which];
                let size = s.model.len() as u64;
                match rng.below(4) {
                    0 => {
                        rustix::fs::fallocate(&s.file, FallocateFlags::empty(), off, len)
                            .unwrap_or_else(|e| panic!("{}: {e}", ctx("fallocate 0")));
                        if off + len > size {
                            s.model.resize((off + len) as usize, 0);
                        }
                    }
                    1 => {
                        rustix::fs::fallocate(&s.file, FallocateFlags::KEEP_SIZE, off, len)
                            .unwrap_or_else(|e| panic!("{}: {e}", ctx("fallocate KEEP_SIZE")));
                    }
                    2 => {
                        let flags = FallocateFlags::PUNCH_HOLE | FallocateFlags::KEEP_SIZE;
                        rustix::fs::fallocate(&s.file, flags, off, len)
                            .unwrap_or_else(|e| panic!("{}: {e}", ctx("punch hole")));
                        zero_model(&mut s.model, off, len);
                    }
                    _ => {
                        rustix::fs::fallocate(&s.file, FallocateFlags::ZERO_RANGE, off, len)
                            .unwrap_or_else(|e| panic!("{}: {e}", ctx("zero range")));
                        if off + len > size {
                            s.model.resize((off + len) as usize, 0);
                        }
                        zero_model(&mut s.model, off, len);
                    }
                }
            }
            4 | 5 => {
                let s = &mut files[which];
                let size = s.model.len() as u64;
                if size == 0 {
                    continue;
                }
                let off = rng.below(size.div_ceil(PAGE)) * PAGE;
                let len = (size - off).min(1 + rng.below(4 * PAGE)) as usize;
                if kind == 4 {
                    let at = rng.below(len as u64) as usize;
                    let n = (len - at).min(1 + rng.below(PAGE) as usize);
                    let data = rng.bytes(n);
                    with_map(&s.file, off, len, |m| m[at..at + n].copy_from_slice(&data));
                    write_model(&mut s.model, off + at as u64, &data);
                    let back = pread_exact(&s.file, n, off + at as u64);
                    assert!(back == data, "{}", ctx("read after mmap write"));
                } else {
                    let mut copy = Vec::new();
                    with_map(&s.file, off, len, |m| copy.extend_from_slice(m));
                    assert!(
                        copy == expected(&s.model, off, len as u64),
                        "{}: mmap read {len} at {off} differs",
                        ctx("mmap read")
                    );
                }
            }
            6 => {
                let s = &mut files[which];
                drop(std::mem::replace(&mut s.file, open(&s.path)));
                let size = rustix::fs::fstat(&s.file).unwrap().st_size as usize;
                assert_eq!(size, s.model.len(), "{}", ctx("size after reopen"));
            }
            7 => {
                let other = (which + 1 + rng.below(2) as usize) % files.len();
                let (off_in, off_out, len) = (rng.offset(), rng.offset(), rng.len());
                let (mut i, mut o) = (off_in, off_out);
                let src_model = files[which].model.clone();
                let n = rustix::fs::copy_file_range(
                    &files[which].file,
                    Some(&mut i),
                    &files[other].file,
                    Some(&mut o),
                    len as usize,
                )
                .unwrap_or_else(|e| panic!("{}: {e}", ctx("copy_file_range")));
                let want = expected(&src_model, off_in, len);
                assert!(n <= want.len(), "{}", ctx("copy_file_range too long"));
                write_model(&mut files[other].model, off_out, &want[..n]);
                let size = rustix::fs::fstat(&files[other].file).unwrap().st_size as usize;
                assert_eq!(
                    size,
                    files[other].model.len(),
                    "{}: destination size after copying {n} of {len} from {off_in} to {off_out}",
                    ctx("copy_file_range")
                );
            }
            _ => {
                let s = &files[which];
                let size = rustix::fs::fstat(&s.file).unwrap().st_size as usize;
                assert_eq!(size, s.model.len(), "{}", ctx("size"));
                let all = pread_exact(&s.file, size + 10, 0);
                assert!(all == s.model, "{}: full contents differ", ctx("full read"));
            }
        }
        let s = &files[which];
        let size = rustix::fs::fstat(&s.file).unwrap().st_size as usize;
        assert_eq!(
            size,
            s.model.len(),
            "{}: size after kind {kind}",
            ctx("fstat")
        );
    }
    for s in &files {
        assert!(
            pread_exact(&s.file, s.model.len() + 1, 0) == s.model,
            "seed {seed}: final contents differ"
        );
    }
    eprintln!(
        "seed {seed}: {ops} ops (write, read, truncate, fallocate, mmap-write, mmap-read, \
         reopen, copy, full-read) = {:?}",
        &counts[..9]
    );
}

#[test]
fn random_data_operations_match_a_model() {
    if !require_kernel("random_data_operations_match_a_model") {
        return;
    }
    let seed = std::env::var("MEMFS_MOUNT_SEED")
        .ok()
        .map(|s| s.parse::<u64>().expect("MEMFS_MOUNT_SEED must be a number"))
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    let ops = std::env::var("MEMFS_MOUNT_OPS")
        .ok()
        .map(|s| {
            s.parse::<usize>()
                .expect("MEMFS_MOUNT_OPS must be a number")
        })
        .unwrap_or(20_000);
    with_deadline(Duration::from_secs(180), move || {
        let (_engine, mnt) = mount_memfs(Limits::UNLIMITED);
        let t = Instant::now();
        let dir = mnt.path().to_path_buf();
        let result = std::panic::catch_unwind(move || run(&dir, seed, ops));
        if let Err(panic) = result {
            eprintln!("random data test failed: replay with MEMFS_MOUNT_SEED={seed}");
            std::panic::resume_unwind(panic);
        }
        eprintln!("{ops} random operations through FUSE in {:?}", t.elapsed());
        drop(mnt);
    });
}
