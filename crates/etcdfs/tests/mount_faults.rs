//! etcdfs through the kernel while its etcd cluster fails (issue 14's fault tests), each on a
//! real 3-member cluster with etcdfs mounted in-process over the test transport:
//!
//! - kill -9 of the leader during a mixed workload of several threads through the mount: no
//!   call fails, the tree matches the workload's own model afterwards (read through a fresh
//!   mount), and the checker is clean;
//! - SIGSTOP of two members: calls fail with EIO within the store timeout plus a margin; after
//!   SIGCONT calls succeed again on the same mount, nothing written before is lost;
//! - a full quota: writes and creates get ENOSPC, nothing written is lost or corrupted, and
//!   once space is freed (compaction, defragmentation, alarm disarmed) writes work again.
//!
//! The tests of this file run one at a time (a lock): each starts its own cluster, and the
//! machine may be small.

mod mounted;

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fusekit_etcd_cluster::{Cluster, ClusterOptions};
use fusekit_etcdfs::fs::EtcdFsOptions;
use fusekit_etcdfs::fsck;
use fusekit_etcdfs::store::{EtcdConfig, EtcdStore};
use fusekit_testkit::{require_kernel, with_deadline, TestMount};

static SERIAL: Mutex<()> = Mutex::new(());

/// Logs of the code under test, shown with `ETCDFS_TEST_LOG=fusekit_etcdfs=debug` (say).
fn init_log() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("ETCDFS_TEST_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init();
}

/// Starts a cluster for `test` when the kernel and etcd allow (skips with a printed reason
/// otherwise, fails under CI=true), holding the serialization lock.
fn cluster_for(
    test: &str,
    options: ClusterOptions,
) -> Option<(std::sync::MutexGuard<'static, ()>, Cluster)> {
    if !require_kernel(test) {
        return None;
    }
    init_log();
    let serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let cluster = Cluster::start_or_skip(options)?;
    Some((serial, cluster))
}

/// A client of every member with store timeout `timeout`.
fn connect(runtime: &tokio::runtime::Runtime, cluster: &Cluster, timeout: Duration) -> EtcdStore {
    let config = EtcdConfig::new(cluster.endpoints_arg()).timeout(timeout);
    runtime
        .block_on(EtcdStore::connect(&config))
        .expect("connect")
}

/// etcdfs on `prefix` mounted through the kernel. The adapter's per-request deadline is far
/// above the store timeout, so the store timeout is what bounds a call.
fn mount(runtime: &tokio::runtime::Runtime, store: &EtcdStore, prefix: &[u8]) -> TestMount {
    // The SIGSTOP test keeps the cluster without quorum for about 12 s: the session lease
    // outlives that (etcd does not expire leases without a quorum either, but no need to
    // depend on it).
    let options = EtcdFsOptions {
        session_ttl_secs: 30,
        ..EtcdFsOptions::default()
    };
    mounted::mount_etcdfs(
        runtime,
        store.clone(),
        prefix,
        &options,
        Duration::from_secs(30),
    )
}

/// The checker passes on `prefix`.
fn assert_clean(runtime: &tokio::runtime::Runtime, store: &EtcdStore, prefix: &[u8]) {
    let report = runtime.block_on(fsck::check(store, prefix)).expect("fsck");
    assert!(report.is_clean(), "{report}");
    eprintln!("fsck: {report}");
}

fn errno(e: &std::io::Error) -> i32 {
    e.raw_os_error().unwrap_or(0)
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        let seed = self.next();
        (0..len)
            .map(|i| (seed.wrapping_add(i as u64 * 31) >> (i % 7)) as u8)
            .collect()
    }

    fn pick<'a>(&mut self, set: &'a BTreeSet<String>) -> Option<&'a String> {
        (!set.is_empty()).then(|| set.iter().nth(self.below(set.len())).expect("in range"))
    }
}

/// What one worker's directory holds, as the worker wrote it: files with their contents and
/// (empty) directories.
#[derive(Default, Debug)]
struct Model {
    files: BTreeMap<String, Vec<u8>>,
    dirs: BTreeSet<String>,
}

/// Counters of one workload.
#[derive(Default)]
struct Tally {
    ops: AtomicUsize,
    slowest_ms: AtomicUsize,
}

