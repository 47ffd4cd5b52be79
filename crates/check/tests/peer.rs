//! The `peer` family (`--peer DIR2`): with DIR2 a bind mount of a tmpfs directory (two mounts,
//! one coherent store: the reference) every peer case passes and reports its waits; with DIR2
//! an unrelated directory every peer case fails loudly; without `--peer` each one skips.

mod common;

use std::path::{Path, PathBuf};

use common::{can_mount, entries, opts, within, Tmpfs};
use fusekit_check::{CheckError, CheckOptions, Outcome, Report};
use rustix::mount::MountFlags;

/// `src` bind-mounted on a fresh temp dir; unmounted (lazily) on drop, even after a panic.
struct Bind {
    dir: tempfile::TempDir,
}

impl Bind {
    fn of(src: &Path) -> Bind {
        let dir = tempfile::tempdir().expect("temp dir");
        rustix::mount::mount_bind(src, dir.path()).expect("mount --bind");
        Bind { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Bind {
    fn drop(&mut self) {
        let _ = rustix::mount::unmount(self.dir.path(), rustix::mount::UnmountFlags::DETACH);
    }
}

fn peer_cases() -> Vec<String> {
    fusekit_check::list_cases()
        .into_iter()
        .filter(|c| c.family == "peer")
        .map(|c| c.name)
        .collect()
}

fn run_peer(dir: &Path, peer: Option<PathBuf>, wait: f64) -> Report {
    let dir = dir.to_path_buf();
    within(180, move || {
        let mut o: CheckOptions = opts(&dir, &["peer"]);
        o.peer = peer;
        o.peer_wait = wait;
        fusekit_check::run(&o).expect("run")
    })
}

#[test]
fn every_peer_case_passes_through_a_bind_mount_of_tmpfs() {
    if !can_mount("every_peer_case_passes_through_a_bind_mount_of_tmpfs") {
        return;
    }
    let fs = Tmpfs::mount("", MountFlags::empty());
    let bind = Bind::of(fs.path());
    let report = run_peer(fs.path(), Some(bind.path().to_path_buf()), 5.0);
    print!("{}", report.render_table());
    let names: Vec<&str> = report.cases.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, peer_cases(), "the peer family ran whole");
    assert!(names.len() >= 15, "only {} peer cases", names.len());
    for c in &report.cases {
        assert_eq!(c.outcome, Outcome::Pass, "{}", c.name);
        assert!(
            c.peer_waits.len() >= 2 && c.peer_waits.iter().all(|w| w.seen),
            "{} recorded no (or unseen) waits: {:?}",
            c.name,
            c.peer_waits
        );
        assert!(
            c.peer_waits.iter().all(|w| w.waited_ms < 5000.0),
            "{}: {:?}",
            c.name,
            c.peer_waits
        );
    }
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).expect("json");
    assert_eq!(json["peer"], bind.path().to_str().expect("utf-8 path"));
    let first = &json["cases"][0]["peer_waits"][0];
    assert!(
        first["what"].is_string() && first["waited_ms"].is_f64(),
        "{first}"
    );
    assert!(report.render_table().contains("ms for "));
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.contains("showed a file written through")),
        "{:?}",
        report.notes
    );
    assert!(
        entries(fs.path()).is_empty(),
        "left behind: {:?}",
        entries(fs.path())
    );
}

#[test]
fn an_unrelated_peer_directory_fails_every_peer_case() {
    if !can_mount("an_unrelated_peer_directory_fails_every_peer_case") {
        return;
    }
    let fs = Tmpfs::mount("", MountFlags::empty());
    let other = Tmpfs::mount("", MountFlags::empty());
    let t0 = std::time::Instant::now();
    let report = run_peer(fs.path(), Some(other.path().to_path_buf()), 0.3);
    print!("{}", report.render_table());
    assert_eq!(report.cases.len(), peer_cases().len());
    for c in &report.cases {
        match &c.outcome {
            Outcome::Fail {
                observed, detail, ..
            } => {
                assert_eq!(observed, "DIR2 does not show DIR's files", "{}", c.name);
                assert!(detail.contains(".peer-probe"), "{}: {detail}", c.name);
            }
            other => panic!("{}: expected FAIL, got {other:?}", c.name),
        }
    }
    assert!(!report.success());
    assert!(t0.elapsed().as_secs() < 30, "took {:?}", t0.elapsed());
    assert!(entries(fs.path()).is_empty());
    assert!(entries(other.path()).is_empty());
}

#[test]
fn without_peer_every_peer_case_skips_saying_so() {
    let dir = tempfile::tempdir().expect("temp dir");
    let report = run_peer(dir.path(), None, 5.0);
    assert_eq!(report.cases.len(), peer_cases().len());
    for c in &report.cases {
        assert_eq!(c.outcome.word(), "skip", "{}: {:?}", c.name, c.outcome);
        assert!(
            matches!(&c.outcome, Outcome::Skip { reason } if reason.contains("needs --peer")),
            "{}: {:?}",
            c.name,
            c.outcome
        );
    }
    assert!(report.peer.is_none());
}

#[test]
fn a_peer_that_is_dir_itself_or_missing_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut o = opts(dir.path(), &["peer"]);
    o.peer = Some(dir.path().join("."));
    match fusekit_check::run(&o) {
        Err(e @ CheckError::BadPeer { .. }) => assert!(e.to_string().contains("itself"), "{e}"),
        other => panic!("expected BadPeer, got {other:?}"),
    }
    o.peer = Some(dir.path().join("missing"));
    match fusekit_check::run(&o) {
        Err(e @ CheckError::BadPeer { .. }) => {
            assert!(e.to_string().contains("no such directory"), "{e}")
        }
        other => panic!("expected BadPeer, got {other:?}"),
    }
    assert!(entries(dir.path()).is_empty());
}
