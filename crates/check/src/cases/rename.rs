//! rename and renameat2: files and directories, replacing targets, the errno for each misuse
//! (loops, non-empty, type mismatch, '.'), RENAME_NOREPLACE/EXCHANGE/WHITEOUT, '..' and link
//! counts after moving directories, open descriptors across renames, and the sticky rule.

use rustix::fs::{OFlags, RenameFlags};
use rustix::io::Errno;

use crate::creds::as_nobody;
use crate::ctx::Ctx;
use crate::util::*;

cases! { "rename";
    rename_file_ok [] "rename moves a file: old name gone, new name has the same inode and data";
    rename_file_over_file_replaces [] "rename over an existing file replaces it atomically";
    rename_over_open_target_fstat_nlink0 [] "a target replaced by rename stays readable through an open fd and reports nlink 0";
    rename_dir_ok [] "rename moves a directory with its contents";
    rename_dir_over_empty_dir_ok [] "rename of a directory over an empty directory replaces it";
    rename_dir_over_nonempty_dir_enotempty [] "rename of a directory over a non-empty one fails with ENOTEMPTY";
    rename_dir_over_file_enotdir [] "rename of a directory over a file fails with ENOTDIR";
    rename_file_over_dir_eisdir [] "rename of a file over a directory fails with EISDIR";
    rename_dir_into_own_subdir_einval [] "rename of a directory into its own subdirectory fails with EINVAL";
    rename_dir_into_itself_einval [] "rename of d to d/x fails with EINVAL";
    rename_same_name_noop [] "rename(a, a) succeeds and changes nothing";
    rename_hardlinks_same_inode_noop [] "rename between two links of one inode succeeds and keeps both names";
    rename_missing_source_enoent [] "rename of a missing source fails with ENOENT";
    rename_to_missing_dir_enoent [] "rename into a missing directory fails with ENOENT";
    rename_dot_ebusy [] "rename of 'd/.' fails with EBUSY or EINVAL";
    rename_file_trailing_slash_enotdir [] "rename of 'file/' fails with ENOTDIR";
    rename_dir_updates_dotdot_and_nlink [] "moving a directory updates its '..' and both parents' nlink";
    rename_updates_ctime [] "rename moves the renamed inode's ctime forward";
    rename_updates_parent_mtimes [] "rename moves the mtime of both parent directories forward";
    rename_open_file_fd_still_valid [] "an fd opened before a rename keeps working and writes reach the new name";
    rename_noreplace_existing_eexist [] "RENAME_NOREPLACE onto an existing name fails with EEXIST";
    rename_noreplace_new_ok [] "RENAME_NOREPLACE onto a free name renames";
    rename_exchange_files [] "RENAME_EXCHANGE swaps two files atomically";
    rename_exchange_file_and_dir [] "RENAME_EXCHANGE swaps a file and a directory";
    rename_exchange_dirs_updates_dotdot [] "RENAME_EXCHANGE of directories in different parents fixes both '..'";
    rename_exchange_missing_enoent [] "RENAME_EXCHANGE with a missing target fails with ENOENT";
    rename_exchange_noreplace_einval [] "RENAME_EXCHANGE|RENAME_NOREPLACE is refused with EINVAL";
    rename_whiteout_leaves_char_device ["root"] "RENAME_WHITEOUT leaves a 0/0 character device at the source";
    rename_sticky_dir_other_owner_eperm ["other_user"] "in a sticky dir, a user cannot rename another user's file: EPERM";
    rename_onto_symlink_replaces_link [] "rename onto a symlink replaces the link itself, not its target";
    rename_symlink_moves_link_not_target [] "renaming a symlink moves the link; the target stays where it was";
}

fn ren2(c: &Ctx, a: &str, b: &str, f: RenameFlags) -> rustix::io::Result<()> {
    rustix::fs::renameat_with(c.d(), a, c.d(), b, f)
}

/// renameat2 with a flag the filesystem may not implement: EINVAL on valid input means
/// "flag not supported" (programs then fall back), so the case is skipped with that reason.
fn ren2_opt(c: &Ctx, a: &str, b: &str, f: RenameFlags, what: &str) -> R<()> {
    match ren2(c, a, b, f) {
        Err(Errno::INVAL) => Err(skip(format!("{what} answered EINVAL (flag not supported)"))),
        r => r.must(what),
    }
}

fn ren(c: &Ctx, a: &str, b: &str) -> rustix::io::Result<()> {
    rustix::fs::renameat(c.d(), a, c.d(), b)
}

