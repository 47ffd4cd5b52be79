//! Everything else a program relies on: special files (FIFOs, sockets, device nodes),
//! statfs sanity, fsync/syncfs, large writes, reads at and past EOF, read on directories,
//! lseek argument errors, and access(2) including the real-uid rule.

use rustix::fs::{Access, AtFlags, FileType, Mode, OFlags, SeekFrom};
use rustix::io::Errno;

use crate::creds::as_nobody;
use crate::ctx::Ctx;
use crate::util::*;

cases! { "node";
    mknod_fifo_type [] "mknod S_IFIFO creates a FIFO";
    mknod_socket_type [] "mknod S_IFSOCK creates a socket node";
    mknod_existing_eexist [] "mknod over an existing name fails with EEXIST";
    mknod_char_device ["root"] "mknod S_IFCHR as root creates a device node with the given rdev";
    fifo_wronly_nonblock_no_reader_enxio [] "opening a FIFO O_WRONLY|O_NONBLOCK without a reader fails with ENXIO";
    fifo_roundtrip [] "bytes written into a FIFO come out of it";
    statfs_sanity [] "statfs reports consistent block counts and a name limit";
    fsync_file_and_dir_ok [] "fsync works on files and directories, fdatasync on files";
    syncfs_ok [] "syncfs on the filesystem succeeds";
    write_read_1mib_exact [] "a 1 MiB + 17 byte write reads back exactly";
    read_at_eof_returns_zero [] "read at end of file returns 0 bytes";
    read_dir_eisdir [] "read(2) on a directory descriptor fails with EISDIR";
    lseek_negative_einval [] "lseek to a negative offset fails with EINVAL";
    access_exec_needs_x_bit_even_for_root ["root"] "access(X_OK) as root fails with EACCES when no x bit is set";
    access_uses_real_uid ["other_user"] "access(R_OK) as an unprivileged user fails with EACCES on a 0600 root file";
    mknod_regular_file [] "mknod S_IFREG creates an empty regular file";
    pwrite_past_eof_zero_fills [] "a write far past EOF extends the file and the gap reads as zeros";
}

fn mknod(c: &Ctx, name: &str, t: FileType, dev: u64) -> rustix::io::Result<()> {
    rustix::fs::mknodat(c.d(), name, t, Mode::from_raw_mode(0o644), dev)
}

fn mknod_fifo_type(c: &Ctx) -> R<()> {
    mknod(c, "p", FileType::Fifo, 0).must("mknod fifo")?;
    check_eq("type", libc::S_IFIFO, c.lstat("p")?.kind())
}

fn mknod_socket_type(c: &Ctx) -> R<()> {
    mknod(c, "s", FileType::Socket, 0).must("mknod socket")?;
    check_eq("type", libc::S_IFSOCK, c.lstat("s")?.kind())
}

fn mknod_existing_eexist(c: &Ctx) -> R<()> {
    c.create("f", b"keep")?;
    expect_errno(
        "mknod fifo onto f",
        mknod(c, "f", FileType::Fifo, 0),
        Errno::EXIST,
    )?;
    check_eq("type of f", libc::S_IFREG, c.lstat("f")?.kind())
}

fn mknod_char_device(c: &Ctx) -> R<()> {
    let dev = rustix::fs::makedev(1, 3);
    mknod(c, "null", FileType::CharacterDevice, dev).must("mknod c 1 3")?;
    let st = c.lstat("null")?;
    check_eq("type", libc::S_IFCHR, st.kind())?;
    check_eq(
        "rdev (major, minor)",
        (1, 3),
        (rustix::fs::major(st.rdev), rustix::fs::minor(st.rdev)),
    )
}

fn fifo_wronly_nonblock_no_reader_enxio(c: &Ctx) -> R<()> {
    mknod(c, "p", FileType::Fifo, 0).must("mknod fifo")?;
    expect_errno(
        "open fifo O_WRONLY|O_NONBLOCK",
        c.try_open("p", OFlags::WRONLY | OFlags::NONBLOCK, 0),
        Errno::NXIO,
    )
}

fn fifo_roundtrip(c: &Ctx) -> R<()> {
    mknod(c, "p", FileType::Fifo, 0).must("mknod fifo")?;
    let r = c.open("p", OFlags::RDONLY | OFlags::NONBLOCK)?;
    let w = c.open("p", OFlags::WRONLY | OFlags::NONBLOCK)?;
    write_all(&w, b"through the pipe").must("write fifo")?;
    let mut buf = [0u8; 64];
    let n = rustix::io::read(&r, &mut buf).must("read fifo")?;
    check_bytes("bytes", b"through the pipe", &buf[..n])?;
    check_eq("size of a fifo", 0, c.stat("p")?.size)
}

