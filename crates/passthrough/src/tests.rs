//! Unit tests of the filesystem logic without a kernel: the request handlers called
//! directly on temp directories. Lookup counting, hard links, O_TMPFILE + link, and the
//! escape attempts a hostile or buggy kernel peer could send (names with `/` or `..`, a
//! symlink planted in the source pointing outside it).

use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::symlink;

use fusekit::{FileType, SetAttr, ROOT_ID};
use rustix::io::Errno;

use crate::{Passthrough, PassthroughOptions};

fn fs_over(dir: &std::path::Path) -> Passthrough {
    Passthrough::new(dir, PassthroughOptions::default()).expect("passthrough")
}

fn os(s: &str) -> &OsStr {
    OsStr::new(s)
}

#[test]
fn lookups_are_counted_and_forgotten() {
    let src = tempfile::tempdir().unwrap();
    fs::write(src.path().join("a"), b"x").unwrap();
    let pt = fs_over(src.path());
    let e1 = pt.do_lookup(ROOT_ID, os("a")).unwrap();
    let e2 = pt.do_lookup(ROOT_ID, os("a")).unwrap();
    assert_eq!(e1.ino, e2.ino);
    assert_eq!(e1.generation, e2.generation);
    assert_ne!(e1.ino, ROOT_ID);
    assert_eq!(pt.inodes.nlookup(e1.ino), Some(2));
    assert_eq!(pt.live_inodes(), 2);
    pt.inodes.forget(e1.ino, 1);
    assert_eq!(pt.inodes.nlookup(e1.ino), Some(1));
    pt.inodes.forget(e1.ino, 1);
    assert_eq!(pt.inodes.nlookup(e1.ino), None);
    assert_eq!(pt.do_getattr(e1.ino), Err(Errno::STALE));
    assert_eq!(pt.live_inodes(), 1);
    // A new lookup gets a new node id and generation: never confused with the old one.
    let e3 = pt.do_lookup(ROOT_ID, os("a")).unwrap();
    assert_ne!(e3.ino, e1.ino);
    assert_ne!(e3.generation, e1.generation);
    // The root is never forgotten.
    pt.inodes.forget(ROOT_ID, u64::MAX);
    assert!(pt.do_getattr(ROOT_ID).is_ok());
}

#[test]
fn hard_links_share_one_node() {
    let src = tempfile::tempdir().unwrap();
    fs::write(src.path().join("a"), b"x").unwrap();
    fs::hard_link(src.path().join("a"), src.path().join("b")).unwrap();
    fs::write(src.path().join("c"), b"x").unwrap();
    let pt = fs_over(src.path());
    let a = pt.do_lookup(ROOT_ID, os("a")).unwrap();
    let b = pt.do_lookup(ROOT_ID, os("b")).unwrap();
    let c = pt.do_lookup(ROOT_ID, os("c")).unwrap();
    assert_eq!(a.ino, b.ino);
    assert_eq!(a.attr.nlink, 2);
    assert_ne!(a.ino, c.ino);
    // LINK through the filesystem: same node, one more lookup, nlink 3.
    let d = pt.do_link(a.ino, ROOT_ID, os("d")).unwrap();
    assert_eq!(d.ino, a.ino);
    assert_eq!(d.attr.nlink, 3);
    assert_eq!(pt.inodes.nlookup(a.ino), Some(3));
}

#[test]
fn tmpfile_can_be_linked_into_the_tree() {
    let src = tempfile::tempdir().unwrap();
    let pt = fs_over(src.path());
    let flags = (rustix::fs::OFlags::RDWR).bits() as i32;
    let (entry, _inode, fd) = pt.create_tmpfile(None, ROOT_ID, 0o600, flags).unwrap();
    assert_eq!(entry.attr.nlink, 0);
    assert_eq!(entry.attr.kind(), Some(FileType::RegularFile));
    rustix::io::write(&fd, b"tmp data").unwrap();
    assert_eq!(fs::read_dir(src.path()).unwrap().count(), 0);
    let linked = pt.do_link(entry.ino, ROOT_ID, os("named")).unwrap();
    assert_eq!(linked.ino, entry.ino);
    assert_eq!(linked.attr.nlink, 1);
    assert_eq!(fs::read(src.path().join("named")).unwrap(), b"tmp data");
}

