//! `Passthrough::mount_options()` — the options `fusekit mount passthrough` uses — is the
//! safe set: the kernel's super options carry `default_permissions` (so the source's modes
//! are checked against the caller, not the root daemon) and not `allow_other`, and another
//! user (nobody) is refused at the mount even though the source is world-readable.

use std::time::Duration;

use fusekit_passthrough::{Passthrough, PassthroughOptions};
use fusekit_testkit::access::{nobody_can_list, super_options};
use fusekit_testkit::{require_kernel, with_deadline, TestMount};

/// A passthrough of a fresh world-readable directory (kept alive by the returned guard).
fn passthrough() -> (tempfile::TempDir, Passthrough) {
    let src = tempfile::Builder::new()
        .prefix("fusekit-safe-src-")
        .tempdir()
        .unwrap();
    std::fs::set_permissions(
        src.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let fs = Passthrough::new(src.path(), PassthroughOptions::default()).unwrap();
    (src, fs)
}

#[test]
fn mount_options_are_default_permissions_without_allow_other() {
    let o = Passthrough::mount_options();
    assert!(o.default_permissions && !o.allow_other, "{o:?}");
    if !require_kernel("mount_options_are_default_permissions_without_allow_other") {
        return;
    }
    with_deadline(Duration::from_secs(60), || {
        let (_src, fs) = passthrough();
        let mount = TestMount::new(fs, &Passthrough::mount_options());
        let opts = super_options(mount.path());
        assert!(opts.iter().any(|o| o == "default_permissions"), "{opts:?}");
        assert!(!opts.iter().any(|o| o == "allow_other"), "{opts:?}");
        assert!(
            !nobody_can_list(mount.path()),
            "another user must be refused without allow_other"
        );
        mount.finish();

        // The same probes see allow_other when it is asked for.
        let (_src, fs) = passthrough();
        let mount = TestMount::new(fs, &Passthrough::mount_options().allow_other(true));
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
