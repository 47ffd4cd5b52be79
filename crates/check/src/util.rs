//! Small helpers every case uses: errno names, the `R<T>` verdict type with its assertion
//! helpers (`must`, `expect_errno`, `check_eq`, …), a normalized `St` (stat) with `Ts`
//! timestamps, whole-buffer read/write helpers and the seeded RNG. No filesystem policy here.

use std::fmt::{Debug, Display};
use std::os::fd::AsFd;

use rustix::io::Errno;

use crate::report::Outcome;
pub use crate::rng::{hash_str, Rng};
pub use crate::stat::{fst, St, Ts};

/// A case step: `Ok` to go on, `Err(outcome)` to stop with a failure or a skip.
pub type R<T> = Result<T, Outcome>;

/// The kernel's name for an errno, e.g. `ENOENT` (or `errno 123` when unknown).
pub fn errno_name(e: Errno) -> String {
    let n = e.raw_os_error();
    let name = match n {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::ESRCH => "ESRCH",
        libc::EINTR => "EINTR",
        libc::EIO => "EIO",
        libc::ENXIO => "ENXIO",
        libc::E2BIG => "E2BIG",
        libc::EBADF => "EBADF",
        libc::EAGAIN => "EAGAIN",
        libc::ENOMEM => "ENOMEM",
        libc::EACCES => "EACCES",
        libc::EFAULT => "EFAULT",
        libc::EBUSY => "EBUSY",
        libc::EEXIST => "EEXIST",
        libc::EXDEV => "EXDEV",
        libc::ENODEV => "ENODEV",
        libc::ENOTDIR => "ENOTDIR",
        libc::EISDIR => "EISDIR",
        libc::EINVAL => "EINVAL",
        libc::ENFILE => "ENFILE",
        libc::EMFILE => "EMFILE",
        libc::ETXTBSY => "ETXTBSY",
        libc::EFBIG => "EFBIG",
        libc::ENOSPC => "ENOSPC",
        libc::ESPIPE => "ESPIPE",
        libc::EROFS => "EROFS",
        libc::EMLINK => "EMLINK",
        libc::EPIPE => "EPIPE",
        libc::ERANGE => "ERANGE",
        libc::EDEADLK => "EDEADLK",
        libc::ENAMETOOLONG => "ENAMETOOLONG",
        libc::ENOLCK => "ENOLCK",
        libc::ENOSYS => "ENOSYS",
        libc::ENOTEMPTY => "ENOTEMPTY",
        libc::ELOOP => "ELOOP",
        libc::ENODATA => "ENODATA",
        libc::EOVERFLOW => "EOVERFLOW",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        libc::ENOTCONN => "ENOTCONN",
        libc::ETIMEDOUT => "ETIMEDOUT",
        libc::ESTALE => "ESTALE",
        libc::EDQUOT => "EDQUOT",
        libc::ENOTSOCK => "ENOTSOCK",
        _ => return format!("errno {n}"),
    };
    name.to_string()
}

/// A failure outcome.
pub fn fail(expected: impl Display, observed: impl Display, detail: impl Display) -> Outcome {
    Outcome::Fail {
        expected: expected.to_string(),
        observed: observed.to_string(),
        detail: detail.to_string(),
    }
}

/// A skip outcome with its reason.
pub fn skip(reason: impl Display) -> Outcome {
    Outcome::Skip {
        reason: reason.to_string(),
    }
}

/// Turns a syscall result into a case step: an error becomes a failure that says which step
/// failed and with what errno.
pub trait Must<T> {
    /// `Ok(v)` stays, `Err(e)` becomes `Fail { expected: "success", observed: ENAME, detail: what }`.
    fn must(self, what: &str) -> R<T>;
}

impl<T> Must<T> for rustix::io::Result<T> {
    fn must(self, what: &str) -> R<T> {
        self.map_err(|e| fail("success", errno_name(e), what))
    }
}

impl<T> Must<T> for std::io::Result<T> {
    fn must(self, what: &str) -> R<T> {
        self.map_err(|e| {
            let observed = e
                .raw_os_error()
                .map(|n| errno_name(Errno::from_raw_os_error(n)))
                .unwrap_or_else(|| e.to_string());
            fail("success", observed, what)
        })
    }
}

/// The call must fail with exactly `want`.
pub fn expect_errno<T>(what: &str, res: rustix::io::Result<T>, want: Errno) -> R<()> {
    expect_errnos(what, res, &[want])
}

/// The call must fail with one of `wants` (where Linux filesystems legitimately differ).
pub fn expect_errnos<T>(what: &str, res: rustix::io::Result<T>, wants: &[Errno]) -> R<()> {
    let expected = wants
        .iter()
        .map(|e| errno_name(*e))
        .collect::<Vec<_>>()
        .join(" or ");
    match res {
        Ok(_) => Err(fail(expected, "success", what)),
        Err(e) if wants.contains(&e) => Ok(()),
        Err(e) => Err(fail(expected, errno_name(e), what)),
    }
}

/// `expected == observed`, or a failure showing both with `Debug`.
pub fn check_eq<T: Debug + PartialEq>(what: &str, expected: T, observed: T) -> R<()> {
    if expected == observed {
        Ok(())
    } else {
        Err(fail(format!("{expected:?}"), format!("{observed:?}"), what))
    }
}

