//! copy_file_range: whole copies, explicit offsets (fd positions untouched), implicit offsets
//! (positions advance), end of file, and the errno for overlapping, read-only and append
//! destinations.

use std::os::fd::OwnedFd;

use rustix::fs::{copy_file_range, OFlags};
use rustix::io::Errno;

use crate::ctx::Ctx;
use crate::util::*;

cases! { "copy";
    copy_file_range_copies_all [] "copy_file_range copies a 200 KiB file exactly";
    copy_file_range_explicit_offsets [] "copying with explicit offsets places bytes exactly and leaves fd positions alone";
    copy_file_range_implicit_offsets_advance [] "copying without offsets advances both file positions";
    copy_file_range_past_eof_returns_zero [] "copying from past the source's end returns 0";
    copy_file_range_same_file_overlap_einval [] "an overlapping copy within one file fails with EINVAL";
    copy_file_range_dest_rdonly_ebadf [] "a destination opened O_RDONLY fails with EBADF";
    copy_file_range_dest_append_ebadf [] "a destination opened O_APPEND fails with EBADF";
    copy_file_range_same_file_disjoint_ok [] "copying between disjoint ranges of one file works";
}

fn pair(c: &Ctx, data: &[u8]) -> R<(OwnedFd, OwnedFd)> {
    c.create("src", data)?;
    let s = c.open("src", OFlags::RDONLY)?;
    let d = c.open("dst", OFlags::CREATE | OFlags::RDWR)?;
    Ok((s, d))
}

fn copy_all(s: &OwnedFd, d: &OwnedFd, len: usize) -> R<usize> {
    let (mut oi, mut oo) = (0u64, 0u64);
    let mut total = 0;
    while total < len {
        let n = copy_file_range(s, Some(&mut oi), d, Some(&mut oo), len - total)
            .must("copy_file_range")?;
        if n == 0 {
            break;
        }
        total += n;
    }
    Ok(total)
}

fn copy_file_range_copies_all(c: &Ctx) -> R<()> {
    let data = c.rng().bytes(200 * 1024);
    let (s, d) = pair(c, &data)?;
    check_eq("bytes copied", data.len(), copy_all(&s, &d, data.len())?)?;
    check(
        "destination content",
        read_all(&d).must("read dst")? == data,
        "identical",
        "different bytes",
    )
}

fn copy_file_range_explicit_offsets(c: &Ctx) -> R<()> {
    let data = c.rng().bytes(3000);
    let (s, d) = pair(c, &data)?;
    let (mut oi, mut oo) = (500u64, 2000u64);
    let n = copy_file_range(&s, Some(&mut oi), &d, Some(&mut oo), 1000).must("copy_file_range")?;
    check_eq("bytes copied", 1000, n)?;
    check_eq("(off_in, off_out) after", (1500, 3000), (oi, oo))?;
    check_eq("src position", 0, rustix::fs::tell(&s).must("tell src")?)?;
    check_eq("dst position", 0, rustix::fs::tell(&d).must("tell dst")?)?;
    let out = read_all(&d).must("read dst")?;
    check_eq("dst size", 3000, out.len())?;
    check(
        "dst 0..2000",
        out[..2000].iter().all(|b| *b == 0),
        "zeros",
        "data",
    )?;
    check(
        "dst 2000..3000",
        out[2000..] == data[500..1500],
        "src 500..1500",
        "other bytes",
    )
}

fn copy_file_range_implicit_offsets_advance(c: &Ctx) -> R<()> {
    let (s, d) = pair(c, b"0123456789")?;
    rustix::fs::seek(&s, rustix::fs::SeekFrom::Start(4)).must("lseek src 4")?;
    let n = copy_file_range(&s, None, &d, None, 3).must("copy_file_range")?;
    check_eq("bytes copied", 3, n)?;
    check_eq("src position", 7, rustix::fs::tell(&s).must("tell src")?)?;
    check_eq("dst position", 3, rustix::fs::tell(&d).must("tell dst")?)?;
    check_eq(
        "dst content",
        b"456".to_vec(),
        read_all(&d).must("read dst")?,
    )
}

fn copy_file_range_past_eof_returns_zero(c: &Ctx) -> R<()> {
    let (s, d) = pair(c, b"short")?;
    let (mut oi, mut oo) = (100u64, 0u64);
    check_eq(
        "bytes copied",
        0,
        copy_file_range(&s, Some(&mut oi), &d, Some(&mut oo), 10).must("copy_file_range")?,
    )?;
    check_eq("dst size", 0, fst(&d).must("fstat")?.size)
}

fn copy_file_range_same_file_overlap_einval(c: &Ctx) -> R<()> {
    c.create("f", &[1u8; 8192])?;
    let f = c.open("f", OFlags::RDWR)?;
    let (mut oi, mut oo) = (0u64, 100u64);
    expect_errno(
        "overlapping copy",
        copy_file_range(&f, Some(&mut oi), &f, Some(&mut oo), 4096),
        Errno::INVAL,
    )
}

fn copy_file_range_dest_rdonly_ebadf(c: &Ctx) -> R<()> {
    c.create("src", b"data")?;
    c.create("dst", b"")?;
    let s = c.open("src", OFlags::RDONLY)?;
    let d = c.open("dst", OFlags::RDONLY)?;
    expect_errno(
        "copy into O_RDONLY fd",
        copy_file_range(&s, None, &d, None, 4),
        Errno::BADF,
    )
}

fn copy_file_range_dest_append_ebadf(c: &Ctx) -> R<()> {
    c.create("src", b"data")?;
    c.create("dst", b"")?;
    let s = c.open("src", OFlags::RDONLY)?;
    let d = c.open("dst", OFlags::WRONLY | OFlags::APPEND)?;
    expect_errno(
        "copy into O_APPEND fd",
        copy_file_range(&s, None, &d, None, 4),
        Errno::BADF,
    )
}

fn copy_file_range_same_file_disjoint_ok(c: &Ctx) -> R<()> {
    let data = c.rng().bytes(4096);
    c.create("f", &data)?;
    let f = c.open("f", OFlags::RDWR)?;
    let (mut oi, mut oo) = (0u64, 8192u64);
    let n =
        copy_file_range(&f, Some(&mut oi), &f, Some(&mut oo), 4096).must("copy 0..4096 to 8192")?;
    check_eq("bytes copied", 4096, n)?;
    let out = read_all(&f).must("read")?;
    check_eq("size", 12288, out.len())?;
    check_bytes("copied range", &data, &out[8192..])?;
    check(
        "gap 4096..8192",
        out[4096..8192].iter().all(|b| *b == 0),
        "zeros",
        "data",
    )
}