fn rename_file_ok(c: &Ctx) -> R<()> {
    c.create("a", b"data")?;
    let ino = c.stat("a")?.ino;
    c.rename("a", "b")?;
    c.gone("a")?;
    check_eq("inode", ino, c.stat("b")?.ino)?;
    check_bytes("content", b"data", &c.read("b")?)?;
    check_eq("listing", vec!["b".to_string()], c.list(".")?)
}

fn rename_file_over_file_replaces(c: &Ctx) -> R<()> {
    c.create("a", b"new")?;
    c.create("b", b"old")?;
    let ino = c.stat("a")?.ino;
    c.rename("a", "b")?;
    c.gone("a")?;
    check_eq("inode of b", ino, c.stat("b")?.ino)?;
    check_bytes("content of b", b"new", &c.read("b")?)?;
    check_eq("listing", vec!["b".to_string()], c.list(".")?)
}

fn rename_over_open_target_fstat_nlink0(c: &Ctx) -> R<()> {
    c.create("a", b"new")?;
    c.create("b", b"old")?;
    let fd = c.open("b", OFlags::RDONLY)?;
    c.rename("a", "b")?;
    check_eq(
        "nlink of replaced file",
        0,
        fst(&fd).must("fstat replaced")?.nlink,
    )?;
    check_eq(
        "content of replaced file",
        b"old".to_vec(),
        read_all(&fd).must("read replaced")?,
    )
}

fn rename_dir_ok(c: &Ctx) -> R<()> {
    c.mkdir("d", 0o755)?;
    c.create("d/f", b"x")?;
    c.rename("d", "e")?;
    c.gone("d")?;
    check_bytes("content of e/f", b"x", &c.read("e/f")?)
}

fn rename_dir_over_empty_dir_ok(c: &Ctx) -> R<()> {
    c.mkdir("d", 0o755)?;
    c.create("d/f", b"")?;
    c.mkdir("e", 0o755)?;
    c.rename("d", "e")?;
    c.gone("d")?;
    check_eq("entries of e", vec!["f".to_string()], c.list("e")?)
}

fn rename_dir_over_nonempty_dir_enotempty(c: &Ctx) -> R<()> {
    c.mkdir("d", 0o755)?;
    c.mkdir("e", 0o755)?;
    c.create("e/f", b"")?;
    expect_errnos(
        "rename d over non-empty e",
        ren(c, "d", "e"),
        &[Errno::NOTEMPTY, Errno::EXIST],
    )?;
    c.stat("d").map(drop)
}

fn rename_dir_over_file_enotdir(c: &Ctx) -> R<()> {
    c.mkdir("d", 0o755)?;
    c.create("f", b"")?;
    expect_errno("rename d over f", ren(c, "d", "f"), Errno::NOTDIR)
}

fn rename_file_over_dir_eisdir(c: &Ctx) -> R<()> {
    c.create("f", b"")?;
    c.mkdir("d", 0o755)?;
    expect_errno("rename f over d", ren(c, "f", "d"), Errno::ISDIR)
}

fn rename_dir_into_own_subdir_einval(c: &Ctx) -> R<()> {
    c.mkdir("d", 0o755)?;
    c.mkdir("d/sub", 0o755)?;
    expect_errno("rename d d/sub/x", ren(c, "d", "d/sub/x"), Errno::INVAL)?;
    c.stat("d/sub").map(drop)
}

fn rename_dir_into_itself_einval(c: &Ctx) -> R<()> {
    c.mkdir("d", 0o755)?;
    expect_errno("rename d d/x", ren(c, "d", "d/x"), Errno::INVAL)
}

fn rename_same_name_noop(c: &Ctx) -> R<()> {
    c.create("a", b"x")?;
    c.rename("a", "a")?;
    check_bytes("content", b"x", &c.read("a")?)
}

fn rename_hardlinks_same_inode_noop(c: &Ctx) -> R<()> {
    c.create("a", b"x")?;
    c.link("a", "b")?;
    c.rename("a", "b")?;
    check_eq(
        "listing",
        vec!["a".to_string(), "b".to_string()],
        c.list(".")?,
    )?;
    check_eq("nlink", 2, c.stat("a")?.nlink)
}

fn rename_missing_source_enoent(c: &Ctx) -> R<()> {
    expect_errno("rename missing b", ren(c, "missing", "b"), Errno::NOENT)?;
    c.gone("b")
}

