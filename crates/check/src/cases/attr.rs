//! chmod/chown/utimensat: modes, owners, explicit and UTIME_NOW/UTIME_OMIT times, ctime
//! updates, the permission rules for non-owners, and setuid/setgid clearing on write,
//! truncate, chown and chmod.

use rustix::fs::{AtFlags, FileType, Gid, Mode, OFlags, Uid};
use rustix::io::Errno;

use crate::creds::{as_nobody, NOBODY};
use crate::ctx::Ctx;
use crate::util::*;

cases! { "attr";
    chmod_sets_mode [] "chmod sets exactly the requested permission bits";
    chmod_updates_ctime [] "chmod moves ctime forward and leaves mtime alone";
    chmod_missing_enoent [] "chmod on a missing path fails with ENOENT";
    fchmod_sets_mode [] "fchmod on an open descriptor sets the mode";
    chmod_dir_sticky_bit [] "chmod can set the sticky bit on a directory";
    chmod_as_non_owner_eperm ["other_user"] "an unprivileged non-owner chmod fails with EPERM";
    chmod_nonmember_gid_clears_sgid ["other_user"] "an owner outside the file's group cannot set S_ISGID: it is silently dropped";
    chown_changes_owner ["root"] "chown sets uid and gid";
    chown_minus_one_keeps_owner ["root"] "chown(-1, -1) leaves owner and group unchanged";
    chown_updates_ctime ["root"] "chown moves ctime forward";
    chown_clears_suid_sgid ["root"] "chown of a setuid/setgid (group-exec) file clears both bits";
    chown_as_non_owner_eperm ["other_user"] "an unprivileged user cannot give a file away: EPERM";
    chown_clears_suid_sgid_special_files ["root"] "chown of a setuid/setgid (group-exec) FIFO, socket or device node clears both bits, as for a regular file";
    chown_by_owner_clears_suid_special_files ["other_user"] "chown by an unprivileged owner clears S_ISUID (and S_ISGID with group-exec) on FIFOs, sockets and device nodes";
    write_as_nobody_clears_suid ["other_user"] "a write by a user without CAP_FSETID clears S_ISUID";
    write_as_nobody_clears_sgid_group_exec ["other_user"] "a write by an unprivileged user clears S_ISGID on a group-exec file";
    write_as_group_member_keeps_sgid_without_group_exec ["other_user"] "S_ISGID without group-exec survives a write by a member of the file's group";
    write_as_nonmember_clears_sgid_without_group_exec ["other_user"] "S_ISGID without group-exec is cleared by a write from outside the file's group";
    write_as_root_keeps_suid ["root"] "a write by root (CAP_FSETID) keeps S_ISUID";
    ftruncate_as_nobody_clears_suid ["other_user"] "ftruncate by an unprivileged user clears S_ISUID";
    utimensat_sets_exact_times [] "utimensat stores atime and mtime to the nanosecond";
    utimensat_now_sets_current_time [] "UTIME_NOW sets both times to the current time";
    utimensat_omit_keeps_atime [] "UTIME_OMIT for atime leaves it alone while mtime changes";
    utimensat_both_omit_changes_nothing [] "UTIME_OMIT for both succeeds and changes neither time nor ctime";
    utimensat_updates_ctime [] "setting times moves ctime forward";
    utimensat_pre_epoch_time [] "a time before 1970 is stored and read back";
    utimensat_invalid_nsec_einval [] "a tv_nsec of 1e9 is refused with EINVAL";
    utimensat_now_as_writer_ok ["other_user"] "a non-owner with write permission may set UTIME_NOW";
    utimensat_now_as_non_writer_eacces ["other_user"] "a non-owner without write permission gets EACCES for UTIME_NOW";
    utimensat_explicit_as_non_owner_eperm ["other_user"] "a non-owner setting explicit times gets EPERM even with write permission";
    futimens_sets_times [] "futimens on an open descriptor sets the times";
}

