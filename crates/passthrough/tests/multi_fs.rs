//! A source tree spanning several filesystems: inodes are keyed by (st_dev, st_ino), so files
//! with the same inode number on different filesystems stay distinct nodes.

mod common;

use std::os::unix::fs::MetadataExt;
use std::time::Duration;

use common::{mount_passthrough, require_kernel, with_deadline, Tmpfs};
use fusekit_passthrough::PassthroughOptions;

#[test]
fn same_inode_numbers_on_two_filesystems_stay_apart() {
    if !require_kernel("same_inode_numbers_on_two_filesystems_stay_apart") {
        return;
    }
    with_deadline(Duration::from_secs(60), || {
        let outer = Tmpfs::mount();
        std::fs::create_dir(outer.path().join("m")).unwrap();
        std::fs::write(outer.path().join("a"), b"outer").unwrap();
        let inner_mnt = outer.path().join("m");
        rustix::mount::mount(
            "fusekit-passthrough-inner",
            &inner_mnt,
            "tmpfs",
            rustix::mount::MountFlags::empty(),
            c"mode=0755",
        )
        .unwrap();
        struct Unmount(std::path::PathBuf);
        impl Drop for Unmount {
            fn drop(&mut self) {
                let _ = rustix::mount::unmount(&self.0, rustix::mount::UnmountFlags::DETACH);
            }
        }
        let _inner = Unmount(inner_mnt.clone());
        // Fresh tmpfs instances hand out inode numbers in the same order: create inner
        // files until one has the same number as the outer "a".
        let outer_ino = std::fs::metadata(outer.path().join("a")).unwrap().ino();
        let twin = (0..64)
            .map(|n| inner_mnt.join(format!("f{n}")))
            .find(|p| {
                std::fs::write(p, b"inner").unwrap();
                std::fs::metadata(p).unwrap().ino() == outer_ino
            })
            .expect("no inner file got the outer file's inode number");
        let twin_name = twin.file_name().unwrap().to_owned();
        let inner_meta = std::fs::metadata(&twin).unwrap();
        assert_ne!(
            inner_meta.dev(),
            std::fs::metadata(outer.path()).unwrap().dev()
        );
        println!("outer a and inner {twin_name:?} share inode number {outer_ino}");

        let (mnt, _) = mount_passthrough(outer.path(), PassthroughOptions::default());
        let m = mnt.path();
        let inner_via = m.join("m").join(&twin_name);
        assert_eq!(std::fs::read(m.join("a")).unwrap(), b"outer");
        assert_eq!(std::fs::read(&inner_via).unwrap(), b"inner");
        std::fs::write(&inner_via, b"inner changed").unwrap();
        assert_eq!(std::fs::read(m.join("a")).unwrap(), b"outer");
        assert_eq!(std::fs::read(outer.path().join("a")).unwrap(), b"outer");
        assert_eq!(std::fs::read(&twin).unwrap(), b"inner changed");
        // Same st_ino through the mount (it shows the source's numbers), different files.
        assert_eq!(std::fs::metadata(&inner_via).unwrap().ino(), outer_ino);
        assert_eq!(std::fs::metadata(m.join("a")).unwrap().len(), 5);
        // Both roots have inode number 1 on their own filesystem: still two directories.
        assert!(std::fs::read_dir(m.join("m")).unwrap().count() > 0);
        assert!(std::fs::metadata(m.join("m").join("m")).is_err());
        drop(mnt);
    });
}
