//! mmap coherence: shared mappings and read/write see each other's bytes, private mappings
//! stay private, the tail of the last page reads as zeros, a mapping outlives its descriptor,
//! and a shared writable mapping of a read-only descriptor is refused.

use rustix::fs::OFlags;
use rustix::io::Errno;
use rustix::mm::ProtFlags;

use crate::ctx::Ctx;
use crate::map::Mapping;
use crate::util::*;

cases! { "mmap";
    mmap_write_visible_to_pread ["mmap"] "a store through a shared mapping is visible to pread at once";
    mmap_sees_pwrite ["mmap"] "a pwrite is visible through an existing shared mapping";
    mmap_msync_visible_after_reopen ["mmap"] "after msync, a fresh open reads the mapped writes";
    mmap_private_write_not_visible ["mmap"] "a store through a private mapping does not reach the file";
    mmap_tail_of_last_page_zero ["mmap"] "bytes past EOF in the last mapped page read as zero";
    mmap_outlives_close ["mmap"] "a mapping keeps working after its descriptor is closed";
    mmap_sees_truncate_extend ["mmap"] "after ftruncate grows the file, the mapping reads zeros in the new range";
    mmap_shared_write_on_rdonly_fd_eacces ["mmap"] "PROT_WRITE MAP_SHARED on an O_RDONLY descriptor fails with EACCES";
    mmap_two_shared_mappings_coherent ["mmap"] "two shared mappings of one file see each other's stores";
}

const PAGE: usize = 4096;

fn mmap_write_visible_to_pread(c: &Ctx) -> R<()> {
    c.create("f", &[0u8; 2 * PAGE])?;
    let fd = c.open("f", OFlags::RDWR)?;
    let mut m = Mapping::new(&fd, 2 * PAGE, true).must("mmap")?;
    let data = c.rng().bytes(PAGE);
    m.bytes_mut()[PAGE / 2..PAGE / 2 + PAGE].copy_from_slice(&data);
    let back = pread_upto(&fd, PAGE, (PAGE / 2) as u64).must("pread")?;
    check(
        "bytes via pread",
        back == data,
        "the stored bytes",
        "different bytes",
    )
}

fn mmap_sees_pwrite(c: &Ctx) -> R<()> {
    c.create("f", &[0u8; PAGE])?;
    let fd = c.open("f", OFlags::RDWR)?;
    let m = Mapping::new(&fd, PAGE, true).must("mmap")?;
    check_eq("initial byte", 0, m.bytes()[10])?;
    pwrite_all(&fd, b"hello", 10).must("pwrite")?;
    check_eq(
        "bytes via mapping",
        b"hello".to_vec(),
        m.bytes()[10..15].to_vec(),
    )
}

fn mmap_msync_visible_after_reopen(c: &Ctx) -> R<()> {
    c.create("f", &[b'.'; PAGE])?;
    {
        let fd = c.open("f", OFlags::RDWR)?;
        let mut m = Mapping::new(&fd, PAGE, true).must("mmap")?;
        m.bytes_mut()[..6].copy_from_slice(b"synced");
        m.sync().must("msync")?;
    }
    check_eq(
        "first bytes after reopen",
        b"synced".to_vec(),
        c.read("f")?[..6].to_vec(),
    )
}

fn mmap_private_write_not_visible(c: &Ctx) -> R<()> {
    c.create("f", &[b'a'; PAGE])?;
    let fd = c.open("f", OFlags::RDWR)?;
    let mut m = Mapping::new(&fd, PAGE, false).must("mmap private")?;
    m.bytes_mut()[0] = b'Z';
    check_eq("byte in private mapping", b'Z', m.bytes()[0])?;
    check_eq(
        "byte in file",
        b"a".to_vec(),
        pread_upto(&fd, 1, 0).must("pread")?,
    )
}

fn mmap_tail_of_last_page_zero(c: &Ctx) -> R<()> {
    c.create("f", &[b'x'; 100])?;
    let fd = c.open("f", OFlags::RDONLY)?;
    let m = Mapping::with_prot(&fd, PAGE, true, ProtFlags::READ).must("mmap")?;
    check(
        "first 100 bytes",
        m.bytes()[..100].iter().all(|b| *b == b'x'),
        "file data",
        "other bytes",
    )?;
    let nonzero = m.bytes()[100..].iter().filter(|b| **b != 0).count();
    check_eq("non-zero bytes past EOF in the page", 0, nonzero)
}

fn mmap_outlives_close(c: &Ctx) -> R<()> {
    c.create("f", &[0u8; PAGE])?;
    let fd = c.open("f", OFlags::RDWR)?;
    let mut m = Mapping::new(&fd, PAGE, true).must("mmap")?;
    drop(fd);
    m.bytes_mut()[..4].copy_from_slice(b"late");
    m.sync().must("msync")?;
    check_bytes("file bytes", b"late", &c.read("f")?[..4])
}

fn mmap_sees_truncate_extend(c: &Ctx) -> R<()> {
    c.create("f", &[b'y'; 10])?;
    let fd = c.open("f", OFlags::RDWR)?;
    let m = Mapping::new(&fd, 2 * PAGE, true).must("mmap 2 pages of a 10-byte file")?;
    rustix::fs::ftruncate(&fd, (2 * PAGE) as u64).must("ftruncate 2 pages")?;
    check_eq("byte 9", b'y', m.bytes()[9])?;
    let nonzero = m.bytes()[10..].iter().filter(|b| **b != 0).count();
    check_eq("non-zero bytes in the grown range", 0, nonzero)
}

fn mmap_shared_write_on_rdonly_fd_eacces(c: &Ctx) -> R<()> {
    c.create("f", &[0u8; PAGE])?;
    let fd = c.open("f", OFlags::RDONLY)?;
    expect_errno(
        "shared writable mmap of O_RDONLY fd",
        Mapping::new(&fd, PAGE, true),
        Errno::ACCESS,
    )
}

fn mmap_two_shared_mappings_coherent(c: &Ctx) -> R<()> {
    c.create("f", &[0u8; PAGE])?;
    let a = c.open("f", OFlags::RDWR)?;
    let b = c.open("f", OFlags::RDWR)?;
    let mut ma = Mapping::new(&a, PAGE, true).must("mmap a")?;
    let mb = Mapping::new(&b, PAGE, true).must("mmap b")?;
    ma.bytes_mut()[100..105].copy_from_slice(b"hello");
    check_bytes(
        "bytes via the second mapping",
        b"hello",
        &mb.bytes()[100..105],
    )
}
