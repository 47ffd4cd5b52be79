//! Real mounts through mount(2) (root + /dev/fuse): what mountinfo shows, connection ids,
//! idempotent unmount, abort, dead mounts, and refusing to mount twice. No FUSE server
//! runs, so no test ever stats a live mountpoint; only aborted/dead ones.

mod common;

use std::os::fd::AsRawFd;
use std::path::Path;
use std::time::Duration;

use common::{can_mount, mounts_under, test_fsname, wait_for, Deadline, Guard, TestDir};
use fusekit_mount::{
    ensure_fusectl, is_fuse_mounted, mount, unmount, MountError, MountMethod, MountOptions,
    MountedBy, CONNECTIONS_DIR,
};

const LIMIT: Duration = Duration::from_secs(30);

fn connection_dir(id: u32) -> std::path::PathBuf {
    Path::new(CONNECTIONS_DIR).join(id.to_string())
}

#[test]
fn strict_kernel_mount_shows_every_option_in_mountinfo() {
    if !can_mount("strict_kernel_mount_shows_every_option_in_mountinfo") {
        return;
    }
    let dir = TestDir::new();
    let _deadline = Deadline::new("strict_kernel_mount", LIMIT, dir.path());
    let mnt = dir.subdir("mnt");
    let fsname = test_fsname();
    let opts = MountOptions::new()
        .method(MountMethod::Strict)
        .fsname(&fsname)
        .subtype("kerneltest")
        .allow_other(true)
        .default_permissions(true)
        .read_only(true)
        .max_read(65536)
        .extra("noatime");
    let m = mount(&mnt, &opts).expect("strict mount as root");
    let guard = Guard(m.unmounter());
    assert_eq!(m.method(), MountedBy::Kernel);
    assert_eq!(m.mountpoint(), mnt);
    assert!(
        m.fd().as_raw_fd() > 2,
        "FUSE fd on stdio number {}",
        m.fd().as_raw_fd()
    );

    let entries = mounts_under(dir.path());
    assert_eq!(entries.len(), 1, "{entries:?}");
    let e = &entries[0];
    assert_eq!(e.mount_point, mnt);
    assert_eq!(e.fstype, "fuse.kerneltest");
    assert_eq!(e.source, fsname);
    for opt in ["ro", "nosuid", "nodev", "noatime"] {
        assert!(
            e.mount_options.split(',').any(|o| o == opt),
            "{opt} missing: {e:?}"
        );
    }
    for opt in [
        "user_id=0",
        "group_id=0",
        "default_permissions",
        "allow_other",
        "max_read=65536",
    ] {
        assert!(e.has_option(opt), "{opt} missing: {e:?}");
    }
    let id = m
        .connection_id()
        .expect("connection id read from mountinfo");
    assert_eq!(Some(id), e.connection_id());
    ensure_fusectl().expect("fusectl available as root");
    assert!(
        connection_dir(id).is_dir(),
        "no {}",
        connection_dir(id).display()
    );
    assert!(is_fuse_mounted(&mnt));

    let (fd, unmounter) = m.into_parts();
    unmounter.unmount().expect("unmount");
    assert!(mounts_under(dir.path()).is_empty());
    assert!(!is_fuse_mounted(&mnt));
    unmounter.unmount().expect("second unmount is a no-op");
    assert!(!unmounter.is_mounted().unwrap());
    drop(fd);
    assert!(
        wait_for(Duration::from_secs(5), || !connection_dir(id).exists()),
        "connection {id} outlived its mount and fd"
    );
    drop(guard);
}

#[test]
fn auto_as_root_uses_mount2_with_defaults() {
    if !can_mount("auto_as_root_uses_mount2_with_defaults") {
        return;
    }
    let dir = TestDir::new();
    let _deadline = Deadline::new("auto_as_root", LIMIT, dir.path());
    let mnt = dir.subdir("mnt");
    let m = mount(&mnt, &MountOptions::new()).expect("auto mount as root");
    let _guard = Guard(m.unmounter());
    assert_eq!(m.method(), MountedBy::Kernel);
    let entries = mounts_under(dir.path());
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].fstype, "fuse");
    assert_eq!(entries[0].source, "fusekit");
    assert!(entries[0].mount_options.starts_with("rw,"));
    drop(m);
    assert!(
        mounts_under(dir.path()).is_empty(),
        "dropping a Mount unmounts it"
    );
}

#[test]
fn mounting_twice_is_refused_even_through_a_symlink() {
    if !can_mount("mounting_twice_is_refused_even_through_a_symlink") {
        return;
    }
    let dir = TestDir::new();
    let _deadline = Deadline::new("mounting_twice", LIMIT, dir.path());
    let mnt = dir.subdir("mnt");
    std::os::unix::fs::symlink(&mnt, dir.path().join("link")).unwrap();
    let m = mount(&mnt, &MountOptions::new().fsname(test_fsname())).unwrap();
    let _guard = Guard(m.unmounter());
    for path in [
        mnt.clone(),
        dir.path().join("link"),
        dir.path().join("mnt/../mnt"),
    ] {
        let err = mount(&path, &MountOptions::new()).unwrap_err();
        assert!(
            matches!(err, MountError::AlreadyMounted(ref p) if *p == mnt),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            format!(
                "cannot mount on {}: a FUSE filesystem is already mounted there",
                mnt.display()
            )
        );
    }
    assert_eq!(mounts_under(dir.path()).len(), 1);
}

