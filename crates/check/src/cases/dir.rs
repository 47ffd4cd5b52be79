//! mkdir and rmdir: link counts of new and parent directories, the errno for each misuse
//! ('.', '..', non-empty, wrong type, too long), and directories removed while open.

use rustix::fs::{AtFlags, Mode, OFlags};
use rustix::io::Errno;

use crate::ctx::Ctx;
use crate::util::*;

cases! { "dir";
    mkdir_creates_dir_nlink2 [] "a new directory has nlink 2, is empty and has the requested mode";
    mkdir_existing_eexist [] "mkdir over an existing directory fails with EEXIST";
    mkdir_over_file_eexist [] "mkdir over a regular file fails with EEXIST";
    mkdir_over_dangling_symlink_eexist [] "mkdir over a dangling symlink fails with EEXIST and creates nothing";
    mkdir_missing_parent_enoent [] "mkdir under a missing directory fails with ENOENT";
    mkdir_under_file_enotdir [] "mkdir under a regular file fails with ENOTDIR";
    mkdir_name_too_long_enametoolong [] "mkdir with a 256-byte name fails with ENAMETOOLONG";
    mkdir_trailing_slash_ok [] "mkdir 'new/' creates the directory";
    mkdir_parent_nlink_incremented [] "mkdir raises the parent's nlink by one";
    mkdir_in_removed_dir_enoent [] "mkdir inside a directory that was removed while open fails with ENOENT";
    rmdir_empty_ok [] "rmdir removes an empty directory";
    rmdir_nonempty_enotempty [] "rmdir of a non-empty directory fails with ENOTEMPTY";
    rmdir_file_enotdir [] "rmdir of a regular file fails with ENOTDIR";
    rmdir_missing_enoent [] "rmdir of a missing name fails with ENOENT";
    rmdir_dot_einval [] "rmdir of 'd/.' fails with EINVAL";
    rmdir_dotdot_enotempty [] "rmdir of 'd/..' fails with ENOTEMPTY";
    rmdir_parent_nlink_decremented [] "rmdir lowers the parent's nlink by one";
    rmdir_open_dir_fstat_nlink0 [] "a directory removed while open reports nlink 0 and lists no entries";
    rmdir_symlink_to_dir_enotdir [] "rmdir of a symlink to a directory fails with ENOTDIR";
    mkdir_keeps_sticky_bit [] "mkdir with mode 01777 keeps the sticky bit (minus umask)";
}

fn mkdir_creates_dir_nlink2(c: &Ctx) -> R<()> {
    rustix::fs::mkdirat(c.d(), "d", Mode::from_raw_mode(0o750)).must("mkdir d 0750")?;
    let st = c.stat("d")?;
    check_eq("type", libc::S_IFDIR, st.kind())?;
    check_mode("mode", 0o750 & !c.env.umask, st.perm())?;
    check_eq("nlink", 2, st.nlink)?;
    check_eq("entries", Vec::<String>::new(), c.list("d")?)
}

fn mkdir_existing_eexist(c: &Ctx) -> R<()> {
    c.mkdir("d", 0o755)?;
    expect_errno(
        "mkdir d again",
        rustix::fs::mkdirat(c.d(), "d", Mode::from_raw_mode(0o755)),
        Errno::EXIST,
    )
}

fn mkdir_over_file_eexist(c: &Ctx) -> R<()> {
    c.create("f", b"")?;
    expect_errno(
        "mkdir f",
        rustix::fs::mkdirat(c.d(), "f", Mode::from_raw_mode(0o755)),
        Errno::EXIST,
    )?;
    check_eq("f still a file", libc::S_IFREG, c.stat("f")?.kind())
}

fn mkdir_over_dangling_symlink_eexist(c: &Ctx) -> R<()> {
    c.symlink("target", "l")?;
    expect_errno(
        "mkdir l",
        rustix::fs::mkdirat(c.d(), "l", Mode::from_raw_mode(0o755)),
        Errno::EXIST,
    )?;
    c.gone("target")
}

fn mkdir_missing_parent_enoent(c: &Ctx) -> R<()> {
    expect_errno(
        "mkdir a/b",
        rustix::fs::mkdirat(c.d(), "a/b", Mode::from_raw_mode(0o755)),
        Errno::NOENT,
    )
}

fn mkdir_under_file_enotdir(c: &Ctx) -> R<()> {
    c.create("f", b"")?;
    expect_errno(
        "mkdir f/d",
        rustix::fs::mkdirat(c.d(), "f/d", Mode::from_raw_mode(0o755)),
        Errno::NOTDIR,
    )
}

fn mkdir_name_too_long_enametoolong(c: &Ctx) -> R<()> {
    let name = "d".repeat(256);
    expect_errno(
        "mkdir 256-byte name",
        rustix::fs::mkdirat(c.d(), name.as_str(), Mode::from_raw_mode(0o755)),
        Errno::NAMETOOLONG,
    )
}

fn mkdir_trailing_slash_ok(c: &Ctx) -> R<()> {
    rustix::fs::mkdirat(c.d(), "new/", Mode::from_raw_mode(0o755)).must("mkdir new/")?;
    check_eq("type", libc::S_IFDIR, c.stat("new")?.kind())
}

