//! Extended attributes: the per-inode store and the set/get/list/remove operations.
//!
//! Namespaces: `user.` (regular files and directories only; in a sticky directory only its
//! owner may write them), `trusted.` (root only; hidden from others' listings, as tmpfs
//! does), `security.`. `system.*` (including POSIX ACLs, which memfs does not implement) and
//! unknown prefixes get `EOPNOTSUPP`. Limits: names of 1..=255 bytes (`ERANGE`), values up to
//! 64 KiB (`E2BIG`); name + value bytes are charged against the byte limit (`ENOSPC`).

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use fusekit::Xattr;
use rustix::io::Errno;

use crate::fs::MemFs;
use crate::perm;
use crate::table::State;
use crate::types::{Caller, FileType, Ino, Timestamp, S_ISVTX, XATTR_NAME_MAX, XATTR_SIZE_MAX};

/// `setxattr` flag: fail with `EEXIST` if the attribute exists.
pub const XATTR_CREATE: u32 = 1;
/// `setxattr` flag: fail with `ENODATA` if the attribute does not exist.
pub const XATTR_REPLACE: u32 = 2;

type Name = Box<[u8]>;
type Value = Box<[u8]>;

/// The attributes of one inode, in insertion order.
#[derive(Debug, Default)]
pub(crate) struct Xattrs {
    list: Vec<(Name, Value)>,
}

impl Xattrs {
    /// Bytes charged for this store (names + values).
    pub(crate) fn charged_bytes(&self) -> u64 {
        self.list
            .iter()
            .map(|(n, v)| (n.len() + v.len()) as u64)
            .sum()
    }

    fn position(&self, name: &[u8]) -> Option<usize> {
        self.list.iter().position(|(n, _)| &**n == name)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Namespace {
    User,
    Trusted,
    Security,
}

fn namespace(name: &[u8]) -> Result<Namespace, Errno> {
    if name.is_empty() || name.len() > XATTR_NAME_MAX {
        return Err(Errno::RANGE);
    }
    let (ns, rest) = if let Some(r) = name.strip_prefix(b"user.") {
        (Namespace::User, r)
    } else if let Some(r) = name.strip_prefix(b"trusted.") {
        (Namespace::Trusted, r)
    } else if let Some(r) = name.strip_prefix(b"security.") {
        (Namespace::Security, r)
    } else {
        return Err(Errno::OPNOTSUPP);
    };
    if rest.is_empty() {
        return Err(Errno::INVAL);
    }
    Ok(ns)
}

/// Whether `c` may see (read) attributes of `ns` on `st`; errors for writers.
fn check(c: &Caller, st: &State, ns: Namespace, write: bool) -> Result<(), Errno> {
    match ns {
        Namespace::Trusted if !c.is_root() => Err(if write { Errno::PERM } else { Errno::NODATA }),
        Namespace::User => {
            let kind = st.kind();
            if kind != FileType::RegularFile && kind != FileType::Directory {
                return Err(if write { Errno::PERM } else { Errno::NODATA });
            }
            if write
                && kind == FileType::Directory
                && st.mode & S_ISVTX != 0
                && !perm::is_owner(c, st)
            {
                return Err(Errno::PERM);
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

impl MemFs {
    /// Sets attribute `name` to `value`. `flags`: [`XATTR_CREATE`] (`EEXIST` if present),
    /// [`XATTR_REPLACE`] (`ENODATA` if absent). Sets ctime.
    pub fn setxattr(
        &self,
        c: &Caller,
        ino: Ino,
        name: &OsStr,
        value: &[u8],
        flags: u32,
    ) -> Result<(), Errno> {
        let name = name.as_bytes();
        let ns = namespace(name)?;
        if value.len() > XATTR_SIZE_MAX {
            return Err(Errno::TOOBIG);
        }
        if flags & !(XATTR_CREATE | XATTR_REPLACE) != 0 {
            return Err(Errno::INVAL);
        }
        let inode = self.table.get(ino)?;
        let mut st = inode.state.write();
        st.check_live()?;
        check(c, &st, ns, true)?;
        let xs = st.xattrs.get_or_insert_with(Default::default);
        let pos = xs.position(name);
        match pos {
            Some(_) if flags & XATTR_CREATE != 0 => return Err(Errno::EXIST),
            None if flags & XATTR_REPLACE != 0 => return Err(Errno::NODATA),
            _ => {}
        }
        let new_bytes = (name.len() + value.len()) as u64;
        let old_bytes = pos.map_or(0, |i| (xs.list[i].0.len() + xs.list[i].1.len()) as u64);
        if new_bytes > old_bytes {
            self.usage.charge_bytes(new_bytes - old_bytes)?;
        } else {
            self.usage.uncharge_bytes(old_bytes - new_bytes);
        }
        match pos {
            Some(i) => xs.list[i].1 = value.into(),
            None => xs.list.push((name.into(), value.into())),
        }
        st.touch_c(Timestamp::now());
        Ok(())
    }

    /// Reads attribute `name`: [`Xattr::Size`] when `size` is 0, `ERANGE` when the value
    /// is bigger than `size`, `ENODATA` when absent.
    pub fn getxattr(&self, c: &Caller, ino: Ino, name: &OsStr, size: u32) -> Result<Xattr, Errno> {
        let name = name.as_bytes();
        let ns = namespace(name)?;
        let inode = self.table.get(ino)?;
        let st = inode.state.read();
        st.check_live()?;
        check(c, &st, ns, false)?;
        let xs = st.xattrs.as_ref().ok_or(Errno::NODATA)?;
        let i = xs.position(name).ok_or(Errno::NODATA)?;
        Xattr::fit(xs.list[i].1.to_vec(), size)
    }

    /// Lists attribute names, each NUL-terminated, skipping those `c` may not see.
    pub fn listxattr(&self, c: &Caller, ino: Ino, size: u32) -> Result<Xattr, Errno> {
        let inode = self.table.get(ino)?;
        let st = inode.state.read();
        st.check_live()?;
        let mut out = Vec::new();
        for (n, _) in st.xattrs.iter().flat_map(|x| x.list.iter()) {
            if namespace(n).is_ok_and(|ns| check(c, &st, ns, false).is_ok()) {
                out.extend_from_slice(n);
                out.push(0);
            }
        }
        Xattr::fit(out, size)
    }

    /// Removes attribute `name` (`ENODATA` when absent). Sets ctime.
    pub fn removexattr(&self, c: &Caller, ino: Ino, name: &OsStr) -> Result<(), Errno> {
        let name = name.as_bytes();
        let ns = namespace(name)?;
        let inode = self.table.get(ino)?;
        let mut st = inode.state.write();
        st.check_live()?;
        check(c, &st, ns, true)?;
        let xs = st.xattrs.as_mut().ok_or(Errno::NODATA)?;
        let i = xs.position(name).ok_or(Errno::NODATA)?;
        let (n, v) = xs.list.remove(i);
        self.usage.uncharge_bytes((n.len() + v.len()) as u64);
        if xs.list.is_empty() {
            st.xattrs = None;
        }
        st.touch_c(Timestamp::now());
        Ok(())
    }
}