fn statfs_sanity(c: &Ctx) -> R<()> {
    let s = rustix::fs::fstatfs(c.d()).must("fstatfs")?;
    check("f_bsize", s.f_bsize > 0, "> 0", s.f_bsize)?;
    check(
        "f_bfree <= f_blocks",
        s.f_bfree <= s.f_blocks,
        format!("<= {}", s.f_blocks),
        s.f_bfree,
    )?;
    check(
        "f_bavail <= f_bfree",
        s.f_bavail <= s.f_bfree,
        format!("<= {}", s.f_bfree),
        s.f_bavail,
    )?;
    check(
        "f_ffree <= f_files",
        s.f_ffree <= s.f_files,
        format!("<= {}", s.f_files),
        s.f_ffree,
    )?;
    check("f_namelen", s.f_namelen > 0, "> 0", s.f_namelen)
}

fn fsync_file_and_dir_ok(c: &Ctx) -> R<()> {
    c.create("f", b"x")?;
    let f = c.open("f", OFlags::RDWR)?;
    rustix::fs::fsync(&f).must("fsync file")?;
    rustix::fs::fdatasync(&f).must("fdatasync file")?;
    let d = c.open(".", OFlags::RDONLY | OFlags::DIRECTORY)?;
    rustix::fs::fsync(&d).must("fsync directory")
}

fn syncfs_ok(c: &Ctx) -> R<()> {
    rustix::fs::syncfs(c.d()).must("syncfs")
}

fn write_read_1mib_exact(c: &Ctx) -> R<()> {
    let data = c.rng().bytes((1 << 20) + 17);
    c.create("f", &data)?;
    check_eq("size", data.len() as i64, c.stat("f")?.size)?;
    check(
        "content",
        c.read("f")? == data,
        "identical",
        "different bytes",
    )
}

fn read_at_eof_returns_zero(c: &Ctx) -> R<()> {
    c.create("f", b"12345")?;
    let f = c.open("f", OFlags::RDONLY)?;
    rustix::fs::seek(&f, SeekFrom::End(0)).must("lseek END")?;
    let mut b = [0u8; 10];
    check_eq("read at EOF", 0, rustix::io::read(&f, &mut b).must("read")?)?;
    check_eq(
        "pread past EOF",
        0,
        rustix::io::pread(&f, &mut b, 1000).must("pread")?,
    )
}

fn read_dir_eisdir(c: &Ctx) -> R<()> {
    let d = c.open(".", OFlags::RDONLY | OFlags::DIRECTORY)?;
    let mut b = [0u8; 10];
    expect_errno(
        "read on a directory",
        rustix::io::read(&d, &mut b),
        Errno::ISDIR,
    )
}

fn lseek_negative_einval(c: &Ctx) -> R<()> {
    c.create("f", b"12345")?;
    let f = c.open("f", OFlags::RDONLY)?;
    expect_errno(
        "lseek SEEK_CUR -10 at 0",
        rustix::fs::seek(&f, SeekFrom::Current(-10)),
        Errno::INVAL,
    )?;
    check_eq("position unchanged", 0, rustix::fs::tell(&f).must("tell")?)
}

fn access_exec_needs_x_bit_even_for_root(c: &Ctx) -> R<()> {
    c.create("f", b"")?;
    c.chmod("f", 0o644)?;
    expect_errno(
        "access X_OK on 0644",
        rustix::fs::accessat(c.d(), "f", Access::EXEC_OK, AtFlags::empty()),
        Errno::ACCESS,
    )?;
    c.chmod("f", 0o744)?;
    rustix::fs::accessat(c.d(), "f", Access::EXEC_OK, AtFlags::empty())
        .must("access X_OK on 0744")?;
    c.chmod("f", 0o000)?;
    rustix::fs::accessat(
        c.d(),
        "f",
        Access::READ_OK | Access::WRITE_OK,
        AtFlags::empty(),
    )
    .must("access R_OK|W_OK on 0000 as root")
}

fn access_uses_real_uid(c: &Ctx) -> R<()> {
    c.create("f", b"")?;
    c.chmod("f", 0o600)?;
    let r = as_nobody(|| rustix::fs::accessat(c.d(), "f", Access::READ_OK, AtFlags::empty()))?;
    expect_errno("access R_OK as nobody", r, Errno::ACCESS)?;
    c.chmod("f", 0o604)?;
    as_nobody(|| rustix::fs::accessat(c.d(), "f", Access::READ_OK, AtFlags::empty()))?
        .must("access R_OK as nobody on 0604")
}

fn mknod_regular_file(c: &Ctx) -> R<()> {
    mknod(c, "r", FileType::RegularFile, 0).must("mknod S_IFREG")?;
    let st = c.lstat("r")?;
    check_eq("type", libc::S_IFREG, st.kind())?;
    check_eq("size", 0, st.size)
}

fn pwrite_past_eof_zero_fills(c: &Ctx) -> R<()> {
    let f = c.open("f", OFlags::CREATE | OFlags::RDWR)?;
    pwrite_all(&f, b"end", 100_000).must("pwrite at 100000")?;
    let d = read_all(&f).must("read")?;
    check_eq("size", 100_003, d.len())?;
    check(
        "gap 0..100000",
        d[..100_000].iter().all(|b| *b == 0),
        "zeros",
        "non-zero bytes",
    )?;
    check_bytes("tail", b"end", &d[100_000..])
}
