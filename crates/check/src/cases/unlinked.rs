//! Open-unlink-close: a file whose last name is gone while a descriptor is open keeps working
//! (read, write, fstat with nlink 0, fchmod, fchown, futimens, ftruncate, mmap, fsync), leaves
//! no hidden entries behind, and cannot be linked back in via /proc.

use rustix::fs::{AtFlags, Gid, Mode, OFlags, Uid};
use rustix::io::Errno;

use crate::ctx::Ctx;
use crate::map::Mapping;
use crate::util::*;

cases! { "unlinked";
    unlink_open_file_fstat_nlink0 [] "fstat of an open file whose only name was unlinked reports nlink 0";
    unlink_open_file_read_ok [] "an unlinked open file still reads its data";
    unlink_open_file_write_then_read [] "an unlinked open file accepts writes and reads them back";
    unlink_open_file_name_gone [] "after unlink, the name answers ENOENT and is not listed";
    unlink_open_file_dir_empty_while_open [] "the directory shows no entry at all (no hidden file) while the unlinked file is open";
    unlink_open_file_rmdir_parent_ok [] "the parent of an unlinked open file can be removed";
    unlink_open_file_fchmod [] "fchmod on an unlinked open file works and fstat shows it";
    unlink_open_file_fchown ["root"] "fchown on an unlinked open file works";
    unlink_open_file_futimens [] "futimens on an unlinked open file works";
    unlink_open_file_ftruncate [] "ftruncate on an unlinked open file changes its size";
    unlink_open_file_mmap_rw ["mmap"] "a shared mapping of an unlinked file reads and writes coherently with pread";
    unlink_open_file_fsync_ok [] "fsync and fdatasync on an unlinked open file succeed";
    unlink_open_two_fds_share_data [] "two descriptors of an unlinked file see each other's writes";
    unlink_open_file_linkat_proc_enoent [] "linkat of an unlinked (non-O_TMPFILE) file via /proc/self/fd fails with ENOENT";
    unlink_open_file_close_leaves_nothing [] "after the last close the directory is empty and removable";
}

fn setup(c: &Ctx, data: &[u8]) -> R<std::os::fd::OwnedFd> {
    c.mkdir("d", 0o755)?;
    c.create("d/f", data)?;
    let fd = c.open("d/f", OFlags::RDWR)?;
    c.unlink("d/f")?;
    Ok(fd)
}

fn unlink_open_file_fstat_nlink0(c: &Ctx) -> R<()> {
    let fd = setup(c, b"abc")?;
    let st = fst(&fd).must("fstat after unlink")?;
    check_eq("nlink", 0, st.nlink)?;
    check_eq("size", 3, st.size)
}

fn unlink_open_file_read_ok(c: &Ctx) -> R<()> {
    let data = c.rng().bytes(20_000);
    let fd = setup(c, &data)?;
    check(
        "content after unlink",
        read_all(&fd).must("read after unlink")? == data,
        "the data written",
        "different bytes",
    )
}

fn unlink_open_file_write_then_read(c: &Ctx) -> R<()> {
    let fd = setup(c, b"")?;
    pwrite_all(&fd, b"written after unlink", 0).must("write after unlink")?;
    check_eq(
        "content",
        b"written after unlink".to_vec(),
        read_all(&fd).must("read")?,
    )?;
    check_eq("size", 20, fst(&fd).must("fstat")?.size)
}

fn unlink_open_file_name_gone(c: &Ctx) -> R<()> {
    let _fd = setup(c, b"x")?;
    c.gone("d/f")?;
    expect_errno(
        "open d/f",
        c.try_open("d/f", OFlags::RDONLY, 0),
        Errno::NOENT,
    )?;
    check_eq("entries of d", Vec::<String>::new(), c.list("d")?)
}

fn unlink_open_file_dir_empty_while_open(c: &Ctx) -> R<()> {
    let _fd = setup(c, b"x")?;
    check_eq(
        "entries of d while the unlinked file is open",
        Vec::<String>::new(),
        c.list("d")?,
    )
}

fn unlink_open_file_rmdir_parent_ok(c: &Ctx) -> R<()> {
    let fd = setup(c, b"x")?;
    rustix::fs::unlinkat(c.d(), "d", AtFlags::REMOVEDIR)
        .must("rmdir d while its unlinked file is open")?;
    check_bytes("content", b"x", &read_all(&fd).must("read")?)
}

