//! Large sparse files: offsets beyond 4 GiB (no 32-bit truncation anywhere), exact sizes,
//! holes reading as zeros, and holes not consuming space.

use rustix::fs::{OFlags, SeekFrom};

use crate::ctx::Ctx;
use crate::util::*;

cases! { "sparse";
    sparse_write_beyond_4g_size ["sparse_4g"] "a write at 5 GiB makes the size exactly 5 GiB + length";
    sparse_readback_beyond_4g ["sparse_4g"] "data written at 5 GiB reads back exactly (no 32-bit wrap to offset 1 GiB)";
    sparse_hole_reads_zeros ["sparse_4g"] "the hole before data at 5 GiB reads as zeros, including at 4 GiB";
    sparse_blocks_small ["sparse_4g"] "a file with 4 KiB of data at 5 GiB allocates far less than its size";
    sparse_truncate_beyond_4g ["sparse_4g"] "ftruncate to 6 GiB sets the size and the end reads as zeros";
    sparse_lseek_end_beyond_4g ["sparse_4g"] "lseek(SEEK_END) on a 5 GiB file returns its size";
}

const G5: u64 = 5 << 30;

fn make(c: &Ctx) -> R<(std::os::fd::OwnedFd, Vec<u8>)> {
    let data = c.rng().bytes(4096);
    let fd = c.open("f", OFlags::CREATE | OFlags::RDWR)?;
    pwrite_all(&fd, &data, G5).must("pwrite 4096 bytes at 5 GiB")?;
    Ok((fd, data))
}

fn sparse_write_beyond_4g_size(c: &Ctx) -> R<()> {
    let (fd, _) = make(c)?;
    check_eq(
        "size via fstat",
        (G5 + 4096) as i64,
        fst(&fd).must("fstat")?.size,
    )?;
    check_eq("size via stat", (G5 + 4096) as i64, c.stat("f")?.size)
}

fn sparse_readback_beyond_4g(c: &Ctx) -> R<()> {
    let (fd, data) = make(c)?;
    check(
        "data at 5 GiB",
        pread_upto(&fd, 4096, G5).must("pread at 5 GiB")? == data,
        "the written bytes",
        "different bytes",
    )?;
    let low = pread_upto(&fd, 4096, 1 << 30).must("pread at 1 GiB")?;
    check(
        "bytes at 1 GiB",
        low.iter().all(|b| *b == 0),
        "zeros",
        "non-zero bytes (offset wrapped?)",
    )
}

fn sparse_hole_reads_zeros(c: &Ctx) -> R<()> {
    let (fd, _) = make(c)?;
    for off in [0u64, 4 << 30, (4 << 30) - 10, G5 - 4096] {
        let b = pread_upto(&fd, 4096, off).must(&format!("pread at {off}"))?;
        check_eq(&format!("bytes read at {off}"), 4096, b.len())?;
        check(
            &format!("hole at {off}"),
            b.iter().all(|x| *x == 0),
            "zeros",
            "non-zero bytes",
        )?;
    }
    Ok(())
}

fn sparse_blocks_small(c: &Ctx) -> R<()> {
    let (fd, _) = make(c)?;
    let st = fst(&fd).must("fstat")?;
    check(
        "allocated bytes",
        st.blocks * 512 < 64 << 20,
        "< 64 MiB",
        format!("{} bytes", st.blocks * 512),
    )
}

fn sparse_truncate_beyond_4g(c: &Ctx) -> R<()> {
    let (fd, data) = make(c)?;
    rustix::fs::ftruncate(&fd, 6 << 30).must("ftruncate 6 GiB")?;
    check_eq("size", 6i64 << 30, fst(&fd).must("fstat")?.size)?;
    let end = pread_upto(&fd, 8192, (6 << 30) - 4096).must("pread the last 4 KiB")?;
    check_eq("bytes read at the end", 4096, end.len())?;
    check(
        "last 4 KiB",
        end.iter().all(|b| *b == 0),
        "zeros",
        "non-zero bytes",
    )?;
    check(
        "data at 5 GiB",
        pread_upto(&fd, 4096, G5).must("pread")? == data,
        "unchanged",
        "changed",
    )
}

fn sparse_lseek_end_beyond_4g(c: &Ctx) -> R<()> {
    let (fd, _) = make(c)?;
    check_eq(
        "lseek(0, SEEK_END)",
        G5 + 4096,
        rustix::fs::seek(&fd, SeekFrom::End(0)).must("lseek END")?,
    )
}
