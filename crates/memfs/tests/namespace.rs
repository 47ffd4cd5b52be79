//! Names: lookup, creation, ownership of new nodes, name limits, unlink/rmdir errors,
//! sticky directories, symlinks, devices.

mod common;
use common::*;
use fusekit_memfs::{Caller, Errno, FileType, Limits, MemFs, ROOT_ID};

#[test]
fn lookup_dot_dotdot_and_missing() {
    let fs = fs();
    let d = fs.mkdir(&root(), ROOT_ID, n("d"), 0o755).unwrap();
    assert_eq!(fs.lookup(d.ino, n(".")).unwrap().ino, d.ino);
    assert_eq!(fs.lookup(d.ino, n("..")).unwrap().ino, ROOT_ID);
    assert_eq!(fs.lookup(ROOT_ID, n("nope")).err(), Some(Errno::NOENT));
    let f = fs.mknod(&root(), ROOT_ID, n("f"), 0o100644, 0).unwrap();
    assert_eq!(fs.lookup(f.ino, n("x")).err(), Some(Errno::NOTDIR));
}

#[test]
fn names_are_checked() {
    let fs = fs();
    let long = "x".repeat(256);
    let ok = "y".repeat(255);
    assert_eq!(
        fs.mkdir(&root(), ROOT_ID, n(&long), 0o755).err(),
        Some(Errno::NAMETOOLONG)
    );
    assert_eq!(fs.lookup(ROOT_ID, n(&long)).err(), Some(Errno::NAMETOOLONG));
    assert!(fs.mkdir(&root(), ROOT_ID, n(&ok), 0o755).is_ok());
    assert_eq!(
        fs.mknod(&root(), ROOT_ID, n("a/b"), 0o100644, 0).err(),
        Some(Errno::INVAL)
    );
    assert_eq!(
        fs.mknod(&root(), ROOT_ID, n(""), 0o100644, 0).err(),
        Some(Errno::INVAL)
    );
    assert_eq!(
        fs.mknod(&root(), ROOT_ID, n(&ok), 0o100644, 0).err(),
        Some(Errno::EXIST)
    );
}

#[test]
fn new_nodes_get_caller_ids_and_umask() {
    let fs = fs();
    let c = Caller {
        uid: 1000,
        gid: 100,
        umask: 0o022,
        ..Caller::default()
    };
    let f = fs.mknod(&c, ROOT_ID, n("f"), 0o100666, 0).unwrap();
    assert_eq!(
        (f.uid, f.gid, f.perm(), f.kind()),
        (1000, 100, 0o644, Some(FileType::RegularFile))
    );
    let d = fs.mkdir(&c, ROOT_ID, n("d"), 0o777).unwrap();
    assert_eq!(
        (d.perm(), d.kind(), d.size),
        (0o755, Some(FileType::Directory), 40)
    );
    assert_eq!(
        fs.getattr(ROOT_ID).unwrap().size,
        80,
        "tmpfs-style directory size"
    );
    let s = fs.symlink(&c, ROOT_ID, n("s"), n("target")).unwrap();
    assert_eq!(
        (s.perm(), s.size, s.kind()),
        (0o777, 6, Some(FileType::Symlink))
    );
    assert_eq!(fs.readlink(s.ino).unwrap(), b"target");
    assert_eq!(fs.readlink(f.ino).err(), Some(Errno::INVAL));
}

#[test]
fn setgid_directories_pass_their_group_on() {
    let fs = fs();
    let d = fs.mkdir(&root(), ROOT_ID, n("g"), 0o2775).unwrap();
    let fs_set = fusekit_memfs::SetAttr {
        gid: Some(50),
        ..Default::default()
    };
    fs.setattr(&root(), d.ino, &fs_set).unwrap();
    let c = Caller::new(1000, 100);
    let f = fs.mknod(&c, d.ino, n("f"), 0o100644, 0).unwrap();
    assert_eq!(f.gid, 50);
    let sub = fs.mkdir(&c, d.ino, n("sub"), 0o755).unwrap();
    assert_eq!(sub.gid, 50);
    assert_ne!(sub.perm() & 0o2000, 0, "subdirectory inherits setgid");
    // Known groups, not a member: a setgid+group-exec file loses setgid.
    let strict = Caller {
        groups: Some(vec![]),
        ..c.clone()
    };
    let x = fs.mknod(&strict, d.ino, n("x"), 0o102755, 0).unwrap();
    assert_eq!(x.perm(), 0o755);
    // Outside a setgid directory the caller's gid is used.
    let g = fs.mknod(&c, ROOT_ID, n("plain"), 0o100644, 0).unwrap();
    assert_eq!(g.gid, 100);
}

