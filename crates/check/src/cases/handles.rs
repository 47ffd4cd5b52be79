//! File handles (`name_to_handle_at` / `open_by_handle_at`, as NFS export, backup tools and
//! fanotify use them): a handle opens its file while the file exists — also after the kernel
//! dropped the inode from its caches (`drop_caches`), and after a rename — for files and for
//! directories (which the kernel reconnects through their parents), and answers ESTALE once
//! the file is removed. Opening by handle needs CAP_DAC_READ_SEARCH (root).

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use rustix::fs::OFlags;
use rustix::io::Errno;

use crate::ctx::Ctx;
use crate::util::*;

cases! { "handles";
    handle_opens_file ["root"] "open_by_handle_at of a file's handle reads the file";
    handle_opens_file_after_cache_drop ["root"] "a handle still opens its file after the kernel dropped its cached inodes and dentries";
    handle_opens_dir_after_cache_drop ["root"] "a directory's handle still opens it after a cache drop, and names inside it resolve";
    handle_survives_rename ["root"] "a handle opens its file after the file was renamed into another directory";
    handle_of_removed_file_estale ["root"] "once the file is unlinked (and closed), its handle answers ESTALE, also after a cache drop";
}

/// The largest handle the kernel makes (`MAX_HANDLE_SZ`).
const MAX_HANDLE_SZ: usize = 128;

/// `struct file_handle` with room for the largest handle.
#[repr(C)]
struct RawHandle {
    handle_bytes: libc::c_uint,
    handle_type: libc::c_int,
    f_handle: [u8; MAX_HANDLE_SZ],
}

/// The handle of `name` in the case directory; a skip when the filesystem makes none.
fn handle_of(c: &Ctx, name: &str) -> R<RawHandle> {
    let mut h = RawHandle {
        handle_bytes: MAX_HANDLE_SZ as libc::c_uint,
        handle_type: 0,
        f_handle: [0; MAX_HANDLE_SZ],
    };
    let mut mount_id: libc::c_int = 0;
    let cname = std::ffi::CString::new(name).map_err(|_| fail("a name", "NUL", name))?;
    // SAFETY: `h` is a `struct file_handle` whose `handle_bytes` gives the room that follows
    // (MAX_HANDLE_SZ, the kernel's maximum); the directory descriptor is live, the name a
    // valid C string and `mount_id` a valid int, all for the duration of the call.
    let r = unsafe {
        libc::name_to_handle_at(
            c.d().as_raw_fd(),
            cname.as_ptr(),
            (&mut h as *mut RawHandle).cast(),
            &mut mount_id,
            0,
        )
    };
    if r != 0 {
        let e =
            Errno::from_raw_os_error(std::io::Error::last_os_error().raw_os_error().unwrap_or(0));
        if e == Errno::OPNOTSUPP || e == Errno::NOSYS {
            return Err(skip(format!(
                "name_to_handle_at answered {}",
                errno_name(e)
            )));
        }
        return Err(fail(
            "success",
            errno_name(e),
            format!("name_to_handle_at {name}"),
        ));
    }
    Ok(h)
}

/// `open_by_handle_at` against the case directory's mount.
fn open_handle(mount: BorrowedFd<'_>, h: &RawHandle, flags: OFlags) -> rustix::io::Result<OwnedFd> {
    let mut copy = RawHandle {
        handle_bytes: h.handle_bytes,
        handle_type: h.handle_type,
        f_handle: h.f_handle,
    };
    let flags = (flags | OFlags::CLOEXEC).bits() as libc::c_int;
    // SAFETY: `copy` is a valid `struct file_handle` (its `handle_bytes` is what the kernel
    // wrote and at most MAX_HANDLE_SZ) that lives for the duration of the call; `mount` is a
    // live descriptor. On success the returned descriptor is ours alone.
    let r = unsafe {
        libc::open_by_handle_at(
            mount.as_raw_fd(),
            (&mut copy as *mut RawHandle).cast(),
            flags,
        )
    };
    if r < 0 {
        return Err(Errno::from_raw_os_error(
            std::io::Error::last_os_error().raw_os_error().unwrap_or(0),
        ));
    }
    // SAFETY: `r` is a fresh descriptor returned by the kernel and owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(r) })
}

/// Makes the kernel drop unused dentries and inodes (`echo 2 > /proc/sys/vm/drop_caches`):
/// a FUSE filesystem then gets FORGETs, and a handle must be resolved by the filesystem.
fn drop_caches() -> R<()> {
    rustix::fs::sync();
    std::fs::write("/proc/sys/vm/drop_caches", b"2").must("write 2 to /proc/sys/vm/drop_caches")
}

fn read_by_handle(c: &Ctx, h: &RawHandle, what: &str) -> R<Vec<u8>> {
    let fd = open_handle(c.d(), h, OFlags::RDONLY).must(what)?;
    read_all(&fd).must("read the file opened by handle")
}

fn handle_opens_file(c: &Ctx) -> R<()> {
    let data = c.rng().bytes(3000);
    c.create("f", &data)?;
    let h = handle_of(c, "f")?;
    check_bytes(
        "content",
        &data,
        &read_by_handle(c, &h, "open_by_handle_at")?,
    )
}

fn handle_opens_file_after_cache_drop(c: &Ctx) -> R<()> {
    let data = c.rng().bytes(3000);
    c.create("f", &data)?;
    let h = handle_of(c, "f")?;
    drop_caches()?;
    check_bytes(
        "content",
        &data,
        &read_by_handle(c, &h, "open_by_handle_at after drop_caches")?,
    )
}

fn handle_opens_dir_after_cache_drop(c: &Ctx) -> R<()> {
    c.mkdir("d", 0o755)?;
    c.mkdir("d/e", 0o755)?;
    c.create("d/e/g", b"inside")?;
    let h = handle_of(c, "d/e")?;
    drop_caches()?;
    let dir = open_handle(c.d(), &h, OFlags::RDONLY | OFlags::DIRECTORY)
        .must("open_by_handle_at of a directory after drop_caches")?;
    let f = rustix::fs::openat(dir.as_fd(), "g", OFlags::RDONLY, rustix::fs::Mode::empty())
        .must("open g inside the directory opened by handle")?;
    check_bytes("g", b"inside", &read_all(&f).must("read g")?)
}

fn handle_survives_rename(c: &Ctx) -> R<()> {
    c.create("f", b"moved")?;
    c.mkdir("d", 0o755)?;
    let h = handle_of(c, "f")?;
    c.rename("f", "d/g")?;
    drop_caches()?;
    check_bytes(
        "content",
        b"moved",
        &read_by_handle(c, &h, "open_by_handle_at after rename and drop_caches")?,
    )
}

fn handle_of_removed_file_estale(c: &Ctx) -> R<()> {
    c.create("f", b"gone")?;
    let h = handle_of(c, "f")?;
    c.unlink("f")?;
    // The kernel sends RELEASE after close(2) returned and keeps the inode until the
    // filesystem answered it: until then the handle still finds the inode in the kernel's
    // cache. Give that asynchronous RELEASE a bounded time.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    let mut res = open_handle(c.d(), &h, OFlags::RDONLY);
    while res.is_ok() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
        res = open_handle(c.d(), &h, OFlags::RDONLY);
    }
    expect_errno(
        "open_by_handle_at of a removed file (2 s after close and unlink)",
        res,
        Errno::STALE,
    )?;
    drop_caches()?;
    expect_errno(
        "open_by_handle_at of a removed file after drop_caches",
        open_handle(c.d(), &h, OFlags::RDONLY),
        Errno::STALE,
    )
}
