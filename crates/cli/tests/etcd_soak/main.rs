//! Many hosts, one etcdfs: a soak. N `fusekit mount etcd` daemons (default 3) mount one prefix
//! of a real 3-member cluster; W writer threads per host (default 3) create, write, append,
//! truncate, rename, unlink, mkdir and rmdir their own files in shared directories for the
//! duration (default 30 s), partly through other hosts' mounts (see `writer.rs`), checking
//! every read against their model. Then every host must list exactly the model's tree and read
//! every file as modelled, `fusekit fsck etcd` must find the store clean, and each daemon's RSS,
//! descriptors and threads, sampled from /proc every 250 ms during the run, must have stayed
//! flat by the soak crate's rule (`fusekit_soak::flat`, docs/soak.md).
//!
//! Knobs (environment): `FUSEKIT_ETCD_SOAK_SECS` (duration, default 30; e.g. 600 for a real
//! run), `FUSEKIT_ETCD_SOAK_HOSTS` (3), `FUSEKIT_ETCD_SOAK_WRITERS` (per host, 3),
//! `FUSEKIT_ETCD_SOAK_SEED` (1).

mod check;
#[path = "../etcd_hosts/mod.rs"]
mod etcd_hosts;
mod writer;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use fusekit_soak::flat::{judge, Rule};
use fusekit_testkit::{require_kernel, with_deadline};

use check::Model;
use etcd_hosts::{Hosts, Sampler};
use writer::{Writer, SHARED};

fn knob(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?}: a whole number expected")),
        Err(_) => default,
    }
}

#[test]
fn hosts_writing_one_tree_agree_with_the_model_and_stay_flat() {
    if !require_kernel("hosts_writing_one_tree_agree_with_the_model_and_stay_flat") {
        return;
    }
    let secs = knob("FUSEKIT_ETCD_SOAK_SECS", 30);
    let n_hosts = knob("FUSEKIT_ETCD_SOAK_HOSTS", 3).max(1) as usize;
    let writers = knob("FUSEKIT_ETCD_SOAK_WRITERS", 3).max(1) as usize;
    let seed = knob("FUSEKIT_ETCD_SOAK_SEED", 1);
    assert!(
        secs >= 20,
        "FUSEKIT_ETCD_SOAK_SECS: at least 20 (the flatness rule needs samples)"
    );
    let Some(mut hosts) = Hosts::start(n_hosts, "soak", &[]) else {
        return;
    };
    let mounts = hosts.mounts();
    let pids = hosts.pids();
    println!(
        "etcd soak: {n_hosts} hosts x {writers} writers for {secs} s (seed {seed}), daemons {pids:?}"
    );
    // The daemons and the cluster stay with this thread: a deadline panic here unwinds
    // through `hosts`, which kills and unmounts them.
    let outcomes = with_deadline(Duration::from_secs(secs + 150), move || {
        for d in SHARED {
            std::fs::create_dir(mounts[0].join(d)).expect("mkdir shared directory");
        }
        // Writers assume the shared directories exist everywhere from the start.
        let until = Instant::now() + writer::VISIBILITY_BOUND;
        while !mounts
            .iter()
            .all(|m| SHARED.iter().all(|d| m.join(d).is_dir()))
        {
            assert!(
                Instant::now() < until,
                "shared directories not visible everywhere"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        let sampler = Sampler::start(pids.clone(), Duration::from_millis(250));
        let started = Instant::now();
        let deadline = started + Duration::from_secs(secs);
        let threads: Vec<_> = (0..n_hosts)
            .flat_map(|h| (0..writers).map(move |w| (h, w)))
            .map(|(h, w)| {
                let writer = Writer::new(h, w, mounts.clone(), seed);
                std::thread::spawn(move || writer.run(deadline))
            })
            .collect();
        let outcomes: Vec<_> = threads
            .into_iter()
            .map(|t| t.join().expect("writer thread"))
            .collect();
        let elapsed = started.elapsed();
        let series = sampler.stop().expect("sampling the daemons");
        (outcomes, series, elapsed, mounts)
    });
    let (outcomes, series, elapsed, mounts) = outcomes;
    hosts.assert_running();

    let ops: u64 = outcomes.iter().map(|o| o.ops).sum();
    let waited: u64 = outcomes.iter().map(|o| o.waited).sum();
    let longest = outcomes.iter().max_by_key(|o| o.max_wait).expect("writers");
    println!(
        "{ops} operations in {:.1} s ({:.0}/s); {waited} waited for another host's change \
         (longest {:.1} ms: {})",
        elapsed.as_secs_f64(),
        ops as f64 / elapsed.as_secs_f64(),
        longest.max_wait.as_secs_f64() * 1000.0,
        longest.max_wait_op
    );
    let failures: Vec<&String> = outcomes.iter().filter_map(|o| o.failure.as_ref()).collect();
    assert!(failures.is_empty(), "writers failed:\n{failures:#?}");
    assert!(ops > 0, "no operation completed");

    let mut model = Model {
        dirs: SHARED
            .iter()
            .map(|d| d.to_string())
            .collect::<BTreeSet<_>>(),
        files: BTreeMap::new(),
    };
    for o in outcomes {
        model.dirs.extend(o.dirs);
        model.files.extend(o.files);
    }
    println!(
        "model: {} directories, {} files, {} bytes",
        model.dirs.len(),
        model.files.len(),
        model.files.values().map(Vec::len).sum::<usize>()
    );
    for (h, m) in mounts.iter().enumerate() {
        check::host_agrees(h, m, &model).unwrap_or_else(|e| panic!("{e}"));
    }
    let (clean, report) = hosts.fsck();
    assert!(clean, "fusekit fsck etcd:\n{report}");

    let rule = Rule::default();
    let mut grew = Vec::new();
    for (h, s) in series.iter().enumerate() {
        let (first, last) = (s.first().expect("samples"), s.last().expect("samples"));
        println!(
            "host {h}: RSS {:.1} -> {:.1} MiB, fds {} -> {}, threads {} -> {} ({} samples)",
            first.rss_kib as f64 / 1024.0,
            last.rss_kib as f64 / 1024.0,
            first.fds,
            last.fds,
            first.threads,
            last.threads,
            s.len()
        );
        let verdict = judge(s, &rule);
        if let Some(why) = &verdict.insufficient {
            grew.push(format!("host {h}: not judged: {why}"));
        }
        for c in &verdict.checks {
            println!(
                "  {} {}: {}",
                if c.ok { "ok  " } else { "GREW" },
                c.what,
                c.detail
            );
            if !c.ok {
                grew.push(format!("host {h}: {}", c.detail));
            }
        }
    }
    assert!(grew.is_empty(), "daemons not flat:\n{}", grew.join("\n"));
}