fn unlink_open_file_fchmod(c: &Ctx) -> R<()> {
    let fd = setup(c, b"x")?;
    rustix::fs::fchmod(&fd, Mode::from_raw_mode(0o600)).must("fchmod after unlink")?;
    check_mode("mode", 0o600, fst(&fd).must("fstat")?.perm())
}

fn unlink_open_file_fchown(c: &Ctx) -> R<()> {
    let fd = setup(c, b"x")?;
    rustix::fs::fchown(&fd, Some(Uid::from_raw(1234)), Some(Gid::from_raw(4321)))
        .must("fchown after unlink")?;
    let st = fst(&fd).must("fstat")?;
    check_eq("(uid, gid)", (1234, 4321), (st.uid, st.gid))
}

fn unlink_open_file_futimens(c: &Ctx) -> R<()> {
    let fd = setup(c, b"x")?;
    rustix::fs::futimens(&fd, &stamps((1_000_000_000, 7), (1_000_000_001, 8)))
        .must("futimens after unlink")?;
    check_eq(
        "mtime",
        Ts {
            sec: 1_000_000_001,
            nsec: 8,
        },
        fst(&fd).must("fstat")?.mtime,
    )
}

fn unlink_open_file_ftruncate(c: &Ctx) -> R<()> {
    let fd = setup(c, b"0123456789")?;
    rustix::fs::ftruncate(&fd, 4).must("ftruncate after unlink")?;
    check_eq("size", 4, fst(&fd).must("fstat")?.size)?;
    check_bytes("content", b"0123", &read_all(&fd).must("read")?)
}

fn unlink_open_file_mmap_rw(c: &Ctx) -> R<()> {
    let fd = setup(c, &[b'a'; 4096])?;
    let mut m = Mapping::new(&fd, 4096, true).must("mmap after unlink")?;
    check_eq("mapped byte", b'a', m.bytes()[100])?;
    m.bytes_mut()[0] = b'Z';
    check_eq(
        "byte 0 via pread",
        b"Z".to_vec(),
        pread_upto(&fd, 1, 0).must("pread")?,
    )?;
    pwrite_all(&fd, b"Q", 1).must("pwrite")?;
    check_eq("byte 1 via mapping", b'Q', m.bytes()[1])
}

fn unlink_open_file_fsync_ok(c: &Ctx) -> R<()> {
    let fd = setup(c, b"x")?;
    pwrite_all(&fd, b"y", 1).must("write")?;
    rustix::fs::fsync(&fd).must("fsync after unlink")?;
    rustix::fs::fdatasync(&fd).must("fdatasync after unlink")
}

fn unlink_open_two_fds_share_data(c: &Ctx) -> R<()> {
    c.mkdir("d", 0o755)?;
    c.create("d/f", b"")?;
    let a = c.open("d/f", OFlags::RDWR)?;
    let b = c.open("d/f", OFlags::RDONLY)?;
    c.unlink("d/f")?;
    pwrite_all(&a, b"via a", 0).must("write via a")?;
    check_eq(
        "read via b",
        b"via a".to_vec(),
        read_all(&b).must("read via b")?,
    )
}

fn unlink_open_file_linkat_proc_enoent(c: &Ctx) -> R<()> {
    let fd = setup(c, b"x")?;
    let proc = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&fd));
    let r = rustix::fs::linkat(
        rustix::fs::CWD,
        proc.as_str(),
        c.d(),
        "back",
        AtFlags::SYMLINK_FOLLOW,
    );
    expect_errno("linkat /proc/self/fd/N back", r, Errno::NOENT)?;
    c.gone("back")
}

fn unlink_open_file_close_leaves_nothing(c: &Ctx) -> R<()> {
    let fd = setup(c, b"x")?;
    pwrite_all(&fd, b"more", 1).must("write")?;
    drop(fd);
    check_eq(
        "entries of d after close",
        Vec::<String>::new(),
        c.list("d")?,
    )?;
    rustix::fs::unlinkat(c.d(), "d", AtFlags::REMOVEDIR).must("rmdir d after close")
}
