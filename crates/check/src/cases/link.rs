//! link and unlink: link counts, shared inodes, the errno for each misuse, parent and inode
//! time updates, and the sticky-directory and write-permission rules for removal.

use rustix::fs::{AtFlags, OFlags};
use rustix::io::Errno;

use crate::creds::{as_nobody, NOBODY};
use crate::ctx::Ctx;
use crate::util::*;

cases! { "link";
    link_creates_second_name_nlink2 [] "link gives a second name to the same inode; nlink becomes 2";
    link_shares_data [] "data written through one name is read through the other";
    link_existing_target_eexist [] "link onto an existing name fails with EEXIST";
    link_dir_eperm [] "a hard link to a directory fails with EPERM";
    link_missing_source_enoent [] "link from a missing source fails with ENOENT";
    link_into_file_enotdir [] "link with a regular file as the new parent fails with ENOTDIR";
    link_updates_source_ctime [] "link moves the inode's ctime forward";
    link_updates_parent_mtime [] "link moves the directory's mtime and ctime forward";
    link_symlink_links_the_symlink [] "linkat without AT_SYMLINK_FOLLOW links the symlink itself";
    link_symlink_follow_links_target [] "linkat with AT_SYMLINK_FOLLOW links the symlink's target";
    unlink_decrements_nlink [] "unlink of one of two names leaves nlink 1 and the other name intact";
    unlink_missing_enoent [] "unlink of a missing name fails with ENOENT";
    unlink_dir_eisdir [] "unlink of a directory fails with EISDIR";
    unlink_file_trailing_slash_enotdir [] "unlink of 'file/' fails with ENOTDIR";
    unlink_updates_parent_mtime [] "unlink moves the directory's mtime and ctime forward";
    unlink_updates_remaining_link_ctime [] "unlink of one name moves the inode's ctime forward";
    unlink_symlink_keeps_target [] "unlink of a symlink removes the link, not its target";
    unlink_sticky_dir_other_owner_eperm ["other_user"] "in a sticky dir, a user cannot remove another user's file: EPERM";
    unlink_sticky_dir_own_file_ok ["other_user"] "in a sticky dir, a user can remove its own file";
    unlink_as_nobody_unwritable_dir_eacces ["other_user"] "removing from a directory without write permission fails with EACCES";
}

fn link_creates_second_name_nlink2(c: &Ctx) -> R<()> {
    c.create("a", b"x")?;
    c.link("a", "b")?;
    let (a, b) = (c.stat("a")?, c.stat("b")?);
    check_eq("inode of b", a.ino, b.ino)?;
    check_eq("nlink of a", 2, a.nlink)?;
    check_eq("nlink of b", 2, b.nlink)
}

fn link_shares_data(c: &Ctx) -> R<()> {
    c.create("a", b"")?;
    c.link("a", "b")?;
    let fd = c.open("a", OFlags::WRONLY)?;
    write_all(&fd, b"shared").must("write via a")?;
    check_bytes("content via b", b"shared", &c.read("b")?)
}

fn link_existing_target_eexist(c: &Ctx) -> R<()> {
    c.create("a", b"1")?;
    c.create("b", b"2")?;
    expect_errno(
        "link a b (b exists)",
        rustix::fs::linkat(c.d(), "a", c.d(), "b", AtFlags::empty()),
        Errno::EXIST,
    )?;
    check_bytes("b untouched", b"2", &c.read("b")?)
}

fn link_dir_eperm(c: &Ctx) -> R<()> {
    c.mkdir("d", 0o755)?;
    expect_errno(
        "link d e",
        rustix::fs::linkat(c.d(), "d", c.d(), "e", AtFlags::empty()),
        Errno::PERM,
    )?;
    c.gone("e")
}

fn link_missing_source_enoent(c: &Ctx) -> R<()> {
    expect_errno(
        "link missing b",
        rustix::fs::linkat(c.d(), "missing", c.d(), "b", AtFlags::empty()),
        Errno::NOENT,
    )
}

fn link_into_file_enotdir(c: &Ctx) -> R<()> {
    c.create("a", b"")?;
    c.create("f", b"")?;
    expect_errno(
        "link a f/b",
        rustix::fs::linkat(c.d(), "a", c.d(), "f/b", AtFlags::empty()),
        Errno::NOTDIR,
    )
}

fn link_updates_source_ctime(c: &Ctx) -> R<()> {
    c.create("a", b"")?;
    let before = c.stat("a")?;
    c.tick();
    c.link("a", "b")?;
    let after = c.stat("a")?;
    check(
        "ctime of a",
        after.ctime > before.ctime,
        format!("> {}", before.ctime),
        after.ctime,
    )
}

fn parent_times_move(c: &Ctx, op: impl FnOnce() -> R<()>) -> R<()> {
    let before = c.stat("d")?;
    c.tick();
    op()?;
    let after = c.stat("d")?;
    check(
        "parent mtime",
        after.mtime > before.mtime,
        format!("> {}", before.mtime),
        after.mtime,
    )?;
    check(
        "parent ctime",
        after.ctime > before.ctime,
        format!("> {}", before.ctime),
        after.ctime,
    )
}

