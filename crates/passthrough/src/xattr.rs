//! Extended attributes, on the source file reached through its `/proc/self/fd` magic link
//! (the `f*xattr` calls refuse `O_PATH` descriptors, and so do the `*xattrat` calls of Linux
//! 6.13 with `AT_EMPTY_PATH`). For a symlink that is the symlink itself: its descriptor is
//! `O_PATH | O_NOFOLLOW`, and resolving the magic link lands on the symlink without following
//! it further (measured on 6.18: `trusted.*` set through it shows on the link, not on its
//! target), so symlinks get their own `trusted.*` and `security.*` attributes as on tmpfs.
//! (`user.*` on symlinks never gets here: the kernel refuses it with EPERM itself.)

use std::ffi::OsStr;

use fusekit::{Ino, Xattr};
use rustix::fs::XattrFlags;
use rustix::io::Errno;

use crate::fdstore::InodeFd;
use crate::inode::Inode;
use crate::Passthrough;

/// The descriptor whose `/proc/self/fd` path reaches `inode`'s attributes (the path is
/// valid while the guard lives).
fn reachable(inode: &Inode) -> Result<InodeFd, Errno> {
    inode.fd()
}

fn size_u32(n: usize) -> Result<u32, Errno> {
    u32::try_from(n).map_err(|_| Errno::TOOBIG)
}

impl Passthrough {
    pub(crate) fn do_getxattr(&self, ino: Ino, name: &OsStr, size: u32) -> Result<Xattr, Errno> {
        let fd = reachable(&*self.inodes.get(ino)?)?;
        let path = fd.proc_path();
        if size == 0 {
            let n = rustix::fs::getxattr_query(path.as_c_str(), name)?;
            return Ok(Xattr::Size(size_u32(n)?));
        }
        let mut buf = vec![0u8; size as usize];
        let n = rustix::fs::getxattr(path.as_c_str(), name, &mut buf[..])?;
        buf.truncate(n);
        Ok(Xattr::Data(buf))
    }

    pub(crate) fn do_listxattr(&self, ino: Ino, size: u32) -> Result<Xattr, Errno> {
        let fd = reachable(&*self.inodes.get(ino)?)?;
        let path = fd.proc_path();
        if size == 0 {
            let n = rustix::fs::listxattr_query(path.as_c_str())?;
            return Ok(Xattr::Size(size_u32(n)?));
        }
        let mut buf = vec![0u8; size as usize];
        let n = rustix::fs::listxattr(path.as_c_str(), &mut buf[..])?;
        buf.truncate(n);
        Ok(Xattr::Data(buf))
    }

    pub(crate) fn do_setxattr(
        &self,
        ino: Ino,
        name: &OsStr,
        value: &[u8],
        flags: i32,
    ) -> Result<(), Errno> {
        let fd = reachable(&*self.inodes.get(ino)?)?;
        let path = fd.proc_path();
        let flags = XattrFlags::from_bits(flags as u32).ok_or(Errno::INVAL)?;
        rustix::fs::setxattr(path.as_c_str(), name, value, flags)
    }

    pub(crate) fn do_removexattr(&self, ino: Ino, name: &OsStr) -> Result<(), Errno> {
        let fd = reachable(&*self.inodes.get(ino)?)?;
        let path = fd.proc_path();
        rustix::fs::removexattr(path.as_c_str(), name)
    }
}
