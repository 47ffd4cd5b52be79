//! Validation of the names the kernel sends: exactly one path component, never `.` or `..`,
//! never containing `/` or NUL. Every `*at()` call made with a name passes through here first,
//! so no request can make the daemon walk out of its parent directory.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use rustix::io::Errno;

/// Longest name the daemon passes on (the kernel's NAME_MAX).
const NAME_MAX: usize = 255;

/// Checks that `name` is a single ordinary path component. Empty names, `.`, `..` and names
/// containing `/` or NUL are refused with EINVAL; over-long names with ENAMETOOLONG.
pub fn check_name(name: &OsStr) -> Result<&OsStr, Errno> {
    let bytes = name.as_bytes();
    if bytes.is_empty() || bytes == b"." || bytes == b".." {
        return Err(Errno::INVAL);
    }
    if bytes.contains(&b'/') || bytes.contains(&0) {
        return Err(Errno::INVAL);
    }
    if bytes.len() > NAME_MAX {
        return Err(Errno::NAMETOOLONG);
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(s: &[u8]) -> Result<(), Errno> {
        check_name(OsStr::from_bytes(s)).map(|_| ())
    }

    #[test]
    fn ordinary_names_pass() {
        for ok in [
            &b"a"[..],
            b"file.txt",
            b"...",
            b"..x",
            b".hidden",
            b"\xff\xfe",
            b" ",
        ] {
            assert_eq!(check(ok), Ok(()), "{ok:?}");
        }
        assert_eq!(check(&[b'x'; 255]), Ok(()));
    }

    #[test]
    fn escapes_and_garbage_are_refused() {
        for bad in [
            &b""[..],
            b".",
            b"..",
            b"../x",
            b"a/b",
            b"/etc/passwd",
            b"x/",
            b"/",
            b"a\0b",
            b"..\0",
        ] {
            assert_eq!(check(bad), Err(Errno::INVAL), "{bad:?}");
        }
        assert_eq!(check(&[b'x'; 256]), Err(Errno::NAMETOOLONG));
    }
}
