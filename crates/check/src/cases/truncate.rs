//! truncate/ftruncate: sizes, zero fill after extension (no stale data), errno for misuse,
//! file offsets across truncation, and sparseness of an extended file.

use rustix::fs::OFlags;
use rustix::io::Errno;

use crate::creds::as_nobody;
use crate::ctx::Ctx;
use crate::util::*;

cases! { "truncate";
    truncate_shrink_keeps_prefix [] "truncate to a smaller size keeps exactly the prefix";
    truncate_extend_reads_zeros [] "truncate to a larger size reads back zeros past the old end";
    truncate_shrink_then_extend_zeroes_tail [] "shrink then extend: the old tail reads as zeros, not stale data";
    truncate_same_size_keeps_data [] "truncate to the current size changes nothing";
    truncate_negative_einval [] "truncate to a negative length fails with EINVAL";
    truncate_dir_eisdir [] "truncate on a directory fails with EISDIR";
    truncate_missing_enoent [] "truncate on a missing path fails with ENOENT";
    truncate_as_nobody_no_write_eacces ["other_user"] "an unprivileged user truncating a 0644 root file gets EACCES";
    ftruncate_rdonly_fd_einval [] "ftruncate on an O_RDONLY descriptor fails with EINVAL (or EBADF)";
    ftruncate_read_past_new_eof_empty [] "after shrinking, a read at the old offsets returns 0 bytes";
    ftruncate_keeps_file_offset [] "ftruncate does not move the file offset; writing there leaves a zero hole";
    ftruncate_append_fd_writes_at_new_end [] "after shrinking, an O_APPEND write lands at the new end";
    ftruncate_extend_is_sparse [] "extending to 1 GiB allocates (almost) no blocks";
}

fn truncate_shrink_keeps_prefix(c: &Ctx) -> R<()> {
    let data = c.rng().bytes(1000);
    c.create("f", &data)?;
    truncate_path(&c.p("f"), 100).must("truncate f 100")?;
    check_eq("size", 100, c.stat("f")?.size)?;
    check_bytes("content", &data[..100], &c.read("f")?)
}

fn truncate_extend_reads_zeros(c: &Ctx) -> R<()> {
    c.create("f", b"abc")?;
    truncate_path(&c.p("f"), 5000).must("truncate f 5000")?;
    let d = c.read("f")?;
    check_eq("size", 5000, d.len())?;
    check_bytes("prefix", b"abc", &d[..3])?;
    check(
        "bytes 3..5000",
        d[3..].iter().all(|b| *b == 0),
        "zeros",
        "non-zero bytes",
    )
}

fn truncate_shrink_then_extend_zeroes_tail(c: &Ctx) -> R<()> {
    let fd = c.open("f", OFlags::CREATE | OFlags::RDWR)?;
    pwrite_all(&fd, &[0xAA; 8192], 0).must("write 8192 x 0xAA")?;
    rustix::fs::ftruncate(&fd, 10).must("ftruncate 10")?;
    rustix::fs::ftruncate(&fd, 8192).must("ftruncate 8192")?;
    let d = pread_upto(&fd, 8192, 0).must("pread")?;
    check(
        "first 10 bytes",
        d[..10].iter().all(|b| *b == 0xAA),
        "0xAA",
        "changed",
    )?;
    let stale = d[10..].iter().filter(|b| **b != 0).count();
    check_eq("non-zero bytes after offset 10", 0, stale)
}

fn truncate_same_size_keeps_data(c: &Ctx) -> R<()> {
    c.create("f", b"same size")?;
    truncate_path(&c.p("f"), 9).must("truncate f 9")?;
    check_bytes("content", b"same size", &c.read("f")?)
}

fn truncate_negative_einval(c: &Ctx) -> R<()> {
    c.create("f", b"abc")?;
    expect_errno("truncate f -1", truncate_path(&c.p("f"), -1), Errno::INVAL)?;
    check_eq("size", 3, c.stat("f")?.size)
}

fn truncate_dir_eisdir(c: &Ctx) -> R<()> {
    c.mkdir("d", 0o755)?;
    expect_errno("truncate d 0", truncate_path(&c.p("d"), 0), Errno::ISDIR)
}

