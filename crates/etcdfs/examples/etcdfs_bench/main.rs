//! etcdfs against its references, for issue 14's performance goals: creates/s against raw etcd
//! single-key transactions, warm stat latency against memfs, sequential write and read of a
//! large file against raw etcd puts and gets of the same chunk size, and the store footprint
//! per empty file. It starts its own 3-member etcd cluster (data on /dev/shm), mounts etcdfs
//! and memfs in-process, runs each comparison in alternated rounds after a warm-up, and prints
//! one table: figure, reference (same run), ratio, goal, pass/miss. A benchmark, not a test:
//! it never gates CI. Needs root, /dev/fuse and the `etcd` binary. docs/etcdfs-bench.md says
//! what each figure means.
//!
//! ```text
//! cargo run --release -p fusekit-etcdfs --example etcdfs_bench -- [--quick] [--json FILE] ...
//! ```

mod counting;
mod creates;
mod env;
mod footprint;
mod options;
mod report;
mod seq;
mod stat;

use std::time::Instant;

fn main() {
    let o = match options::parse(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(msg) => {
            eprintln!("{msg}");
            std::process::exit(2);
        }
    };
    if !is_root() || !std::path::Path::new("/dev/fuse").exists() {
        eprintln!("etcdfs_bench mounts filesystems: run it as root on a machine with /dev/fuse");
        std::process::exit(2);
    }
    let mut env = match env::Env::start() {
        Ok(env) => env,
        Err(e) => {
            eprintln!("cannot start: {e}");
            std::process::exit(1);
        }
    };
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "etcdfs_bench: {cpus} CPUs (load average {}), 3 etcd members on /dev/shm ({}), {} rounds",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
        env.cluster.endpoints_arg(),
        o.rounds
    );
    let started = Instant::now();
    let mut rows = Vec::new();
    if o.runs("creates") {
        rows.push(creates::run(&env, &o));
    }
    if o.runs("stat") {
        rows.push(stat::run(&env, &o));
    }
    if o.runs("seq") {
        rows.extend(seq::run(&mut env, &o));
    }
    if o.runs("footprint") {
        rows.extend(footprint::run(&mut env, &o));
    }
    report::print(&rows);
    println!("\n{:.0} s in all", started.elapsed().as_secs_f64());
    if let Some(path) = &o.json {
        let settings = serde_json::json!({
            "cpus": cpus,
            "loadavg_at_start": load.trim(),
            "rounds": o.rounds,
            "secs": o.secs.as_secs_f64(),
            "warmup_secs": o.warmup.as_secs_f64(),
            "callers": o.callers,
            "stat_files": o.stat_files,
            "stat_ttl_ms": o.stat_ttl.as_millis() as u64,
            "mount_ttl_ms": o.mount_ttl.as_millis() as u64,
            "file_bytes": o.file_bytes,
            "footprint_files": o.footprint_files,
            "footprint_mount_files": o.footprint_mount_files,
            "workloads": o.only,
        });
        if let Err(e) = report::write_json(path, settings, &rows) {
            eprintln!("cannot write {}: {e}", path.display());
            std::process::exit(1);
        }
    }
}

/// Whether the effective user is root.
fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}
