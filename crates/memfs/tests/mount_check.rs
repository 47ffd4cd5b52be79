//! The conformance and race suite (`fusekit check`) over a real memfs mount: every case must
//! pass (allow_other + default_permissions, so the other-user cases run too).

mod common;

use std::time::Duration;

use common::mount::{mount_memfs, require_kernel, with_deadline};
use fusekit_memfs::Limits;

#[test]
fn fusekit_check_passes_on_memfs() {
    if !require_kernel("fusekit_check_passes_on_memfs") {
        return;
    }
    with_deadline(Duration::from_secs(300), || {
        let (_engine, mnt) = mount_memfs(Limits::UNLIMITED);
        let mut opts = fusekit_check::CheckOptions::new(mnt.path());
        opts.race_seconds = 1.0;
        let report = fusekit_check::run(&opts).expect("check runs");
        eprintln!("{}", report.summary_line());
        assert!(
            report.success() && report.failed() == 0,
            "fusekit check failed on memfs:\n{}",
            report.render_table()
        );
        assert!(report.passed() > 0, "no case ran");
        drop(mnt);
    });
}