fn link_updates_parent_mtime(c: &Ctx) -> R<()> {
    c.mkdir("d", 0o755)?;
    c.create("d/a", b"")?;
    parent_times_move(c, || c.link("d/a", "d/b"))
}

fn link_symlink_links_the_symlink(c: &Ctx) -> R<()> {
    c.create("t", b"")?;
    c.symlink("t", "l")?;
    rustix::fs::linkat(c.d(), "l", c.d(), "l2", AtFlags::empty()).must("linkat l l2")?;
    let l2 = c.lstat("l2")?;
    check_eq("type of l2", libc::S_IFLNK, l2.kind())?;
    check_eq("inode of l2", c.lstat("l")?.ino, l2.ino)?;
    check_eq("nlink of target", 1, c.stat("t")?.nlink)
}

fn link_symlink_follow_links_target(c: &Ctx) -> R<()> {
    c.create("t", b"")?;
    c.symlink("t", "l")?;
    rustix::fs::linkat(c.d(), "l", c.d(), "t2", AtFlags::SYMLINK_FOLLOW)
        .must("linkat FOLLOW l t2")?;
    let t2 = c.lstat("t2")?;
    check_eq("type of t2", libc::S_IFREG, t2.kind())?;
    check_eq("inode of t2", c.stat("t")?.ino, t2.ino)?;
    check_eq("nlink of target", 2, c.stat("t")?.nlink)
}

fn unlink_decrements_nlink(c: &Ctx) -> R<()> {
    c.create("a", b"data")?;
    c.link("a", "b")?;
    c.unlink("a")?;
    c.gone("a")?;
    check_eq("nlink of b", 1, c.stat("b")?.nlink)?;
    check_bytes("content of b", b"data", &c.read("b")?)
}

fn unlink_missing_enoent(c: &Ctx) -> R<()> {
    expect_errno(
        "unlink missing",
        rustix::fs::unlinkat(c.d(), "missing", AtFlags::empty()),
        Errno::NOENT,
    )
}

fn unlink_dir_eisdir(c: &Ctx) -> R<()> {
    c.mkdir("d", 0o755)?;
    expect_errno(
        "unlink d",
        rustix::fs::unlinkat(c.d(), "d", AtFlags::empty()),
        Errno::ISDIR,
    )?;
    check_eq("d still there", libc::S_IFDIR, c.stat("d")?.kind())
}

fn unlink_file_trailing_slash_enotdir(c: &Ctx) -> R<()> {
    c.create("f", b"")?;
    expect_errno(
        "unlink f/",
        rustix::fs::unlinkat(c.d(), "f/", AtFlags::empty()),
        Errno::NOTDIR,
    )?;
    c.stat("f").map(drop)
}

fn unlink_updates_parent_mtime(c: &Ctx) -> R<()> {
    c.mkdir("d", 0o755)?;
    c.create("d/a", b"")?;
    parent_times_move(c, || c.unlink("d/a"))
}

fn unlink_updates_remaining_link_ctime(c: &Ctx) -> R<()> {
    c.create("a", b"")?;
    c.link("a", "b")?;
    let before = c.stat("b")?;
    c.tick();
    c.unlink("a")?;
    let after = c.stat("b")?;
    check(
        "ctime of b",
        after.ctime > before.ctime,
        format!("> {}", before.ctime),
        after.ctime,
    )
}

fn unlink_symlink_keeps_target(c: &Ctx) -> R<()> {
    c.create("t", b"keep")?;
    c.symlink("t", "l")?;
    c.unlink("l")?;
    c.gone("l")?;
    check_bytes("target content", b"keep", &c.read("t")?)
}

fn unlink_sticky_dir_other_owner_eperm(c: &Ctx) -> R<()> {
    c.mkdir("d", 0o1777)?;
    c.create("d/f", b"")?;
    let r = as_nobody(|| rustix::fs::unlinkat(c.d(), "d/f", AtFlags::empty()))?;
    expect_errno(
        "nobody unlinking root's file in a sticky dir",
        r,
        Errno::PERM,
    )?;
    c.stat("d/f").map(drop)
}

fn unlink_sticky_dir_own_file_ok(c: &Ctx) -> R<()> {
    c.mkdir("d", 0o1777)?;
    c.create("d/f", b"")?;
    c.chown("d/f", NOBODY, NOBODY)?;
    as_nobody(|| rustix::fs::unlinkat(c.d(), "d/f", AtFlags::empty()))?
        .must("nobody unlinking its own file in a sticky dir")?;
    c.gone("d/f")
}

fn unlink_as_nobody_unwritable_dir_eacces(c: &Ctx) -> R<()> {
    c.mkdir("d", 0o755)?;
    c.create("d/f", b"")?;
    c.chown("d/f", NOBODY, NOBODY)?;
    let r = as_nobody(|| rustix::fs::unlinkat(c.d(), "d/f", AtFlags::empty()))?;
    expect_errno("nobody unlinking in a 0755 root dir", r, Errno::ACCESS)
}
