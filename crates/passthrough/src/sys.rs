//! The few system-call helpers the rest of the crate shares: reopening an `O_PATH` descriptor
//! through `/proc/self/fd`, stat-by-descriptor, device number encodings, OFD record locks
//! (no rustix wrapper: raw `fcntl` with a `struct flock`), file handles
//! (`name_to_handle_at`/`open_by_handle_at`, no rustix wrapper either), and the per-thread
//! umask.

use std::cell::Cell;
use std::ffi::CString;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use rustix::fs::{AtFlags, Mode, OFlags, Stat};
use rustix::io::Errno;

/// `/proc/self/fd/N` for `fd`: a magic link to exactly the file `fd` refers to (even when it
/// has no name any more), never re-resolved by name.
pub(crate) fn proc_path(fd: BorrowedFd<'_>) -> CString {
    CString::new(format!("/proc/self/fd/{}", fd.as_raw_fd())).expect("no NUL in a number")
}

/// Opens the file `fd` (usually `O_PATH`) refers to again with real access `flags`.
/// `O_NOFOLLOW`, `O_CREAT` and `O_EXCL` are removed (the magic link must be followed, and the
/// file exists).
pub(crate) fn reopen(fd: BorrowedFd<'_>, flags: OFlags) -> Result<OwnedFd, Errno> {
    let flags = (flags - (OFlags::NOFOLLOW | OFlags::CREATE | OFlags::EXCL)) | OFlags::CLOEXEC;
    rustix::fs::openat(
        rustix::fs::CWD,
        proc_path(fd).as_c_str(),
        flags,
        Mode::empty(),
    )
}

/// `fstatat(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)`: works on `O_PATH` descriptors,
/// symlinks included.
pub(crate) fn stat_fd(fd: BorrowedFd<'_>) -> Result<Stat, Errno> {
    rustix::fs::statat(fd, c"", AtFlags::EMPTY_PATH | AtFlags::SYMLINK_NOFOLLOW)
}

/// The kernel's `new_encode_dev` (what FUSE carries in `rdev`) of a user-space `dev_t`.
pub(crate) fn encode_dev(dev: u64) -> u32 {
    let major = rustix::fs::major(dev);
    let minor = rustix::fs::minor(dev);
    (minor & 0xff) | (major << 8) | ((minor & !0xff) << 12)
}

/// A user-space `dev_t` from the kernel's `new_encode_dev` form.
pub(crate) fn decode_dev(dev: u32) -> u64 {
    let major = (dev & 0xfff00) >> 8;
    let minor = (dev & 0xff) | ((dev >> 12) & 0xfff00);
    rustix::fs::makedev(major, minor)
}

/// A byte-range lock in `struct flock` terms (`len == 0` means "to end of file").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RecordLock {
    pub(crate) typ: i32,
    pub(crate) start: i64,
    pub(crate) len: i64,
    pub(crate) pid: i32,
}

/// What to do with an OFD lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LockCmd {
    /// F_OFD_GETLK: replace `lock` with the first conflicting lock, or F_UNLCK.
    Get,
    /// F_OFD_SETLK: take or release without waiting (EAGAIN on conflict).
    Set,
}

/// An open-file-description lock operation on `fd`.
pub(crate) fn ofd_lock(
    fd: BorrowedFd<'_>,
    cmd: LockCmd,
    lock: &mut RecordLock,
) -> Result<(), Errno> {
    // SAFETY: `flock` is plain old data; all-zero is a valid value.
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = lock.typ as libc::c_short;
    fl.l_whence = libc::SEEK_SET as libc::c_short;
    fl.l_start = lock.start;
    fl.l_len = lock.len;
    fl.l_pid = 0;
    let cmd = match cmd {
        LockCmd::Get => libc::F_OFD_GETLK,
        LockCmd::Set => libc::F_OFD_SETLK,
    };
    // SAFETY: F_OFD_GETLK/F_OFD_SETLK read (and for GETLK write) one `struct flock` through
    // the pointer, which is valid for the duration of the call; `fd` is a live descriptor.
    let r = unsafe { libc::fcntl(fd.as_raw_fd(), cmd, &mut fl as *mut libc::flock) };
    if r < 0 {
        return Err(last_errno());
    }
    lock.typ = fl.l_type as i32;
    lock.start = fl.l_start;
    lock.len = fl.l_len;
    lock.pid = fl.l_pid;
    Ok(())
}

