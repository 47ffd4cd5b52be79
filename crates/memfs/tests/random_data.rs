//! Randomized data test: seeded operations (write, read, truncate, fallocate incl. punch and
//! zero-range, copy_file_range, close/reopen, SEEK_DATA/SEEK_HOLE) on a few files, checked
//! against a plain `Vec<u8>` model after every step. Set `MEMFS_SEED` to replay a seed; the
//! seed is printed when a run fails.

mod common;
use common::*;
use fusekit_memfs::*;

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

    /// Offsets biased towards page boundaries, mostly within 64 KiB, sometimes up to 1 MiB.
    fn offset(&mut self) -> u64 {
        let span = if self.below(20) == 0 {
            1 << 20
        } else {
            64 << 10
        };
        match self.below(3) {
            0 => self.below(span / PAGE_SIZE) * PAGE_SIZE,
            1 => (self.below(span / PAGE_SIZE) * PAGE_SIZE + PAGE_SIZE)
                .saturating_sub(1 + self.below(3)),
            _ => self.below(span),
        }
    }

    fn len(&mut self) -> u64 {
        match self.below(4) {
            0 => self.below(16),
            1 => PAGE_SIZE * (1 + self.below(3)),
            _ => self.below(3 * PAGE_SIZE),
        }
    }
}

struct File {
    ino: Ino,
    fh: Fh,
    model: Vec<u8>,
}

fn set_len(model: &mut Vec<u8>, len: u64) {
    model.resize(len as usize, 0);
}

