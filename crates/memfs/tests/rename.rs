//! rename/rename2 semantics: replace rules, NOREPLACE, EXCHANGE, WHITEOUT, loops, no-ops,
//! link counts and timestamps.

mod common;
use common::*;
use fusekit_memfs::{Errno, FileType, RenameFlags, ROOT_ID};

fn rn(
    fs: &fusekit_memfs::MemFs,
    p: u64,
    a: &str,
    np: u64,
    b: &str,
    f: RenameFlags,
) -> Result<(), Errno> {
    fs.rename(&root(), p, n(a), np, n(b), f)
}

const NONE: RenameFlags = RenameFlags(0);

#[test]
fn replace_rules() {
    let fs = fs();
    let d1 = fs.mkdir(&root(), ROOT_ID, n("d1"), 0o755).unwrap();
    fs.mkdir(&root(), ROOT_ID, n("d2"), 0o755).unwrap();
    fs.mknod(&root(), d1.ino, n("inner"), 0o100644, 0).unwrap();
    fs.mknod(&root(), ROOT_ID, n("f"), 0o100644, 0).unwrap();
    assert_eq!(
        rn(&fs, ROOT_ID, "d2", ROOT_ID, "f", NONE),
        Err(Errno::NOTDIR)
    );
    assert_eq!(
        rn(&fs, ROOT_ID, "f", ROOT_ID, "d2", NONE),
        Err(Errno::ISDIR)
    );
    assert_eq!(
        rn(&fs, ROOT_ID, "d2", ROOT_ID, "d1", NONE),
        Err(Errno::NOTEMPTY)
    );
    assert_eq!(
        rn(&fs, ROOT_ID, "missing", ROOT_ID, "x", NONE),
        Err(Errno::NOENT)
    );
    // Dir over empty dir works and frees the target.
    let before = fs.stats().inodes;
    rn(&fs, ROOT_ID, "d1", ROOT_ID, "d2", NONE).unwrap();
    assert_eq!(list(&fs, ROOT_ID).len(), 2);
    assert_eq!(fs.lookup(ROOT_ID, n("d2")).unwrap().ino, d1.ino);
    assert_eq!(fs.getattr(ROOT_ID).unwrap().nlink, 3);
    // The replaced d2 still has the lookup ref from mkdir.
    assert_eq!(fs.stats().inodes, before);
}

#[test]
fn noreplace_exchange_whiteout() {
    let fs = fs();
    let a = fs.mknod(&root(), ROOT_ID, n("a"), 0o100644, 0).unwrap();
    let d = fs.mkdir(&root(), ROOT_ID, n("d"), 0o755).unwrap();
    let sub = fs.mkdir(&root(), d.ino, n("sub"), 0o755).unwrap();
    assert_eq!(
        rn(&fs, ROOT_ID, "a", ROOT_ID, "d", RenameFlags::NOREPLACE),
        Err(Errno::EXIST)
    );
    assert_eq!(
        rn(&fs, ROOT_ID, "a", ROOT_ID, "a", RenameFlags::NOREPLACE),
        Err(Errno::EXIST)
    );
    rn(&fs, ROOT_ID, "a", ROOT_ID, "b", RenameFlags::NOREPLACE).unwrap();
    assert_eq!(
        rn(&fs, ROOT_ID, "b", ROOT_ID, "zz", RenameFlags::EXCHANGE),
        Err(Errno::NOENT)
    );
    assert_eq!(
        rn(
            &fs,
            ROOT_ID,
            "b",
            ROOT_ID,
            "d",
            RenameFlags::EXCHANGE | RenameFlags::NOREPLACE
        ),
        Err(Errno::INVAL)
    );
    // Exchange a file in / with a directory in /d: link counts follow the directory.
    rn(&fs, ROOT_ID, "b", d.ino, "sub", RenameFlags::EXCHANGE).unwrap();
    assert_eq!(fs.lookup(ROOT_ID, n("b")).unwrap().ino, sub.ino);
    assert_eq!(fs.lookup(d.ino, n("sub")).unwrap().ino, a.ino);
    assert_eq!(fs.getattr(d.ino).unwrap().nlink, 2);
    assert_eq!(fs.getattr(ROOT_ID).unwrap().nlink, 4);
    assert_eq!(fs.lookup(sub.ino, n("..")).unwrap().ino, ROOT_ID);
    // Whiteout leaves a 0:0 character device behind.
    rn(&fs, d.ino, "sub", ROOT_ID, "moved", RenameFlags::WHITEOUT).unwrap();
    let w = fs.lookup(d.ino, n("sub")).unwrap();
    assert_eq!(
        (w.kind(), w.rdev, w.perm()),
        (Some(FileType::CharDevice), 0, 0)
    );
    assert_eq!(
        rn(&fs, ROOT_ID, "moved", ROOT_ID, "x", RenameFlags(8)),
        Err(Errno::INVAL)
    );
}