fn mkdir_parent_nlink_incremented(c: &Ctx) -> R<()> {
    c.mkdir("p", 0o755)?;
    let before = c.stat("p")?.nlink;
    if before == 1 {
        return Err(skip(
            "directory nlink not maintained (reports 1, as btrfs-like filesystems do)",
        ));
    }
    c.mkdir("p/a", 0o755)?;
    c.mkdir("p/b", 0o755)?;
    check_eq(
        "parent nlink after two mkdirs",
        before + 2,
        c.stat("p")?.nlink,
    )
}

fn mkdir_in_removed_dir_enoent(c: &Ctx) -> R<()> {
    c.mkdir("d", 0o755)?;
    let fd = c.open("d", OFlags::DIRECTORY | OFlags::RDONLY)?;
    rustix::fs::unlinkat(c.d(), "d", AtFlags::REMOVEDIR).must("rmdir d")?;
    expect_errno(
        "mkdirat(removed d, x)",
        rustix::fs::mkdirat(&fd, "x", Mode::from_raw_mode(0o755)),
        Errno::NOENT,
    )?;
    expect_errno(
        "create in removed d",
        rustix::fs::openat(
            &fd,
            "f",
            OFlags::CREATE | OFlags::RDWR | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o644),
        ),
        Errno::NOENT,
    )
}

fn rmdir(c: &Ctx, name: &str) -> rustix::io::Result<()> {
    rustix::fs::unlinkat(c.d(), name, AtFlags::REMOVEDIR)
}

fn rmdir_empty_ok(c: &Ctx) -> R<()> {
    c.mkdir("d", 0o755)?;
    rmdir(c, "d").must("rmdir d")?;
    c.gone("d")
}

fn rmdir_nonempty_enotempty(c: &Ctx) -> R<()> {
    c.mkdir("d", 0o755)?;
    c.create("d/f", b"")?;
    expect_errnos(
        "rmdir non-empty d",
        rmdir(c, "d"),
        &[Errno::NOTEMPTY, Errno::EXIST],
    )?;
    c.stat("d/f").map(drop)
}

fn rmdir_file_enotdir(c: &Ctx) -> R<()> {
    c.create("f", b"")?;
    expect_errno("rmdir f", rmdir(c, "f"), Errno::NOTDIR)
}

fn rmdir_missing_enoent(c: &Ctx) -> R<()> {
    expect_errno("rmdir missing", rmdir(c, "missing"), Errno::NOENT)
}

fn rmdir_dot_einval(c: &Ctx) -> R<()> {
    c.mkdir("d", 0o755)?;
    expect_errno("rmdir d/.", rmdir(c, "d/."), Errno::INVAL)?;
    c.stat("d").map(drop)
}

fn rmdir_dotdot_enotempty(c: &Ctx) -> R<()> {
    c.mkdir("d", 0o755)?;
    expect_errno("rmdir d/..", rmdir(c, "d/.."), Errno::NOTEMPTY)
}

fn rmdir_parent_nlink_decremented(c: &Ctx) -> R<()> {
    c.mkdir("p", 0o755)?;
    c.mkdir("p/a", 0o755)?;
    let before = c.stat("p")?.nlink;
    if before == 1 {
        return Err(skip(
            "directory nlink not maintained (reports 1, as btrfs-like filesystems do)",
        ));
    }
    rmdir(c, "p/a").must("rmdir p/a")?;
    check_eq("parent nlink after rmdir", before - 1, c.stat("p")?.nlink)
}

fn rmdir_open_dir_fstat_nlink0(c: &Ctx) -> R<()> {
    c.mkdir("d", 0o755)?;
    let fd = c.open("d", OFlags::DIRECTORY | OFlags::RDONLY)?;
    rmdir(c, "d").must("rmdir d")?;
    check_eq(
        "nlink of removed dir",
        0,
        fst(&fd).must("fstat removed dir")?.nlink,
    )?;
    let mut dir = rustix::fs::Dir::new(fd).must("Dir::new")?;
    let mut names = Vec::new();
    while let Some(e) = dir.read() {
        match e {
            Ok(e) => names.push(e.file_name().to_string_lossy().into_owned()),
            Err(Errno::NOENT) => break,
            Err(e) => {
                return Err(fail(
                    "no entries or ENOENT",
                    errno_name(e),
                    "readdir of removed dir",
                ))
            }
        }
    }
    names.retain(|n| n != "." && n != "..");
    check_eq("entries of removed dir", Vec::<String>::new(), names)
}

fn rmdir_symlink_to_dir_enotdir(c: &Ctx) -> R<()> {
    c.mkdir("d", 0o755)?;
    c.symlink("d", "l")?;
    expect_errno("rmdir l (symlink to dir)", rmdir(c, "l"), Errno::NOTDIR)?;
    c.stat("d").map(drop)
}

fn mkdir_keeps_sticky_bit(c: &Ctx) -> R<()> {
    rustix::fs::mkdirat(c.d(), "d", Mode::from_raw_mode(0o1777)).must("mkdir d 01777")?;
    check_mode("mode", 0o1777 & !c.env.umask, c.stat("d")?.perm())
}
