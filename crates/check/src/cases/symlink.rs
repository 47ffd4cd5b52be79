//! Symlinks: creation and readlink, dangling links and loops, readlink buffers, target length
//! limits, links as path components (absolute, relative, trailing slash), and the calls that
//! act on the link itself (lchown, utimensat with AT_SYMLINK_NOFOLLOW) versus its target.

use rustix::fs::{AtFlags, Gid, Uid};
use rustix::io::Errno;

use crate::ctx::Ctx;
use crate::util::*;

cases! { "symlink";
    symlink_create_readlink [] "readlink returns exactly the stored target";
    symlink_lstat_size_and_mode [] "lstat of a symlink reports S_IFLNK, size = target length, mode 0777";
    symlink_dangling_stat_enoent [] "stat through a dangling symlink fails with ENOENT while lstat succeeds";
    symlink_loop_stat_eloop [] "stat through a symlink loop fails with ELOOP";
    symlink_existing_eexist [] "symlink onto an existing name fails with EEXIST";
    symlink_empty_target_enoent [] "symlink with an empty target fails with ENOENT";
    symlink_long_target_ok [] "a 4095-byte target is stored and read back";
    symlink_target_too_long_enametoolong [] "a 4096-byte target fails with ENAMETOOLONG";
    readlink_small_buffer_truncates [] "readlink into a small buffer returns the first bytes, no error";
    readlink_on_file_einval [] "readlink of a regular file fails with EINVAL";
    symlink_as_path_component [] "a symlink to a directory works as a path component";
    symlink_relative_from_link_dir [] "a relative target resolves from the link's directory, not the caller's";
    symlink_trailing_slash_follows [] "'link/' resolves a link to a directory and fails with ENOTDIR for a link to a file";
    symlink_chmod_follows_target [] "chmod through a symlink changes the target, not the link";
    lchown_changes_link_not_target ["root"] "lchown changes the link's owner and leaves the target alone";
    lutimes_changes_link_not_target [] "utimensat with AT_SYMLINK_NOFOLLOW sets the link's times, not the target's";
}

fn readlink(c: &Ctx, name: &str) -> R<String> {
    let t = rustix::fs::readlinkat(c.d(), name, Vec::new()).must(&format!("readlink {name}"))?;
    Ok(t.to_string_lossy().into_owned())
}

fn symlink_create_readlink(c: &Ctx) -> R<()> {
    c.symlink("some/where/../target with spaces", "l")?;
    check_eq(
        "readlink",
        "some/where/../target with spaces".to_string(),
        readlink(c, "l")?,
    )
}

fn symlink_lstat_size_and_mode(c: &Ctx) -> R<()> {
    c.symlink("0123456789", "l")?;
    let st = c.lstat("l")?;
    check_eq("type", libc::S_IFLNK, st.kind())?;
    check_eq("size", 10, st.size)?;
    check_mode("mode", 0o777, st.perm())
}

fn symlink_dangling_stat_enoent(c: &Ctx) -> R<()> {
    c.symlink("nowhere", "l")?;
    expect_errno("stat dangling link", c.try_stat("l"), Errno::NOENT)?;
    check_eq("lstat type", libc::S_IFLNK, c.lstat("l")?.kind())
}

fn symlink_loop_stat_eloop(c: &Ctx) -> R<()> {
    c.symlink("b", "a")?;
    c.symlink("c", "b")?;
    c.symlink("a", "c")?;
    expect_errno("stat a (a->b->c->a)", c.try_stat("a"), Errno::LOOP)
}

fn symlink_existing_eexist(c: &Ctx) -> R<()> {
    c.create("f", b"keep")?;
    expect_errno(
        "symlink onto f",
        rustix::fs::symlinkat("x", c.d(), "f"),
        Errno::EXIST,
    )?;
    check_bytes("content of f", b"keep", &c.read("f")?)
}

fn symlink_empty_target_enoent(c: &Ctx) -> R<()> {
    expect_errno(
        "symlink with empty target",
        rustix::fs::symlinkat("", c.d(), "l"),
        Errno::NOENT,
    )?;
    c.gone("l")
}

fn symlink_long_target_ok(c: &Ctx) -> R<()> {
    let target = "t".repeat(4095);
    c.symlink(&target, "l")?;
    check_eq("target length read back", 4095, readlink(c, "l")?.len())?;
    check_eq("lstat size", 4095, c.lstat("l")?.size)
}

