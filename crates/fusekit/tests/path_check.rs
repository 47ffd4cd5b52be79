//! `fusekit check` over the path-level passthrough example (`examples/pathfs.rs`), in both
//! unlink modes, mounted with `default_permissions,allow_other` so the other-user cases run:
//! zero failures in the cases it claims to support. The cases it does not claim are skipped by
//! name (`HIDE_SKIPS`, `HANDLE_SKIPS`), each with its reason printed; the suite itself skips a
//! few more when the backing directory lacks a feature (COLLAPSE_RANGE, holes, birth time on
//! tmpfs), also printed with the probe's reason.

mod common;

use std::time::Duration;

use common::{require_kernel, temp_dir, with_deadline, TestMount};
use fusekit::path::UnlinkMode;
use fusekit::MountOptions;
use fusekit_examples::pathfs::PathPassthrough;

/// Skipped in both modes. An OPEN that reaches a node whose backing file was unlinked in
/// the meantime (the kernel resolved the name just before) cannot be served by a path-level
/// filesystem: the file is gone. The adapter answers ESTALE so the kernel looks the name up
/// again, but the kernel retries only once, and this case's churn (two creators, one
/// unlinker, eight names) sometimes beats the retry too: open(O_CREAT) then reports ESTALE
/// (about one run in five here). What the case is after — no hidden file left behind — is
/// covered by tests/path_race.rs with slowed callbacks in both modes.
const RACE_SKIP: (&str, &str) = (
    "race_release_vs_unlink",
    "a path-level fs cannot open a node whose backing file was unlinked after the kernel \
     resolved the name; the kernel retries ESTALE once, which this churn can beat",
);

/// Skipped in both modes: file handles that outlive the kernel's caches. The path adapter's
/// node ids live in its own table; once the kernel has forgotten a node (after `drop_caches`)
/// its id is gone, so LOOKUP of "." by that id answers ESTALE. memfs and passthrough keep
/// what they need for it; the path API does not yet (a gap of issue 19).
const HANDLE_CASES: [(&str, &str); 3] = [
    (
        "handle_opens_file_after_cache_drop",
        "the path adapter cannot find a node the kernel forgot (no export support yet)",
    ),
    (
        "handle_opens_dir_after_cache_drop",
        "the path adapter cannot find a node the kernel forgot (no export support yet)",
    ),
    (
        "handle_survives_rename",
        "the path adapter cannot find a node the kernel forgot (no export support yet)",
    ),
];

/// Cases the path-level passthrough does not claim to pass in hide mode, and why.
const HIDE_SKIPS: &[(&str, &str)] = &[RACE_SKIP, HANDLE_CASES[0], HANDLE_CASES[1], HANDLE_CASES[2]];

/// Cases the path-level passthrough does not claim to pass in handle-based mode, and why.
const HANDLE_SKIPS: &[(&str, &str)] =
    &[RACE_SKIP, HANDLE_CASES[0], HANDLE_CASES[1], HANDLE_CASES[2]];

fn run_check(mode: UnlinkMode) {
    let backing = temp_dir("pathfs-backing");
    let fs = PathPassthrough::new(backing.path()).adapter(mode);
    let options = MountOptions::default()
        .fsname("pathfs")
        .subtype("pathfs")
        .default_permissions(true)
        .allow_other(true);
    let mount = TestMount::new(fs, &options);
    let mut opts = fusekit_check::CheckOptions::new(mount.path());
    let skips = match mode {
        UnlinkMode::Hide => HIDE_SKIPS,
        UnlinkMode::HandleBased => HANDLE_SKIPS,
    };
    for (case, why) in skips {
        eprintln!("{mode:?}: skipping {case}: {why}");
    }
    opts.skip = skips.iter().map(|(p, _)| p.to_string()).collect();
    opts.race_seconds = 1.0;
    if let Ok(only) = std::env::var("PATHFS_CHECK_ONLY") {
        opts.only = only.split(',').map(str::to_owned).collect();
    }
    let report = fusekit_check::run(&opts).expect("check runs");
    if !report.success() {
        eprintln!("{}", report.render_table());
    }
    let failed: Vec<_> = report
        .cases
        .iter()
        .filter(|c| matches!(c.outcome, fusekit_check::Outcome::Fail { .. }))
        .map(|c| c.name.clone())
        .collect();
    for c in &report.cases {
        if let fusekit_check::Outcome::Skip { reason } = &c.outcome {
            eprintln!("{mode:?}: suite skipped {}: {reason}", c.name);
        }
    }
    eprintln!("{mode:?}: {}", report.summary_line());
    drop(mount);
    assert!(failed.is_empty(), "{mode:?}: failed cases: {failed:?}");
}

#[test]
fn path_check_handle_based() {
    if !require_kernel("path_check_handle_based") {
        return;
    }
    with_deadline(Duration::from_secs(600), || {
        run_check(UnlinkMode::HandleBased)
    });
}

#[test]
fn path_check_hide() {
    if !require_kernel("path_check_hide") {
        return;
    }
    with_deadline(Duration::from_secs(600), || run_check(UnlinkMode::Hide));
}
