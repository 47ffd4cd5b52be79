//! `randread-direct` and `randread-buffered`: 4 KiB reads at random aligned offsets of one file,
//! with O_DIRECT or through the page cache, by 1 and by N threads (each with its own fd), in
//! IOPS. A filesystem that refuses O_DIRECT (EINVAL, e.g. tmpfs) gets "unsupported" cells.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::Barrier;
use std::time::{Duration, Instant};

use rustix::fs::{openat, unlinkat, AtFlags, Mode, OFlags};
use rustix::io::Errno;

use super::{check_deadline, rate, wrong, Ctx};
use crate::fsio::{drop_cache, make_file, open_direct, Aligned, Dropped};
use crate::options::{CacheDrop, MIB};
use crate::progress::Phase;
use crate::report::Unit;
use crate::rng::Rng;

/// Read size and alignment.
pub(crate) const BLOCK: usize = 4096;
const FILE: &str = "rand";

pub(crate) fn direct(ctx: &mut Ctx<'_>) -> io::Result<()> {
    run(ctx, true)
}

pub(crate) fn buffered(ctx: &mut Ctx<'_>) -> io::Result<()> {
    run(ctx, false)
}

/// The thread counts measured: 1 and N (once when N is 1).
fn cells(threads: usize) -> Vec<usize> {
    if threads == 1 {
        vec![1]
    } else {
        vec![1, threads]
    }
}

/// Whether O_DIRECT reads work here; Some(reason) when they do not.
fn direct_unsupported(dir: impl AsFd) -> io::Result<Option<String>> {
    let Some(fd) = open_direct(dir, FILE)? else {
        return Ok(Some("open(O_DIRECT) answered EINVAL".to_string()));
    };
    let mut buf = Aligned::new(BLOCK, BLOCK)?;
    match rustix::io::pread(&fd, buf.as_mut(), 0) {
        Ok(_) => Ok(None),
        Err(Errno::INVAL) => Ok(Some("an O_DIRECT pread answered EINVAL".to_string())),
        Err(e) => Err(e.into()),
    }
}

pub(crate) fn run(ctx: &mut Ctx<'_>, direct: bool) -> io::Result<()> {
    let size = ctx.opts.randread_bytes / BLOCK as u64 * BLOCK as u64;
    let blocks = size / BLOCK as u64;
    ctx.phase(Phase::Setup);
    let (deadline, limit) = (ctx.deadline, ctx.opts.workload_limit);
    let check = move |done: u64| {
        check_deadline(deadline, limit, || {
            format!("setup, after writing {} of {} MiB", done / MIB, size / MIB)
        })
    };
    make_file(&ctx.dirfd, FILE, size, MIB as usize, &check)?;
    let unsupported = if direct {
        direct_unsupported(&ctx.dirfd)?
    } else {
        None
    };
    for threads in cells(ctx.opts.threads) {
        let cell = format!("{threads}t");
        if let Some(reason) = &unsupported {
            ctx.unsupported(&cell, Unit::Iops, reason);
            continue;
        }
        ctx.phase(Phase::Measure(cell.clone()));
        let (iops, dropped) = measure(ctx, direct, threads, blocks)?;
        ctx.measured(&cell, Unit::Iops, iops);
        if !direct {
            ctx.note(dropped.describe());
        }
    }
    ctx.note(format!(
        "{} MiB file, warm-up then cache drop then {} ms per cell",
        size / MIB,
        ctx.opts.duration.as_millis()
    ));
    ctx.phase(Phase::Cleanup);
    unlinkat(&ctx.dirfd, FILE, AtFlags::empty())?;
    Ok(())
}

fn open(ctx: &Ctx<'_>, direct: bool) -> io::Result<OwnedFd> {
    if direct {
        open_direct(&ctx.dirfd, FILE)?
            .ok_or_else(|| wrong("O_DIRECT open refused after it worked".to_string()))
    } else {
        Ok(openat(
            &ctx.dirfd,
            FILE,
            OFlags::RDONLY | OFlags::CLOEXEC,
            Mode::empty(),
        )?)
    }
}

/// Reads random blocks of `fd` until `until`; returns how many.
fn reads(
    fd: &OwnedFd,
    buf: &mut [u8],
    rng: &mut Rng,
    blocks: u64,
    until: Duration,
) -> io::Result<u64> {
    let start = Instant::now();
    let mut n = 0;
    loop {
        let off = rng.below(blocks) * BLOCK as u64;
        let got = rustix::io::pread(fd, &mut *buf, off)?;
        if got != BLOCK {
            return Err(wrong(format!("short read: {got} bytes at offset {off}")));
        }
        n += 1;
        if start.elapsed() >= until {
            return Ok(n);
        }
    }
}

/// One cell: `threads` threads warm up, one drops the page cache, then all read for the
/// duration. Returns IOPS over the span from the first start to the last end.
fn measure(ctx: &Ctx<'_>, direct: bool, threads: usize, blocks: u64) -> io::Result<(f64, Dropped)> {
    let fds = (0..threads)
        .map(|_| open(ctx, direct))
        .collect::<io::Result<Vec<_>>>()?;
    let barrier = Barrier::new(threads);
    let (warmup, duration, how) = (ctx.opts.warmup, ctx.opts.duration, ctx.opts.cache_drop);
    type Outcome = io::Result<(u64, Instant, Instant, Option<Dropped>)>;
    let outcomes: Vec<Outcome> = std::thread::scope(|s| {
        let handles: Vec<_> = fds
            .iter()
            .enumerate()
            .map(|(t, fd)| {
                let barrier = &barrier;
                s.spawn(move || -> Outcome {
                    // Every thread reaches both barriers whatever fails, so none waits forever.
                    let mut buf = Aligned::new(BLOCK, BLOCK);
                    let mut rng = Rng::new(0x5eed + t as u64);
                    let warm = match &mut buf {
                        Ok(b) => reads(fd, b.as_mut(), &mut rng, blocks, warmup),
                        Err(_) => Ok(0),
                    };
                    barrier.wait();
                    let dropped = if t == 0 {
                        Some(drop_cache(fd, how))
                    } else {
                        None
                    };
                    barrier.wait();
                    let mut buf = buf?;
                    warm?;
                    let dropped = dropped.transpose()?;
                    let start = Instant::now();
                    let n = reads(fd, buf.as_mut(), &mut rng, blocks, duration)?;
                    Ok((n, start, Instant::now(), dropped))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(io::Error::other("thread panicked")))
            })
            .collect()
    });
    let mut total = 0;
    let mut span: Option<(Instant, Instant)> = None;
    let mut dropped = if how == CacheDrop::Fadvise {
        Dropped::Fadvise
    } else {
        Dropped::DropCaches
    };
    for o in outcomes {
        let (n, start, end, d) = o?;
        total += n;
        if let Some(d) = d {
            dropped = d;
        }
        span = Some(match span {
            None => (start, end),
            Some((a, b)) => (a.min(start), b.max(end)),
        });
    }
    let (start, end) = span.ok_or_else(|| io::Error::other("no thread ran"))?;
    Ok((rate(total, end - start), dropped))
}
