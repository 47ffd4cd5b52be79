//! Many threads mounting and unmounting different mountpoints at once, many times: no
//! hang (a deadline aborts the run), no leaked fd (/proc/self/fd identical before and
//! after) and no leaked mount (nothing of ours left in mountinfo). The two tests run one
//! at a time because they count this process's fds.

mod common;

use std::sync::Mutex;
use std::time::Duration;

use common::{can_mount, have_fusermount, mounts_under, open_fds, test_fsname, Deadline, TestDir};
use fusekit_mount::{fuse_mounts, mount, MountMethod, MountOptions, MountedBy};

static SERIAL: Mutex<()> = Mutex::new(());

fn our_mounts(fsname: &str) -> Vec<fusekit_mount::MountInfo> {
    fuse_mounts()
        .unwrap()
        .into_iter()
        .filter(|m| m.source == fsname)
        .collect()
}

/// `threads` threads each run `cycles` mount+verify+unmount cycles on their own dirs.
fn hammer(name: &str, method: MountMethod, threads: usize, cycles: usize, limit: Duration) {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let dir = TestDir::new();
    let _deadline = Deadline::new(name, limit, dir.path());
    let fsname = format!("{}-{name}", test_fsname());
    let fds_before = open_fds();
    assert!(our_mounts(&fsname).is_empty());
    std::thread::scope(|scope| {
        for t in 0..threads {
            let dir = &dir;
            let fsname = &fsname;
            scope.spawn(move || {
                let opts = MountOptions::new().method(method).fsname(fsname.as_str());
                let expected = match method {
                    MountMethod::Fusermount => MountedBy::Fusermount,
                    _ => MountedBy::Kernel,
                };
                for c in 0..cycles {
                    // A fresh directory every few cycles, the same one otherwise.
                    let mnt = dir.path().join(format!("t{t}-{}", c / 4));
                    if c % 4 == 0 {
                        std::fs::create_dir(&mnt).unwrap();
                    }
                    let m =
                        mount(&mnt, &opts).unwrap_or_else(|e| panic!("thread {t} cycle {c}: {e}"));
                    assert_eq!(m.method(), expected);
                    let u = m.unmounter();
                    assert!(
                        u.is_mounted().unwrap(),
                        "thread {t} cycle {c}: not in mountinfo"
                    );
                    if c % 2 == 0 {
                        drop(m); // unmount by drop
                    } else {
                        let (fd, unmounter) = m.into_parts();
                        unmounter.unmount().unwrap();
                        drop(fd);
                    }
                    assert!(
                        !u.is_mounted().unwrap(),
                        "thread {t} cycle {c}: still mounted"
                    );
                }
            });
        }
    });
    assert!(
        mounts_under(dir.path()).is_empty(),
        "{:?}",
        mounts_under(dir.path())
    );
    assert!(our_mounts(&fsname).is_empty(), "{:?}", our_mounts(&fsname));
    assert_eq!(open_fds(), fds_before, "fds leaked");
}

#[test]
fn kernel_mounts_from_4_threads_x_100() {
    if !can_mount("kernel_mounts_from_4_threads_x_100") {
        return;
    }
    hammer(
        "kernel-4x100",
        MountMethod::Strict,
        4,
        100,
        Duration::from_secs(120),
    );
}

#[test]
fn fusermount_mounts_from_4_threads_x_25() {
    let name = "fusermount_mounts_from_4_threads_x_25";
    if !can_mount(name) || !have_fusermount(name) {
        return;
    }
    hammer(
        "fusermount-4x25",
        MountMethod::Fusermount,
        4,
        25,
        Duration::from_secs(180),
    );
}
