//! `seq-write` and `seq-read`: one large file in fixed-size blocks. Writing times everything up
//! to and including fsync and close; reading starts from an emptied page cache.

use std::io;
use std::time::Instant;

use rustix::fs::{openat, unlinkat, AtFlags, Mode, OFlags};

use super::{check_deadline, wrong, Ctx};
use crate::fsio::{create, drop_cache, make_file, write_all};
use crate::options::MIB;
use crate::progress::Phase;
use crate::report::Unit;
use crate::rng::Rng;

/// Untimed warm-up size: an eighth of the file, at most 64 MiB, at least one block.
fn warm_bytes(ctx: &Ctx<'_>) -> u64 {
    (ctx.opts.seq_bytes / 8)
        .min(64 * MIB)
        .max(ctx.opts.seq_block as u64)
}

/// A `make_file` progress check that fails once the workload's time is up.
fn checker(ctx: &Ctx<'_>, what: &'static str) -> impl Fn(u64) -> io::Result<()> {
    let (deadline, limit) = (ctx.deadline, ctx.opts.workload_limit);
    move |done| {
        check_deadline(deadline, limit, || {
            format!("{what}, after {} MiB", done / MIB)
        })
    }
}

fn mib_per_sec(bytes: u64, secs: f64) -> f64 {
    bytes as f64 / MIB as f64 / secs.max(1e-9)
}

pub(crate) fn write(ctx: &mut Ctx<'_>) -> io::Result<()> {
    let (size, block) = (ctx.opts.seq_bytes, ctx.opts.seq_block);
    ctx.phase(Phase::Warmup);
    make_file(
        &ctx.dirfd,
        "warm",
        warm_bytes(ctx),
        block,
        &checker(ctx, "warm-up"),
    )?;
    unlinkat(&ctx.dirfd, "warm", AtFlags::empty())?;
    let mut buf = vec![0u8; block];
    Rng::new(1).fill(&mut buf);
    ctx.phase(Phase::Measure(String::new()));
    let start = Instant::now();
    let fd = create(&ctx.dirfd, "seq")?;
    let mut left = size;
    let check = checker(ctx, "the timed write");
    while left > 0 {
        check(size - left)?;
        let n = left.min(block as u64) as usize;
        write_all(&fd, &buf[..n])?;
        left -= n as u64;
    }
    rustix::fs::fsync(&fd)?;
    drop(fd);
    let secs = start.elapsed().as_secs_f64();
    ctx.measured("", Unit::MibPerSec, mib_per_sec(size, secs));
    ctx.note(format!(
        "{} MiB in {} KiB writes, fsync and close inside the timing",
        size / MIB,
        block / 1024
    ));
    ctx.phase(Phase::Cleanup);
    unlinkat(&ctx.dirfd, "seq", AtFlags::empty())?;
    Ok(())
}

/// Reads `fd` to its end in `buf`-sized reads; returns the byte count.
fn read_to_end(
    fd: &std::os::fd::OwnedFd,
    buf: &mut [u8],
    limit: u64,
    check: &dyn Fn(u64) -> io::Result<()>,
) -> io::Result<u64> {
    let mut total = 0;
    while total < limit {
        check(total)?;
        let n = rustix::io::read(fd, &mut *buf)?;
        if n == 0 {
            break;
        }
        total += n as u64;
    }
    Ok(total)
}

pub(crate) fn read(ctx: &mut Ctx<'_>) -> io::Result<()> {
    let (size, block) = (ctx.opts.seq_bytes, ctx.opts.seq_block);
    ctx.phase(Phase::Setup);
    make_file(&ctx.dirfd, "seq", size, block, &checker(ctx, "setup"))?;
    let mut buf = vec![0u8; block];
    let open = |ctx: &Ctx<'_>| {
        openat(
            &ctx.dirfd,
            "seq",
            OFlags::RDONLY | OFlags::CLOEXEC,
            Mode::empty(),
        )
    };
    ctx.phase(Phase::Warmup);
    let check = checker(ctx, "reading");
    read_to_end(&open(ctx)?, &mut buf, warm_bytes(ctx), &check)?;
    let fd = open(ctx)?;
    let how = drop_cache(&fd, ctx.opts.cache_drop)?;
    ctx.note(how.describe());
    ctx.phase(Phase::Measure(String::new()));
    let start = Instant::now();
    let got = read_to_end(&fd, &mut buf, u64::MAX, &check)?;
    let secs = start.elapsed().as_secs_f64();
    drop(fd);
    if got != size {
        return Err(wrong(format!("read {got} bytes of a {size}-byte file")));
    }
    ctx.measured("", Unit::MibPerSec, mib_per_sec(size, secs));
    ctx.note(format!("{} MiB in {} KiB reads", size / MIB, block / 1024));
    ctx.phase(Phase::Cleanup);
    unlinkat(&ctx.dirfd, "seq", AtFlags::empty())?;
    Ok(())
}