fn truncate_missing_enoent(c: &Ctx) -> R<()> {
    expect_errno(
        "truncate missing",
        truncate_path(&c.p("missing"), 0),
        Errno::NOENT,
    )
}

fn truncate_as_nobody_no_write_eacces(c: &Ctx) -> R<()> {
    c.create("f", b"keep")?;
    c.chmod("f", 0o644)?;
    // Resolve through /proc/self/fd so that the judged directory's ancestors (maybe 0700)
    // cannot be what refuses the call; the 0666 control below proves the route works.
    let fd = c.open("f", OFlags::RDONLY)?;
    let via = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&fd));
    let via = std::path::Path::new(&via);
    let r = as_nobody(|| truncate_path(via, 0))?;
    expect_errno("truncate 0644 root file as nobody", r, Errno::ACCESS)?;
    check_bytes("content", b"keep", &c.read("f")?)?;
    c.chmod("f", 0o666)?;
    as_nobody(|| truncate_path(via, 1))?.must("truncate 0666 root file as nobody")?;
    check_eq("size after permitted truncate", 1, c.stat("f")?.size)
}

fn ftruncate_rdonly_fd_einval(c: &Ctx) -> R<()> {
    c.create("f", b"abc")?;
    let fd = c.open("f", OFlags::RDONLY)?;
    expect_errnos(
        "ftruncate on O_RDONLY fd",
        rustix::fs::ftruncate(&fd, 0),
        &[Errno::INVAL, Errno::BADF],
    )?;
    check_eq("size", 3, c.stat("f")?.size)
}

fn ftruncate_read_past_new_eof_empty(c: &Ctx) -> R<()> {
    let fd = c.open("f", OFlags::CREATE | OFlags::RDWR)?;
    pwrite_all(&fd, &[1; 4096], 0).must("write")?;
    rustix::fs::ftruncate(&fd, 100).must("ftruncate 100")?;
    let mut b = [0u8; 64];
    check_eq(
        "bytes read at 2000",
        0,
        rustix::io::pread(&fd, &mut b, 2000).must("pread at 2000")?,
    )?;
    check_eq(
        "bytes read at 90",
        10,
        rustix::io::pread(&fd, &mut b, 90).must("pread at 90")?,
    )
}

fn ftruncate_keeps_file_offset(c: &Ctx) -> R<()> {
    let fd = c.open("f", OFlags::CREATE | OFlags::RDWR)?;
    write_all(&fd, &[7; 100]).must("write 100")?;
    rustix::fs::ftruncate(&fd, 10).must("ftruncate 10")?;
    check_eq(
        "offset after ftruncate",
        100,
        rustix::fs::tell(&fd).must("tell")?,
    )?;
    write_all(&fd, b"z").must("write at 100")?;
    let d = read_all(&fd).must("read")?;
    check_eq("size", 101, d.len())?;
    check(
        "bytes 10..100",
        d[10..100].iter().all(|b| *b == 0),
        "zeros",
        "stale bytes",
    )?;
    check_eq("last byte", b'z', d[100])
}

fn ftruncate_append_fd_writes_at_new_end(c: &Ctx) -> R<()> {
    c.create("f", b"0123456789")?;
    let fd = c.open("f", OFlags::RDWR | OFlags::APPEND)?;
    rustix::fs::ftruncate(&fd, 4).must("ftruncate 4")?;
    write_all(&fd, b"X").must("append")?;
    check_bytes("content", b"0123X", &c.read("f")?)
}

fn ftruncate_extend_is_sparse(c: &Ctx) -> R<()> {
    let fd = c.open("f", OFlags::CREATE | OFlags::RDWR)?;
    rustix::fs::ftruncate(&fd, 1 << 30).must("ftruncate 1 GiB")?;
    let st = fst(&fd).must("fstat")?;
    check_eq("size", 1i64 << 30, st.size)?;
    check(
        "allocated bytes",
        st.blocks * 512 < (1 << 20),
        "< 1 MiB",
        format!("{} bytes", st.blocks * 512),
    )
}