/// The largest file handle the kernel hands out (`MAX_HANDLE_SZ`).
const MAX_HANDLE_SZ: usize = 128;

/// `struct file_handle` with room for the largest handle.
#[repr(C)]
struct RawFileHandle {
    handle_bytes: libc::c_uint,
    handle_type: libc::c_int,
    f_handle: [u8; MAX_HANDLE_SZ],
}

/// A file handle: names one inode of one filesystem for as long as the filesystem exists,
/// independent of names and descriptors (the inode's generation is part of it, so a handle
/// of a deleted file never opens the file that later gets its inode number).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct FileHandle {
    handle_type: i32,
    bytes: Box<[u8]>,
}

impl FileHandle {
    fn to_raw(&self) -> RawFileHandle {
        let mut raw = RawFileHandle {
            handle_bytes: self.bytes.len() as libc::c_uint,
            handle_type: self.handle_type,
            f_handle: [0; MAX_HANDLE_SZ],
        };
        raw.f_handle[..self.bytes.len()].copy_from_slice(&self.bytes);
        raw
    }
}

fn last_errno() -> Errno {
    Errno::from_io_error(&std::io::Error::last_os_error()).unwrap_or(Errno::IO)
}

/// `name_to_handle_at(fd, "", AT_EMPTY_PATH)`: the handle of the file `fd` refers to (any
/// descriptor, `O_PATH` included; symlinks are not followed) and the id of the mount `fd`
/// was opened through. EOPNOTSUPP when the filesystem cannot make handles.
pub(crate) fn handle_of(fd: BorrowedFd<'_>) -> Result<(FileHandle, i32), Errno> {
    let mut raw = RawFileHandle {
        handle_bytes: MAX_HANDLE_SZ as libc::c_uint,
        handle_type: 0,
        f_handle: [0; MAX_HANDLE_SZ],
    };
    let mut mount_id: libc::c_int = 0;
    // SAFETY: `raw` is a `struct file_handle` whose `handle_bytes` says how much room follows
    // it (MAX_HANDLE_SZ bytes, the kernel's maximum); the kernel writes at most that much.
    // The path is a valid NUL-terminated empty string, `mount_id` a valid `int`, and `fd` a
    // live descriptor for the duration of the call.
    let r = unsafe {
        libc::name_to_handle_at(
            fd.as_raw_fd(),
            c"".as_ptr(),
            (&mut raw as *mut RawFileHandle).cast::<libc::file_handle>(),
            &mut mount_id,
            libc::AT_EMPTY_PATH,
        )
    };
    if r < 0 {
        return Err(last_errno());
    }
    let len = (raw.handle_bytes as usize).min(MAX_HANDLE_SZ);
    Ok((
        FileHandle {
            handle_type: raw.handle_type,
            bytes: raw.f_handle[..len].into(),
        },
        mount_id,
    ))
}

/// `open_by_handle_at(mount_fd, handle, flags | O_CLOEXEC)`. `mount_fd` must be a real (not
/// `O_PATH`) descriptor of any file on the filesystem the handle belongs to; needs
/// CAP_DAC_READ_SEARCH. ESTALE when the file no longer exists.
pub(crate) fn open_by_handle(
    mount_fd: BorrowedFd<'_>,
    handle: &FileHandle,
    flags: OFlags,
) -> Result<OwnedFd, Errno> {
    let mut raw = handle.to_raw();
    let flags = (flags | OFlags::CLOEXEC).bits() as libc::c_int;
    // SAFETY: `raw` is a valid `struct file_handle` (its `handle_bytes` matches the bytes
    // that follow it) that lives for the duration of the call; `mount_fd` is a live
    // descriptor. The kernel only reads the handle.
    let r = unsafe {
        libc::open_by_handle_at(
            mount_fd.as_raw_fd(),
            (&mut raw as *mut RawFileHandle).cast::<libc::file_handle>(),
            flags,
        )
    };
    if r < 0 {
        return Err(last_errno());
    }
    // SAFETY: on success `open_by_handle_at` returns a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(r) })
}

