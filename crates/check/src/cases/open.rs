//! open/creat: the flag matrix (O_CREAT, O_EXCL, O_TRUNC, O_APPEND, O_NOFOLLOW, O_DIRECTORY,
//! O_NOATIME) and the errno each misuse must produce, including permission checks made as an
//! unprivileged user (per-thread credentials) when running as root.

use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

use crate::creds::{as_nobody, NOBODY};
use crate::ctx::Ctx;
use crate::util::*;

cases! { "open";
    open_creat_mode_applied [] "O_CREAT makes a regular file with the requested mode minus umask";
    open_creat_existing_keeps_content [] "O_CREAT without O_EXCL opens an existing file and keeps its data";
    open_excl_existing_eexist [] "O_CREAT|O_EXCL on an existing file fails with EEXIST";
    open_excl_dangling_symlink_eexist [] "O_CREAT|O_EXCL on a dangling symlink fails with EEXIST and creates nothing";
    open_creat_dangling_symlink_creates_target [] "O_CREAT through a dangling symlink creates the link's target";
    open_missing_enoent [] "opening a missing file without O_CREAT fails with ENOENT";
    open_missing_parent_enoent [] "O_CREAT under a missing directory fails with ENOENT";
    open_dir_wronly_eisdir [] "opening a directory O_WRONLY fails with EISDIR";
    open_dir_rdwr_eisdir [] "opening a directory O_RDWR fails with EISDIR";
    open_dir_creat_eisdir [] "O_CREAT on an existing directory fails with EISDIR";
    open_file_as_dir_component_enotdir [] "a regular file used as a path component gives ENOTDIR";
    open_directory_flag_on_file_enotdir [] "O_DIRECTORY on a regular file fails with ENOTDIR";
    open_directory_flag_on_dir_ok [] "O_DIRECTORY on a directory opens it";
    open_creat_directory_einval [] "O_CREAT|O_DIRECTORY is refused with EINVAL (Linux >= 6.4)";
    open_nofollow_symlink_eloop [] "O_NOFOLLOW on a symlink fails with ELOOP";
    open_nofollow_regular_ok [] "O_NOFOLLOW on a regular file opens it";
    open_symlink_loop_eloop [] "two symlinks pointing at each other give ELOOP";
    open_self_symlink_eloop [] "a symlink pointing at itself gives ELOOP";
    open_name_too_long_enametoolong [] "a 256-byte name fails with ENAMETOOLONG";
    open_name_255_ok [] "a 255-byte name can be created, stat'ed and listed";
    open_path_too_long_enametoolong [] "a path longer than PATH_MAX fails with ENAMETOOLONG";
    open_creat_trailing_slash_eisdir [] "O_CREAT on a new name with a trailing slash fails with EISDIR";
    open_file_trailing_slash_enotdir [] "a regular file named with a trailing slash gives ENOTDIR";
    open_append_writes_at_end [] "O_APPEND writes go to the end whatever the file position";
    open_append_pwrite_appends [] "pwrite on an O_APPEND fd appends (Linux behaviour)";
    open_trunc_empties_file [] "O_TRUNC empties an existing file and keeps its inode";
    open_rdonly_write_ebadf [] "write on an O_RDONLY descriptor fails with EBADF";
    open_wronly_read_ebadf [] "read on an O_WRONLY descriptor fails with EBADF";
    open_rdwr_pwrite_pread_roundtrip [] "pwrite then pread at an offset returns the same bytes, zeros before";
    open_as_nobody_no_read_eacces ["other_user"] "an unprivileged user opening a 0600 root file for reading gets EACCES";
    open_as_nobody_no_write_eacces ["other_user"] "an unprivileged user opening a 0644 root file for writing gets EACCES";
    open_as_nobody_owner_ok ["other_user"] "an unprivileged owner opens its own 0600 file read-write";
    open_as_nobody_creat_unwritable_dir_eacces ["other_user"] "an unprivileged user creating in a 0755 root directory gets EACCES";
    open_as_nobody_no_search_eacces ["other_user"] "an unprivileged user resolving through a 0700 root directory gets EACCES";
    open_as_nobody_creat_owner ["other_user"] "a file created by an unprivileged user is owned by its fsuid and fsgid";
    open_creat_sgid_dir_inherits_gid ["root"] "files and dirs created in a setgid dir take its group; subdirs keep setgid";
    open_noatime_non_owner_eperm ["other_user"] "O_NOATIME by a non-owner without CAP_FOWNER fails with EPERM";
    open_opath_needs_no_read_permission ["other_user"] "O_PATH opens a file its caller may not read; reading through it gives EBADF";
}

