//! `MemFsAdapter::mount_options()` — the options `fusekit mount memfs` uses — is the safe
//! set: the kernel's super options carry `default_permissions` (memfs checks no rwx itself)
//! and not `allow_other`, and another user (nobody) is refused at the mount.

use std::sync::Arc;
use std::time::Duration;

use fusekit_memfs::{AdapterOptions, Limits, MemFs, MemFsAdapter};
use fusekit_testkit::access::{nobody_can_list, super_options};
use fusekit_testkit::{require_kernel, with_deadline, TestMount};

fn memfs() -> MemFsAdapter {
    let engine = MemFs::new(Limits::tmpfs_default(), (0, 0), 0o755);
    MemFsAdapter::new(Arc::new(engine), AdapterOptions::default())
}

#[test]
fn mount_options_are_default_permissions_without_allow_other() {
    let o = MemFsAdapter::mount_options();
    assert!(o.default_permissions && !o.allow_other, "{o:?}");
    if !require_kernel("mount_options_are_default_permissions_without_allow_other") {
        return;
    }
    with_deadline(Duration::from_secs(60), || {
        let mount = TestMount::new(memfs(), &MemFsAdapter::mount_options());
        let opts = super_options(mount.path());
        assert!(opts.iter().any(|o| o == "default_permissions"), "{opts:?}");
        assert!(!opts.iter().any(|o| o == "allow_other"), "{opts:?}");
        assert!(
            !nobody_can_list(mount.path()),
            "another user must be refused without allow_other"
        );
        mount.finish();

        // The same probes see allow_other when it is asked for.
        let mount = TestMount::new(memfs(), &MemFsAdapter::mount_options().allow_other(true));
        assert!(super_options(mount.path())
            .iter()
            .any(|o| o == "allow_other"));
        assert!(
            nobody_can_list(mount.path()),
            "allow_other lets nobody list"
        );
        mount.finish();
    });
}
