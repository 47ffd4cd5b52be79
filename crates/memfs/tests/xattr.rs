//! Extended attributes: flags, sizes, namespaces, limits, ctime, memory accounting.

mod common;
use common::*;
use fusekit_memfs::*;

#[test]
fn set_get_list_remove() {
    let fs = fs();
    let f = fs.mknod(&root(), ROOT_ID, n("f"), 0o100644, 0).unwrap();
    fs.setxattr(&root(), f.ino, n("user.a"), b"one", 0).unwrap();
    fs.setxattr(&root(), f.ino, n("user.b"), b"", 0).unwrap();
    assert_eq!(
        fs.getxattr(&root(), f.ino, n("user.a"), 0),
        Ok(Xattr::Size(3))
    );
    assert_eq!(
        fs.getxattr(&root(), f.ino, n("user.a"), 2),
        Err(Errno::RANGE)
    );
    assert_eq!(
        fs.getxattr(&root(), f.ino, n("user.a"), 3),
        Ok(Xattr::Data(b"one".to_vec()))
    );
    assert_eq!(
        fs.getxattr(&root(), f.ino, n("user.b"), 10),
        Ok(Xattr::Data(vec![]))
    );
    assert_eq!(
        fs.getxattr(&root(), f.ino, n("user.c"), 10),
        Err(Errno::NODATA)
    );
    assert_eq!(fs.listxattr(&root(), f.ino, 0), Ok(Xattr::Size(14)));
    assert_eq!(fs.listxattr(&root(), f.ino, 13), Err(Errno::RANGE));
    assert_eq!(
        fs.listxattr(&root(), f.ino, 14),
        Ok(Xattr::Data(b"user.a\0user.b\0".to_vec()))
    );
    assert_eq!(
        fs.setxattr(&root(), f.ino, n("user.a"), b"x", XATTR_CREATE),
        Err(Errno::EXIST)
    );
    assert_eq!(
        fs.setxattr(&root(), f.ino, n("user.z"), b"x", XATTR_REPLACE),
        Err(Errno::NODATA)
    );
    fs.setxattr(&root(), f.ino, n("user.a"), b"two!", XATTR_REPLACE)
        .unwrap();
    assert_eq!(
        fs.getxattr(&root(), f.ino, n("user.a"), 100),
        Ok(Xattr::Data(b"two!".to_vec()))
    );
    let before = fs.getattr(f.ino).unwrap().ctime;
    std::thread::sleep(std::time::Duration::from_millis(2));
    fs.removexattr(&root(), f.ino, n("user.a")).unwrap();
    assert!(fs.getattr(f.ino).unwrap().ctime > before);
    assert_eq!(
        fs.removexattr(&root(), f.ino, n("user.a")),
        Err(Errno::NODATA)
    );
    fs.removexattr(&root(), f.ino, n("user.b")).unwrap();
    assert_eq!(fs.stats().bytes_used, 0, "xattr bytes returned");
}

#[test]
fn limits_and_namespaces() {
    let fs = fs();
    let f = fs.mknod(&root(), ROOT_ID, n("f"), 0o100644, 0).unwrap();
    let long = format!("user.{}", "x".repeat(251));
    assert_eq!(
        fs.setxattr(&root(), f.ino, n(&long), b"", 0),
        Err(Errno::RANGE)
    );
    fs.setxattr(&root(), f.ino, n(&long[..255]), b"", 0)
        .unwrap();
    assert_eq!(
        fs.setxattr(&root(), f.ino, n("user.v"), &vec![0; 65537], 0),
        Err(Errno::TOOBIG)
    );
    fs.setxattr(&root(), f.ino, n("user.v"), &vec![1; 65536], 0)
        .unwrap();
    assert_eq!(
        fs.setxattr(&root(), f.ino, n(""), b"", 0),
        Err(Errno::RANGE)
    );
    assert_eq!(
        fs.setxattr(&root(), f.ino, n("user."), b"", 0),
        Err(Errno::INVAL)
    );
    assert_eq!(
        fs.setxattr(&root(), f.ino, n("system.posix_acl_access"), b"", 0),
        Err(Errno::OPNOTSUPP)
    );
    assert_eq!(
        fs.getxattr(&root(), f.ino, n("system.posix_acl_default"), 0),
        Err(Errno::OPNOTSUPP)
    );
    assert_eq!(
        fs.setxattr(&root(), f.ino, n("other.x"), b"", 0),
        Err(Errno::OPNOTSUPP)
    );
    fs.setxattr(&root(), f.ino, n("security.selinux"), b"ctx", 0)
        .unwrap();
    fs.setxattr(&root(), f.ino, n("trusted.t"), b"t", 0)
        .unwrap();
    let alice = user(1000);
    assert_eq!(
        fs.setxattr(&alice, f.ino, n("trusted.u"), b"t", 0),
        Err(Errno::PERM)
    );
    assert_eq!(
        fs.getxattr(&alice, f.ino, n("trusted.t"), 10),
        Err(Errno::NODATA)
    );
    let Xattr::Data(names) = fs.listxattr(&alice, f.ino, 4096).unwrap() else {
        panic!()
    };
    assert!(
        !names.windows(8).any(|w| w == b"trusted."),
        "trusted hidden from non-root"
    );
    // user.* only on regular files and directories.
    let s = fs.symlink(&root(), ROOT_ID, n("s"), n("t")).unwrap();
    assert_eq!(
        fs.setxattr(&root(), s.ino, n("user.a"), b"", 0),
        Err(Errno::PERM)
    );
    assert_eq!(
        fs.getxattr(&root(), s.ino, n("user.a"), 0),
        Err(Errno::NODATA)
    );
    // Freed with the inode.
    let used = fs.stats().bytes_used;
    assert!(used > 65536);
    fs.unlink(&root(), ROOT_ID, n("f")).unwrap();
    fs.forget(f.ino, 1);
    assert_eq!(fs.stats().bytes_used, 1, "only the symlink target remains");
}