fn rename_to_missing_dir_enoent(c: &Ctx) -> R<()> {
    c.create("a", b"")?;
    expect_errno("rename a nodir/b", ren(c, "a", "nodir/b"), Errno::NOENT)?;
    c.stat("a").map(drop)
}

fn rename_dot_ebusy(c: &Ctx) -> R<()> {
    c.mkdir("d", 0o755)?;
    expect_errnos(
        "rename d/. x",
        ren(c, "d/.", "x"),
        &[Errno::BUSY, Errno::INVAL],
    )?;
    c.gone("x")
}

fn rename_file_trailing_slash_enotdir(c: &Ctx) -> R<()> {
    c.create("f", b"")?;
    expect_errno("rename f/ g", ren(c, "f/", "g"), Errno::NOTDIR)?;
    c.stat("f").map(drop)
}

fn rename_dir_updates_dotdot_and_nlink(c: &Ctx) -> R<()> {
    c.mkdir("p", 0o755)?;
    c.mkdir("q", 0o755)?;
    c.mkdir("p/d", 0o755)?;
    let (p0, q0) = (c.stat("p")?.nlink, c.stat("q")?.nlink);
    c.rename("p/d", "q/d")?;
    check_eq("inode of q/d/..", c.stat("q")?.ino, c.stat("q/d/..")?.ino)?;
    if p0 == 1 {
        return Ok(()); // directory nlink not maintained by this filesystem
    }
    check_eq("nlink of old parent", p0 - 1, c.stat("p")?.nlink)?;
    check_eq("nlink of new parent", q0 + 1, c.stat("q")?.nlink)
}

fn rename_updates_ctime(c: &Ctx) -> R<()> {
    c.create("a", b"")?;
    let before = c.stat("a")?;
    c.tick();
    c.rename("a", "b")?;
    let after = c.stat("b")?;
    check(
        "ctime of renamed file",
        after.ctime > before.ctime,
        format!("> {}", before.ctime),
        after.ctime,
    )
}

fn rename_updates_parent_mtimes(c: &Ctx) -> R<()> {
    c.mkdir("p", 0o755)?;
    c.mkdir("q", 0o755)?;
    c.create("p/a", b"")?;
    let (p0, q0) = (c.stat("p")?, c.stat("q")?);
    c.tick();
    c.rename("p/a", "q/a")?;
    let (p1, q1) = (c.stat("p")?, c.stat("q")?);
    check(
        "mtime of source dir",
        p1.mtime > p0.mtime,
        format!("> {}", p0.mtime),
        p1.mtime,
    )?;
    check(
        "mtime of target dir",
        q1.mtime > q0.mtime,
        format!("> {}", q0.mtime),
        q1.mtime,
    )
}

fn rename_open_file_fd_still_valid(c: &Ctx) -> R<()> {
    c.create("a", b"1")?;
    let fd = c.open("a", OFlags::RDWR)?;
    c.rename("a", "b")?;
    pwrite_all(&fd, b"2", 1).must("write through old fd")?;
    check_bytes("content of b", b"12", &c.read("b")?)?;
    check_eq(
        "inode via fd",
        c.stat("b")?.ino,
        fst(&fd).must("fstat")?.ino,
    )
}

fn rename_noreplace_existing_eexist(c: &Ctx) -> R<()> {
    c.create("a", b"a")?;
    c.create("b", b"b")?;
    expect_errno(
        "RENAME_NOREPLACE a b",
        ren2(c, "a", "b", RenameFlags::NOREPLACE),
        Errno::EXIST,
    )?;
    check_bytes("content of a", b"a", &c.read("a")?)?;
    check_bytes("content of b", b"b", &c.read("b")?)
}

fn rename_noreplace_new_ok(c: &Ctx) -> R<()> {
    c.create("a", b"a")?;
    ren2_opt(c, "a", "b", RenameFlags::NOREPLACE, "RENAME_NOREPLACE a b")?;
    c.gone("a")?;
    check_bytes("content of b", b"a", &c.read("b")?)
}

fn rename_exchange_files(c: &Ctx) -> R<()> {
    c.create("a", b"A")?;
    c.create("b", b"B")?;
    let (ia, ib) = (c.stat("a")?.ino, c.stat("b")?.ino);
    ren2_opt(c, "a", "b", RenameFlags::EXCHANGE, "RENAME_EXCHANGE a b")?;
    check_bytes("content of a", b"B", &c.read("a")?)?;
    check_bytes("content of b", b"A", &c.read("b")?)?;
    check_eq(
        "inodes (a, b)",
        (ib, ia),
        (c.stat("a")?.ino, c.stat("b")?.ino),
    )
}