const RW: OFlags = OFlags::RDWR;
const CREATE: OFlags = OFlags::CREATE;

fn open_creat_mode_applied(c: &Ctx) -> R<()> {
    let fd = c
        .try_open("f", CREATE | OFlags::WRONLY | OFlags::EXCL, 0o640)
        .must("create f with mode 0640")?;
    let st = fst(&fd).must("fstat")?;
    check_eq("file type", libc::S_IFREG, st.kind())?;
    check_mode("mode", 0o640 & !c.env.umask, st.perm())?;
    check_eq("size of a new file", 0, st.size)
}

fn open_creat_existing_keeps_content(c: &Ctx) -> R<()> {
    c.create("f", b"hello")?;
    let fd = c.open("f", CREATE | OFlags::WRONLY)?;
    check_eq(
        "size after reopen with O_CREAT",
        5,
        fst(&fd).must("fstat")?.size,
    )?;
    check_bytes("content", b"hello", &c.read("f")?)
}

fn open_excl_existing_eexist(c: &Ctx) -> R<()> {
    c.create("f", b"x")?;
    expect_errno(
        "O_CREAT|O_EXCL on existing f",
        c.try_open("f", CREATE | OFlags::EXCL | RW, 0o644),
        Errno::EXIST,
    )?;
    check_bytes("content untouched", b"x", &c.read("f")?)
}

fn open_excl_dangling_symlink_eexist(c: &Ctx) -> R<()> {
    c.symlink("target", "l")?;
    expect_errno(
        "O_CREAT|O_EXCL on dangling symlink",
        c.try_open("l", CREATE | OFlags::EXCL | RW, 0o644),
        Errno::EXIST,
    )?;
    c.gone("target")
}

fn open_creat_dangling_symlink_creates_target(c: &Ctx) -> R<()> {
    c.symlink("target", "l")?;
    let fd = c.open("l", CREATE | OFlags::WRONLY)?;
    write_all(&fd, b"via link").must("write via link")?;
    check_eq("target type", libc::S_IFREG, c.lstat("target")?.kind())?;
    check_bytes("target content", b"via link", &c.read("target")?)?;
    check_eq("link still a symlink", libc::S_IFLNK, c.lstat("l")?.kind())
}

fn open_missing_enoent(c: &Ctx) -> R<()> {
    expect_errno(
        "open missing",
        c.try_open("missing", OFlags::RDONLY, 0),
        Errno::NOENT,
    )
}

fn open_missing_parent_enoent(c: &Ctx) -> R<()> {
    expect_errno(
        "create nodir/f",
        c.try_open("nodir/f", CREATE | RW, 0o644),
        Errno::NOENT,
    )?;
    c.gone("nodir")
}

fn open_dir_wronly_eisdir(c: &Ctx) -> R<()> {
    c.mkdir("d", 0o755)?;
    expect_errno(
        "open dir O_WRONLY",
        c.try_open("d", OFlags::WRONLY, 0),
        Errno::ISDIR,
    )
}

fn open_dir_rdwr_eisdir(c: &Ctx) -> R<()> {
    c.mkdir("d", 0o755)?;
    expect_errno("open dir O_RDWR", c.try_open("d", RW, 0), Errno::ISDIR)
}

fn open_dir_creat_eisdir(c: &Ctx) -> R<()> {
    c.mkdir("d", 0o755)?;
    expect_errno(
        "open dir O_CREAT|O_RDONLY",
        c.try_open("d", CREATE | OFlags::RDONLY, 0o644),
        Errno::ISDIR,
    )?;
    check_eq("d still a directory", libc::S_IFDIR, c.stat("d")?.kind())
}