fn chmod_sets_mode(c: &Ctx) -> R<()> {
    c.create("f", b"")?;
    for mode in [0o600, 0o751, 0o404, 0o000, 0o777] {
        c.chmod("f", mode)?;
        check_mode(
            &format!("mode after chmod {mode:o}"),
            mode,
            c.stat("f")?.perm(),
        )?;
    }
    Ok(())
}

fn chmod_updates_ctime(c: &Ctx) -> R<()> {
    c.create("f", b"")?;
    let before = c.stat("f")?;
    c.tick();
    c.chmod("f", 0o600)?;
    let after = c.stat("f")?;
    check(
        "ctime after chmod",
        after.ctime > before.ctime,
        format!("> {}", before.ctime),
        after.ctime,
    )?;
    check_eq("mtime after chmod", before.mtime, after.mtime)
}

fn chmod_missing_enoent(c: &Ctx) -> R<()> {
    expect_errno(
        "chmod missing",
        rustix::fs::chmodat(
            c.d(),
            "missing",
            Mode::from_raw_mode(0o644),
            AtFlags::empty(),
        ),
        Errno::NOENT,
    )
}

fn fchmod_sets_mode(c: &Ctx) -> R<()> {
    let fd = c.open("f", OFlags::CREATE | OFlags::RDWR)?;
    rustix::fs::fchmod(&fd, Mode::from_raw_mode(0o640)).must("fchmod 0640")?;
    check_mode("mode via fstat", 0o640, fst(&fd).must("fstat")?.perm())?;
    check_mode("mode via stat", 0o640, c.stat("f")?.perm())
}

fn chmod_dir_sticky_bit(c: &Ctx) -> R<()> {
    c.mkdir("d", 0o755)?;
    c.chmod("d", 0o1777)?;
    check_mode("mode", 0o1777, c.stat("d")?.perm())
}

fn chmod_as_non_owner_eperm(c: &Ctx) -> R<()> {
    c.create("f", b"")?;
    c.chmod("f", 0o666)?;
    let r = as_nobody(|| {
        rustix::fs::chmodat(c.d(), "f", Mode::from_raw_mode(0o777), AtFlags::empty())
    })?;
    expect_errno("chmod by non-owner", r, Errno::PERM)?;
    check_mode("mode", 0o666, c.stat("f")?.perm())
}

fn chmod_nonmember_gid_clears_sgid(c: &Ctx) -> R<()> {
    c.create("f", b"")?;
    c.chown("f", NOBODY, 0)?;
    let r = as_nobody(|| {
        rustix::fs::chmodat(c.d(), "f", Mode::from_raw_mode(0o2755), AtFlags::empty())
    })?;
    r.must("chmod 2755 by owner nobody")?;
    check_mode("mode (S_ISGID dropped)", 0o755, c.stat("f")?.perm())
}

fn chown_changes_owner(c: &Ctx) -> R<()> {
    c.create("f", b"")?;
    c.chown("f", 1234, 5678)?;
    let st = c.stat("f")?;
    check_eq("uid", 1234, st.uid)?;
    check_eq("gid", 5678, st.gid)
}

fn chown_minus_one_keeps_owner(c: &Ctx) -> R<()> {
    c.create("f", b"")?;
    c.chown("f", 1234, 5678)?;
    rustix::fs::chownat(c.d(), "f", None, None, AtFlags::empty()).must("chown -1 -1")?;
    let st = c.stat("f")?;
    check_eq("(uid, gid)", (1234, 5678), (st.uid, st.gid))?;
    rustix::fs::chownat(c.d(), "f", None, Some(Gid::from_raw(42)), AtFlags::empty())
        .must("chown -1 42")?;
    let st = c.stat("f")?;
    check_eq(
        "(uid, gid) after changing only gid",
        (1234, 42),
        (st.uid, st.gid),
    )
}