fn rename_exchange_file_and_dir(c: &Ctx) -> R<()> {
    c.create("f", b"")?;
    c.mkdir("d", 0o755)?;
    c.create("d/inside", b"")?;
    ren2_opt(c, "f", "d", RenameFlags::EXCHANGE, "RENAME_EXCHANGE f d")?;
    check_eq("type of f", libc::S_IFDIR, c.lstat("f")?.kind())?;
    check_eq("type of d", libc::S_IFREG, c.lstat("d")?.kind())?;
    check_eq("entries of f", vec!["inside".to_string()], c.list("f")?)
}

fn rename_exchange_dirs_updates_dotdot(c: &Ctx) -> R<()> {
    for d in ["p", "q", "p/x", "q/y"] {
        c.mkdir(d, 0o755)?;
    }
    ren2_opt(
        c,
        "p/x",
        "q/y",
        RenameFlags::EXCHANGE,
        "RENAME_EXCHANGE p/x q/y",
    )?;
    check_eq("p/x/.. is p", c.stat("p")?.ino, c.stat("p/x/..")?.ino)?;
    check_eq("q/y/.. is q", c.stat("q")?.ino, c.stat("q/y/..")?.ino)
}

fn rename_exchange_missing_enoent(c: &Ctx) -> R<()> {
    c.create("a", b"")?;
    expect_errno(
        "RENAME_EXCHANGE a missing",
        ren2(c, "a", "missing", RenameFlags::EXCHANGE),
        Errno::NOENT,
    )?;
    c.stat("a").map(drop)
}

fn rename_exchange_noreplace_einval(c: &Ctx) -> R<()> {
    c.create("a", b"")?;
    c.create("b", b"")?;
    let flags = RenameFlags::EXCHANGE | RenameFlags::NOREPLACE;
    expect_errno(
        "RENAME_EXCHANGE|NOREPLACE",
        ren2(c, "a", "b", flags),
        Errno::INVAL,
    )
}

fn rename_whiteout_leaves_char_device(c: &Ctx) -> R<()> {
    c.create("a", b"x")?;
    match ren2(c, "a", "b", RenameFlags::WHITEOUT) {
        Err(e @ (Errno::INVAL | Errno::OPNOTSUPP)) => {
            return Err(skip(format!(
                "RENAME_WHITEOUT answered {} (optional, used by overlayfs)",
                errno_name(e)
            )))
        }
        r => r.must("RENAME_WHITEOUT a b")?,
    }
    let w = c.lstat("a")?;
    check_eq("type of whiteout", libc::S_IFCHR, w.kind())?;
    check_eq("rdev of whiteout", 0, w.rdev)?;
    check_bytes("content of b", b"x", &c.read("b")?)
}

fn rename_sticky_dir_other_owner_eperm(c: &Ctx) -> R<()> {
    c.mkdir("d", 0o1777)?;
    c.create("d/f", b"")?;
    let r = as_nobody(|| ren(c, "d/f", "d/g"))?;
    expect_errno(
        "nobody renaming root's file in a sticky dir",
        r,
        Errno::PERM,
    )?;
    c.stat("d/f").map(drop)
}

fn rename_onto_symlink_replaces_link(c: &Ctx) -> R<()> {
    c.create("f", b"new")?;
    c.create("t", b"target")?;
    c.symlink("t", "l")?;
    c.rename("f", "l")?;
    check_eq("type of l", libc::S_IFREG, c.lstat("l")?.kind())?;
    check_bytes("content of l", b"new", &c.read("l")?)?;
    check_bytes("content of t", b"target", &c.read("t")?)
}

fn rename_symlink_moves_link_not_target(c: &Ctx) -> R<()> {
    c.mkdir("d", 0o755)?;
    c.create("t", b"target")?;
    c.symlink("../t", "d/l")?;
    c.symlink("t", "l")?;
    c.rename("l", "m")?;
    check_eq("type of m", libc::S_IFLNK, c.lstat("m")?.kind())?;
    check_bytes("content via m", b"target", &c.read("m")?)?;
    check_eq("type of t", libc::S_IFREG, c.lstat("t")?.kind())?;
    c.gone("l")
}