fn open_file_as_dir_component_enotdir(c: &Ctx) -> R<()> {
    c.create("f", b"")?;
    expect_errno(
        "open f/x",
        c.try_open("f/x", OFlags::RDONLY, 0),
        Errno::NOTDIR,
    )?;
    expect_errno(
        "create f/x",
        c.try_open("f/x", CREATE | RW, 0o644),
        Errno::NOTDIR,
    )
}

fn open_directory_flag_on_file_enotdir(c: &Ctx) -> R<()> {
    c.create("f", b"")?;
    expect_errno(
        "O_DIRECTORY on file",
        c.try_open("f", OFlags::DIRECTORY | OFlags::RDONLY, 0),
        Errno::NOTDIR,
    )
}

fn open_directory_flag_on_dir_ok(c: &Ctx) -> R<()> {
    c.mkdir("d", 0o755)?;
    let fd = c.open("d", OFlags::DIRECTORY | OFlags::RDONLY)?;
    check_eq(
        "type via fstat",
        libc::S_IFDIR,
        fst(&fd).must("fstat")?.kind(),
    )
}

fn open_creat_directory_einval(c: &Ctx) -> R<()> {
    expect_errno(
        "O_CREAT|O_DIRECTORY",
        c.try_open("n", CREATE | OFlags::DIRECTORY | OFlags::RDONLY, 0o755),
        Errno::INVAL,
    )?;
    c.gone("n")
}

fn open_nofollow_symlink_eloop(c: &Ctx) -> R<()> {
    c.create("f", b"")?;
    c.symlink("f", "l")?;
    expect_errno(
        "O_NOFOLLOW on symlink",
        c.try_open("l", OFlags::NOFOLLOW | OFlags::RDONLY, 0),
        Errno::LOOP,
    )
}

fn open_nofollow_regular_ok(c: &Ctx) -> R<()> {
    c.create("f", b"abc")?;
    let fd = c.open("f", OFlags::NOFOLLOW | OFlags::RDONLY)?;
    check_eq("size", 3, fst(&fd).must("fstat")?.size)
}

fn open_symlink_loop_eloop(c: &Ctx) -> R<()> {
    c.symlink("b", "a")?;
    c.symlink("a", "b")?;
    expect_errno(
        "open a (a->b->a)",
        c.try_open("a", OFlags::RDONLY, 0),
        Errno::LOOP,
    )?;
    expect_errno(
        "create through loop",
        c.try_open("a", CREATE | RW, 0o644),
        Errno::LOOP,
    )
}

fn open_self_symlink_eloop(c: &Ctx) -> R<()> {
    c.symlink("l", "l")?;
    expect_errno(
        "open l (l->l)",
        c.try_open("l", OFlags::RDONLY, 0),
        Errno::LOOP,
    )
}

fn open_name_too_long_enametoolong(c: &Ctx) -> R<()> {
    let name = "n".repeat(256);
    expect_errno(
        "create 256-byte name",
        c.try_open(&name, CREATE | RW, 0o644),
        Errno::NAMETOOLONG,
    )
}

fn open_name_255_ok(c: &Ctx) -> R<()> {
    let max = rustix::fs::fstatfs(c.d()).must("fstatfs")?.f_namelen;
    if max < 255 {
        return Err(skip(format!("filesystem names are limited to {max} bytes")));
    }
    let name = "m".repeat(255);
    c.create(&name, b"x")?;
    check_eq("size", 1, c.stat(&name)?.size)?;
    check_eq("listing", vec![name.clone()], c.list(".")?)
}

fn open_path_too_long_enametoolong(c: &Ctx) -> R<()> {
    let path = format!("{}f", "./".repeat(2100));
    expect_errno(
        "open a 4201-byte path",
        c.try_open(&path, CREATE | RW, 0o644),
        Errno::NAMETOOLONG,
    )
}

