//! The inode-level [`Filesystem`] implementation: decodes nothing and decides nothing, it
//! only calls the matching `do_*` method and turns its `Result` into the kernel's reply.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use fusekit_abi as abi;
use rustix::io::Errno;

use super::PathAdapter;
use crate::attr::{Ino, Lock, SetAttr};
use crate::lowlevel::{Filesystem, KernelConfig};
use crate::path::fs::{PathContext, PathFilesystem};
use crate::reply::{
    ReplyAttr, ReplyCreate, ReplyData, ReplyDirectory, ReplyEmpty, ReplyEntry, ReplyLock,
    ReplyOpen, ReplyStatfs, ReplyWrite, ReplyXattr,
};
use crate::request::Request;

fn ctx(req: &Request<'_>) -> PathContext {
    PathContext::from_request(req)
}

fn empty(reply: ReplyEmpty, r: Result<(), Errno>) {
    match r {
        Ok(()) => reply.ok(),
        Err(e) => reply.error(e),
    }
}

fn entry(reply: ReplyEntry, r: Result<crate::attr::Entry, Errno>) {
    match r {
        Ok(e) => reply.entry(&e),
        Err(e) => reply.error(e),
    }
}

fn xattr(reply: ReplyXattr, size: u32, r: Result<Vec<u8>, Errno>) {
    match r {
        Ok(v) if size == 0 => match u32::try_from(v.len()) {
            Ok(n) => reply.size(n),
            Err(_) => reply.error(Errno::TOOBIG),
        },
        Ok(v) if v.len() > size as usize => reply.error(Errno::RANGE),
        Ok(v) => reply.data(&v),
        Err(e) => reply.error(e),
    }
}

impl<F: PathFilesystem> Filesystem for PathAdapter<F> {
    fn init(&self, _req: &Request<'_>, config: &mut KernelConfig) -> Result<(), Errno> {
        self.fs.init(config)
    }

    fn destroy(&self) {
        self.remove_all_hidden();
        self.fs.destroy();
    }

    fn lookup(&self, req: &Request<'_>, parent: Ino, name: &OsStr, reply: ReplyEntry) {
        entry(reply, self.do_lookup(&ctx(req), parent, name));
    }

    fn forget(&self, _req: &Request<'_>, ino: Ino, nlookup: u64) {
        self.shared.table().forget(ino, nlookup);
    }

    fn batch_forget(&self, _req: &Request<'_>, nodes: &[abi::ForgetOne]) {
        let mut table = self.shared.table();
        for n in nodes {
            table.forget(n.nodeid, n.nlookup);
        }
    }

    fn getattr(&self, req: &Request<'_>, ino: Ino, fh: Option<u64>, reply: ReplyAttr) {
        match self.do_getattr(&ctx(req), ino, fh) {
            Ok(a) => reply.attr(&a, self.config.attr_ttl),
            Err(e) => reply.error(e),
        }
    }

    fn setattr(&self, req: &Request<'_>, ino: Ino, attr: &SetAttr, reply: ReplyAttr) {
        match self.do_setattr(&ctx(req), ino, attr) {
            Ok(a) => reply.attr(&a, self.config.attr_ttl),
            Err(e) => reply.error(e),
        }
    }

    fn readlink(&self, req: &Request<'_>, ino: Ino, reply: ReplyData) {
        match self.do_readlink(&ctx(req), ino) {
            Ok(t) => reply.data(t.as_os_str().as_bytes()),
            Err(e) => reply.error(e),
        }
    }

    fn symlink(
        &self,
        req: &Request<'_>,
        parent: Ino,
        name: &OsStr,
        target: &OsStr,
        reply: ReplyEntry,
    ) {
        let c = ctx(req);
        let r = self.do_make(parent, name, |p| {
            self.fs.symlink(&c, std::path::Path::new(target), p)
        });
        entry(reply, r);
    }

    fn mknod(
        &self,
        req: &Request<'_>,
        parent: Ino,
        name: &OsStr,
        mode: u32,
        _umask: u32,
        rdev: u32,
        reply: ReplyEntry,
    ) {
        let c = ctx(req);
        entry(
            reply,
            self.do_make(parent, name, |p| self.fs.mknod(&c, p, mode, rdev)),
        );
    }

