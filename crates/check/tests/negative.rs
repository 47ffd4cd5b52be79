//! Proof that cases can fail and skip for the right reasons: filesystems that break a rule
//! (full, noexec, noatime, read-only) must produce FAIL (or the documented skip / error), not
//! a pass.

mod common;

use common::{can_mount, entries, opts, within, Tmpfs};
use fusekit_check::{CheckError, Outcome, Report};
use rustix::mount::MountFlags;

fn run_on(fs: &Tmpfs, only: &[&str]) -> Report {
    let dir = fs.path().to_path_buf();
    let only: Vec<String> = only.iter().map(|s| s.to_string()).collect();
    within(120, move || {
        let refs: Vec<&str> = only.iter().map(String::as_str).collect();
        let mut o = opts(&dir, &refs);
        o.race_seconds = 0.2;
        fusekit_check::run(&o).expect("run")
    })
}

fn outcome<'a>(r: &'a Report, name: &str) -> &'a Outcome {
    &r.cases
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("{name} did not run"))
        .outcome
}

#[test]
fn full_tmpfs_fails_data_cases_with_enospc() {
    if !can_mount("full_tmpfs_fails_data_cases_with_enospc") {
        return;
    }
    let fs = Tmpfs::mount("size=64k", MountFlags::empty());
    let names = [
        "write_read_1mib_exact",
        "copy_file_range_copies_all",
        "tmpfile_write_read",
        "race_parallel_writers_disjoint",
    ];
    let report = run_on(&fs, &names);
    print!("{}", report.render_table());
    for n in names {
        match outcome(&report, n) {
            Outcome::Fail { observed, .. } => assert_eq!(observed, "ENOSPC", "{n}"),
            other => panic!("{n}: expected FAIL with ENOSPC on a 64 KiB tmpfs, got {other:?}"),
        }
    }
    assert_eq!(report.failed(), names.len());
    assert!(!report.success());
    assert!(entries(fs.path()).is_empty());
}

#[test]
fn noexec_tmpfs_fails_access_exec_case() {
    if !can_mount("noexec_tmpfs_fails_access_exec_case") {
        return;
    }
    let fs = Tmpfs::mount("", MountFlags::NOEXEC);
    let report = run_on(
        &fs,
        &[
            "access_exec_needs_x_bit_even_for_root",
            "access_uses_real_uid",
        ],
    );
    print!("{}", report.render_table());
    assert_eq!(
        outcome(&report, "access_exec_needs_x_bit_even_for_root"),
        &Outcome::Fail {
            expected: "success".into(),
            observed: "EACCES".into(),
            detail: "access X_OK on 0744".into(),
        }
    );
    assert_eq!(outcome(&report, "access_uses_real_uid"), &Outcome::Pass);
}

#[test]
fn noatime_tmpfs_skips_atime_cases_with_reason() {
    if !can_mount("noatime_tmpfs_skips_atime_cases_with_reason") {
        return;
    }
    let fs = Tmpfs::mount("", MountFlags::NOATIME);
    let report = run_on(
        &fs,
        &[
            "read_updates_atime",
            "readdir_updates_dir_atime",
            "write_keeps_atime",
        ],
    );
    print!("{}", report.render_table());
    for n in ["read_updates_atime", "readdir_updates_dir_atime"] {
        match outcome(&report, n) {
            Outcome::Skip { reason } => assert!(reason.contains("noatime"), "{n}: {reason}"),
            other => panic!("{n}: expected a skip on noatime, got {other:?}"),
        }
    }
    assert_eq!(outcome(&report, "write_keeps_atime"), &Outcome::Pass);
    assert_eq!(report.skipped(), 2);
    assert!(report
        .render_table()
        .ends_with("1 passed, 0 failed, 2 skipped\n"));
}

#[test]
fn read_only_tmpfs_is_refused_up_front() {
    if !can_mount("read_only_tmpfs_is_refused_up_front") {
        return;
    }
    let fs = Tmpfs::mount("", MountFlags::RDONLY);
    let err = fusekit_check::run(&opts(fs.path(), &["open"])).expect_err("ro dir must be refused");
    match &err {
        CheckError::NotWritable { errno, .. } => assert_eq!(errno, "EROFS"),
        other => panic!("expected NotWritable, got {other:?}"),
    }
    assert!(err.to_string().contains("not writable"), "{err}");
}