fn open_creat_trailing_slash_eisdir(c: &Ctx) -> R<()> {
    expect_errno(
        "create new/",
        c.try_open("new/", CREATE | RW, 0o644),
        Errno::ISDIR,
    )?;
    c.gone("new")
}

fn open_file_trailing_slash_enotdir(c: &Ctx) -> R<()> {
    c.create("f", b"")?;
    expect_errno(
        "open f/",
        c.try_open("f/", OFlags::RDONLY, 0),
        Errno::NOTDIR,
    )
}

fn open_append_writes_at_end(c: &Ctx) -> R<()> {
    c.create("f", b"abc")?;
    let fd = c.open("f", OFlags::WRONLY | OFlags::APPEND)?;
    rustix::fs::seek(&fd, rustix::fs::SeekFrom::Start(0)).must("lseek 0")?;
    write_all(&fd, b"de").must("append write")?;
    check_eq(
        "position after append",
        5,
        rustix::fs::tell(&fd).must("tell")?,
    )?;
    check_bytes("content", b"abcde", &c.read("f")?)
}

fn open_append_pwrite_appends(c: &Ctx) -> R<()> {
    c.create("f", b"abc")?;
    let fd = c.open("f", OFlags::WRONLY | OFlags::APPEND)?;
    let n = rustix::io::pwrite(&fd, b"XY", 0).must("pwrite at 0")?;
    check_eq("bytes written", 2, n)?;
    check_bytes("content", b"abcXY", &c.read("f")?)
}

fn open_trunc_empties_file(c: &Ctx) -> R<()> {
    c.create("f", b"hello world")?;
    let ino = c.stat("f")?.ino;
    let fd = c.open("f", OFlags::WRONLY | OFlags::TRUNC)?;
    let st = fst(&fd).must("fstat")?;
    check_eq("size after O_TRUNC", 0, st.size)?;
    check_eq("inode kept", ino, st.ino)?;
    check_bytes("content", b"", &c.read("f")?)
}

fn open_rdonly_write_ebadf(c: &Ctx) -> R<()> {
    c.create("f", b"abc")?;
    let fd = c.open("f", OFlags::RDONLY)?;
    expect_errno(
        "write on O_RDONLY fd",
        rustix::io::write(&fd, b"x"),
        Errno::BADF,
    )?;
    check_bytes("content", b"abc", &c.read("f")?)
}

fn open_wronly_read_ebadf(c: &Ctx) -> R<()> {
    c.create("f", b"abc")?;
    let fd = c.open("f", OFlags::WRONLY)?;
    let mut b = [0u8; 4];
    expect_errno(
        "read on O_WRONLY fd",
        rustix::io::read(&fd, &mut b),
        Errno::BADF,
    )
}

fn open_rdwr_pwrite_pread_roundtrip(c: &Ctx) -> R<()> {
    let data = c.rng().bytes(10_000);
    let fd = c.open("f", CREATE | RW)?;
    pwrite_all(&fd, &data, 3000).must("pwrite 10000 bytes at 3000")?;
    check_eq("size", 13_000, fst(&fd).must("fstat")?.size)?;
    let back = pread_upto(&fd, 13_000, 0).must("pread")?;
    check(
        "first 3000 bytes are zero",
        back[..3000].iter().all(|b| *b == 0),
        "zeros",
        "non-zero bytes",
    )?;
    check(
        &format!("bytes 3000..13000 (got {} bytes)", back.len()),
        back[3000..] == data[..],
        "the written data",
        "different bytes",
    )
}

fn open_as_nobody_no_read_eacces(c: &Ctx) -> R<()> {
    c.create("f", b"secret")?;
    c.chmod("f", 0o600)?;
    let r = as_nobody(|| c.try_open("f", OFlags::RDONLY, 0))?;
    expect_errno("open 0600 root file as nobody", r, Errno::ACCESS)
}