fn chown_updates_ctime(c: &Ctx) -> R<()> {
    c.create("f", b"")?;
    let before = c.stat("f")?;
    c.tick();
    c.chown("f", 1234, 1234)?;
    let after = c.stat("f")?;
    check(
        "ctime after chown",
        after.ctime > before.ctime,
        format!("> {}", before.ctime),
        after.ctime,
    )
}

fn chown_clears_suid_sgid(c: &Ctx) -> R<()> {
    c.create("f", b"")?;
    c.chmod("f", 0o6755)?;
    check_mode("mode before chown", 0o6755, c.stat("f")?.perm())?;
    c.chown("f", 1234, 1234)?;
    check_mode("mode after chown", 0o755, c.stat("f")?.perm())
}

fn chown_as_non_owner_eperm(c: &Ctx) -> R<()> {
    c.create("f", b"")?;
    c.chown("f", NOBODY, NOBODY)?;
    let r = as_nobody(|| {
        rustix::fs::chownat(
            c.d(),
            "f",
            Some(Uid::from_raw(1234)),
            None,
            AtFlags::empty(),
        )
    })?;
    expect_errno("owner nobody giving the file to uid 1234", r, Errno::PERM)?;
    check_eq("uid", NOBODY, c.stat("f")?.uid)
}

/// A FIFO, a socket and a character device node named `{prefix}-{kind}`: the
/// non-directories that are not regular files.
fn special_nodes(c: &Ctx, prefix: &str) -> R<Vec<String>> {
    let kinds = [
        ("fifo", FileType::Fifo, 0),
        ("sock", FileType::Socket, 0),
        ("chr", FileType::CharacterDevice, rustix::fs::makedev(1, 3)),
    ];
    let mut names = Vec::new();
    for (kind, typ, dev) in kinds {
        let name = format!("{prefix}-{kind}");
        rustix::fs::mknodat(c.d(), name.as_str(), typ, Mode::from_raw_mode(0o644), dev)
            .must(&format!("mknod {name}"))?;
        names.push(name);
    }
    Ok(names)
}

/// The kernel's `chown_common` asks to kill setuid on every non-directory, and setgid when it
/// comes with group-exec (or the caller is outside the group without CAP_FSETID): 6755
/// becomes 755 and 6745 becomes 2745, whether root or the owner (a member of the file's
/// group) does it — as for regular files.
fn chown_special_files(c: &Ctx, by_owner: bool) -> R<()> {
    for (before, after) in [(0o6755, 0o755), (0o6745, 0o2745)] {
        for name in special_nodes(c, &format!("{before:o}"))? {
            c.chown(&name, NOBODY, NOBODY)?;
            c.chmod(&name, before)?;
            check_mode(
                &format!("{name} mode before chown"),
                before,
                c.lstat(&name)?.perm(),
            )?;
            if by_owner {
                let owner = (Uid::from_raw(NOBODY), Gid::from_raw(NOBODY));
                as_nobody(|| {
                    rustix::fs::chownat(
                        c.d(),
                        name.as_str(),
                        Some(owner.0),
                        Some(owner.1),
                        AtFlags::SYMLINK_NOFOLLOW,
                    )
                })?
                .must(&format!("chown {name} by its owner nobody"))?;
            } else {
                c.chown(&name, 1234, 1234)?;
            }
            check_mode(
                &format!("{name} mode after chown"),
                after,
                c.lstat(&name)?.perm(),
            )?;
        }
    }
    Ok(())
}

fn chown_clears_suid_sgid_special_files(c: &Ctx) -> R<()> {
    chown_special_files(c, false)
}

fn chown_by_owner_clears_suid_special_files(c: &Ctx) -> R<()> {
    chown_special_files(c, true)
}

fn write_as(c: &Ctx, mode: u32, nobody: bool) -> R<u32> {
    write_as_group(c, mode, nobody, 0)
}

