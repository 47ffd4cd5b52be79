//! statx: the returned mask, agreement with fstat, optional birth time, nanosecond
//! timestamps, AT_EMPTY_PATH on O_PATH descriptors, AT_SYMLINK_NOFOLLOW, and device numbers.

use rustix::fs::{statx, AtFlags, OFlags, StatxFlags};

use crate::ctx::Ctx;
use crate::util::*;

cases! { "statx";
    statx_basic_stats_mask [] "statx(STATX_BASIC_STATS) returns all basic fields in stx_mask";
    statx_matches_fstat [] "statx and fstat agree on inode, size, nlink, mode, owner and mtime";
    statx_btime_plausible [] "when STATX_BTIME is offered, birth time is set and not after ctime (skip if absent)";
    statx_nsec_timestamps [] "statx reports nanosecond mtime exactly as set";
    statx_empty_path_on_opath_fd [] "statx(fd, \"\", AT_EMPTY_PATH) works on an O_PATH descriptor";
    statx_symlink_nofollow [] "statx with AT_SYMLINK_NOFOLLOW describes the link (type, size = target length)";
    statx_dir_type_and_nlink [] "statx on a directory reports S_IFDIR and nlink >= 2";
    statx_blksize_nonzero [] "statx reports a non-zero preferred block size";
    statx_dev_matches_stat [] "stx_dev_major/minor agree with st_dev";
    statx_blocks_cover_data [] "after writing 10000 bytes, stx_blocks * 512 covers them";
}

fn sx(c: &Ctx, name: &str, flags: AtFlags, mask: StatxFlags) -> R<rustix::fs::Statx> {
    statx(c.d(), name, flags, mask).must(&format!("statx {name}"))
}

fn statx_basic_stats_mask(c: &Ctx) -> R<()> {
    c.create("f", b"abc")?;
    let s = sx(c, "f", AtFlags::empty(), StatxFlags::BASIC_STATS)?;
    let mask = StatxFlags::from_bits_retain(s.stx_mask);
    check(
        "stx_mask",
        mask.contains(StatxFlags::BASIC_STATS),
        format!("contains {:#x}", StatxFlags::BASIC_STATS.bits()),
        format!("{:#x}", s.stx_mask),
    )
}

fn statx_matches_fstat(c: &Ctx) -> R<()> {
    c.create("f", b"hello")?;
    let st = c.stat("f")?;
    let s = sx(c, "f", AtFlags::empty(), StatxFlags::BASIC_STATS)?;
    check_eq("ino", st.ino, s.stx_ino)?;
    check_eq("size", st.size as u64, s.stx_size)?;
    check_eq("nlink", st.nlink, s.stx_nlink as u64)?;
    check_mode("mode", st.mode, s.stx_mode as u32)?;
    check_eq("(uid, gid)", (st.uid, st.gid), (s.stx_uid, s.stx_gid))?;
    check_eq(
        "mtime",
        st.mtime,
        Ts {
            sec: s.stx_mtime.tv_sec,
            nsec: s.stx_mtime.tv_nsec as i64,
        },
    )
}

fn statx_btime_plausible(c: &Ctx) -> R<()> {
    c.create("f", b"")?;
    let s = sx(
        c,
        "f",
        AtFlags::empty(),
        StatxFlags::BASIC_STATS | StatxFlags::BTIME,
    )?;
    if s.stx_mask & StatxFlags::BTIME.bits() == 0 {
        return Err(skip(
            "filesystem does not report birth time (STATX_BTIME not in stx_mask)",
        ));
    }
    let b = Ts {
        sec: s.stx_btime.tv_sec,
        nsec: s.stx_btime.tv_nsec as i64,
    };
    let ct = Ts {
        sec: s.stx_ctime.tv_sec,
        nsec: s.stx_ctime.tv_nsec as i64,
    };
    check(
        "btime",
        b.sec > 0 && b <= ct,
        format!("set and <= ctime {ct}"),
        b,
    )
}

