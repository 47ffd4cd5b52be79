//! Privilege clearing on data changes: setuid (and setgid with group-exec) dropped when a
//! caller without CAP_FSETID writes (buffered and O_DIRECT), fallocates, punches a hole,
//! zeroes a range, copies into or truncates a file — whether that caller is another user or
//! root without the capability — and kept for root with it. The mode is read right after the
//! change with a statx asking for the mode only (as `stat -c %a` does): a FUSE client answers
//! that from its attribute cache unless the mode was refreshed, so a filesystem that clears
//! the bits but lets the kernel keep showing the old mode fails. (chown and the
//! sgid-membership rule are in `attr`.)

use std::os::fd::{AsFd, OwnedFd};

use rustix::fs::{AtFlags, FallocateFlags, OFlags, StatxFlags};
use rustix::io::Errno;

use crate::creds::{as_nobody, without_fsetid};
use crate::ctx::Ctx;
use crate::util::*;

cases! { "privs";
    write_direct_as_nobody_clears_suid_sgid ["other_user"] "an O_DIRECT write by another user clears S_ISUID and S_ISGID (group-exec): 6777 becomes 777";
    write_without_fsetid_clears_suid ["root"] "a write by root without CAP_FSETID clears S_ISUID (6644 becomes 2644: root is in the file's group)";
    write_direct_without_fsetid_clears_suid ["root"] "an O_DIRECT write by root without CAP_FSETID clears S_ISUID: 6644 becomes 2644";
    fallocate_as_nobody_clears_suid_sgid ["other_user", "fallocate"] "fallocate by another user clears S_ISUID and S_ISGID (group-exec)";
    fallocate_without_fsetid_clears_suid ["root", "fallocate"] "fallocate by root without CAP_FSETID clears S_ISUID: 6644 becomes 2644";
    fallocate_as_root_keeps_suid_sgid ["root", "fallocate"] "fallocate by root (CAP_FSETID) keeps both bits";
    fallocate_punch_hole_as_nobody_clears_suid_sgid ["other_user", "punch_hole"] "PUNCH_HOLE by another user clears S_ISUID and S_ISGID (group-exec)";
    fallocate_zero_range_as_nobody_clears_suid_sgid ["other_user", "fallocate"] "ZERO_RANGE by another user clears S_ISUID and S_ISGID (skipped when the fs answers EOPNOTSUPP)";
    copy_range_as_nobody_clears_suid_sgid ["other_user"] "copy_file_range into the file by another user clears S_ISUID and S_ISGID (group-exec)";
    truncate_as_nobody_clears_suid_sgid ["other_user"] "truncate(2) by path by another user clears S_ISUID and S_ISGID (group-exec)";
    open_trunc_as_nobody_clears_suid_sgid ["other_user"] "open with O_TRUNC by another user clears S_ISUID and S_ISGID (group-exec)";
    open_trunc_without_fsetid_clears_suid ["root"] "open with O_TRUNC by root without CAP_FSETID clears S_ISUID: 6644 becomes 2644";
    truncate_without_fsetid_clears_suid ["root"] "truncate(2) by root without CAP_FSETID clears S_ISUID: 6644 becomes 2644";
    truncate_as_root_keeps_suid_sgid ["root"] "truncate(2) by root (CAP_FSETID) keeps both bits";
}

/// The permission bits of `f` from a statx that asks for nothing but the mode.
fn mode_only(c: &Ctx) -> R<u32> {
    let stx = rustix::fs::statx(c.d(), "f", AtFlags::empty(), StatxFlags::MODE)
        .must("statx f (STATX_MODE only)")?;
    Ok(u32::from(stx.stx_mode) & 0o7777)
}

/// Who does the change.
#[derive(Clone, Copy)]
enum Who {
    Nobody,
    RootWithoutFsetid,
    Root,
}

fn as_who<T: Send>(who: Who, f: impl FnOnce() -> T + Send) -> R<T> {
    match who {
        Who::Nobody => as_nobody(f),
        Who::RootWithoutFsetid => without_fsetid(f),
        Who::Root => Ok(f()),
    }
}

/// `f` (8 KiB of data, owner root:root) with mode `mode`, checked.
fn priv_file(c: &Ctx, mode: u32) -> R<()> {
    c.create("f", &[0xAB; 8192])?;
    c.chown("f", 0, 0)?;
    c.chmod("f", mode)?;
    check_mode("mode before the change", mode, mode_only(c)?)
}

/// Creates `f` with `before`, runs `op` as `who` and checks the mode right afterwards.
fn after(
    c: &Ctx,
    before: u32,
    expected: u32,
    who: Who,
    what: &str,
    op: impl FnOnce() -> R<()> + Send,
) -> R<()> {
    priv_file(c, before)?;
    as_who(who, op)??;
    check_mode(&format!("mode after {what}"), expected, mode_only(c)?)
}

/// Opens `f` for writing with O_DIRECT (a skip when the filesystem refuses O_DIRECT).
fn open_direct(c: &Ctx) -> R<OwnedFd> {
    match c.try_open("f", OFlags::WRONLY | OFlags::DIRECT, 0) {
        Err(Errno::INVAL) => Err(skip("open with O_DIRECT answered EINVAL")),
        r => r.must("open f O_WRONLY|O_DIRECT"),
    }
}

/// Writes 4 KiB of 0x5A at offset 0 from a 4 KiB-aligned buffer (as O_DIRECT needs).
fn write_aligned(fd: impl AsFd) -> R<()> {
    let buf = vec![0x5A_u8; 8192];
    let skew = buf.as_ptr().align_offset(4096);
    pwrite_all(fd, &buf[skew..skew + 4096], 0).must("pwrite 4 KiB")
}