#[test]
fn names_that_leave_the_directory_are_refused() {
    let outer = tempfile::tempdir().unwrap();
    let src = outer.path().join("src");
    fs::create_dir_all(src.join("sub")).unwrap();
    fs::write(outer.path().join("secret"), b"outside").unwrap();
    let pt = fs_over(&src);
    let sub = pt.do_lookup(ROOT_ID, os("sub")).unwrap().ino;
    for bad in [
        "..",
        ".",
        "../secret",
        "sub/../../secret",
        "/etc/passwd",
        "a/b",
        "",
    ] {
        if bad != "." && bad != ".." {
            assert_eq!(
                pt.do_lookup(sub, os(bad)).map(|_| ()),
                Err(Errno::INVAL),
                "{bad:?}"
            );
        }
        assert_eq!(
            pt.do_unlink(sub, os(bad), false),
            Err(Errno::INVAL),
            "{bad:?}"
        );
        assert_eq!(
            pt.do_rename(sub, os("x"), ROOT_ID, os(bad), 0),
            Err(Errno::INVAL),
            "{bad:?}"
        );
        assert_eq!(
            pt.do_mkdir(None, sub, os(bad), 0o755).map(|_| ()),
            Err(Errno::INVAL),
            "{bad:?}"
        );
    }
    // "." and ".." are looked up by node id for file handles: the node itself and its
    // parent, never above the source's root.
    assert_eq!(pt.do_lookup(sub, os(".")).map(|e| e.ino), Ok(sub));
    assert_eq!(pt.do_lookup(sub, os("..")).map(|e| e.ino), Ok(ROOT_ID));
    assert_eq!(pt.do_lookup(ROOT_ID, os("..")).map(|e| e.ino), Ok(ROOT_ID));
    assert_eq!(fs::read(outer.path().join("secret")).unwrap(), b"outside");
}

#[test]
fn symlinks_in_the_source_are_never_followed_by_the_daemon() {
    let outer = tempfile::tempdir().unwrap();
    let src = outer.path().join("src");
    let outside = outer.path().join("outside");
    fs::create_dir_all(&src).unwrap();
    fs::create_dir_all(&outside).unwrap();
    fs::write(outside.join("target"), b"precious").unwrap();
    symlink(outside.join("target"), src.join("to-file")).unwrap();
    symlink(&outside, src.join("to-dir")).unwrap();
    symlink(outside.join("new"), src.join("dangling")).unwrap();
    let pt = fs_over(&src);

    // The link itself is the node: a symlink, whose target reads back as stored.
    let link = pt.do_lookup(ROOT_ID, os("to-file")).unwrap();
    assert_eq!(link.attr.kind(), Some(FileType::Symlink));
    assert_eq!(
        pt.do_readlink(link.ino).unwrap(),
        outside.join("target").as_os_str().as_encoded_bytes()
    );
    // Requests about the link never reach the target.
    let truncate = SetAttr {
        size: Some(0),
        ..Default::default()
    };
    assert!(pt.do_setattr(link.ino, &truncate).is_err());
    let chmod = SetAttr {
        mode: Some(0o600),
        ..Default::default()
    };
    assert!(pt.do_setattr(link.ino, &chmod).is_err());
    // Attributes are the link's own (symlinks carry no user.*): the target's never show.
    let _ = rustix::fs::setxattr(
        outside.join("target"),
        "user.x",
        b"precious",
        rustix::fs::XattrFlags::empty(),
    );
    let through_link = pt.do_getxattr(link.ino, os("user.x"), 0);
    assert!(
        matches!(through_link, Err(Errno::NODATA | Errno::OPNOTSUPP)),
        "{through_link:?}"
    );
    assert_eq!(fs::read(outside.join("target")).unwrap(), b"precious");
    let mode = fs::metadata(outside.join("target")).unwrap().permissions();
    assert_ne!(
        std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
        0o600
    );

    // Creating under the planted names never creates outside.
    let rdwr = rustix::fs::OFlags::RDWR.bits() as i32;
    assert_eq!(
        pt.create_file(None, ROOT_ID, os("dangling"), 0o644, rdwr)
            .map(|_| ()),
        Err(Errno::LOOP)
    );
    assert_eq!(
        pt.create_file(None, ROOT_ID, os("to-dir/x"), 0o644, rdwr)
            .map(|_| ()),
        Err(Errno::INVAL)
    );
    let to_dir = pt.do_lookup(ROOT_ID, os("to-dir")).unwrap();
    assert_eq!(to_dir.attr.kind(), Some(FileType::Symlink));
    // A symlink node used as a directory: the *at() call refuses (ENOTDIR), it does not
    // follow the link.
    assert_eq!(
        pt.do_mkdir(None, to_dir.ino, os("x"), 0o755).map(|_| ()),
        Err(Errno::NOTDIR)
    );
    assert_eq!(
        pt.create_file(None, to_dir.ino, os("x"), 0o644, rdwr)
            .map(|_| ()),
        Err(Errno::NOTDIR)
    );
    assert_eq!(
        pt.do_unlink(to_dir.ino, os("target"), false),
        Err(Errno::NOTDIR)
    );
    assert!(!outside.join("new").exists());
    assert!(!outside.join("x").exists());
    assert!(outside.join("target").exists());
}

#[test]
fn sources_that_are_not_directories_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("file");
    fs::write(&file, b"").unwrap();
    let opts = PassthroughOptions::default;
    assert!(matches!(
        Passthrough::new(&file, opts()),
        Err(crate::Error::NotADirectory(p)) if p == file
    ));
    assert!(matches!(
        Passthrough::new(&dir.path().join("missing"), opts()),
        Err(crate::Error::OpenSource {
            source: Errno::NOENT,
            ..
        })
    ));
    let pt = Passthrough::new(dir.path(), opts()).unwrap();
    assert_eq!(pt.source(), dir.path());
    assert_eq!(pt.open_handles(), 0);
}
