//! Limits through a real mount: a byte limit gives ENOSPC (never an allocation failure), an
//! inode limit gives ENOSPC on create, statfs (what `df` shows) reflects both, and names over
//! 255 bytes give ENAMETOOLONG.

mod common;

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::time::Duration;

use common::mount::{mount_memfs, require_kernel, with_deadline};
use fusekit_memfs::Limits;
use rustix::io::Errno;

const MIB: u64 = 1 << 20;

#[test]
fn byte_limit_gives_enospc_and_statfs_shows_it() {
    if !require_kernel("byte_limit_gives_enospc_and_statfs_shows_it") {
        return;
    }
    with_deadline(Duration::from_secs(60), || {
        let limits = Limits {
            max_bytes: Some(MIB),
            max_inodes: Some(100),
        };
        let (engine, mnt) = mount_memfs(limits);
        let st = rustix::fs::statvfs(mnt.path()).unwrap();
        assert_eq!(st.f_blocks * st.f_frsize, MIB, "df size");
        assert_eq!(st.f_bfree, st.f_blocks, "empty filesystem");
        assert_eq!(st.f_files, 100);
        assert_eq!(st.f_namemax, 255);

        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(mnt.path().join("fill"))
            .unwrap();
        let chunk = vec![7u8; 64 * 1024];
        let mut written = 0u64;
        let err = loop {
            match f.write(&chunk) {
                Ok(n) => written += n as u64,
                Err(e) => break e,
            }
            assert!(written <= MIB, "wrote {written} bytes past a 1 MiB limit");
        };
        assert_eq!(err.raw_os_error(), Some(libc::ENOSPC), "{err}");
        assert!(written >= MIB - 64 * 1024, "only {written} bytes fitted");
        assert!(engine.stats().bytes_used <= MIB);
        let st = rustix::fs::statvfs(mnt.path()).unwrap();
        assert_eq!(st.f_bfree, 0, "df shows the filesystem full");
        assert_eq!(st.f_files - st.f_ffree, engine.stats().inode_slots);
        drop(f);
        fs::remove_file(mnt.path().join("fill")).unwrap();
        // close(2) returns before the kernel's RELEASE is answered; the space comes back
        // with it, within a bounded time.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        let mut st = rustix::fs::statvfs(mnt.path()).unwrap();
        while st.f_bfree != st.f_blocks && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(10));
            st = rustix::fs::statvfs(mnt.path()).unwrap();
        }
        assert_eq!(
            st.f_bfree, st.f_blocks,
            "space returned after unlink + close"
        );
        drop(mnt);
    });
}

#[test]
fn inode_limit_gives_enospc_on_create() {
    if !require_kernel("inode_limit_gives_enospc_on_create") {
        return;
    }
    with_deadline(Duration::from_secs(60), || {
        let limits = Limits {
            max_bytes: None,
            max_inodes: Some(10),
        };
        let (engine, mnt) = mount_memfs(limits);
        let mut created = 0;
        let err = loop {
            match fs::File::create(mnt.path().join(format!("f{created}"))) {
                Ok(_) => created += 1,
                Err(e) => break e,
            }
            assert!(
                created <= 10,
                "created {created} files under a 10-inode limit"
            );
        };
        assert_eq!(err.raw_os_error(), Some(libc::ENOSPC), "{err}");
        assert_eq!(created, 9, "root + 9 files = 10 inodes");
        assert_eq!(
            fs::create_dir(mnt.path().join("d"))
                .unwrap_err()
                .raw_os_error(),
            Some(libc::ENOSPC)
        );
        let st = rustix::fs::statvfs(mnt.path()).unwrap();
        assert_eq!((st.f_files, st.f_ffree), (10, 0));
        fs::remove_file(mnt.path().join("f0")).unwrap();
        // The kernel may hold f0's inode until it forgets it; a new file fits once it does.
        let mut ok = false;
        for _ in 0..100 {
            if fs::File::create(mnt.path().join("again")).is_ok() {
                ok = true;
                break;
            }
            let _ = fs::write("/proc/sys/vm/drop_caches", "2");
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(ok, "no room after unlink: {:?}", engine.stats());
        drop(mnt);
    });
}

#[test]
fn long_names_give_enametoolong() {
    if !require_kernel("long_names_give_enametoolong") {
        return;
    }
    with_deadline(Duration::from_secs(60), || {
        let (_engine, mnt) = mount_memfs(Limits::UNLIMITED);
        let ok = "n".repeat(255);
        let long = "n".repeat(256);
        fs::write(mnt.path().join(&ok), b"x").unwrap();
        let e = fs::write(mnt.path().join(&long), b"x").unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ENAMETOOLONG), "{e}");
        let e = fs::create_dir(mnt.path().join(&long)).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ENAMETOOLONG), "{e}");
        let e = fs::rename(mnt.path().join(&ok), mnt.path().join(&long)).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ENAMETOOLONG), "{e}");
        let e = std::os::unix::fs::symlink("t", mnt.path().join(&long)).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ENAMETOOLONG), "{e}");
        assert_eq!(
            fs::metadata(mnt.path().join(&long)).unwrap_err().kind(),
            ErrorKind::InvalidFilename,
        );
        let _ = Errno::NAMETOOLONG;
        drop(mnt);
    });
}