#[test]
fn abort_kills_the_connection_and_the_dead_mount_still_unmounts() {
    if !can_mount("abort_kills_the_connection_and_the_dead_mount_still_unmounts") {
        return;
    }
    let dir = TestDir::new();
    let _deadline = Deadline::new("abort", LIMIT, dir.path());
    let mnt = dir.subdir("mnt");
    let m = mount(&mnt, &MountOptions::new().method(MountMethod::Strict)).unwrap();
    let (fd, unmounter) = m.into_parts();
    let _guard = Guard(unmounter.clone());
    unmounter.abort().expect("abort through fusectl");
    // Aborted: requests fail at once with ENOTCONN instead of waiting for INIT.
    let err = std::fs::symlink_metadata(&mnt).unwrap_err();
    assert_eq!(
        err.raw_os_error(),
        Some(rustix::io::Errno::NOTCONN.raw_os_error())
    );
    unmount(&mnt).expect("public unmount of a dead mount");
    assert!(mounts_under(dir.path()).is_empty());
    let err = unmount(&mnt).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "cannot unmount {}: no FUSE filesystem is mounted there",
            mnt.display()
        )
    );
    unmounter
        .unmount()
        .expect("idempotent after someone else unmounted");
    drop(fd);
}

#[test]
fn closing_the_fd_leaves_a_dead_mount_that_unmount_removes() {
    if !can_mount("closing_the_fd_leaves_a_dead_mount_that_unmount_removes") {
        return;
    }
    let dir = TestDir::new();
    let _deadline = Deadline::new("dead_mount", LIMIT, dir.path());
    let mnt = dir.subdir("mnt");
    let (fd, unmounter) = mount(&mnt, &MountOptions::new()).unwrap().into_parts();
    let _guard = Guard(unmounter);
    drop(fd);
    let err = std::fs::symlink_metadata(&mnt).unwrap_err();
    assert_eq!(
        err.raw_os_error(),
        Some(rustix::io::Errno::NOTCONN.raw_os_error())
    );
    assert!(is_fuse_mounted(&mnt));
    unmount(&mnt).expect("unmount of a dead mount");
    assert!(mounts_under(dir.path()).is_empty());
}

#[test]
fn a_stale_unmounter_leaves_a_newer_mount_alone() {
    if !can_mount("a_stale_unmounter_leaves_a_newer_mount_alone") {
        return;
    }
    let dir = TestDir::new();
    let _deadline = Deadline::new("stale_unmounter", LIMIT, dir.path());
    let mnt = dir.subdir("mnt");
    let (fd_a, old) = mount(&mnt, &MountOptions::new()).unwrap().into_parts();
    old.unmount().unwrap();
    drop(fd_a);
    let newer = mount(&mnt, &MountOptions::new()).unwrap();
    let _guard = Guard(newer.unmounter());
    // The kernel usually hands the newer mount the very same connection id (lowest free
    // anonymous dev), so only the handle's own memory of having unmounted protects it.
    old.unmount().expect("stale unmount is a no-op");
    assert!(
        newer.unmounter().is_mounted().unwrap(),
        "the newer mount was detached"
    );
    assert_eq!(mounts_under(dir.path()).len(), 1);
}

#[test]
fn public_unmount_refuses_what_is_not_fuse() {
    let dir = TestDir::new();
    let plain = dir.subdir("plain");
    let err = unmount(&plain).unwrap_err();
    assert!(
        matches!(err, MountError::NotMounted(ref p) if *p == plain),
        "{err:?}"
    );
    let err = unmount(&dir.path().join("missing")).unwrap_err();
    assert!(matches!(err, MountError::NotMounted(_)), "{err:?}");
}

#[test]
fn the_kernel_rejecting_an_option_is_reported_with_the_options() {
    if !can_mount("the_kernel_rejecting_an_option_is_reported_with_the_options") {
        return;
    }
    let dir = TestDir::new();
    let _deadline = Deadline::new("kernel_rejects", LIMIT, dir.path());
    let mnt = dir.subdir("mnt");
    let opts = MountOptions::new()
        .method(MountMethod::Strict)
        .extra("no_such_fuse_option");
    let err = mount(&mnt, &opts).unwrap_err();
    assert!(matches!(err, MountError::KernelRejected { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "the kernel refused to mount {} with options \"fd=",
            mnt.display()
        )),
        "{text}"
    );
    assert!(text.contains("no_such_fuse_option"), "{text}");
    assert!(mounts_under(dir.path()).is_empty());
}

#[test]
fn aborting_an_unknown_connection_is_named() {
    if !can_mount("aborting_an_unknown_connection_is_named") {
        return;
    }
    let err = fusekit_mount::abort_connection(u32::MAX - 7).unwrap_err();
    assert!(
        matches!(err, MountError::ConnectionNotFound(id) if id == u32::MAX - 7),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "cannot abort FUSE connection {0}: /sys/fs/fuse/connections/{0} does not exist",
            u32::MAX - 7
        )
    );
}