/// One worker: mixed operations in its own directory `dir` until `stop`, each checked and
/// applied to the model. A failed call is recorded (never retried) and ends the worker.
fn worker(dir: PathBuf, seed: u64, stop: &AtomicBool, tally: &Tally) -> (Model, Option<String>) {
    let mut model = Model::default();
    let mut rng = Rng(seed | 1);
    let mut next = 0usize;
    if let Err(e) = fs::create_dir(&dir) {
        return (model, Some(format!("mkdir {}: {e}", dir.display())));
    }
    while !stop.load(Ordering::Relaxed) {
        let start = Instant::now();
        let (what, r) = step(&dir, &mut model, &mut rng, &mut next);
        let ms = start.elapsed().as_millis() as usize;
        tally.slowest_ms.fetch_max(ms, Ordering::Relaxed);
        if let Err(e) = r {
            return (model, Some(format!("{what} failed after {ms} ms: {e}")));
        }
        tally.ops.fetch_add(1, Ordering::Relaxed);
    }
    (model, None)
}

/// One random operation; returns what it did and its outcome.
fn step(
    dir: &Path,
    model: &mut Model,
    rng: &mut Rng,
    next: &mut usize,
) -> (String, std::io::Result<()>) {
    let files: BTreeSet<String> = model.files.keys().cloned().collect();
    let crowded = files.len() >= 12;
    let op = rng.below(9);
    let path = |name: &str| dir.join(name);
    match (op, rng.pick(&files).cloned()) {
        (0, _) | (1..=4 | 7 | 8, None) if !crowded => {
            *next += 1;
            let name = format!("f{next}");
            let len = rng.below(3 * 64 * 1024);
            let data = rng.bytes(len);
            let sync = rng.below(2) == 0;
            let r = (|| {
                let mut f = OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(path(&name))?;
                f.write_all(&data)?;
                if sync {
                    f.sync_all()?;
                }
                Ok(())
            })();
            if r.is_ok() {
                model.files.insert(name.clone(), data);
            }
            (format!("create {name}"), r)
        }
        (1, Some(name)) => {
            let content = model.files.get_mut(&name).expect("modelled");
            let offset = rng.below(content.len() + 1);
            let len = 1 + rng.below(100 * 1024);
            let data = rng.bytes(len);
            let r = (|| {
                let f = OpenOptions::new().write(true).open(path(&name))?;
                f.write_all_at(&data, offset as u64)
            })();
            if r.is_ok() {
                let end = offset + data.len();
                if content.len() < end {
                    content.resize(end, 0);
                }
                content[offset..end].copy_from_slice(&data);
            }
            (format!("pwrite {name} at {offset}"), r)
        }
        (2, Some(name)) => {
            let len = 1 + rng.below(20 * 1024);
            let data = rng.bytes(len);
            let r = (|| {
                let mut f = OpenOptions::new().append(true).open(path(&name))?;
                f.write_all(&data)
            })();
            if r.is_ok() {
                model
                    .files
                    .get_mut(&name)
                    .expect("modelled")
                    .extend_from_slice(&data);
            }
            (format!("append {name}"), r)
        }
        (3, Some(name)) => {
            // Onto a new name, or over another file.
            let to = match rng.pick(&files) {
                Some(other) if *other != name && rng.below(2) == 0 => other.clone(),
                _ => {
                    *next += 1;
                    format!("f{next}")
                }
            };
            let r = fs::rename(path(&name), path(&to));
            if r.is_ok() {
                let content = model.files.remove(&name).expect("modelled");
                model.files.insert(to.clone(), content);
            }
            (format!("rename {name} {to}"), r)
        }
        (4, Some(name)) => {
            let r = fs::remove_file(path(&name));
            if r.is_ok() {
                model.files.remove(&name);
            }
            (format!("unlink {name}"), r)
        }
        (5, _) => {
            *next += 1;
            let name = format!("d{next}");
            let r = fs::create_dir(path(&name));
            if r.is_ok() {
                model.dirs.insert(name.clone());
            }
            (format!("mkdir {name}"), r)
        }
        (6, _) => match rng.pick(&model.dirs).cloned() {
            Some(name) => {
                let r = fs::remove_dir(path(&name));
                if r.is_ok() {
                    model.dirs.remove(&name);
                }
                (format!("rmdir {name}"), r)
            }
            None => ("nothing".into(), Ok(())),
        },
        (7, Some(name)) => {
            let len = 1 + rng.below(4096);
            let data = rng.bytes(len);
            let r = (|| {
                let f = OpenOptions::new().write(true).open(path(&name))?;
                f.write_all_at(&data, 0)?;
                f.sync_all()
            })();
            if r.is_ok() {
                let content = model.files.get_mut(&name).expect("modelled");
                if content.len() < data.len() {
                    content.resize(data.len(), 0);
                }
                content[..data.len()].copy_from_slice(&data);
            }
            (format!("write+fsync {name}"), r)
        }
        (_, Some(name)) => {
            // Read back through the mount.
            let r = fs::read(path(&name)).and_then(|got| {
                if &got == model.files.get(&name).expect("modelled") {
                    Ok(())
                } else {
                    Err(std::io::Error::other(format!(
                        "content differs from the model ({} bytes read, {} written)",
                        got.len(),
                        model.files[&name].len()
                    )))
                }
            });
            (format!("read {name}"), r)
        }
        (_, None) => ("nothing".into(), Ok(())),
    }
}

