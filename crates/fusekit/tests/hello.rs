//! The hello example through the kernel: stat, readdir, read, then unmount with nothing left
//! behind (no mount, no worker thread, no descriptor).

mod common;

use std::os::unix::fs::MetadataExt;
use std::time::Duration;

use common::{fuse_mounts_under, open_fds, require_kernel, with_deadline, TestMount};
use fusekit::MountOptions;
use fusekit_examples::hello::{Hello, CONTENT, NAME};

#[test]
fn hello_stat_readdir_read_unmount() {
    if !require_kernel("hello_stat_readdir_read_unmount") {
        return;
    }
    with_deadline(Duration::from_secs(60), || {
        let fds_before = open_fds();
        let options = MountOptions::new()
            .fsname("hello-test")
            .subtype("hello")
            .read_only(true);
        let mount = TestMount::new(Hello::new(4242, 4343), &options);
        let root = mount.path().to_path_buf();

        let meta = std::fs::metadata(&root).unwrap();
        assert!(meta.is_dir());
        assert_eq!(meta.mode() & 0o7777, 0o555);
        assert_eq!((meta.uid(), meta.gid()), (4242, 4343));

        let mut names: Vec<String> = std::fs::read_dir(&root)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, vec![NAME.to_string()]);

        let file = root.join(NAME);
        let meta = std::fs::metadata(&file).unwrap();
        assert!(meta.is_file());
        assert_eq!(meta.len(), CONTENT.len() as u64);
        assert_eq!(meta.ino(), 2);
        assert_eq!(std::fs::read(&file).unwrap(), CONTENT);

        let missing = std::fs::metadata(root.join("nope")).unwrap_err();
        assert_eq!(missing.raw_os_error(), Some(libc::ENOENT));
        let write = std::fs::OpenOptions::new()
            .write(true)
            .open(&file)
            .unwrap_err();
        assert_eq!(
            write.raw_os_error(),
            Some(libc::EROFS),
            "read-only mount refuses writes"
        );

        let mounts = fuse_mounts_under(&root);
        assert_eq!(mounts.len(), 1, "{mounts:?}");
        assert!(
            mounts[0].contains("fuse.hello") && mounts[0].contains("hello-test"),
            "{}",
            mounts[0]
        );

        let stats = mount.finish();
        assert!(stats.requests > 0);
        assert_eq!(stats.reply_errors, 0);
        assert_eq!(stats.dropped_replies, 0);
        assert!(fuse_mounts_under(&root).is_empty(), "mount left behind");
        assert!(!root.exists(), "temp mount point left behind");
        assert_eq!(open_fds(), fds_before, "descriptors leaked");
        let threads = std::fs::read_dir("/proc/self/task")
            .unwrap()
            .filter_map(|t| std::fs::read_to_string(t.unwrap().path().join("comm")).ok())
            .filter(|c| c.starts_with("fusekit-worker"))
            .count();
        assert_eq!(threads, 0, "worker threads left running");
    });
}