    fn mkdir(
        &self,
        req: &Request<'_>,
        parent: Ino,
        name: &OsStr,
        mode: u32,
        _umask: u32,
        reply: ReplyEntry,
    ) {
        let c = ctx(req);
        entry(
            reply,
            self.do_make(parent, name, |p| self.fs.mkdir(&c, p, mode)),
        );
    }

    fn unlink(&self, req: &Request<'_>, parent: Ino, name: &OsStr, reply: ReplyEmpty) {
        empty(reply, self.do_unlink(&ctx(req), parent, name));
    }

    fn rmdir(&self, req: &Request<'_>, parent: Ino, name: &OsStr, reply: ReplyEmpty) {
        empty(reply, self.do_rmdir(&ctx(req), parent, name));
    }

    fn rename(
        &self,
        req: &Request<'_>,
        parent: Ino,
        name: &OsStr,
        newparent: Ino,
        newname: &OsStr,
        flags: u32,
        reply: ReplyEmpty,
    ) {
        let r = self.do_rename(&ctx(req), (parent, name), (newparent, newname), flags);
        empty(reply, r);
    }

    fn link(
        &self,
        req: &Request<'_>,
        ino: Ino,
        newparent: Ino,
        newname: &OsStr,
        reply: ReplyEntry,
    ) {
        entry(reply, self.do_link(&ctx(req), ino, newparent, newname));
    }

    fn open(&self, req: &Request<'_>, ino: Ino, flags: i32, reply: ReplyOpen) {
        match self.do_open(&ctx(req), ino, flags) {
            Ok(o) => reply.opened(o.fh, o.flags),
            Err(e) => reply.error(e),
        }
    }

    fn read(
        &self,
        req: &Request<'_>,
        ino: Ino,
        fh: u64,
        offset: u64,
        size: u32,
        _flags: i32,
        _lock_owner: Option<u64>,
        reply: ReplyData,
    ) {
        let c = ctx(req);
        match self.with_io_path(ino, |p| self.fs.read(&c, p, fh, offset, size)) {
            Ok(d) => reply.data(&d),
            Err(e) => reply.error(e),
        }
    }

    fn write(
        &self,
        req: &Request<'_>,
        ino: Ino,
        fh: u64,
        offset: u64,
        data: &[u8],
        _write_flags: abi::WriteFlags,
        _flags: i32,
        _lock_owner: Option<u64>,
        reply: ReplyWrite,
    ) {
        let c = ctx(req);
        match self.with_io_path(ino, |p| self.fs.write(&c, p, fh, offset, data)) {
            Ok(n) => reply.written(n),
            Err(e) => reply.error(e),
        }
    }

    fn flush(&self, req: &Request<'_>, ino: Ino, fh: u64, lock_owner: u64, reply: ReplyEmpty) {
        let c = ctx(req);
        empty(
            reply,
            self.with_io_path(ino, |p| self.fs.flush(&c, p, fh, lock_owner)),
        );
    }

    fn release(
        &self,
        req: &Request<'_>,
        ino: Ino,
        fh: u64,
        flags: i32,
        _lock_owner: Option<u64>,
        _flush: bool,
        _flock_release: bool,
        reply: ReplyEmpty,
    ) {
        empty(reply, self.do_release(&ctx(req), ino, fh, flags));
    }

    fn fsync(&self, req: &Request<'_>, ino: Ino, fh: u64, datasync: bool, reply: ReplyEmpty) {
        let c = ctx(req);
        empty(
            reply,
            self.with_io_path(ino, |p| self.fs.fsync(&c, p, fh, datasync)),
        );
    }

    fn opendir(&self, req: &Request<'_>, ino: Ino, flags: i32, reply: ReplyOpen) {
        match self.do_opendir(&ctx(req), ino, flags) {
            Ok(id) => reply.opened(id, abi::OpenOutFlags::empty()),
            Err(e) => reply.error(e),
        }
    }