/// `dir` holds exactly what `model` says.
fn assert_matches(dir: &Path, model: &Model) {
    let mut names = BTreeSet::new();
    for entry in fs::read_dir(dir).expect("readdir") {
        let entry = entry.expect("entry");
        let name = entry.file_name().into_string().expect("utf-8 name");
        let kind = entry.file_type().expect("file type");
        if kind.is_dir() {
            assert!(
                model.dirs.contains(&name),
                "{}: unexpected dir {name}",
                dir.display()
            );
            assert_eq!(fs::read_dir(entry.path()).expect("readdir").count(), 0);
        } else {
            let want = model
                .files
                .get(&name)
                .unwrap_or_else(|| panic!("{}: unexpected file {name}", dir.display()));
            let got = fs::read(entry.path()).expect("read");
            assert!(
                &got == want,
                "{}/{name}: {} bytes, {} written, first difference at {:?}",
                dir.display(),
                got.len(),
                want.len(),
                got.iter().zip(want).position(|(a, b)| a != b)
            );
        }
        names.insert(name);
    }
    let modelled: BTreeSet<String> = model.files.keys().chain(&model.dirs).cloned().collect();
    assert_eq!(names, modelled, "{}: names", dir.display());
}

/// The member that is raft leader now.
async fn leader(cluster: &Cluster) -> usize {
    for i in 0..cluster.len() {
        let Ok(mut c) = etcd_client::Client::connect([cluster.endpoint(i)], None).await else {
            continue;
        };
        let Ok(s) = c.status().await else { continue };
        if s.header().map(|h| h.member_id()) == Some(s.leader()) {
            return i;
        }
    }
    panic!("no member says it is the leader");
}

const WORKERS: usize = 4;
const KILLS: usize = 3;

