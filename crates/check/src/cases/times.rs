//! Timestamp rules per operation: which of atime/mtime/ctime each call must move (and which it
//! must not), on the file and on its directory. atime cases respect the mount's policy: they
//! are skipped on noatime mounts and are written so relatime also has to update (atime is
//! first set older than mtime).

use rustix::fs::{AtFlags, Mode, OFlags};

use crate::ctx::Ctx;
use crate::util::*;

cases! { "times";
    create_sets_times_now [] "a new file's atime, mtime and ctime are the current time, ctime >= mtime";
    create_updates_parent_mtime_ctime [] "creating a file moves the directory's mtime and ctime";
    mkdir_updates_parent_mtime_ctime [] "mkdir moves the parent's mtime and ctime";
    rmdir_updates_parent_mtime_ctime [] "rmdir moves the parent's mtime and ctime";
    symlink_updates_parent_mtime_ctime [] "symlink moves the parent's mtime and ctime";
    write_updates_mtime_ctime [] "write moves mtime and ctime forward";
    write_keeps_atime [] "write leaves atime alone";
    read_keeps_mtime_ctime [] "read leaves mtime and ctime alone";
    read_updates_atime ["atime"] "read moves an atime that is older than mtime (strictatime and relatime alike)";
    readdir_updates_dir_atime ["atime"] "listing a directory moves its old atime";
    noatime_read_keeps_atime ["noatime"] "on a noatime mount, reading (also after the kernel dropped its page cache) leaves an old atime alone";
    noatime_exec_keeps_atime ["noatime"] "on a noatime mount, executing a program leaves its old atime alone";
    noatime_readdir_keeps_dir_atime ["noatime"] "on a noatime mount, listing a directory leaves its old atime alone";
    ftruncate_updates_mtime_ctime [] "ftruncate to a new size moves mtime and ctime";
    open_trunc_updates_mtime_ctime [] "O_TRUNC on a non-empty file moves mtime and ctime";
    copy_file_range_updates_dest_mtime [] "copy_file_range moves the destination's mtime";
    readdir_keeps_dir_mtime [] "listing a directory leaves its mtime alone";
    mtime_set_then_write_is_now [] "after setting mtime to 2001, a write brings it back to now";
}

const OLD: (i64, i64) = (1_000_000_000, 0);

fn age(c: &Ctx, name: &str) -> R<St> {
    rustix::fs::utimensat(c.d(), name, &stamps(OLD, (OLD.0 + 10, 0)), AtFlags::empty())
        .must(&format!("utimensat {name} to 2001"))?;
    c.stat(name)
}

fn moved(what: &str, before: Ts, after: Ts) -> R<()> {
    check(what, after > before, format!("> {before}"), after)
}

fn create_sets_times_now(c: &Ctx) -> R<()> {
    let t0 = Ts::now();
    c.create("f", b"")?;
    let st = c.stat("f")?;
    for (what, t) in [
        ("atime", st.atime),
        ("mtime", st.mtime),
        ("ctime", st.ctime),
    ] {
        check(what, (t.sec - t0.sec).abs() <= 5, format!("about {t0}"), t)?;
    }
    check(
        "ctime of a new file",
        st.ctime >= st.mtime,
        format!(">= mtime {}", st.mtime),
        st.ctime,
    )
}

fn parent_moves(c: &Ctx, op: impl FnOnce() -> R<()>) -> R<()> {
    c.mkdir("d", 0o755)?;
    let before = c.stat("d")?;
    c.tick();
    op()?;
    let after = c.stat("d")?;
    moved("parent mtime", before.mtime, after.mtime)?;
    moved("parent ctime", before.ctime, after.ctime)
}

fn create_updates_parent_mtime_ctime(c: &Ctx) -> R<()> {
    parent_moves(c, || c.create("d/f", b""))
}

fn mkdir_updates_parent_mtime_ctime(c: &Ctx) -> R<()> {
    parent_moves(c, || {
        rustix::fs::mkdirat(c.d(), "d/sub", Mode::from_raw_mode(0o755)).must("mkdir d/sub")
    })
}

fn rmdir_updates_parent_mtime_ctime(c: &Ctx) -> R<()> {
    c.mkdir("e", 0o755)?;
    c.mkdir("e/sub", 0o755)?;
    let before = c.stat("e")?;
    c.tick();
    rustix::fs::unlinkat(c.d(), "e/sub", AtFlags::REMOVEDIR).must("rmdir e/sub")?;
    let after = c.stat("e")?;
    moved("parent mtime", before.mtime, after.mtime)?;
    moved("parent ctime", before.ctime, after.ctime)
}

fn symlink_updates_parent_mtime_ctime(c: &Ctx) -> R<()> {
    parent_moves(c, || c.symlink("x", "d/l"))
}

fn write_updates_mtime_ctime(c: &Ctx) -> R<()> {
    c.create("f", b"")?;
    let before = c.stat("f")?;
    c.tick();
    let fd = c.open("f", OFlags::WRONLY)?;
    write_all(&fd, b"x").must("write")?;
    let after = fst(&fd).must("fstat")?;
    moved("mtime", before.mtime, after.mtime)?;
    moved("ctime", before.ctime, after.ctime)
}

