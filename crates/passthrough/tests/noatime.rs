//! A `-o noatime` passthrough mount over a relatime tmpfs: reading, executing and listing
//! through the mount leave atime alone, in the source too (the daemon opens source files
//! O_NOATIME, and kernel passthrough, whose per-open backing files carry the caller's flags,
//! is left off).

mod common;

use std::time::Duration;

use common::{passthrough_mount_options, require_kernel, with_deadline, Tmpfs};
use fusekit_passthrough::PassthroughOptions;
use fusekit_testkit::TestMount;

#[test]
fn noatime_mount_keeps_source_atime() {
    if !require_kernel("noatime_mount_keeps_source_atime") {
        return;
    }
    with_deadline(Duration::from_secs(120), || {
        let src = Tmpfs::mount();
        let fs = fusekit_passthrough::Passthrough::new(src.path(), PassthroughOptions::default())
            .expect("passthrough");
        let mnt = TestMount::new(fs, &passthrough_mount_options().extra("noatime"));
        let mut opts = fusekit_check::CheckOptions::new(mnt.path());
        opts.only = vec!["noatime_*".into()];
        let report = fusekit_check::run(&opts).expect("check runs");
        assert_eq!(
            (report.passed(), report.failed()),
            (3, 0),
            "noatime cases on passthrough -o noatime:\n{}",
            report.render_table()
        );
        drop(mnt);
    });
}
