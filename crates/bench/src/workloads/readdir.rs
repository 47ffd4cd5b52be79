//! `readdir-10k` and `readdir-100k`: create N entries once, then time complete listings of the
//! directory (opendir + getdents until the end), in entries per second.

use std::io;
use std::os::fd::AsFd;

use rustix::fs::{mkdirat, unlinkat, AtFlags, Mode};

use super::{rate, timed_loop, wrong, Ctx};
use crate::fsio::{create, open_dir};
use crate::progress::Phase;
use crate::report::Unit;

pub(crate) fn small(ctx: &mut Ctx<'_>) -> io::Result<()> {
    listing(ctx, ctx.opts.readdir_small)
}

pub(crate) fn large(ctx: &mut Ctx<'_>) -> io::Result<()> {
    listing(ctx, ctx.opts.readdir_large)
}

fn listing(ctx: &mut Ctx<'_>, n: usize) -> io::Result<()> {
    ctx.phase(Phase::Setup);
    mkdirat(&ctx.dirfd, "d", Mode::from_raw_mode(0o755))?;
    let path = ctx.dir.join("d");
    let dfd = open_dir(&path)?;
    for i in 0..n {
        ctx.check(|| format!("setup, after creating {i} of {n} entries"))?;
        drop(create(dfd.as_fd(), &format!("e{i:07}"))?);
    }
    let list = || -> io::Result<u64> {
        let mut count = 0;
        for entry in std::fs::read_dir(&path)? {
            entry?;
            count += 1;
        }
        if count != n as u64 {
            return Err(wrong(format!(
                "listing found {count} entries, {n} were created"
            )));
        }
        Ok(count)
    };
    ctx.phase(Phase::Warmup);
    list()?;
    timed_loop(ctx.opts.warmup, |_| list().map(drop))?;
    ctx.phase(Phase::Measure(String::new()));
    let (listings, elapsed) = timed_loop(ctx.opts.duration, |_| list().map(drop))?;
    ctx.measured("", Unit::EntriesPerSec, rate(listings * n as u64, elapsed));
    ctx.note(format!("{n} entries"));
    ctx.detail(format!("{listings} full listings"));
    ctx.phase(Phase::Cleanup);
    for i in 0..n {
        ctx.check(|| format!("cleanup, after removing {i} of {n} entries"))?;
        unlinkat(&dfd, format!("e{i:07}").as_str(), AtFlags::empty())?;
    }
    drop(dfd);
    unlinkat(&ctx.dirfd, "d", AtFlags::REMOVEDIR)?;
    Ok(())
}
