//! `metadata` and `parallel-metadata`: the life of a small file (create, write 100 B, close,
//! stat, unlink) as fast as the filesystem allows, in one thread or N threads with a directory
//! each. Everything goes through *at() calls on a directory fd.

use std::fmt::Write as _;
use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::Barrier;
use std::time::{Duration, Instant};

use rustix::fs::{mkdirat, statat, unlinkat, AtFlags, Mode};

use super::{rate, timed_loop, wrong, Ctx};
use crate::fsio::{create, open_dir, write_all};
use crate::progress::Phase;
use crate::report::Unit;

const PAYLOAD: [u8; 100] = [0x5a; 100];

/// One file's life; fails if the filesystem reports a wrong size.
fn one_file(dir: BorrowedFd<'_>, name: &str) -> io::Result<()> {
    let fd = create(dir, name)?;
    write_all(&fd, &PAYLOAD)?;
    drop(fd);
    let st = statat(dir, name, AtFlags::empty())?;
    if st.st_size != PAYLOAD.len() as i64 {
        return Err(wrong(format!(
            "{name}: stat after writing 100 bytes says {} bytes",
            st.st_size
        )));
    }
    unlinkat(dir, name, AtFlags::empty())?;
    Ok(())
}

/// Churns files named `{prefix}{i}` in `dir` for `duration`.
fn churn(dir: BorrowedFd<'_>, prefix: &str, duration: Duration) -> io::Result<(u64, Duration)> {
    let mut name = String::new();
    timed_loop(duration, |i| {
        name.clear();
        let _ = write!(name, "{prefix}{i}");
        one_file(dir, &name)
    })
}

pub(crate) fn single(ctx: &mut Ctx<'_>) -> io::Result<()> {
    ctx.phase(Phase::Warmup);
    churn(ctx.dirfd.as_fd(), "w", ctx.opts.warmup)?;
    ctx.phase(Phase::Measure(String::new()));
    let (n, elapsed) = churn(ctx.dirfd.as_fd(), "m", ctx.opts.duration)?;
    ctx.measured("", Unit::FilesPerSec, rate(n, elapsed));
    Ok(())
}

pub(crate) fn parallel(ctx: &mut Ctx<'_>) -> io::Result<()> {
    let threads = ctx.opts.threads;
    ctx.phase(Phase::Setup);
    let mut dirs = Vec::with_capacity(threads);
    for t in 0..threads {
        let name = format!("t{t}");
        mkdirat(&ctx.dirfd, name.as_str(), Mode::from_raw_mode(0o755))?;
        dirs.push((name.clone(), open_dir(&ctx.dir.join(&name))?));
    }
    let cell = format!("{threads}t");
    ctx.phase(Phase::Measure(cell.clone()));
    let barrier = Barrier::new(threads);
    let (warmup, duration) = (ctx.opts.warmup, ctx.opts.duration);
    let outcomes: Vec<io::Result<(u64, Instant, Instant)>> = std::thread::scope(|s| {
        let handles: Vec<_> = dirs
            .iter()
            .map(|(_, fd)| {
                let barrier = &barrier;
                s.spawn(move || {
                    let warm = churn(fd.as_fd(), "w", warmup);
                    barrier.wait();
                    warm?;
                    let start = Instant::now();
                    let (n, _) = churn(fd.as_fd(), "m", duration)?;
                    Ok((n, start, Instant::now()))
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
    for o in outcomes {
        let (n, start, end) = o?;
        total += n;
        span = Some(match span {
            None => (start, end),
            Some((a, b)) => (a.min(start), b.max(end)),
        });
    }
    let (start, end) = span.ok_or_else(|| io::Error::other("no thread ran"))?;
    ctx.measured(&cell, Unit::FilesPerSec, rate(total, end - start));
    ctx.phase(Phase::Cleanup);
    for (name, fd) in dirs {
        drop(fd);
        unlinkat(&ctx.dirfd, name.as_str(), AtFlags::REMOVEDIR)?;
    }
    Ok(())
}
