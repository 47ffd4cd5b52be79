//! Issue #8: a tree with far more files than the daemon may keep descriptors open. With an
//! inode descriptor budget of 256, 5,000 files in ten directories on a tmpfs are created,
//! stat'ed, listed (READDIRPLUS), read back, renamed and unlinked through the mount: every
//! answer is right, nothing fails with EMFILE, and the daemon's inode descriptors stay within
//! the budget (evicted ones are reopened from their file handles).

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::time::Duration;

use common::{mount_passthrough, open_fds, require_kernel, with_deadline, Tmpfs};
use fusekit_passthrough::PassthroughOptions;

const BUDGET: u64 = 256;
const DIRS: usize = 10;
const PER_DIR: usize = 500;

fn contents(d: usize, i: usize) -> String {
    format!("file {i} of directory {d}")
}

#[test]
fn five_thousand_files_through_a_budget_of_256_descriptors() {
    if !require_kernel("five_thousand_files_through_a_budget_of_256_descriptors") {
        return;
    }
    with_deadline(Duration::from_secs(300), || {
        let src = Tmpfs::mount();
        let fds_before = open_fds().len();
        let opts = PassthroughOptions::new().inode_fd_budget(BUDGET as usize);
        let (mnt, stats) = mount_passthrough(src.path(), opts);
        let m = mnt.path();
        let within_budget = |when: &str| {
            let s = stats.snapshot();
            assert_eq!(s.fd_budget, BUDGET);
            assert!(
                s.pinned_fds + s.cached_fds <= BUDGET,
                "{when}: over budget: {s:?}"
            );
            // Everything this process opened since the start: the inode descriptors, the
            // session's, and what requests hold for a moment.
            let open = open_fds().len().saturating_sub(fds_before) as u64;
            assert!(
                open <= BUDGET + 64,
                "{when}: {open} descriptors open for a budget of {BUDGET}: {s:?}"
            );
            s
        };

        for d in 0..DIRS {
            fs::create_dir(m.join(format!("d{d}"))).unwrap();
            for i in 0..PER_DIR {
                fs::write(m.join(format!("d{d}/f{i}")), contents(d, i)).unwrap();
            }
        }
        let s = within_budget("after creating");
        assert!(
            s.inodes > BUDGET,
            "the kernel forgot nearly everything: {s:?}"
        );
        assert!(s.fd_evictions > 0, "{s:?}");

        for d in 0..DIRS {
            for i in 0..PER_DIR {
                let md = fs::metadata(m.join(format!("d{d}/f{i}"))).unwrap();
                assert_eq!(md.len(), contents(d, i).len() as u64, "d{d}/f{i}");
            }
        }
        within_budget("after stat");

        for d in 0..DIRS {
            let names: BTreeSet<String> = fs::read_dir(m.join(format!("d{d}")))
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect();
            let expected: BTreeSet<String> = (0..PER_DIR).map(|i| format!("f{i}")).collect();
            assert_eq!(names, expected, "listing of d{d}");
        }
        within_budget("after listing");

        for d in 0..DIRS {
            for i in 0..PER_DIR {
                let data = fs::read_to_string(m.join(format!("d{d}/f{i}"))).unwrap();
                assert_eq!(data, contents(d, i));
            }
        }
        within_budget("after reading");

        // Renames across directories and unlinks: both parents' descriptors may be evicted.
        for d in 0..DIRS {
            let to = (d + 1) % DIRS;
            for i in (0..PER_DIR).step_by(10) {
                fs::rename(
                    m.join(format!("d{d}/f{i}")),
                    m.join(format!("d{to}/moved-from-{d}-{i}")),
                )
                .unwrap();
                fs::remove_file(m.join(format!("d{d}/f{}", i + 1))).unwrap();
            }
        }
        for d in 0..DIRS {
            let from = (d + DIRS - 1) % DIRS;
            let names: Vec<_> = fs::read_dir(src.path().join(format!("d{d}")))
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect();
            assert_eq!(names.len(), PER_DIR - PER_DIR / 10, "source d{d}");
            for i in (0..PER_DIR).step_by(10) {
                let moved = m.join(format!("d{d}/moved-from-{from}-{i}"));
                assert_eq!(fs::read_to_string(moved).unwrap(), contents(from, i));
                assert!(!m.join(format!("d{d}/f{}", i + 1)).exists());
            }
        }
        let s = within_budget("after renames and unlinks");
        assert!(s.fd_reopens > 0, "nothing was ever reopened: {s:?}");
        assert_eq!(s.stale_handles, 0, "{s:?}");
        println!("{s:?}");
        drop(mnt);
    });
}