    fn readdir(&self, req: &Request<'_>, _ino: Ino, fh: u64, offset: u64, reply: ReplyDirectory) {
        self.do_readdir(&ctx(req), fh, offset, reply);
    }

    fn releasedir(&self, req: &Request<'_>, _ino: Ino, fh: u64, _flags: i32, reply: ReplyEmpty) {
        empty(reply, self.do_releasedir(&ctx(req), fh));
    }

    fn fsyncdir(&self, req: &Request<'_>, ino: Ino, fh: u64, datasync: bool, reply: ReplyEmpty) {
        empty(reply, self.do_fsyncdir(&ctx(req), ino, fh, datasync));
    }

    fn statfs(&self, req: &Request<'_>, ino: Ino, reply: ReplyStatfs) {
        match self.do_statfs(&ctx(req), ino) {
            Ok(s) => reply.statfs(&s),
            Err(e) => reply.error(e),
        }
    }

    fn setxattr(
        &self,
        req: &Request<'_>,
        ino: Ino,
        name: &OsStr,
        value: &[u8],
        flags: i32,
        reply: ReplyEmpty,
    ) {
        empty(reply, self.do_setxattr(&ctx(req), ino, name, value, flags));
    }

    fn getxattr(&self, req: &Request<'_>, ino: Ino, name: &OsStr, size: u32, reply: ReplyXattr) {
        xattr(reply, size, self.do_getxattr(&ctx(req), ino, name));
    }

    fn listxattr(&self, req: &Request<'_>, ino: Ino, size: u32, reply: ReplyXattr) {
        xattr(reply, size, self.do_listxattr(&ctx(req), ino));
    }

    fn removexattr(&self, req: &Request<'_>, ino: Ino, name: &OsStr, reply: ReplyEmpty) {
        empty(reply, self.do_removexattr(&ctx(req), ino, name));
    }

    fn access(&self, req: &Request<'_>, ino: Ino, mask: i32, reply: ReplyEmpty) {
        empty(reply, self.do_access(&ctx(req), ino, mask));
    }

    fn create(
        &self,
        req: &Request<'_>,
        parent: Ino,
        name: &OsStr,
        mode: u32,
        _umask: u32,
        flags: i32,
        reply: ReplyCreate,
    ) {
        match self.do_create(&ctx(req), parent, name, mode, flags) {
            Ok((e, o)) => reply.created(&e, o.fh, o.flags),
            Err(e) => reply.error(e),
        }
    }

    fn tmpfile(
        &self,
        req: &Request<'_>,
        parent: Ino,
        mode: u32,
        _umask: u32,
        flags: i32,
        reply: ReplyCreate,
    ) {
        match self.do_tmpfile(&ctx(req), parent, mode, flags) {
            Ok((e, o)) => reply.created(&e, o.fh, o.flags),
            Err(e) => reply.error(e),
        }
    }

    fn getlk(
        &self,
        req: &Request<'_>,
        _ino: Ino,
        fh: u64,
        lock_owner: u64,
        lock: &Lock,
        reply: ReplyLock,
    ) {
        match self.fs.getlk(&ctx(req), fh, lock_owner, lock) {
            Ok(l) => reply.locked(&l),
            Err(e) => reply.error(e),
        }
    }

    fn setlk(
        &self,
        req: &Request<'_>,
        _ino: Ino,
        fh: u64,
        lock_owner: u64,
        lock: &Lock,
        sleep: bool,
        flock: bool,
        reply: ReplyEmpty,
    ) {
        let r = self.fs.setlk(&ctx(req), fh, lock_owner, lock, sleep, flock);
        empty(reply, r);
    }

    fn fallocate(
        &self,
        req: &Request<'_>,
        ino: Ino,
        fh: u64,
        offset: u64,
        length: u64,
        mode: i32,
        reply: ReplyEmpty,
    ) {
        let c = ctx(req);
        let r = self.with_io_path(ino, |p| self.fs.fallocate(&c, p, fh, offset, length, mode));
        empty(reply, r);
    }
}