/// Byte strings compared and shown escaped (at most 64 bytes of each, plus the length).
pub fn check_bytes(what: &str, expected: &[u8], observed: &[u8]) -> R<()> {
    if expected == observed {
        return Ok(());
    }
    let show = |b: &[u8]| {
        let head: String = b
            .iter()
            .take(64)
            .flat_map(|c| std::ascii::escape_default(*c))
            .map(char::from)
            .collect();
        let more = if b.len() > 64 { "…" } else { "" };
        format!("b\"{head}{more}\" ({} bytes)", b.len())
    };
    Err(fail(show(expected), show(observed), what))
}

/// Permission bits compared and shown in octal.
pub fn check_mode(what: &str, expected: u32, observed: u32) -> R<()> {
    if expected == observed {
        Ok(())
    } else {
        Err(fail(
            format!("{expected:04o}"),
            format!("{observed:04o}"),
            what,
        ))
    }
}

/// `cond`, or a failure with the given expected/observed descriptions.
pub fn check(what: &str, cond: bool, expected: impl Display, observed: impl Display) -> R<()> {
    if cond {
        Ok(())
    } else {
        Err(fail(expected, observed, what))
    }
}

/// Writes all of `buf` at `off` (retrying short writes).
pub fn pwrite_all<Fd: AsFd>(fd: Fd, mut buf: &[u8], mut off: u64) -> rustix::io::Result<()> {
    while !buf.is_empty() {
        let n = rustix::io::pwrite(&fd, buf, off)?;
        if n == 0 {
            return Err(Errno::IO);
        }
        buf = &buf[n..];
        off += n as u64;
    }
    Ok(())
}

/// Writes all of `buf` at the file position.
pub fn write_all<Fd: AsFd>(fd: Fd, mut buf: &[u8]) -> rustix::io::Result<()> {
    while !buf.is_empty() {
        let n = rustix::io::write(&fd, buf)?;
        if n == 0 {
            return Err(Errno::IO);
        }
        buf = &buf[n..];
    }
    Ok(())
}

/// Reads up to `len` bytes at `off`, stopping early only at end of file.
pub fn pread_upto<Fd: AsFd>(fd: Fd, len: usize, off: u64) -> rustix::io::Result<Vec<u8>> {
    let mut out = vec![0u8; len];
    let mut got = 0;
    while got < len {
        let n = rustix::io::pread(&fd, &mut out[got..], off + got as u64)?;
        if n == 0 {
            break;
        }
        got += n;
    }
    out.truncate(got);
    Ok(out)
}

/// Reads the whole file from offset 0.
pub fn read_all<Fd: AsFd>(fd: Fd) -> rustix::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = rustix::io::pread(&fd, &mut buf, out.len() as u64)?;
        if n == 0 {
            return Ok(out);
        }
        out.extend_from_slice(&buf[..n]);
    }
}

/// `UTIME_NOW` as the `i64` our `stamps` takes (rustix's type is per-architecture).
#[allow(clippy::unnecessary_cast)]
pub const NOW: i64 = rustix::fs::UTIME_NOW as i64;

/// `UTIME_OMIT` as an `i64`.
#[allow(clippy::unnecessary_cast)]
pub const OMIT: i64 = rustix::fs::UTIME_OMIT as i64;

/// `Timestamps` for utimensat/futimens from (sec, nsec) pairs (nsec may be UTIME_NOW/OMIT).
pub fn stamps(atime: (i64, i64), mtime: (i64, i64)) -> rustix::fs::Timestamps {
    rustix::fs::Timestamps {
        last_access: rustix::fs::Timespec {
            tv_sec: atime.0,
            tv_nsec: atime.1 as _,
        },
        last_modification: rustix::fs::Timespec {
            tv_sec: mtime.0,
            tv_nsec: mtime.1 as _,
        },
    }
}

/// `truncate(path, len)` by path (rustix has only `ftruncate`); `len` may be negative.
pub fn truncate_path(path: &std::path::Path, len: i64) -> rustix::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).map_err(|_| Errno::INVAL)?;
    // SAFETY: `c` is a valid NUL-terminated string that outlives the call.
    let r = unsafe { libc::truncate(c.as_ptr(), len) };
    if r == 0 {
        Ok(())
    } else {
        Err(Errno::from_raw_os_error(
            std::io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::EIO),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_names_known_and_unknown() {
        assert_eq!(errno_name(Errno::NOENT), "ENOENT");
        assert_eq!(errno_name(Errno::from_raw_os_error(4000)), "errno 4000");
    }

    #[test]
    fn expect_errno_judges_all_three_ways() {
        assert!(expect_errno("x", Err::<(), _>(Errno::EXIST), Errno::EXIST).is_ok());
        let e = expect_errno("x", Ok(()), Errno::EXIST).unwrap_err();
        assert_eq!(e, fail("EEXIST", "success", "x"));
        let e = expect_errno("x", Err::<(), _>(Errno::NOENT), Errno::EXIST).unwrap_err();
        assert_eq!(e, fail("EEXIST", "ENOENT", "x"));
    }
}
