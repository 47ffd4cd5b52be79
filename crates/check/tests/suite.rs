//! The whole suite against real directories: a fresh tmpfs (must pass with zero failures)
//! and a plain directory under /tmp (whatever filesystem that is: reported, must not panic).

mod common;

use common::{can_mount, entries, opts, within, Tmpfs};
use fusekit_check::Outcome;

#[test]
fn whole_suite_passes_on_tmpfs() {
    if !can_mount("whole_suite_passes_on_tmpfs") {
        return;
    }
    let fs = Tmpfs::mount("", rustix::mount::MountFlags::empty());
    let dir = fs.path().to_path_buf();
    let report = within(300, move || {
        fusekit_check::run(&opts(&dir, &[])).expect("run")
    });
    print!("{}", report.render_table());
    assert!(
        report.cases.len() >= 150,
        "only {} cases ran",
        report.cases.len()
    );
    assert_eq!(
        report.failed(),
        0,
        "failures on tmpfs:\n{}",
        report.render_table()
    );
    for c in &report.cases {
        if let Outcome::Skip { reason } = &c.outcome {
            assert!(!reason.is_empty(), "{} skipped without a reason", c.name);
        }
    }
    assert!(
        entries(fs.path()).is_empty(),
        "left behind: {:?}",
        entries(fs.path())
    );
}

#[test]
fn whole_suite_reports_on_plain_tmp_dir() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().to_path_buf();
    let report = within(300, move || {
        fusekit_check::run(&opts(&path, &[])).expect("run")
    });
    println!(
        "plain directory {} ({})",
        dir.path().display(),
        report.fs_type
    );
    print!("{}", report.render_table());
    let panicked: Vec<&str> = report
        .cases
        .iter()
        .filter(|c| matches!(&c.outcome, Outcome::Fail { observed, .. } if observed == "panic"))
        .map(|c| c.name.as_str())
        .collect();
    assert!(panicked.is_empty(), "cases panicked: {panicked:?}");
    assert!(
        entries(dir.path()).is_empty(),
        "left behind: {:?}",
        entries(dir.path())
    );
}