thread_local! {
    static OWN_UMASK: Cell<bool> = const { Cell::new(false) };
}

/// Gives the calling thread its own filesystem context with umask 0, once per thread. The
/// kernel has already applied the caller's umask to every mode it sends; the daemon's own
/// umask must not strip bits a second time. Doing it per thread keeps the host process's
/// umask untouched.
pub(crate) fn thread_umask_zero() {
    OWN_UMASK.with(|done| {
        if done.get() {
            return;
        }
        // SAFETY: CLONE_FS only detaches this thread's cwd, root and umask from the other
        // threads; no descriptor table is unshared, so descriptors stay valid everywhere.
        match unsafe { rustix::thread::unshare_unsafe(rustix::thread::UnshareFlags::FS) } {
            Ok(()) => {
                rustix::process::umask(Mode::empty());
                done.set(true);
            }
            Err(e) => {
                tracing::warn!(error = %e, "unshare(CLONE_FS) failed; new files get the daemon's umask");
                done.set(true);
            }
        }
    });
}

/// Duplicates `fd` (used by FLUSH: closing a duplicate reports deferred write errors of
/// filesystems like NFS without closing the handle).
pub(crate) fn dup(fd: BorrowedFd<'_>) -> Result<OwnedFd, Errno> {
    rustix::io::fcntl_dupfd_cloexec(fd, 3)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn device_numbers_round_trip() {
        for (maj, min) in [
            (0, 0),
            (1, 3),
            (8, 17),
            (259, 1_000_000),
            (4095, 255),
            (4095, 0xfffff),
        ] {
            let dev = rustix::fs::makedev(maj, min);
            let enc = encode_dev(dev);
            assert_eq!(decode_dev(enc), dev, "{maj}:{min}");
        }
        assert_eq!(encode_dev(rustix::fs::makedev(1, 3)), (1 << 8) | 3);
    }

    #[test]
    fn file_handles_reopen_the_same_file_and_go_stale_after_delete() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a"), b"x").unwrap();
        let path_fd = |name: &str| {
            rustix::fs::open(
                dir.path().join(name),
                OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .unwrap()
        };
        let a = path_fd("a");
        let (handle, _mount_id) = match handle_of(a.as_fd()) {
            Ok(h) => h,
            Err(e) => {
                println!("skipped: the temp dir's filesystem makes no file handles ({e})");
                return;
            }
        };
        assert_eq!(handle_of(path_fd("a").as_fd()).unwrap().0, handle);
        let mount_fd = rustix::fs::open(
            dir.path(),
            OFlags::RDONLY | OFlags::DIRECTORY,
            Mode::empty(),
        )
        .unwrap();
        let again = match open_by_handle(mount_fd.as_fd(), &handle, OFlags::PATH) {
            Ok(fd) => fd,
            Err(Errno::PERM) => {
                println!("skipped: open_by_handle_at needs CAP_DAC_READ_SEARCH");
                return;
            }
            Err(e) => panic!("open_by_handle_at: {e}"),
        };
        let key = |fd: BorrowedFd<'_>| {
            let st = stat_fd(fd).unwrap();
            (st.st_dev, st.st_ino)
        };
        assert_eq!(key(again.as_fd()), key(a.as_fd()));
        // An O_PATH descriptor refuses to serve as the mount descriptor.
        assert_eq!(
            open_by_handle(a.as_fd(), &handle, OFlags::PATH).map(drop),
            Err(Errno::BADF)
        );
        drop((a, again));
        std::fs::remove_file(dir.path().join("a")).unwrap();
        std::fs::write(dir.path().join("b"), b"y").unwrap();
        assert_eq!(
            open_by_handle(mount_fd.as_fd(), &handle, OFlags::PATH).map(drop),
            Err(Errno::STALE)
        );
    }
}
