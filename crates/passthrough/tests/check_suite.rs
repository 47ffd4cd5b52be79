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

fn run_over_passthrough(test: &'static str, kernel_passthrough: bool) {
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
        let opts = PassthroughOptions::default().kernel_passthrough(kernel_passthrough);
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
            );
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
    run_over_passthrough("check_suite_with_kernel_passthrough", true);
}

#[test]
fn check_suite_without_kernel_passthrough() {
    run_over_passthrough("check_suite_without_kernel_passthrough", false);
}
