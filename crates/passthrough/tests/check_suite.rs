//! The whole fusekit-check suite over a passthrough of a fresh tmpfs, with kernel passthrough
//! on and off: zero failures, and the same outcome per case as the suite run on the tmpfs
//! itself (a case skipped on tmpfs may be skipped here; nothing tmpfs passes may fail).

mod common;

use std::time::Duration;

use common::{mount_passthrough, require_kernel, with_deadline, Tmpfs};
use fusekit_check::{CheckOptions, Outcome, Report};
use fusekit_passthrough::PassthroughOptions;

fn suite(dir: &std::path::Path) -> Report {
    let mut o = CheckOptions::new(dir);
    o.race_seconds = 1.0;
    o.seed = 42;
    if let Ok(only) = std::env::var("PASSTHROUGH_CHECK_ONLY") {
        o.only = only.split(',').map(str::to_owned).collect();
    }
    fusekit_check::run(&o).expect("check run")
}

/// Cases that may be skipped over a passthrough although tmpfs passes them, per mode, with
/// the reason. Writeback cache: dirty pages are not in the source file yet, so SEEK_DATA /
/// SEEK_HOLE are left to the kernel, which reports the whole file as data (POSIX allows it).
const WRITEBACK_SKIPS: &[&str] = &["seek_hole_finds_hole"];

fn run_over_passthrough(test: &'static str, opts: PassthroughOptions) {
    let allowed_skips: &[&str] = if opts.writeback_cache {
        WRITEBACK_SKIPS
    } else {
        &[]
    };
    let kernel_passthrough = opts.kernel_passthrough && !opts.writeback_cache;
    if !require_kernel(test) {
        return;
    }
    with_deadline(Duration::from_secs(900), move || {
        let baseline_fs = Tmpfs::mount();
        let baseline = suite(baseline_fs.path());
        assert_eq!(
            baseline.failed(),
            0,
            "the suite fails on plain tmpfs:\n{}",
            baseline.render_table()
        );

        let src = Tmpfs::mount();
        let (mnt, stats) = mount_passthrough(src.path(), opts);
        let report = suite(mnt.path());
        let s = stats.snapshot();
        println!(
            "{test}: {} passed, {} failed, {} skipped; {s:?}",
            report.passed(),
            report.failed(),
            report.skipped()
        );
        if report.failed() > 0 {
            print!("{}", report.render_table());
        }
        let mut differ = Vec::new();
        for (here, there) in report.cases.iter().zip(&baseline.cases) {
            assert_eq!(here.name, there.name);
            let worse = matches!(
                (&here.outcome, &there.outcome),
                (Outcome::Fail { .. }, _) | (Outcome::Skip { .. }, Outcome::Pass)
            ) && !(matches!(here.outcome, Outcome::Skip { .. })
                && allowed_skips.contains(&here.name.as_str()));
            if worse {
                differ.push(format!(
                    "{}: tmpfs {:?}, passthrough {:?}",
                    here.name, there.outcome, here.outcome
                ));
            }
        }
        drop(mnt);
        assert!(
            report.failed() == 0 && differ.is_empty(),
            "passthrough (kernel passthrough {kernel_passthrough}) differs from tmpfs:\n{}\n{}",
            differ.join("\n"),
            report.render_table()
        );
        if kernel_passthrough {
            assert!(
                s.passthrough_opens > 0,
                "no open used kernel passthrough: {s:?}"
            );
        } else {
            assert_eq!(s.passthrough_opens, 0, "{s:?}");
            assert!(s.reads > 0, "{s:?}");
        }
    });
}

#[test]
fn check_suite_with_kernel_passthrough() {
    run_over_passthrough(
        "check_suite_with_kernel_passthrough",
        PassthroughOptions::default(),
    );
}

#[test]
fn check_suite_without_kernel_passthrough() {
    run_over_passthrough(
        "check_suite_without_kernel_passthrough",
        PassthroughOptions::default().kernel_passthrough(false),
    );
}

#[test]
fn check_suite_with_writeback_cache() {
    run_over_passthrough(
        "check_suite_with_writeback_cache",
        PassthroughOptions::default().writeback_cache(true),
    );
}
