//! Rule 2 regression (root, mount(2)): 4 threads × 100 cycles of mount, use, unmount on distinct
//! mount points. No hang; open descriptors and /proc/self/mountinfo are identical before and
//! after. The unprivileged fusermount3 variant is in `unprivileged.rs`.

mod common;

use std::time::Duration;

use common::{fuse_mounts_under, open_fds, require_kernel, with_deadline, TestMount};
use fusekit::MountOptions;
use fusekit_examples::hello::{Hello, CONTENT, NAME};

#[test]
fn four_threads_hundred_mount_cycles_each() {
    if !require_kernel("four_threads_hundred_mount_cycles_each") {
        return;
    }
    with_deadline(Duration::from_secs(300), || {
        let mountinfo_before = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        let fds_before = open_fds();
        let threads: Vec<_> = (0..4)
            .map(|t| {
                std::thread::spawn(move || {
                    for cycle in 0..100 {
                        let options = MountOptions::new().fsname(format!("cycle-{t}-{cycle}"));
                        let mount = TestMount::with_workers(Hello::new(0, 0), &options, Some(2));
                        let data = std::fs::read(mount.path().join(NAME))
                            .unwrap_or_else(|e| panic!("thread {t} cycle {cycle}: {e}"));
                        assert_eq!(data, CONTENT);
                        let stats = mount.finish();
                        assert_eq!(stats.reply_errors, 0);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("mount cycle thread panicked");
        }
        assert_eq!(open_fds(), fds_before, "descriptors leaked");
        let mountinfo_after = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        assert_eq!(mountinfo_after, mountinfo_before, "mount table changed");
        assert!(fuse_mounts_under(&std::env::temp_dir())
            .iter()
            .all(|m| !m.contains("cycle-")));
    });
}