fn write_as_group(c: &Ctx, mode: u32, nobody: bool, gid: u32) -> R<u32> {
    c.create("f", b"")?;
    c.chown("f", 0, gid)?;
    c.chmod("f", mode)?;
    let fd = c.open("f", OFlags::WRONLY)?;
    let r = if nobody {
        as_nobody(|| rustix::io::write(&fd, b"data"))?
    } else {
        rustix::io::write(&fd, b"data")
    };
    r.must("write")?;
    Ok(c.stat("f")?.perm())
}

fn write_as_nobody_clears_suid(c: &Ctx) -> R<()> {
    check_mode(
        "mode after write by nobody",
        0o0777,
        write_as(c, 0o4777, true)?,
    )
}

fn write_as_nobody_clears_sgid_group_exec(c: &Ctx) -> R<()> {
    check_mode(
        "mode after write by nobody",
        0o0777,
        write_as(c, 0o2777, true)?,
    )
}

fn write_as_group_member_keeps_sgid_without_group_exec(c: &Ctx) -> R<()> {
    check_mode(
        "mode after write by group member nobody",
        0o2666,
        write_as_group(c, 0o2666, true, NOBODY)?,
    )
}

fn write_as_nonmember_clears_sgid_without_group_exec(c: &Ctx) -> R<()> {
    check_mode(
        "mode after write by non-member nobody",
        0o0666,
        write_as_group(c, 0o2666, true, 0)?,
    )
}

fn write_as_root_keeps_suid(c: &Ctx) -> R<()> {
    check_mode(
        "mode after write by root",
        0o4777,
        write_as(c, 0o4777, false)?,
    )
}

fn ftruncate_as_nobody_clears_suid(c: &Ctx) -> R<()> {
    c.create("f", b"abc")?;
    c.chmod("f", 0o4777)?;
    let fd = c.open("f", OFlags::WRONLY)?;
    as_nobody(|| rustix::fs::ftruncate(&fd, 1))?.must("ftruncate as nobody")?;
    check_mode("mode after ftruncate by nobody", 0o777, c.stat("f")?.perm())
}

fn set_times(c: &Ctx, name: &str, a: (i64, i64), m: (i64, i64)) -> rustix::io::Result<()> {
    rustix::fs::utimensat(c.d(), name, &stamps(a, m), AtFlags::empty())
}

fn utimensat_sets_exact_times(c: &Ctx) -> R<()> {
    c.create("f", b"")?;
    set_times(
        c,
        "f",
        (1_000_000_000, 123_456_789),
        (1_100_000_000, 987_654_321),
    )
    .must("utimensat")?;
    let st = c.stat("f")?;
    check_eq(
        "atime",
        Ts {
            sec: 1_000_000_000,
            nsec: 123_456_789,
        },
        st.atime,
    )?;
    check_eq(
        "mtime",
        Ts {
            sec: 1_100_000_000,
            nsec: 987_654_321,
        },
        st.mtime,
    )
}

fn utimensat_now_sets_current_time(c: &Ctx) -> R<()> {
    c.create("f", b"")?;
    set_times(c, "f", (0, 0), (0, 0)).must("utimensat to the epoch")?;
    let t0 = Ts::now();
    set_times(c, "f", (0, NOW), (0, NOW)).must("utimensat UTIME_NOW")?;
    let st = c.stat("f")?;
    for (what, t) in [("atime", st.atime), ("mtime", st.mtime)] {
        check(what, (t.sec - t0.sec).abs() <= 5, format!("about {t0}"), t)?;
    }
    Ok(())
}

fn utimensat_omit_keeps_atime(c: &Ctx) -> R<()> {
    c.create("f", b"")?;
    set_times(c, "f", (1_000_000_000, 0), (1_000_000_000, 0)).must("utimensat")?;
    set_times(c, "f", (0, OMIT), (1_200_000_000, 5)).must("utimensat OMIT atime")?;
    let st = c.stat("f")?;
    check_eq(
        "atime",
        Ts {
            sec: 1_000_000_000,
            nsec: 0,
        },
        st.atime,
    )?;
    check_eq(
        "mtime",
        Ts {
            sec: 1_200_000_000,
            nsec: 5,
        },
        st.mtime,
    )
}