fn run(seed: u64, ops: usize) {
    let mut rng = Rng(seed);
    let fs = fs();
    let base = fs.stats();
    let mut files: Vec<File> = (0..3)
        .map(|i| {
            let (a, fh) = create(&fs, ROOT_ID, &format!("f{i}"));
            File {
                ino: a.ino,
                fh,
                model: Vec::new(),
            }
        })
        .collect();
    for step in 0..ops {
        let i = rng.below(files.len() as u64) as usize;
        let op = rng.below(100);
        let ctx = format!("seed {seed} step {step} op {op} file {i}");
        match op {
            0..=29 => {
                let off = rng.offset();
                let len = rng.len() as usize;
                let zero = rng.below(5) == 0;
                let data: Vec<u8> = (0..len)
                    .map(|_| {
                        if zero {
                            0
                        } else {
                            (rng.next() % 255 + 1) as u8
                        }
                    })
                    .collect();
                let f = &mut files[i];
                let n = fs
                    .write(&root(), f.ino, f.fh, off, &data, false)
                    .expect(&ctx);
                assert_eq!(n as usize, len, "{ctx}");
                if len > 0 {
                    let end = off as usize + len;
                    if f.model.len() < end {
                        f.model.resize(end, 0);
                    }
                    f.model[off as usize..end].copy_from_slice(&data);
                }
            }
            30..=49 => {
                let f = &files[i];
                let off = rng.offset();
                let len = rng.len() as u32;
                let mut out = Vec::new();
                fs.read(f.ino, f.fh, off, len, &mut out).expect(&ctx);
                let from = (off as usize).min(f.model.len());
                let to = (off as usize + len as usize).min(f.model.len());
                assert!(out == f.model[from..to], "{ctx}: read {off}+{len} differs");
            }
            50..=57 => {
                let size = rng.offset();
                let f = &mut files[i];
                let set = SetAttr {
                    size: Some(size),
                    ..SetAttr::default()
                };
                assert_eq!(
                    fs.setattr(&root(), f.ino, &set).expect(&ctx).size,
                    size,
                    "{ctx}"
                );
                set_len(&mut f.model, size);
            }
            58..=71 => {
                let off = rng.offset();
                let len = rng.len().max(1);
                let mode = [
                    0,
                    FALLOC_FL_KEEP_SIZE,
                    FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                    FALLOC_FL_ZERO_RANGE,
                    FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
                ][rng.below(5) as usize];
                let f = &mut files[i];
                fs.fallocate(f.ino, f.fh, off, len, mode).expect(&ctx);
                let end = off + len;
                if mode & FALLOC_FL_KEEP_SIZE == 0 && end as usize > f.model.len() {
                    set_len(&mut f.model, end);
                }
                if mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE) != 0 {
                    let to = (end as usize).min(f.model.len());
                    if (off as usize) < to {
                        f.model[off as usize..to].fill(0);
                    }
                }
            }
            72..=81 => {
                let j = rng.below(files.len() as u64) as usize;
                let off_in = rng.offset();
                let off_out = rng.offset();
                let len = rng.len() * if rng.below(4) == 0 { 8 } else { 1 };
                let (src_ino, src_fh) = (files[i].ino, files[i].fh);
                let (dst_ino, dst_fh) = (files[j].ino, files[j].fh);
                let avail = (files[i].model.len() as u64)
                    .saturating_sub(off_in)
                    .min(len);
                let overlap = i == j && off_in < off_out + avail && off_out < off_in + avail;
                let r = fs.copy_file_range(
                    &root(),
                    (src_ino, src_fh, off_in),
                    (dst_ino, dst_fh, off_out),
                    len,
                    0,
                );
                if overlap {
                    assert_eq!(r, Err(Errno::INVAL), "{ctx}");
                    continue;
                }
                let n = r.expect(&ctx);
                assert_eq!(n, avail, "{ctx}: copy length");
                if n > 0 {
                    let chunk = files[i].model[off_in as usize..(off_in + n) as usize].to_vec();
                    let dst = &mut files[j].model;
                    let end = (off_out + n) as usize;
                    if dst.len() < end {
                        dst.resize(end, 0);
                    }
                    dst[off_out as usize..end].copy_from_slice(&chunk);
                }
            }
            82..=87 => {
                let f = &mut files[i];
                fs.release(f.ino, f.fh, None).expect(&ctx);
                f.fh = fs.open(&root(), f.ino, O_RDWR).expect(&ctx);
            }
            _ => {
                let f = &files[i];
                let off = rng.offset();
                let size = f.model.len() as u64;
                match fs.lseek(f.ino, f.fh, off, SEEK_DATA) {
                    Ok(d) => {
                        assert!(
                            d >= off && d < size,
                            "{ctx}: SEEK_DATA {off} -> {d}, size {size}"
                        );
                        assert!(
                            f.model[off as usize..d as usize].iter().all(|&b| b == 0),
                            "{ctx}: data skipped"
                        );
                    }
                    Err(e) => {
                        assert_eq!(e, Errno::NXIO, "{ctx}");
                        let from = (off as usize).min(f.model.len());
                        assert!(
                            f.model[from..].iter().all(|&b| b == 0),
                            "{ctx}: ENXIO with data after {off}"
                        );
                    }
                }
                match fs.lseek(f.ino, f.fh, off, SEEK_HOLE) {
                    Ok(h) => assert!(
                        off < size && h >= off && h <= size,
                        "{ctx}: SEEK_HOLE {off} -> {h}"
                    ),
                    Err(e) => assert!(e == Errno::NXIO && off >= size, "{ctx}: {e:?}"),
                }
            }
        }
        let f = &files[i];
        let attr = fs.getattr(f.ino).expect(&ctx);
        assert_eq!(attr.size, f.model.len() as u64, "{ctx}: size");
    }
    // Full comparison, accounting, and cleanup returns everything.
    let mut blocks = 0;
    for f in &files {
        assert_eq!(
            read_all(&fs, f.ino, f.fh),
            f.model,
            "seed {seed}: final contents"
        );
        blocks += fs.getattr(f.ino).unwrap().blocks;
    }
    assert_eq!(
        fs.stats().bytes_used,
        blocks * 512,
        "seed {seed}: accounting"
    );
    for (i, f) in files.iter().enumerate() {
        fs.release(f.ino, f.fh, None).unwrap();
        fs.unlink(&root(), ROOT_ID, n(&format!("f{i}"))).unwrap();
        fs.forget(f.ino, 1);
    }
    assert_eq!(fs.stats(), base, "seed {seed}: everything returned");
}

#[test]
fn random_operations_match_a_vec_model() {
    let seeds: Vec<u64> = match std::env::var("MEMFS_SEED") {
        Ok(s) => vec![s.parse().expect("MEMFS_SEED must be a u64")],
        Err(_) => vec![1, 0xDEAD_BEEF, 20_261_122],
    };
    let ops = if seeds.len() == 1 { 20_000 } else { 8_000 };
    for seed in seeds {
        let r = std::panic::catch_unwind(|| run(seed, ops));
        if let Err(e) = r {
            eprintln!("random data test failed with seed {seed}: replay with MEMFS_SEED={seed}");
            std::panic::resume_unwind(e);
        }
    }
}