#[test]
fn devices_fifos_and_bad_types() {
    let fs = fs();
    let cdev = fs
        .mknod(&root(), ROOT_ID, n("c"), 0o020600, 0x0501)
        .unwrap();
    assert_eq!(
        (cdev.kind(), cdev.rdev),
        (Some(FileType::CharDevice), 0x0501)
    );
    let p = fs.mknod(&root(), ROOT_ID, n("p"), 0o010644, 0).unwrap();
    assert_eq!(p.kind(), Some(FileType::NamedPipe));
    let s = fs.mknod(&root(), ROOT_ID, n("s"), 0o140644, 0).unwrap();
    assert_eq!(s.kind(), Some(FileType::Socket));
    let reg = fs.mknod(&root(), ROOT_ID, n("r"), 0o644, 0).unwrap();
    assert_eq!(
        reg.kind(),
        Some(FileType::RegularFile),
        "type 0 is a regular file"
    );
    assert_eq!(
        fs.mknod(&root(), ROOT_ID, n("d"), 0o040755, 0).err(),
        Some(Errno::PERM)
    );
    assert_eq!(
        fs.mknod(&root(), ROOT_ID, n("bad"), 0o170644, 0).err(),
        Some(Errno::INVAL)
    );
}

#[test]
fn symlink_target_limits() {
    let fs = fs();
    assert_eq!(
        fs.symlink(&root(), ROOT_ID, n("e"), n("")).err(),
        Some(Errno::NOENT)
    );
    let long = "t".repeat(4096);
    assert_eq!(
        fs.symlink(&root(), ROOT_ID, n("l"), n(&long)).err(),
        Some(Errno::NAMETOOLONG)
    );
    assert!(fs
        .symlink(&root(), ROOT_ID, n("ok"), n(&long[..4095]))
        .is_ok());
}

#[test]
fn unlink_and_rmdir_errors() {
    let fs = fs();
    let d = fs.mkdir(&root(), ROOT_ID, n("d"), 0o755).unwrap();
    fs.mknod(&root(), ROOT_ID, n("f"), 0o100644, 0).unwrap();
    assert_eq!(
        fs.unlink(&root(), ROOT_ID, n("d")).err(),
        Some(Errno::ISDIR)
    );
    assert_eq!(
        fs.rmdir(&root(), ROOT_ID, n("f")).err(),
        Some(Errno::NOTDIR)
    );
    assert_eq!(
        fs.unlink(&root(), ROOT_ID, n("none")).err(),
        Some(Errno::NOENT)
    );
    assert_eq!(fs.rmdir(&root(), d.ino, n(".")).err(), Some(Errno::INVAL));
    assert_eq!(
        fs.rmdir(&root(), d.ino, n("..")).err(),
        Some(Errno::NOTEMPTY)
    );
    assert_eq!(
        fs.link(&root(), d.ino, ROOT_ID, n("dl")).err(),
        Some(Errno::PERM)
    );
    assert_eq!(
        fs.link(&root(), ROOT_ID + 999, ROOT_ID, n("x")).err(),
        Some(Errno::NOENT)
    );
}

