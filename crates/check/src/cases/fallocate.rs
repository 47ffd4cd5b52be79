//! fallocate modes (default, KEEP_SIZE, PUNCH_HOLE, ZERO_RANGE, COLLAPSE/INSERT_RANGE) and
//! SEEK_DATA/SEEK_HOLE. Optional modes a filesystem refuses with EOPNOTSUPP are skipped with
//! that reason; argument errors must be the documented errno.

use std::os::fd::OwnedFd;

use rustix::fs::{FallocateFlags, OFlags, SeekFrom};
use rustix::io::Errno;

use crate::ctx::Ctx;
use crate::util::*;

cases! { "fallocate";
    fallocate_default_extends_size ["fallocate"] "fallocate mode 0 past EOF grows the size and reads as zeros";
    fallocate_keep_size_keeps_size ["fallocate"] "FALLOC_FL_KEEP_SIZE allocates without changing the size";
    fallocate_inside_keeps_data ["fallocate"] "fallocate over existing data leaves it intact";
    fallocate_punch_hole_zeroes ["punch_hole"] "PUNCH_HOLE|KEEP_SIZE zeroes the range and keeps the size";
    fallocate_punch_without_keep_size_eopnotsupp ["punch_hole"] "PUNCH_HOLE without KEEP_SIZE is refused with EOPNOTSUPP";
    fallocate_zero_range_zeroes ["fallocate"] "ZERO_RANGE zeroes the range (skipped when the fs answers EOPNOTSUPP)";
    fallocate_collapse_range_shifts ["fallocate"] "COLLAPSE_RANGE removes a block-aligned range and shifts the tail (skip on EOPNOTSUPP)";
    fallocate_zero_len_einval ["fallocate"] "fallocate with length 0 fails with EINVAL";
    fallocate_rdonly_ebadf ["fallocate"] "fallocate on an O_RDONLY descriptor fails with EBADF";
    seek_data_at_data_returns_offset [] "SEEK_DATA at an offset inside data returns that offset";
    seek_hole_finds_hole [] "SEEK_HOLE from data finds the hole after it (or EOF if holes are not reported)";
    seek_data_skips_hole [] "SEEK_DATA from inside a hole lands at or before the next data";
    seek_data_at_eof_enxio [] "SEEK_DATA at or past EOF fails with ENXIO";
    seek_hole_past_eof_enxio [] "SEEK_HOLE past EOF fails with ENXIO";
    seek_hole_at_end_of_data_is_eof [] "SEEK_HOLE in a fully written file returns the size";
}

const K: u64 = 1024;

fn sized(c: &Ctx, data: &[u8]) -> R<OwnedFd> {
    c.create("f", data)?;
    c.open("f", OFlags::RDWR)
}

fn optional(what: &str, r: rustix::io::Result<()>) -> R<()> {
    match r {
        Err(e @ (Errno::OPNOTSUPP | Errno::NOSYS)) => {
            Err(skip(format!("{what} answered {}", errno_name(e))))
        }
        r => r.must(what),
    }
}

fn fallocate_default_extends_size(c: &Ctx) -> R<()> {
    let fd = sized(c, b"abc")?;
    rustix::fs::fallocate(&fd, FallocateFlags::empty(), 0, 64 * K).must("fallocate 0..64K")?;
    check_eq("size", (64 * K) as i64, fst(&fd).must("fstat")?.size)?;
    let d = read_all(&fd).must("read")?;
    check_bytes("prefix", b"abc", &d[..3])?;
    check(
        "allocated tail",
        d[3..].iter().all(|b| *b == 0),
        "zeros",
        "non-zero bytes",
    )
}

fn fallocate_keep_size_keeps_size(c: &Ctx) -> R<()> {
    let fd = sized(c, b"abc")?;
    let before = fst(&fd).must("fstat")?;
    rustix::fs::fallocate(&fd, FallocateFlags::KEEP_SIZE, 0, 1024 * K)
        .must("fallocate KEEP_SIZE 1M")?;
    let after = fst(&fd).must("fstat")?;
    check_eq("size", 3, after.size)?;
    check(
        "blocks",
        after.blocks > before.blocks,
        format!("> {}", before.blocks),
        after.blocks,
    )
}

fn fallocate_inside_keeps_data(c: &Ctx) -> R<()> {
    let data = c.rng().bytes(32 * K as usize);
    let fd = sized(c, &data)?;
    rustix::fs::fallocate(&fd, FallocateFlags::empty(), 4 * K, 8 * K).must("fallocate inside")?;
    check(
        "content",
        read_all(&fd).must("read")? == data,
        "unchanged",
        "changed",
    )
}

fn fallocate_punch_hole_zeroes(c: &Ctx) -> R<()> {
    let fd = sized(c, &[b'x'; 64 * 1024])?;
    rustix::fs::fallocate(
        &fd,
        FallocateFlags::PUNCH_HOLE | FallocateFlags::KEEP_SIZE,
        16 * K,
        16 * K,
    )
    .must("punch 16K..32K")?;
    let d = read_all(&fd).must("read")?;
    check_eq("size", 64 * 1024, d.len())?;
    check(
        "punched range",
        d[16 * 1024..32 * 1024].iter().all(|b| *b == 0),
        "zeros",
        "data",
    )?;
    check(
        "outside the range",
        d[..16 * 1024]
            .iter()
            .chain(&d[32 * 1024..])
            .all(|b| *b == b'x'),
        "kept",
        "changed",
    )
}