fn statx_nsec_timestamps(c: &Ctx) -> R<()> {
    c.create("f", b"")?;
    rustix::fs::utimensat(
        c.d(),
        "f",
        &stamps((1_500_000_000, 111_222_333), (1_500_000_001, 123_456_789)),
        AtFlags::empty(),
    )
    .must("utimensat")?;
    let s = sx(c, "f", AtFlags::empty(), StatxFlags::BASIC_STATS)?;
    check_eq(
        "stx_mtime",
        (1_500_000_001, 123_456_789),
        (s.stx_mtime.tv_sec, s.stx_mtime.tv_nsec),
    )?;
    check_eq(
        "stx_atime",
        (1_500_000_000, 111_222_333),
        (s.stx_atime.tv_sec, s.stx_atime.tv_nsec),
    )
}

fn statx_empty_path_on_opath_fd(c: &Ctx) -> R<()> {
    c.create("f", b"12345")?;
    let fd = c.open("f", OFlags::PATH)?;
    let s =
        statx(&fd, "", AtFlags::EMPTY_PATH, StatxFlags::BASIC_STATS).must("statx AT_EMPTY_PATH")?;
    check_eq("size", 5, s.stx_size)?;
    check_eq("ino", c.stat("f")?.ino, s.stx_ino)
}

fn statx_symlink_nofollow(c: &Ctx) -> R<()> {
    c.create("target-file", b"")?;
    c.symlink("target-file", "l")?;
    let s = sx(c, "l", AtFlags::SYMLINK_NOFOLLOW, StatxFlags::BASIC_STATS)?;
    check_eq("type", libc::S_IFLNK, s.stx_mode as u32 & libc::S_IFMT)?;
    check_eq("size", 11, s.stx_size)?;
    let f = sx(c, "l", AtFlags::empty(), StatxFlags::BASIC_STATS)?;
    check_eq(
        "type when following",
        libc::S_IFREG,
        f.stx_mode as u32 & libc::S_IFMT,
    )
}

fn statx_dir_type_and_nlink(c: &Ctx) -> R<()> {
    c.mkdir("d", 0o755)?;
    let s = sx(c, "d", AtFlags::empty(), StatxFlags::BASIC_STATS)?;
    check_eq("type", libc::S_IFDIR, s.stx_mode as u32 & libc::S_IFMT)?;
    if s.stx_nlink == 1 {
        return Err(skip("directory nlink not maintained (reports 1)"));
    }
    check("nlink", s.stx_nlink >= 2, ">= 2", s.stx_nlink)
}

fn statx_blksize_nonzero(c: &Ctx) -> R<()> {
    c.create("f", b"")?;
    let s = sx(c, "f", AtFlags::empty(), StatxFlags::BASIC_STATS)?;
    check("stx_blksize", s.stx_blksize > 0, "> 0", s.stx_blksize)
}

fn statx_dev_matches_stat(c: &Ctx) -> R<()> {
    c.create("f", b"")?;
    let st = c.stat("f")?;
    let s = sx(c, "f", AtFlags::empty(), StatxFlags::BASIC_STATS)?;
    check_eq(
        "device",
        st.dev,
        rustix::fs::makedev(s.stx_dev_major, s.stx_dev_minor),
    )
}

fn statx_blocks_cover_data(c: &Ctx) -> R<()> {
    c.create("f", &[7u8; 10_000])?;
    let f = c.open("f", OFlags::RDONLY)?;
    rustix::fs::fsync(&f).must("fsync")?;
    let s = sx(c, "f", AtFlags::empty(), StatxFlags::BASIC_STATS)?;
    check_eq("stx_size", 10_000, s.stx_size)?;
    check(
        "stx_blocks * 512",
        s.stx_blocks * 512 >= 10_000,
        ">= 10000",
        s.stx_blocks * 512,
    )
}
