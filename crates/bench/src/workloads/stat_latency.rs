//! `stat-latency`: the time one stat() of an existing file takes, sampled round-robin over a
//! set of files, reported as p50 and p99. Whether the kernel may answer from its attribute cache
//! depends on how the filesystem was mounted (bench/compare.sh turns caching off where it can).

use std::ffi::CString;
use std::io;
use std::time::Instant;

use rustix::fs::{statat, unlinkat, AtFlags};

use super::Ctx;
use crate::fsio::create;
use crate::progress::Phase;
use crate::report::Unit;
use crate::stats::Summary;

/// Samples kept at most (a long run at sub-µs latencies would otherwise grow without bound).
const MAX_SAMPLES: usize = 20_000_000;

pub(crate) fn run(ctx: &mut Ctx<'_>) -> io::Result<()> {
    ctx.phase(Phase::Setup);
    let names: Vec<CString> = (0..ctx.opts.stat_files)
        .map(|i| CString::new(format!("s{i}")).expect("no NUL in a generated name"))
        .collect();
    for (i, name) in names.iter().enumerate() {
        ctx.check(|| format!("setup, after creating {i} of {} files", names.len()))?;
        drop(create(&ctx.dirfd, name.to_str().expect("ASCII name"))?);
    }
    ctx.phase(Phase::Warmup);
    for name in &names {
        statat(&ctx.dirfd, name.as_c_str(), AtFlags::empty())?;
    }
    let warm_end = Instant::now() + ctx.opts.warmup;
    let mut i = 0;
    while Instant::now() < warm_end {
        statat(
            &ctx.dirfd,
            names[i % names.len()].as_c_str(),
            AtFlags::empty(),
        )?;
        i += 1;
    }
    ctx.phase(Phase::Measure(String::new()));
    let mut samples: Vec<u64> = Vec::with_capacity(1 << 20);
    let start = Instant::now();
    let mut i = 0;
    while start.elapsed() < ctx.opts.duration && samples.len() < MAX_SAMPLES {
        let name = names[i % names.len()].as_c_str();
        let t = Instant::now();
        statat(&ctx.dirfd, name, AtFlags::empty())?;
        samples.push(t.elapsed().as_nanos() as u64);
        i += 1;
    }
    let s = Summary::of(&mut samples).ok_or_else(|| io::Error::other("no stat was timed"))?;
    ctx.measured("p50", Unit::Micros, s.p50 as f64 / 1000.0);
    ctx.measured("p99", Unit::Micros, s.p99 as f64 / 1000.0);
    ctx.note(format!(
        "round-robin over {} files; kernel attribute/entry caching as the filesystem was mounted",
        names.len()
    ));
    ctx.detail(format!("{} stats timed", s.count));
    ctx.phase(Phase::Cleanup);
    for (i, name) in names.iter().enumerate() {
        ctx.check(|| format!("cleanup, after removing {i} of {} files", names.len()))?;
        unlinkat(&ctx.dirfd, name.as_c_str(), AtFlags::empty())?;
    }
    Ok(())
}