#[test]
fn kill_leader_during_workload_loses_nothing() {
    let Some((_serial, mut cluster)) = cluster_for(
        "kill_leader_during_workload_loses_nothing",
        ClusterOptions::default(),
    ) else {
        return;
    };
    with_deadline(Duration::from_secs(90), move || {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let store = connect(&runtime, &cluster, Duration::from_secs(5));
        let prefix = b"kill/";
        let mount = mount(&runtime, &store, prefix);
        let root = mount.path().to_path_buf();
        let stop = Arc::new(AtomicBool::new(false));
        let tally = Arc::new(Tally::default());
        let workers: Vec<_> = (0..WORKERS)
            .map(|w| {
                let (dir, stop, tally) = (root.join(format!("w{w}")), stop.clone(), tally.clone());
                std::thread::spawn(move || worker(dir, 0x9e37_79b9 * (w as u64 + 1), &stop, &tally))
            })
            .collect();

        // Three rounds: kill -9 the leader, let the workload run on two members, restart it.
        let mut kills = Vec::new();
        for _ in 0..KILLS {
            std::thread::sleep(Duration::from_millis(1200));
            let before = tally.ops.load(Ordering::Relaxed);
            let victim = runtime.block_on(leader(&cluster));
            cluster.kill(victim).expect("kill the leader");
            std::thread::sleep(Duration::from_millis(1200));
            let during = tally.ops.load(Ordering::Relaxed) - before;
            let restart = Instant::now();
            cluster.restart(victim).expect("restart the killed member");
            kills.push((victim, before, during, restart.elapsed()));
        }
        std::thread::sleep(Duration::from_millis(500));
        stop.store(true, Ordering::Relaxed);
        let mut models = Vec::new();
        let mut failures = Vec::new();
        for (w, h) in workers.into_iter().enumerate() {
            let (model, failure) = h.join().expect("worker thread");
            failures.extend(failure.map(|f| format!("worker {w}: {f}")));
            models.push(model);
        }
        for (victim, before, during, restart) in &kills {
            eprintln!(
                "killed member {victim} (the leader) after {before} ops; {during} ops on two \
                 members; restarted in {restart:?}"
            );
        }
        eprintln!(
            "{} ops in all; slowest call {} ms",
            tally.ops.load(Ordering::Relaxed),
            tally.slowest_ms.load(Ordering::Relaxed)
        );
        assert!(
            failures.is_empty(),
            "calls failed:\n{}",
            failures.join("\n")
        );
        // The workload was alive through every kill: it made progress between any two.
        let done = [tally.ops.load(Ordering::Relaxed)];
        let progress: Vec<usize> = kills.iter().map(|k| k.1).chain(done).collect();
        assert!(
            progress.windows(2).all(|w| w[0] < w[1]) && progress[0] > 0,
            "the workload stalled around a kill: ops done at each kill and at the end {progress:?}"
        );
        mount.finish();

        // What a fresh daemon reads from the store is what the workers wrote.
        let mount = self::mount(&runtime, &store, prefix);
        for (w, model) in models.iter().enumerate() {
            assert_matches(&mount.path().join(format!("w{w}")), model);
        }
        mount.finish();
        assert_clean(&runtime, &store, prefix);
    });
}

/// The store timeout of the SIGSTOP test, and the margin allowed on top of it.
const STOP_TIMEOUT: Duration = Duration::from_secs(2);
/// The daemon's cache validity and the kernel's name and attribute lifetime (defaults).
const CACHE_VALIDITY: Duration = Duration::from_secs(1);
const KERNEL_TTL: Duration = Duration::from_secs(1);
const STOP_MARGIN: Duration = Duration::from_millis(1500);