#[test]
fn sticky_directory_protects_other_users_entries() {
    let fs = fs();
    let t = fs.mkdir(&root(), ROOT_ID, n("tmp"), 0o1777).unwrap();
    let alice = user(1000);
    let bob = user(1001);
    fs.mknod(&alice, t.ino, n("a"), 0o100644, 0).unwrap();
    assert_eq!(fs.unlink(&bob, t.ino, n("a")).err(), Some(Errno::PERM));
    assert_eq!(
        fs.rename(&bob, t.ino, n("a"), t.ino, n("b"), Default::default())
            .err(),
        Some(Errno::PERM)
    );
    fs.mknod(&bob, t.ino, n("b"), 0o100644, 0).unwrap();
    assert_eq!(
        fs.rename(&bob, t.ino, n("b"), t.ino, n("a"), Default::default())
            .err(),
        Some(Errno::PERM),
        "cannot replace another user's file in a sticky dir"
    );
    fs.unlink(&alice, t.ino, n("a")).unwrap();
    fs.unlink(&root(), t.ino, n("b")).unwrap();
}

#[test]
fn create_opens_existing_without_excl() {
    let fs = fs();
    let (a, fh) = create(&fs, ROOT_ID, "f");
    fs.write(&root(), a.ino, fh, 0, b"abc", false).unwrap();
    assert_eq!(
        fs.create(&root(), ROOT_ID, n("f"), 0o644, O_RDWR | O_EXCL)
            .err(),
        Some(Errno::EXIST)
    );
    let (b, fh2) = fs
        .create(&root(), ROOT_ID, n("f"), 0o644, O_RDWR | O_TRUNC)
        .unwrap();
    assert_eq!(b.ino, a.ino);
    assert_eq!(b.size, 0, "O_TRUNC applied");
    let d = fs.mkdir(&root(), ROOT_ID, n("d"), 0o755).unwrap();
    assert_eq!(
        fs.create(&root(), ROOT_ID, n("d"), 0o644, O_RDWR).err(),
        Some(Errno::ISDIR)
    );
    assert_eq!(fs.open(&root(), d.ino, O_RDONLY).err(), Some(Errno::ISDIR));
    fs.release(a.ino, fh, None).unwrap();
    fs.release(a.ino, fh2, None).unwrap();
}

#[test]
fn inode_limit_gives_enospc_and_counts_hard_links() {
    let fs = MemFs::new(
        Limits {
            max_bytes: None,
            max_inodes: Some(3),
        },
        (0, 0),
        0o755,
    );
    let a = fs.mknod(&root(), ROOT_ID, n("a"), 0o100644, 0).unwrap();
    fs.link(&root(), a.ino, ROOT_ID, n("a2")).unwrap();
    assert_eq!(
        fs.mknod(&root(), ROOT_ID, n("b"), 0o100644, 0).err(),
        Some(Errno::NOSPC)
    );
    assert_eq!(fs.statfs().ffree, 0);
    fs.unlink(&root(), ROOT_ID, n("a2")).unwrap();
    assert_eq!(fs.statfs().ffree, 1);
    fs.mknod(&root(), ROOT_ID, n("b"), 0o100644, 0).unwrap();
    assert!(fs.lookup(ROOT_ID, n("b")).is_ok());
    assert_eq!(
        fs.tmpfile(&root(), ROOT_ID, 0o600, O_RDWR).err(),
        Some(Errno::NOSPC)
    );
}

#[test]
fn statfs_reflects_limits() {
    let fs = MemFs::new(
        Limits {
            max_bytes: Some(1 << 20),
            max_inodes: Some(100),
        },
        (0, 0),
        0o755,
    );
    let s = fs.statfs();
    assert_eq!(
        (s.blocks, s.bfree, s.files, s.ffree, s.bsize, s.namelen),
        (256, 256, 100, 99, 4096, 255)
    );
    let (a, fh) = create(&fs, ROOT_ID, "f");
    fs.write(&root(), a.ino, fh, 0, &[1; 5000], false).unwrap();
    let s = fs.statfs();
    assert_eq!((s.bfree, s.bavail, s.ffree), (254, 254, 98));
    let unlimited = common::fs().statfs();
    assert_eq!((unlimited.blocks, unlimited.files), (0, 0));
    assert!(Limits::tmpfs_default().max_bytes.unwrap() > 0);
}