fn open_as_nobody_no_write_eacces(c: &Ctx) -> R<()> {
    c.create("f", b"data")?;
    c.chmod("f", 0o644)?;
    let r = as_nobody(|| c.try_open("f", OFlags::WRONLY, 0))?;
    expect_errno("open 0644 root file O_WRONLY as nobody", r, Errno::ACCESS)?;
    let r = as_nobody(|| c.try_open("f", OFlags::RDONLY, 0))?;
    r.map(drop).must("open 0644 root file O_RDONLY as nobody")
}

fn open_as_nobody_owner_ok(c: &Ctx) -> R<()> {
    c.create("f", b"mine")?;
    c.chmod("f", 0o600)?;
    c.chown("f", NOBODY, NOBODY)?;
    let r = as_nobody(|| c.try_open("f", RW, 0).map(|fd| read_all(&fd)))?;
    let data = r.must("open own 0600 file as nobody")?.must("read")?;
    check_bytes("content", b"mine", &data)
}

fn open_as_nobody_creat_unwritable_dir_eacces(c: &Ctx) -> R<()> {
    c.mkdir("d", 0o755)?;
    let r = as_nobody(|| c.try_open("d/f", CREATE | RW, 0o644))?;
    expect_errno("create in 0755 root dir as nobody", r, Errno::ACCESS)?;
    c.gone("d/f")
}

fn open_as_nobody_no_search_eacces(c: &Ctx) -> R<()> {
    c.mkdir("d", 0o700)?;
    c.create("d/f", b"x")?;
    c.chmod("d/f", 0o644)?;
    let r = as_nobody(|| c.try_open("d/f", OFlags::RDONLY, 0))?;
    expect_errno("open through 0700 root dir as nobody", r, Errno::ACCESS)
}

fn open_as_nobody_creat_owner(c: &Ctx) -> R<()> {
    c.mkdir("d", 0o777)?;
    let r = as_nobody(|| c.try_open("d/f", CREATE | RW | OFlags::EXCL, 0o644))?;
    let fd = r.must("create in 0777 dir as nobody")?;
    let st = fst(&fd).must("fstat")?;
    check_eq("owner uid", NOBODY, st.uid)?;
    check_eq("owner gid", NOBODY, st.gid)?;
    check_eq("owner uid via stat", NOBODY, c.stat("d/f")?.uid)
}

fn open_creat_sgid_dir_inherits_gid(c: &Ctx) -> R<()> {
    rustix::fs::mkdirat(c.d(), "d", Mode::from_raw_mode(0o755)).must("mkdir d")?;
    c.chown("d", 0, 4242)?;
    c.chmod("d", 0o2775)?;
    c.create("d/f", b"")?;
    check_eq("gid of file in setgid dir", 4242, c.stat("d/f")?.gid)?;
    rustix::fs::mkdirat(c.d(), "d/sub", Mode::from_raw_mode(0o755)).must("mkdir d/sub")?;
    let sub = c.stat("d/sub")?;
    check_eq("gid of subdir", 4242, sub.gid)?;
    check(
        "subdir keeps S_ISGID",
        sub.mode & libc::S_ISGID != 0,
        "S_ISGID set",
        format!("mode {:o}", sub.perm()),
    )
}

fn open_noatime_non_owner_eperm(c: &Ctx) -> R<()> {
    c.create("f", b"x")?;
    c.chmod("f", 0o644)?;
    let r = as_nobody(|| c.try_open("f", OFlags::RDONLY | OFlags::NOATIME, 0))?;
    expect_errno("O_NOATIME as non-owner", r, Errno::PERM)
}

fn open_opath_needs_no_read_permission(c: &Ctx) -> R<()> {
    c.create("f", b"secret")?;
    c.chmod("f", 0o000)?;
    let r = as_nobody(|| {
        c.try_open("f", OFlags::PATH, 0).map(|fd| {
            let mut b = [0u8; 4];
            (fst(&fd), rustix::io::read(&fd, &mut b))
        })
    })?;
    let (st, rd) = r.must("O_PATH open of a 0000 root file as nobody")?;
    check_eq(
        "size via fstat of the O_PATH fd",
        6,
        st.must("fstat O_PATH fd")?.size,
    )?;
    expect_errno("read through an O_PATH fd", rd, Errno::BADF)
}