fn utimensat_both_omit_changes_nothing(c: &Ctx) -> R<()> {
    c.create("f", b"")?;
    set_times(c, "f", (1_000_000_000, 0), (1_000_000_000, 0)).must("utimensat")?;
    let before = c.stat("f")?;
    c.tick();
    set_times(c, "f", (0, OMIT), (0, OMIT)).must("utimensat OMIT OMIT")?;
    let after = c.stat("f")?;
    check_eq(
        "(atime, mtime, ctime)",
        (before.atime, before.mtime, before.ctime),
        (after.atime, after.mtime, after.ctime),
    )
}

fn utimensat_updates_ctime(c: &Ctx) -> R<()> {
    c.create("f", b"")?;
    let before = c.stat("f")?;
    c.tick();
    set_times(c, "f", (1_000_000_000, 0), (1_000_000_000, 0)).must("utimensat")?;
    let after = c.stat("f")?;
    check(
        "ctime",
        after.ctime > before.ctime,
        format!("> {}", before.ctime),
        after.ctime,
    )
}

fn utimensat_pre_epoch_time(c: &Ctx) -> R<()> {
    c.create("f", b"")?;
    set_times(c, "f", (-86_400, 0), (-1000, 500)).must("utimensat before 1970")?;
    let st = c.stat("f")?;
    check_eq(
        "atime",
        Ts {
            sec: -86_400,
            nsec: 0,
        },
        st.atime,
    )?;
    check_eq(
        "mtime",
        Ts {
            sec: -1000,
            nsec: 500,
        },
        st.mtime,
    )
}

fn utimensat_invalid_nsec_einval(c: &Ctx) -> R<()> {
    c.create("f", b"")?;
    expect_errno(
        "utimensat nsec = 1e9",
        set_times(c, "f", (1, 1_000_000_000), (1, 0)),
        Errno::INVAL,
    )
}

fn utimensat_now_as_writer_ok(c: &Ctx) -> R<()> {
    c.create("f", b"")?;
    c.chmod("f", 0o666)?;
    set_times(c, "f", (0, 0), (0, 0)).must("utimensat to the epoch")?;
    let r = as_nobody(|| set_times(c, "f", (0, NOW), (0, NOW)))?;
    r.must("UTIME_NOW by a non-owner writer")?;
    let m = c.stat("f")?.mtime;
    check("mtime", m.sec > 0, "the current time", m)
}

fn utimensat_now_as_non_writer_eacces(c: &Ctx) -> R<()> {
    c.create("f", b"")?;
    c.chmod("f", 0o644)?;
    let r = as_nobody(|| set_times(c, "f", (0, NOW), (0, NOW)))?;
    expect_errno(
        "UTIME_NOW by a non-owner without write permission",
        r,
        Errno::ACCESS,
    )
}

fn utimensat_explicit_as_non_owner_eperm(c: &Ctx) -> R<()> {
    c.create("f", b"")?;
    c.chmod("f", 0o666)?;
    let r = as_nobody(|| set_times(c, "f", (5, 0), (5, 0)))?;
    expect_errno("explicit times by a non-owner", r, Errno::PERM)
}

fn futimens_sets_times(c: &Ctx) -> R<()> {
    let fd = c.open("f", OFlags::CREATE | OFlags::RDWR)?;
    rustix::fs::futimens(&fd, &stamps((1_234_567_890, 1), (1_234_567_891, 2))).must("futimens")?;
    let st = fst(&fd).must("fstat")?;
    check_eq(
        "atime",
        Ts {
            sec: 1_234_567_890,
            nsec: 1,
        },
        st.atime,
    )?;
    check_eq(
        "mtime",
        Ts {
            sec: 1_234_567_891,
            nsec: 2,
        },
        st.mtime,
    )
}
