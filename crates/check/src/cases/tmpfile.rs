//! O_TMPFILE: an unnamed file in a directory — created with nlink 0, invisible to readdir,
//! readable and writable, linkable into the tree via /proc/self/fd unless opened with
//! O_EXCL. Filesystems without it answer EOPNOTSUPP (probe → skip with that reason).

use std::os::fd::{AsRawFd, OwnedFd};

use rustix::fs::{AtFlags, Mode, OFlags};
use rustix::io::Errno;

use crate::ctx::Ctx;
use crate::util::*;

cases! { "tmpfile";
    tmpfile_create_nlink0 ["tmpfile"] "O_TMPFILE gives a regular file with nlink 0";
    tmpfile_not_listed ["tmpfile"] "an O_TMPFILE file does not appear in readdir";
    tmpfile_write_read ["tmpfile"] "an O_TMPFILE file reads back what was written";
    tmpfile_mode_and_owner ["tmpfile"] "an O_TMPFILE file has the requested mode and the caller as owner";
    tmpfile_linkat_proc_into_tree ["tmpfile"] "linkat via /proc/self/fd gives the file a name with its data and nlink 1";
    tmpfile_linkat_existing_name_eexist ["tmpfile"] "linkat of an O_TMPFILE onto an existing name fails with EEXIST";
    tmpfile_excl_linkat_refused ["tmpfile"] "an O_TMPFILE|O_EXCL file cannot be linked into the tree";
    tmpfile_on_regular_file_enotdir ["tmpfile"] "O_TMPFILE on a regular file path fails with ENOTDIR";
    tmpfile_rdonly_einval ["tmpfile"] "O_TMPFILE without write access fails with EINVAL";
    tmpfile_fchmod_ftruncate ["tmpfile"] "fchmod and ftruncate work on an O_TMPFILE file";
    tmpfile_close_leaves_nothing ["tmpfile"] "closing an unlinked O_TMPFILE file leaves the directory empty";
}

fn tmp(c: &Ctx, extra: OFlags, mode: u32) -> rustix::io::Result<OwnedFd> {
    c.try_open(".", OFlags::TMPFILE | OFlags::RDWR | extra, mode)
}

fn proc_link(c: &Ctx, fd: &OwnedFd, name: &str) -> rustix::io::Result<()> {
    let p = format!("/proc/self/fd/{}", fd.as_raw_fd());
    rustix::fs::linkat(
        rustix::fs::CWD,
        p.as_str(),
        c.d(),
        name,
        AtFlags::SYMLINK_FOLLOW,
    )
}

fn tmpfile_create_nlink0(c: &Ctx) -> R<()> {
    let fd = tmp(c, OFlags::empty(), 0o600).must("open O_TMPFILE")?;
    let st = fst(&fd).must("fstat")?;
    check_eq("type", libc::S_IFREG, st.kind())?;
    check_eq("nlink", 0, st.nlink)
}

fn tmpfile_not_listed(c: &Ctx) -> R<()> {
    let _fd = tmp(c, OFlags::empty(), 0o600).must("open O_TMPFILE")?;
    check_eq("entries", Vec::<String>::new(), c.list(".")?)
}

fn tmpfile_write_read(c: &Ctx) -> R<()> {
    let data = c.rng().bytes(70_000);
    let fd = tmp(c, OFlags::empty(), 0o600).must("open O_TMPFILE")?;
    pwrite_all(&fd, &data, 0).must("write")?;
    check(
        "content",
        read_all(&fd).must("read")? == data,
        "the data written",
        "different bytes",
    )
}

fn tmpfile_mode_and_owner(c: &Ctx) -> R<()> {
    let fd = tmp(c, OFlags::empty(), 0o640).must("open O_TMPFILE 0640")?;
    let st = fst(&fd).must("fstat")?;
    check_mode("mode", 0o640 & !c.env.umask, st.perm())?;
    check_eq("uid", c.env.euid, st.uid)
}

fn tmpfile_linkat_proc_into_tree(c: &Ctx) -> R<()> {
    let fd = tmp(c, OFlags::empty(), 0o644).must("open O_TMPFILE")?;
    pwrite_all(&fd, b"born unnamed", 0).must("write")?;
    proc_link(c, &fd, "named").must("linkat /proc/self/fd/N named")?;
    check_eq("nlink", 1, fst(&fd).must("fstat")?.nlink)?;
    check_eq(
        "content via name",
        b"born unnamed".to_vec(),
        c.read("named")?,
    )?;
    check_eq(
        "inode via name",
        fst(&fd).must("fstat")?.ino,
        c.stat("named")?.ino,
    )?;
    check_eq("entries", vec!["named".to_string()], c.list(".")?)
}

fn tmpfile_linkat_existing_name_eexist(c: &Ctx) -> R<()> {
    c.create("taken", b"old")?;
    let fd = tmp(c, OFlags::empty(), 0o644).must("open O_TMPFILE")?;
    expect_errno(
        "linkat onto existing name",
        proc_link(c, &fd, "taken"),
        Errno::EXIST,
    )?;
    check_bytes("existing content", b"old", &c.read("taken")?)
}

fn tmpfile_excl_linkat_refused(c: &Ctx) -> R<()> {
    let fd = tmp(c, OFlags::EXCL, 0o644).must("open O_TMPFILE|O_EXCL")?;
    expect_errno(
        "linkat of an O_EXCL tmpfile",
        proc_link(c, &fd, "named"),
        Errno::NOENT,
    )?;
    c.gone("named")
}

fn tmpfile_on_regular_file_enotdir(c: &Ctx) -> R<()> {
    c.create("f", b"")?;
    let r = c.try_open("f", OFlags::TMPFILE | OFlags::RDWR, 0o600);
    expect_errno("O_TMPFILE on a file", r, Errno::NOTDIR)
}

fn tmpfile_rdonly_einval(c: &Ctx) -> R<()> {
    let r = rustix::fs::openat(
        c.d(),
        ".",
        OFlags::TMPFILE | OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o600),
    );
    expect_errno("O_TMPFILE|O_RDONLY", r, Errno::INVAL)
}

fn tmpfile_fchmod_ftruncate(c: &Ctx) -> R<()> {
    let fd = tmp(c, OFlags::empty(), 0o600).must("open O_TMPFILE")?;
    rustix::fs::fchmod(&fd, Mode::from_raw_mode(0o604)).must("fchmod")?;
    rustix::fs::ftruncate(&fd, 12345).must("ftruncate")?;
    let st = fst(&fd).must("fstat")?;
    check_mode("mode", 0o604, st.perm())?;
    check_eq("size", 12345, st.size)
}

fn tmpfile_close_leaves_nothing(c: &Ctx) -> R<()> {
    c.mkdir("d", 0o755)?;
    let fd = c
        .try_open("d", OFlags::TMPFILE | OFlags::RDWR, 0o600)
        .must("open O_TMPFILE in d")?;
    pwrite_all(&fd, b"gone soon", 0).must("write")?;
    drop(fd);
    check_eq("entries of d", Vec::<String>::new(), c.list("d")?)?;
    rustix::fs::unlinkat(c.d(), "d", AtFlags::REMOVEDIR).must("rmdir d")
}
