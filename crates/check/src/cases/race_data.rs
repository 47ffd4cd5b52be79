//! Race cases on file contents: disjoint parallel writers, truncation racing reads, and
//! O_APPEND writers — every byte observed must be one that some serial order could produce.
//! Family `race`, sharing the `Race` helper of `race.rs`.

use std::os::fd::AsFd;
use std::sync::atomic::{AtomicU64, Ordering};

use rustix::fs::OFlags;

use super::race::Race;
use crate::ctx::Ctx;
use crate::util::*;

cases! { "race";
    race_parallel_writers_disjoint [] "threads writing disjoint ranges of one file leave exactly their last data";
    race_truncate_vs_read [] "reads racing truncate/extend see only the file's bytes or zeros, never garbage";
    race_append_writers [] "concurrent O_APPEND writers never overwrite or interleave records";
}

fn chunk_pattern(chunk: usize, gen: u64, len: usize) -> Vec<u8> {
    let mut v = vec![(chunk as u64 * 31 + gen) as u8 | 1; len];
    v[..8].copy_from_slice(&gen.to_le_bytes());
    v
}

fn race_parallel_writers_disjoint(c: &Ctx) -> R<()> {
    const CHUNK: usize = 64 * 1024;
    const CHUNKS: usize = 64;
    const THREADS: usize = 4;
    let f = c.open("f", OFlags::CREATE | OFlags::RDWR)?;
    let last: Vec<AtomicU64> = (0..CHUNKS).map(|_| AtomicU64::new(0)).collect();
    let state = Race::new(c);
    let race = &state;
    let mut seeds = c.rng();
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let mut rng = Rng::new(seeds.next_u64());
            let (race, f, last) = (race, f.as_fd(), &last);
            s.spawn(move || {
                let mut gen = 0;
                while race.running() || gen < 8 {
                    gen += 1;
                    let chunk = t + THREADS * rng.below((CHUNKS / THREADS) as u64) as usize;
                    let r =
                        pwrite_all(f, &chunk_pattern(chunk, gen, CHUNK), (chunk * CHUNK) as u64)
                            .must(&format!("pwrite chunk {chunk}"));
                    if !race.ok(r) {
                        return;
                    }
                    last[chunk].store(gen, Ordering::Relaxed);
                }
            });
        }
    });
    state.result()?;
    for (chunk, g) in last.iter().enumerate() {
        let g = g.load(Ordering::Relaxed);
        let got = pread_upto(&f, CHUNK, (chunk * CHUNK) as u64).must("pread")?;
        let want = if g == 0 {
            vec![0u8; CHUNK]
        } else {
            chunk_pattern(chunk, g, CHUNK)
        };
        if got.len() < CHUNK && g == 0 {
            continue; // never-written chunk past the end
        }
        check(
            &format!("chunk {chunk} (last generation {g})"),
            got == want,
            "its last written data",
            "other bytes",
        )?;
    }
    Ok(())
}

fn race_truncate_vs_read(c: &Ctx) -> R<()> {
    const SZ: u64 = 256 * 1024;
    let f = c.open("f", OFlags::CREATE | OFlags::RDWR)?;
    pwrite_all(&f, &[0xAB; SZ as usize], 0).must("initial write")?;
    let state = Race::new(c);
    let race = &state;
    let mut seeds = c.rng();
    std::thread::scope(|s| {
        let mut rng = Rng::new(seeds.next_u64());
        let (race, fd) = (race, f.as_fd());
        s.spawn(move || {
            let full = vec![0xABu8; SZ as usize];
            while race.running() {
                let r = rustix::fs::ftruncate(fd, rng.below(SZ + 1))
                    .must("ftruncate")
                    .and_then(|()| {
                        if rng.below(2) == 0 {
                            rustix::fs::ftruncate(fd, SZ).must("ftruncate up")
                        } else {
                            pwrite_all(fd, &full, 0).must("rewrite")
                        }
                    });
                if !race.ok(r) {
                    return;
                }
            }
        });
        for _ in 0..2 {
            let mut rng = Rng::new(seeds.next_u64());
            let (race, fd) = (race, f.as_fd());
            s.spawn(move || {
                let mut buf = vec![0u8; 64 * 1024];
                while race.running() {
                    let off = rng.below(SZ);
                    let n = match rustix::io::pread(fd, &mut buf, off) {
                        Ok(n) => n,
                        Err(e) => return race.fail(fail("success", errno_name(e), "pread")),
                    };
                    if let Some(bad) = buf[..n].iter().position(|b| *b != 0xAB && *b != 0) {
                        return race.fail(fail(
                            "0xAB or 0x00",
                            format!("{:#04x}", buf[bad]),
                            format!("byte at offset {} read during truncation", off + bad as u64),
                        ));
                    }
                    if off + n as u64 > SZ {
                        return race.fail(fail(
                            format!("<= {SZ}"),
                            off + n as u64,
                            "end of a read",
                        ));
                    }
                }
            });
        }
    });
    state.result()
}

fn race_append_writers(c: &Ctx) -> R<()> {
    const REC: usize = 64;
    const THREADS: u8 = 3;
    let _ = c.open("f", OFlags::CREATE | OFlags::WRONLY)?;
    let state = Race::new(c);
    let race = &state;
    let counts: Vec<AtomicU64> = (0..THREADS).map(|_| AtomicU64::new(0)).collect();
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let (race, counts) = (race, &counts);
            let fd = match c.open("f", OFlags::WRONLY | OFlags::APPEND) {
                Ok(fd) => fd,
                Err(o) => return race.fail(o),
            };
            s.spawn(move || {
                let mut seq = 0u32;
                while (race.running() || seq < 10) && seq < 20_000 {
                    let mut rec = [t + 1; REC];
                    rec[1..5].copy_from_slice(&seq.to_le_bytes());
                    match rustix::io::write(&fd, &rec) {
                        Ok(REC) => {}
                        Ok(n) => return race.fail(fail(REC, n, "bytes of one append write")),
                        Err(e) => return race.fail(fail("success", errno_name(e), "append write")),
                    }
                    seq += 1;
                    counts[t as usize].store(seq as u64, Ordering::Relaxed);
                }
            });
        }
    });
    state.result()?;
    let data = c.read("f")?;
    let total: u64 = counts.iter().map(|c| c.load(Ordering::Relaxed)).sum();
    check_eq("file size", total as usize * REC, data.len())?;
    let mut next = vec![0u32; THREADS as usize];
    for (i, rec) in data.chunks(REC).enumerate() {
        let t = rec[0];
        let intact = (1..=THREADS).contains(&t) && rec[5..].iter().all(|b| *b == t);
        check(
            &format!("record {i}"),
            intact,
            "an intact record",
            format!("{:?}", &rec[..8]),
        )?;
        let seq = u32::from_le_bytes([rec[1], rec[2], rec[3], rec[4]]);
        let want = &mut next[(t - 1) as usize];
        check_eq(&format!("sequence of writer {t} at record {i}"), *want, seq)?;
        *want += 1;
    }
    Ok(())
}