fn symlink_target_too_long_enametoolong(c: &Ctx) -> R<()> {
    let target = "t".repeat(4096);
    expect_errno(
        "symlink with a 4096-byte target",
        rustix::fs::symlinkat(target.as_str(), c.d(), "l"),
        Errno::NAMETOOLONG,
    )
}

fn readlink_small_buffer_truncates(c: &Ctx) -> R<()> {
    c.symlink("abcdefgh", "l")?;
    let mut buf = [0u8; 3];
    let n = rustix::fs::readlinkat_raw(c.d(), "l", &mut buf[..]).must("readlink into 3 bytes")?;
    check_bytes("bytes returned", b"abc", &buf[..n.min(3)])
}

fn readlink_on_file_einval(c: &Ctx) -> R<()> {
    c.create("f", b"")?;
    expect_errno(
        "readlink f",
        rustix::fs::readlinkat(c.d(), "f", Vec::new()),
        Errno::INVAL,
    )
}

fn symlink_as_path_component(c: &Ctx) -> R<()> {
    c.mkdir("d", 0o755)?;
    c.create("d/f", b"through")?;
    c.symlink("d", "l")?;
    let abs = c.p("d");
    c.symlink(&abs.to_string_lossy(), "abs")?;
    check_eq(
        "content via relative link",
        b"through".to_vec(),
        c.read("l/f")?,
    )?;
    check_eq(
        "content via absolute link",
        b"through".to_vec(),
        c.read("abs/f")?,
    )
}

fn symlink_relative_from_link_dir(c: &Ctx) -> R<()> {
    c.mkdir("d", 0o755)?;
    c.create("t", b"top")?;
    c.create("d/t", b"inner")?;
    c.symlink("../t", "d/up")?;
    c.symlink("t", "d/same")?;
    check_bytes("d/up -> ../t", b"top", &c.read("d/up")?)?;
    check_bytes("d/same -> t", b"inner", &c.read("d/same")?)
}

fn symlink_trailing_slash_follows(c: &Ctx) -> R<()> {
    c.mkdir("d", 0o755)?;
    c.create("f", b"")?;
    c.symlink("d", "ld")?;
    c.symlink("f", "lf")?;
    check_eq("type of ld/", libc::S_IFDIR, c.stat("ld/")?.kind())?;
    check_eq("lstat type of ld/", libc::S_IFDIR, c.lstat("ld/")?.kind())?;
    expect_errno("stat lf/", c.try_stat("lf/"), Errno::NOTDIR)
}

fn symlink_chmod_follows_target(c: &Ctx) -> R<()> {
    c.create("t", b"")?;
    c.chmod("t", 0o644)?;
    c.symlink("t", "l")?;
    c.chmod("l", 0o600)?;
    check_mode("target mode", 0o600, c.stat("t")?.perm())?;
    check_mode("link mode", 0o777, c.lstat("l")?.perm())
}

fn lchown_changes_link_not_target(c: &Ctx) -> R<()> {
    c.create("t", b"")?;
    c.symlink("t", "l")?;
    rustix::fs::chownat(
        c.d(),
        "l",
        Some(Uid::from_raw(1234)),
        Some(Gid::from_raw(4321)),
        AtFlags::SYMLINK_NOFOLLOW,
    )
    .must("lchown l")?;
    let (l, t) = (c.lstat("l")?, c.stat("t")?);
    check_eq("link (uid, gid)", (1234, 4321), (l.uid, l.gid))?;
    check_eq("target (uid, gid)", (c.env.euid, t.gid), (t.uid, t.gid))?;
    check("target uid unchanged", t.uid != 1234, "not 1234", t.uid)
}

fn lutimes_changes_link_not_target(c: &Ctx) -> R<()> {
    c.create("t", b"")?;
    c.symlink("t", "l")?;
    let before = c.stat("t")?.mtime;
    rustix::fs::utimensat(
        c.d(),
        "l",
        &stamps((1_000_000_000, 1), (1_000_000_000, 2)),
        AtFlags::SYMLINK_NOFOLLOW,
    )
    .must("utimensat AT_SYMLINK_NOFOLLOW l")?;
    check_eq(
        "link mtime",
        Ts {
            sec: 1_000_000_000,
            nsec: 2,
        },
        c.lstat("l")?.mtime,
    )?;
    check_eq("target mtime", before, c.stat("t")?.mtime)
}