#[test]
fn stopped_quorum_is_bounded_eio_and_mount_recovers() {
    let Some((_serial, mut cluster)) = cluster_for(
        "stopped_quorum_is_bounded_eio_and_mount_recovers",
        ClusterOptions::default(),
    ) else {
        return;
    };
    with_deadline(Duration::from_secs(90), move || {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let store = connect(&runtime, &cluster, STOP_TIMEOUT);
        let prefix = b"stop/";
        let mount = mount(&runtime, &store, prefix);
        let root = mount.path().to_path_buf();
        let kept = Rng(7).bytes(200 * 1024);
        fs::write(root.join("kept"), &kept).expect("write before the stop");
        let open = OpenOptions::new()
            .write(true)
            .open(root.join("kept"))
            .expect("open before the stop");

        // Two of three members stopped: no quorum, and two endpoints that accept connections
        // but answer nothing.
        let leader = runtime.block_on(leader(&cluster));
        let stopped = [leader, (leader + 1) % 3];
        for &i in &stopped {
            cluster.stop(i).expect("SIGSTOP");
        }
        // For up to its validity (1 s) the daemon's cache may still answer from what it last
        // confirmed, and the kernel from what it caches (1 s): past both, nothing is served.
        std::thread::sleep(CACHE_VALIDITY + KERNEL_TTL + Duration::from_millis(200));
        type Call<'a> = Box<dyn Fn() -> std::io::Result<()> + 'a>;
        let calls: Vec<(&str, Call)> = vec![
            (
                "stat",
                Box::new(|| fs::metadata(root.join("absent")).map(drop)),
            ),
            (
                "create",
                Box::new(|| File::create(root.join("new")).map(drop)),
            ),
            ("mkdir", Box::new(|| fs::create_dir(root.join("newdir")))),
            ("write", Box::new(|| open.write_all_at(b"x", 0))),
            (
                "rename",
                Box::new(|| fs::rename(root.join("kept"), root.join("moved"))),
            ),
        ];
        // Each request the kernel sends fails within the store timeout; a system call may send
        // more than one (a write first asks GETXATTR security.capability, to clear file
        // capabilities), each then waits its own timeout.
        let mut slowest = Duration::ZERO;
        for (what, call) in &calls {
            let requests = mount.stats().requests;
            let start = Instant::now();
            let r = call();
            let took = start.elapsed();
            let sent = (mount.stats().requests - requests).max(1);
            let per_request = took / sent as u32;
            slowest = slowest.max(per_request);
            eprintln!(
                "{what} with two of three members stopped: {r:?} after {took:?}, {sent} requests"
            );
            let e = r.expect_err(what);
            assert_eq!(errno(&e), libc::EIO, "{what}: {e}");
            assert!(sent <= 2, "{what} sent {sent} requests");
            assert!(
                took <= STOP_TIMEOUT * sent as u32 + STOP_MARGIN,
                "{what} took {took:?} for {sent} requests (store timeout {STOP_TIMEOUT:?})"
            );
        }

        drop(calls);
        for &i in &stopped {
            cluster.cont(i).expect("SIGCONT");
        }
        let resumed = Instant::now();
        let mut attempts = 0;
        let recovered = loop {
            attempts += 1;
            match fs::metadata(root.join(format!("absent{attempts}"))) {
                Err(e) if e.kind() == ErrorKind::NotFound => break resumed.elapsed(),
                r => {
                    assert!(
                        resumed.elapsed() < Duration::from_secs(20),
                        "no recovery: {r:?}"
                    );
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        };
        eprintln!(
            "EIO bound: slowest failing request {slowest:?} with store timeout {STOP_TIMEOUT:?}; \
             first success {recovered:?} after SIGCONT ({attempts} attempts)"
        );

        // The same mount works again, and nothing written before is lost.
        assert_eq!(fs::read(root.join("kept")).expect("read kept"), kept);
        open.write_all_at(b"after", 0).expect("write after SIGCONT");
        drop(open);
        fs::create_dir(root.join("after")).expect("mkdir after SIGCONT");
        fs::write(root.join("after/file"), b"data").expect("create after SIGCONT");
        fs::rename(root.join("after/file"), root.join("after/renamed")).expect("rename");
        assert_eq!(fs::read(root.join("after/renamed")).expect("read"), b"data");
        let mut want = kept.clone();
        want[..5].copy_from_slice(b"after");
        assert_eq!(fs::read(root.join("kept")).expect("read kept"), want);
        mount.finish();
        assert_clean(&runtime, &store, prefix);
    });
}

/// Compacts the whole history, defragments every member and disarms the NOSPACE alarm: what
/// an operator does to give a full etcd room again.
async fn free_space(cluster: &Cluster) {
    let mut admin = etcd_client::Client::connect(cluster.endpoints(), None)
        .await
        .expect("admin client");
    let rev = admin
        .status()
        .await
        .expect("status")
        .header()
        .expect("header")
        .revision();
    admin
        .compact(
            rev,
            Some(etcd_client::CompactionOptions::new().with_physical()),
        )
        .await
        .expect("compact");
    for endpoint in cluster.endpoints() {
        let mut member = etcd_client::Client::connect([endpoint], None)
            .await
            .expect("member client");
        member.defragment().await.expect("defragment");
    }
    // An alarm is raised per member; disarming names the member (as `etcdctl alarm disarm`).
    let alarms = admin
        .alarm(
            etcd_client::AlarmAction::Get,
            etcd_client::AlarmType::None,
            None,
        )
        .await
        .expect("list alarms");
    for alarm in alarms.alarms() {
        let mut member = etcd_client::AlarmOptions::new();
        member.with_member(alarm.member_id());
        admin
            .alarm(
                etcd_client::AlarmAction::Deactivate,
                alarm.alarm(),
                Some(member),
            )
            .await
            .expect("disarm");
    }
    let status = admin.status().await.expect("status");
    eprintln!(
        "space freed: {} alarm(s) disarmed; db size {} bytes, {} in use",
        alarms.alarms().len(),
        status.db_size(),
        status.raft_used_db_size()
    );
}

#[test]
fn full_quota_through_mount_is_enospc_and_recovers() {
    let Some((_serial, cluster)) = cluster_for(
        "full_quota_through_mount_is_enospc_and_recovers",
        ClusterOptions::default().quota_backend_bytes(4 << 20),
    ) else {
        return;
    };
    with_deadline(Duration::from_secs(90), move || {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let store = connect(&runtime, &cluster, Duration::from_secs(5));
        let prefix = b"quota/";
        let mount = mount(&runtime, &store, prefix);
        let root = mount.path().to_path_buf();
        let mut rng = Rng(11);
        let mut written: Vec<(PathBuf, Vec<u8>)> = Vec::new();
        let mut refused = None;
        for i in 0..200 {
            let path = root.join(format!("f{i}"));
            let data = rng.bytes(256 * 1024);
            let mut f = match File::create(&path) {
                Ok(f) => f,
                Err(e) => {
                    refused = Some(format!("create f{i}: {e}"));
                    assert_eq!(errno(&e), libc::ENOSPC, "create f{i}: {e}");
                    break;
                }
            };
            // Written twice: the overwrite leaves history that compaction can free later
            // (the write that crosses the quota is applied, so live data alone may fill it).
            match f.write_all(&data).and_then(|()| f.write_all_at(&data, 0)) {
                Ok(()) => written.push((path, data)),
                Err(e) => {
                    assert_eq!(errno(&e), libc::ENOSPC, "write f{i}: {e}");
                    // A refused WRITE left nothing of itself: the file holds whole writes only.
                    let len = fs::metadata(&path).expect("stat").len() as usize;
                    let got = fs::read(&path).expect("read the refused file");
                    assert_eq!(got.len(), len);
                    assert!(
                        len <= data.len() && got == data[..len],
                        "f{i} holds other bytes"
                    );
                    if len == data.len() {
                        written.push((path, data));
                    }
                    refused = Some(format!("write f{i} after {len} bytes: {e}"));
                    break;
                }
            }
        }
        let refused = refused.expect("a 4 MiB quota never filled");
        eprintln!("quota full after {} files: {refused}", written.len());
        assert!(
            written.len() >= 2,
            "quota filled after {} files",
            written.len()
        );

        // Every change is refused with ENOSPC; reads work and find everything.
        let e = File::create(root.join("new")).expect_err("create on a full quota");
        assert_eq!(errno(&e), libc::ENOSPC, "create: {e}");
        let e = fs::create_dir(root.join("dir")).expect_err("mkdir on a full quota");
        assert_eq!(errno(&e), libc::ENOSPC, "mkdir: {e}");
        let e = OpenOptions::new()
            .write(true)
            .open(&written[0].0)
            .and_then(|f| f.write_all_at(b"x", 0))
            .expect_err("overwrite on a full quota");
        assert_eq!(errno(&e), libc::ENOSPC, "overwrite: {e}");
        for (path, data) in &written {
            assert!(&fs::read(path).expect("read") == data, "{}", path.display());
        }
        assert_clean(&runtime, &store, prefix);

        // An operator frees space: compaction, defragmentation, alarm disarmed. Then files can
        // be removed through the mount, and once their space is reclaimed too, written again.
        runtime.block_on(free_space(&cluster));
        let half = written.len() / 2;
        for (path, _) in written.drain(..half) {
            fs::remove_file(&path).expect("unlink after freeing space");
        }
        runtime.block_on(free_space(&cluster));
        let data = rng.bytes(256 * 1024);
        fs::write(root.join("after"), &data).expect("write after freeing space");
        assert_eq!(fs::read(root.join("after")).expect("read"), data);
        for (path, data) in &written {
            assert!(&fs::read(path).expect("read") == data, "{}", path.display());
        }
        mount.finish();
        assert_clean(&runtime, &store, prefix);
    });
}
