//! `MemFsAdapter::mount_options()` — the options `fusekit mount memfs` uses — is the safe
//! set: the kernel's super options carry `default_permissions` (memfs checks no rwx itself)
//! and not `allow_other`, and another user (nobody) is refused at the mount.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fusekit_memfs::{AdapterOptions, Limits, MemFs, MemFsAdapter};
use fusekit_testkit::{require_kernel, with_deadline, TestMount};

const NOBODY: u32 = 65534;

/// The super block options of the mount at `path`.
fn super_options(path: &Path) -> Vec<String> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let p = path.to_string_lossy();
    let line = info
        .lines()
        .find(|l| l.split(' ').nth(4) == Some(&*p))
        .expect("the mount is in mountinfo");
    let (_, tail) = line.split_once(" - ").expect("mountinfo separator");
    let opts = tail.split(' ').nth(2).expect("super options field");
    opts.split(',').map(str::to_owned).collect()
}

/// Whether `nobody` may list `dir` (`ls` as uid/gid 65534).
fn nobody_can_list(dir: &Path) -> bool {
    let mut child = Command::new("ls")
        .arg(dir)
        .uid(NOBODY)
        .gid(NOBODY)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("run ls as nobody");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.success();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("ls as nobody hung on {}", dir.display());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

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