/// Opens and writes as `who`, as a program run by that user would.
fn direct_write(c: &Ctx, before: u32, expected: u32, who: Who) -> R<()> {
    priv_file(c, before)?;
    as_who(who, || write_aligned(&open_direct(c)?))??;
    check_mode("mode after an O_DIRECT write", expected, mode_only(c)?)
}

fn write_direct_as_nobody_clears_suid_sgid(c: &Ctx) -> R<()> {
    direct_write(c, 0o6777, 0o0777, Who::Nobody)
}

fn write_direct_without_fsetid_clears_suid(c: &Ctx) -> R<()> {
    direct_write(c, 0o6644, 0o2644, Who::RootWithoutFsetid)
}

fn write_without_fsetid_clears_suid(c: &Ctx) -> R<()> {
    after(c, 0o6644, 0o2644, Who::RootWithoutFsetid, "a write", || {
        let fd = c.open("f", OFlags::WRONLY)?;
        pwrite_all(&fd, b"data", 0).must("pwrite")
    })
}

/// fallocate `mode` over [0, 4096) of `f` (opened as root) by `who`; EOPNOTSUPP skips.
fn falloc(c: &Ctx, before: u32, expected: u32, who: Who, mode: FallocateFlags) -> R<()> {
    priv_file(c, before)?;
    let fd = c.open("f", OFlags::WRONLY)?;
    let r = as_who(who, || rustix::fs::fallocate(&fd, mode, 0, 4096))?;
    match r {
        Err(e @ (Errno::OPNOTSUPP | Errno::NOSYS)) => {
            return Err(skip(format!(
                "fallocate {mode:?} answered {}",
                errno_name(e)
            )))
        }
        r => r.must(&format!("fallocate {mode:?}"))?,
    }
    check_mode(
        &format!("mode after fallocate {mode:?}"),
        expected,
        mode_only(c)?,
    )
}

fn fallocate_as_nobody_clears_suid_sgid(c: &Ctx) -> R<()> {
    falloc(c, 0o6777, 0o0777, Who::Nobody, FallocateFlags::empty())
}

fn fallocate_without_fsetid_clears_suid(c: &Ctx) -> R<()> {
    falloc(
        c,
        0o6644,
        0o2644,
        Who::RootWithoutFsetid,
        FallocateFlags::empty(),
    )
}

fn fallocate_as_root_keeps_suid_sgid(c: &Ctx) -> R<()> {
    falloc(c, 0o6777, 0o6777, Who::Root, FallocateFlags::empty())
}

fn fallocate_punch_hole_as_nobody_clears_suid_sgid(c: &Ctx) -> R<()> {
    let mode = FallocateFlags::PUNCH_HOLE | FallocateFlags::KEEP_SIZE;
    falloc(c, 0o6777, 0o0777, Who::Nobody, mode)
}

fn fallocate_zero_range_as_nobody_clears_suid_sgid(c: &Ctx) -> R<()> {
    falloc(c, 0o6777, 0o0777, Who::Nobody, FallocateFlags::ZERO_RANGE)
}

fn copy_range_as_nobody_clears_suid_sgid(c: &Ctx) -> R<()> {
    c.create("src", &[0x11; 4096])?;
    priv_file(c, 0o6777)?;
    let src = c.open("src", OFlags::RDONLY)?;
    let dst = c.open("f", OFlags::WRONLY)?;
    let n = as_nobody(|| {
        let (mut off_in, mut off_out) = (0u64, 0u64);
        rustix::fs::copy_file_range(&src, Some(&mut off_in), &dst, Some(&mut off_out), 4096)
    })?;
    match n {
        Err(e @ (Errno::OPNOTSUPP | Errno::NOSYS | Errno::XDEV)) => {
            return Err(skip(format!("copy_file_range answered {}", errno_name(e))))
        }
        r => {
            r.must("copy_file_range 4 KiB")?;
        }
    }
    check_mode("mode after copy_file_range", 0o0777, mode_only(c)?)
}

fn truncate_as_nobody_clears_suid_sgid(c: &Ctx) -> R<()> {
    let path = c.p("f");
    after(c, 0o6777, 0o0777, Who::Nobody, "truncate", || {
        truncate_path(&path, 100).must("truncate f 100")
    })
}

fn open_trunc_as_nobody_clears_suid_sgid(c: &Ctx) -> R<()> {
    after(c, 0o6777, 0o0777, Who::Nobody, "open O_TRUNC", || {
        c.try_open("f", OFlags::WRONLY | OFlags::TRUNC, 0)
            .map(drop)
            .must("open f O_WRONLY|O_TRUNC")
    })
}

fn open_trunc_without_fsetid_clears_suid(c: &Ctx) -> R<()> {
    after(
        c,
        0o6644,
        0o2644,
        Who::RootWithoutFsetid,
        "open O_TRUNC",
        || {
            c.try_open("f", OFlags::WRONLY | OFlags::TRUNC, 0)
                .map(drop)
                .must("open f O_WRONLY|O_TRUNC")
        },
    )
}

fn truncate_without_fsetid_clears_suid(c: &Ctx) -> R<()> {
    let path = c.p("f");
    after(
        c,
        0o6644,
        0o2644,
        Who::RootWithoutFsetid,
        "truncate",
        || truncate_path(&path, 100).must("truncate f 100"),
    )
}

fn truncate_as_root_keeps_suid_sgid(c: &Ctx) -> R<()> {
    let path = c.p("f");
    after(c, 0o6777, 0o6777, Who::Root, "truncate", || {
        truncate_path(&path, 100).must("truncate f 100")
    })
}