fn write_keeps_atime(c: &Ctx) -> R<()> {
    c.create("f", b"")?;
    let before = age(c, "f")?;
    let fd = c.open("f", OFlags::WRONLY)?;
    write_all(&fd, b"x").must("write")?;
    check_eq("atime", before.atime, fst(&fd).must("fstat")?.atime)
}

fn read_keeps_mtime_ctime(c: &Ctx) -> R<()> {
    c.create("f", b"data")?;
    let before = c.stat("f")?;
    c.tick();
    c.read("f")?;
    let after = c.stat("f")?;
    check_eq(
        "(mtime, ctime)",
        (before.mtime, before.ctime),
        (after.mtime, after.ctime),
    )
}

fn read_updates_atime(c: &Ctx) -> R<()> {
    c.create("f", b"data")?;
    let before = age(c, "f")?;
    c.read("f")?;
    moved("atime after read", before.atime, c.stat("f")?.atime)
}

fn readdir_updates_dir_atime(c: &Ctx) -> R<()> {
    c.mkdir("d", 0o755)?;
    c.create("d/f", b"")?;
    let before = age(c, "d")?;
    c.list("d")?;
    moved(
        "directory atime after readdir",
        before.atime,
        c.stat("d")?.atime,
    )
}

/// Drops clean page-cache pages, so the next read reaches the filesystem.
fn drop_page_cache() -> R<()> {
    rustix::fs::sync();
    std::fs::write("/proc/sys/vm/drop_caches", b"1").must("write 1 to /proc/sys/vm/drop_caches")
}

fn noatime_read_keeps_atime(c: &Ctx) -> R<()> {
    c.create("f", b"data")?;
    let before = age(c, "f")?;
    c.read("f")?;
    check_eq("atime after read", before.atime, c.stat("f")?.atime)?;
    if c.env.euid == 0 {
        drop_page_cache()?;
        c.read("f")?;
        check_eq(
            "atime after a read past a dropped page cache",
            before.atime,
            c.stat("f")?.atime,
        )?;
    }
    Ok(())
}

fn noatime_exec_keeps_atime(c: &Ctx) -> R<()> {
    let program = std::fs::read("/bin/true").must("read /bin/true")?;
    c.create("t", &program)?;
    c.chmod("t", 0o755)?;
    let before = age(c, "t")?;
    if c.env.euid == 0 {
        drop_page_cache()?;
    }
    let status = std::process::Command::new(c.p("t"))
        .status()
        .must("run the copy of /bin/true")?;
    check("exit status", status.success(), "success", status)?;
    check_eq("atime after exec", before.atime, c.stat("t")?.atime)
}

fn noatime_readdir_keeps_dir_atime(c: &Ctx) -> R<()> {
    c.mkdir("d", 0o755)?;
    c.create("d/f", b"")?;
    let before = age(c, "d")?;
    c.list("d")?;
    check_eq(
        "directory atime after readdir",
        before.atime,
        c.stat("d")?.atime,
    )
}

fn ftruncate_updates_mtime_ctime(c: &Ctx) -> R<()> {
    c.create("f", b"0123456789")?;
    let before = c.stat("f")?;
    c.tick();
    let fd = c.open("f", OFlags::WRONLY)?;
    rustix::fs::ftruncate(&fd, 3).must("ftruncate 3")?;
    let after = fst(&fd).must("fstat")?;
    moved("mtime", before.mtime, after.mtime)?;
    moved("ctime", before.ctime, after.ctime)
}

fn open_trunc_updates_mtime_ctime(c: &Ctx) -> R<()> {
    c.create("f", b"0123456789")?;
    let before = c.stat("f")?;
    c.tick();
    let fd = c.open("f", OFlags::WRONLY | OFlags::TRUNC)?;
    let after = fst(&fd).must("fstat")?;
    moved("mtime", before.mtime, after.mtime)?;
    moved("ctime", before.ctime, after.ctime)
}

fn copy_file_range_updates_dest_mtime(c: &Ctx) -> R<()> {
    c.create("src", b"payload")?;
    c.create("dst", b"")?;
    let before = age(c, "dst")?;
    let s = c.open("src", OFlags::RDONLY)?;
    let d = c.open("dst", OFlags::WRONLY)?;
    let n = rustix::fs::copy_file_range(&s, None, &d, None, 7).must("copy_file_range")?;
    check_eq("bytes copied", 7, n)?;
    moved(
        "destination mtime",
        before.mtime,
        fst(&d).must("fstat")?.mtime,
    )
}

fn readdir_keeps_dir_mtime(c: &Ctx) -> R<()> {
    c.mkdir("d", 0o755)?;
    c.create("d/f", b"")?;
    let before = c.stat("d")?;
    c.tick();
    c.list("d")?;
    let after = c.stat("d")?;
    check_eq(
        "(mtime, ctime)",
        (before.mtime, before.ctime),
        (after.mtime, after.ctime),
    )
}

fn mtime_set_then_write_is_now(c: &Ctx) -> R<()> {
    c.create("f", b"")?;
    rustix::fs::utimensat(c.d(), "f", &stamps((0, OMIT), OLD), AtFlags::empty())
        .must("utimensat mtime 2001")?;
    let t0 = Ts::now();
    let fd = c.open("f", OFlags::WRONLY)?;
    write_all(&fd, b"x").must("write")?;
    let m = fst(&fd).must("fstat")?.mtime;
    check(
        "mtime after write",
        (m.sec - t0.sec).abs() <= 5,
        format!("about {t0}"),
        m,
    )
}