fn fallocate_punch_without_keep_size_eopnotsupp(c: &Ctx) -> R<()> {
    let fd = sized(c, &[b'x'; 8192])?;
    expect_errno(
        "PUNCH_HOLE alone",
        rustix::fs::fallocate(&fd, FallocateFlags::PUNCH_HOLE, 0, 4096),
        Errno::OPNOTSUPP,
    )?;
    check_bytes("content", &[b'x'; 8192], &read_all(&fd).must("read")?)
}

fn fallocate_zero_range_zeroes(c: &Ctx) -> R<()> {
    let fd = sized(c, &[b'z'; 8192])?;
    optional(
        "ZERO_RANGE",
        rustix::fs::fallocate(&fd, FallocateFlags::ZERO_RANGE, 100, 200),
    )?;
    let d = read_all(&fd).must("read")?;
    check(
        "range 100..300",
        d[100..300].iter().all(|b| *b == 0),
        "zeros",
        "data",
    )?;
    check(
        "bytes 300..",
        d[300..].iter().all(|b| *b == b'z'),
        "kept",
        "changed",
    )
}

fn fallocate_collapse_range_shifts(c: &Ctx) -> R<()> {
    let blk = 64 * K as usize;
    let mut data = vec![b'a'; blk];
    data.extend(vec![b'b'; blk]);
    data.extend(vec![b'c'; blk]);
    let fd = sized(c, &data)?;
    optional(
        "COLLAPSE_RANGE",
        rustix::fs::fallocate(&fd, FallocateFlags::COLLAPSE_RANGE, blk as u64, blk as u64),
    )?;
    let d = read_all(&fd).must("read")?;
    check_eq("size", 2 * blk, d.len())?;
    check(
        "content",
        d[..blk].iter().all(|b| *b == b'a') && d[blk..].iter().all(|b| *b == b'c'),
        "a…a c…c",
        "other bytes",
    )
}

fn fallocate_zero_len_einval(c: &Ctx) -> R<()> {
    let fd = sized(c, b"")?;
    expect_errno(
        "fallocate len 0",
        rustix::fs::fallocate(&fd, FallocateFlags::empty(), 0, 0),
        Errno::INVAL,
    )
}

fn fallocate_rdonly_ebadf(c: &Ctx) -> R<()> {
    c.create("f", b"")?;
    let fd = c.open("f", OFlags::RDONLY)?;
    expect_errno(
        "fallocate on O_RDONLY fd",
        rustix::fs::fallocate(&fd, FallocateFlags::empty(), 0, 4096),
        Errno::BADF,
    )
}

/// data 0..64K, hole 64K..1M, data 1M..1M+64K
fn holey(c: &Ctx) -> R<OwnedFd> {
    let fd = c.open("f", OFlags::CREATE | OFlags::RDWR)?;
    pwrite_all(&fd, &[1u8; 64 * 1024], 0).must("write 0..64K")?;
    pwrite_all(&fd, &[2u8; 64 * 1024], 1024 * K).must("write 1M..1M+64K")?;
    Ok(fd)
}

fn seek(fd: &OwnedFd, to: SeekFrom) -> rustix::io::Result<u64> {
    rustix::fs::seek(fd, to)
}

fn seek_data_at_data_returns_offset(c: &Ctx) -> R<()> {
    let fd = holey(c)?;
    check_eq(
        "SEEK_DATA 100",
        100,
        seek(&fd, SeekFrom::Data(100)).must("SEEK_DATA")?,
    )
}

fn seek_hole_finds_hole(c: &Ctx) -> R<()> {
    let fd = holey(c)?;
    let size = 1024 * K + 64 * K;
    let h = seek(&fd, SeekFrom::Hole(0)).must("SEEK_HOLE 0")?;
    if h == size {
        return Err(skip(
            "SEEK_HOLE reports no holes (the whole file as data, which POSIX allows)",
        ));
    }
    check_eq("SEEK_HOLE 0", 64 * K, h)
}

fn seek_data_skips_hole(c: &Ctx) -> R<()> {
    let fd = holey(c)?;
    let d = seek(&fd, SeekFrom::Data(200 * K)).must("SEEK_DATA 200K")?;
    check(
        "SEEK_DATA 200K",
        (200 * K..=1024 * K).contains(&d),
        "in 200K..=1M (1M when holes are reported)",
        d,
    )
}

fn seek_data_at_eof_enxio(c: &Ctx) -> R<()> {
    let fd = holey(c)?;
    let size = 1024 * K + 64 * K;
    expect_errno(
        "SEEK_DATA at EOF",
        seek(&fd, SeekFrom::Data(size)),
        Errno::NXIO,
    )?;
    expect_errno(
        "SEEK_DATA past EOF",
        seek(&fd, SeekFrom::Data(size + 10)),
        Errno::NXIO,
    )
}

fn seek_hole_past_eof_enxio(c: &Ctx) -> R<()> {
    let fd = holey(c)?;
    expect_errno(
        "SEEK_HOLE past EOF",
        seek(&fd, SeekFrom::Hole(10 << 20)),
        Errno::NXIO,
    )
}

fn seek_hole_at_end_of_data_is_eof(c: &Ctx) -> R<()> {
    let fd = sized(c, &[9u8; 10_000])?;
    check_eq(
        "SEEK_HOLE 0 on a dense file",
        10_000,
        seek(&fd, SeekFrom::Hole(0)).must("SEEK_HOLE")?,
    )
}