#[test]
fn no_moving_into_own_subtree() {
    let fs = fs();
    let a = fs.mkdir(&root(), ROOT_ID, n("a"), 0o755).unwrap();
    let b = fs.mkdir(&root(), a.ino, n("b"), 0o755).unwrap();
    let c = fs.mkdir(&root(), b.ino, n("c"), 0o755).unwrap();
    assert_eq!(rn(&fs, ROOT_ID, "a", c.ino, "a", NONE), Err(Errno::INVAL));
    assert_eq!(rn(&fs, ROOT_ID, "a", a.ino, "x", NONE), Err(Errno::INVAL));
    // Exchange that would put a directory under itself.
    assert_eq!(
        rn(&fs, b.ino, "c", ROOT_ID, "a", RenameFlags::EXCHANGE),
        Err(Errno::INVAL)
    );
    // Moving a child up over its ancestor: the ancestor is not empty.
    assert_eq!(
        rn(&fs, b.ino, "c", ROOT_ID, "a", NONE),
        Err(Errno::NOTEMPTY)
    );
    assert_eq!(
        rn(&fs, a.ino, "b", ROOT_ID, "a", NONE),
        Err(Errno::NOTEMPTY)
    );
    // A legal cross-directory move updates "..".
    rn(&fs, b.ino, "c", ROOT_ID, "c", NONE).unwrap();
    assert_eq!(fs.lookup(c.ino, n("..")).unwrap().ino, ROOT_ID);
    assert_eq!(fs.getattr(b.ino).unwrap().nlink, 2);
    assert_eq!(fs.getattr(ROOT_ID).unwrap().nlink, 4);
}

#[test]
fn self_and_hard_link_renames_are_noops() {
    let fs = fs();
    let a = fs.mknod(&root(), ROOT_ID, n("a"), 0o100644, 0).unwrap();
    fs.link(&root(), a.ino, ROOT_ID, n("b")).unwrap();
    let ct = fs.getattr(a.ino).unwrap().ctime;
    rn(&fs, ROOT_ID, "a", ROOT_ID, "a", NONE).unwrap();
    rn(&fs, ROOT_ID, "a", ROOT_ID, "b", NONE).unwrap();
    let mut names = list(&fs, ROOT_ID);
    names.sort();
    assert_eq!(names, ["a", "b"], "POSIX: both names stay");
    let at = fs.getattr(a.ino).unwrap();
    assert_eq!((at.nlink, at.ctime), (2, ct));
}

#[test]
fn timestamps_and_sizes() {
    let fs = fs();
    let d = fs.mkdir(&root(), ROOT_ID, n("d"), 0o755).unwrap();
    let f = fs.mknod(&root(), ROOT_ID, n("f"), 0o100644, 0).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(2));
    rn(&fs, ROOT_ID, "f", d.ino, "g", NONE).unwrap();
    let (r, dd, ff) = (
        fs.getattr(ROOT_ID).unwrap(),
        fs.getattr(d.ino).unwrap(),
        fs.getattr(f.ino).unwrap(),
    );
    assert!(r.mtime > d.ctime && r.ctime == r.mtime);
    assert!(dd.mtime > d.mtime && dd.ctime > d.ctime);
    assert!(ff.ctime > f.ctime, "renamed inode's ctime changes");
    assert_eq!(ff.mtime, f.mtime, "but not its mtime");
    assert_eq!((r.size, dd.size), (60, 60));
}
