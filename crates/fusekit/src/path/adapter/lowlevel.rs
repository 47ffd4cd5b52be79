//! The inode-level [`Filesystem`] implementation: decodes nothing and decides nothing, it
//! only calls the matching `do_*` method and turns its `Result` into the kernel's reply.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStringExt;

use fusekit_abi as abi;
use rustix::io::Errno;

use super::PathAdapter;
use crate::attr::{Ino, Lock, SetAttr};
use crate::lowlevel::{Filesystem, KernelConfig};
use crate::path::fs::{Opened, PathContext, PathFilesystem};
use crate::reply::{
    OpenOptions, ReplyAttr, ReplyCreate, ReplyData, ReplyDirectory, ReplyEmpty, ReplyEntry,
    ReplyLock, ReplyOpen, ReplyStatfs, ReplyWrite, ReplyXattr, Xattr,
};
use crate::request::Request;

fn ctx(req: &Request<'_>) -> PathContext {
    PathContext::from_request(req)
}

/// The open reply for a handle the path filesystem opened (no backing id at this level).
fn opened(o: Opened) -> (u64, OpenOptions) {
    (
        o.fh,
        OpenOptions {
            flags: o.flags,
            backing_id: None,
        },
    )
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
        reply.result(self.do_lookup(&ctx(req), parent, name));
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
        reply.result(self.do_getattr(&ctx(req), ino, fh), self.config.attr_ttl)
    }

    fn setattr(&self, req: &Request<'_>, ino: Ino, attr: &SetAttr, reply: ReplyAttr) {
        reply.result(self.do_setattr(&ctx(req), ino, attr), self.config.attr_ttl)
    }

    fn readlink(&self, req: &Request<'_>, ino: Ino, reply: ReplyData) {
        reply.result(
            self.do_readlink(&ctx(req), ino)
                .map(|t| t.into_os_string().into_vec()),
        )
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
        reply.result(r);
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
        reply.result(self.do_make(parent, name, |p| self.fs.mknod(&c, p, mode, rdev)));
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
        reply.result(self.do_make(parent, name, |p| self.fs.mkdir(&c, p, mode)));
    }

    fn unlink(&self, req: &Request<'_>, parent: Ino, name: &OsStr, reply: ReplyEmpty) {
        reply.result(self.do_unlink(&ctx(req), parent, name));
    }

    fn rmdir(&self, req: &Request<'_>, parent: Ino, name: &OsStr, reply: ReplyEmpty) {
        reply.result(self.do_rmdir(&ctx(req), parent, name));
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
        reply.result(r);
    }

    fn link(
        &self,
        req: &Request<'_>,
        ino: Ino,
        newparent: Ino,
        newname: &OsStr,
        reply: ReplyEntry,
    ) {
        reply.result(self.do_link(&ctx(req), ino, newparent, newname));
    }

    fn open(&self, req: &Request<'_>, ino: Ino, flags: i32, reply: ReplyOpen) {
        reply.result_with(self.do_open(&ctx(req), ino, flags).map(opened))
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
        reply.result(self.with_io_path(ino, |p| self.fs.read(&c, p, fh, offset, size)))
    }

    fn write(
        &self,
        req: &Request<'_>,
        ino: Ino,
        fh: u64,
        offset: u64,
        data: &[u8],
        write_flags: abi::WriteFlags,
        _flags: i32,
        _lock_owner: Option<u64>,
        reply: ReplyWrite,
    ) {
        let c = PathContext {
            kill_suidgid: write_flags.contains(abi::WriteFlags::KILL_SUIDGID),
            ..ctx(req)
        };
        reply.result(self.with_io_path(ino, |p| self.fs.write(&c, p, fh, offset, data)))
    }

    fn flush(&self, req: &Request<'_>, ino: Ino, fh: u64, lock_owner: u64, reply: ReplyEmpty) {
        let c = ctx(req);
        reply.result(self.with_io_path(ino, |p| self.fs.flush(&c, p, fh, lock_owner)));
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
        reply.result(self.do_release(&ctx(req), ino, fh, flags));
    }

    fn fsync(&self, req: &Request<'_>, ino: Ino, fh: u64, datasync: bool, reply: ReplyEmpty) {
        let c = ctx(req);
        reply.result(self.with_io_path(ino, |p| self.fs.fsync(&c, p, fh, datasync)));
    }

    fn opendir(&self, req: &Request<'_>, ino: Ino, flags: i32, reply: ReplyOpen) {
        reply.result(
            self.do_opendir(&ctx(req), ino, flags),
            abi::OpenOutFlags::empty(),
        )
    }

    fn readdir(&self, req: &Request<'_>, _ino: Ino, fh: u64, offset: u64, reply: ReplyDirectory) {
        self.do_readdir(&ctx(req), fh, offset, reply);
    }

    fn releasedir(&self, req: &Request<'_>, _ino: Ino, fh: u64, _flags: i32, reply: ReplyEmpty) {
        reply.result(self.do_releasedir(&ctx(req), fh));
    }

    fn fsyncdir(&self, req: &Request<'_>, ino: Ino, fh: u64, datasync: bool, reply: ReplyEmpty) {
        reply.result(self.do_fsyncdir(&ctx(req), ino, fh, datasync));
    }

    fn statfs(&self, req: &Request<'_>, ino: Ino, reply: ReplyStatfs) {
        reply.result(self.do_statfs(&ctx(req), ino))
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
        reply.result(self.do_setxattr(&ctx(req), ino, name, value, flags));
    }

    fn getxattr(&self, req: &Request<'_>, ino: Ino, name: &OsStr, size: u32, reply: ReplyXattr) {
        reply.result(
            self.do_getxattr(&ctx(req), ino, name)
                .and_then(|v| Xattr::fit(v, size)),
        );
    }

    fn listxattr(&self, req: &Request<'_>, ino: Ino, size: u32, reply: ReplyXattr) {
        reply.result(
            self.do_listxattr(&ctx(req), ino)
                .and_then(|v| Xattr::fit(v, size)),
        );
    }

    fn removexattr(&self, req: &Request<'_>, ino: Ino, name: &OsStr, reply: ReplyEmpty) {
        reply.result(self.do_removexattr(&ctx(req), ino, name));
    }

    fn access(&self, req: &Request<'_>, ino: Ino, mask: i32, reply: ReplyEmpty) {
        reply.result(self.do_access(&ctx(req), ino, mask));
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
        let r = self.do_create(&ctx(req), parent, name, mode, flags);
        reply.result_with(r.map(|(e, o)| {
            let (fh, options) = opened(o);
            (e, fh, options)
        }))
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
        let r = self.do_tmpfile(&ctx(req), parent, mode, flags);
        reply.result_with(r.map(|(e, o)| {
            let (fh, options) = opened(o);
            (e, fh, options)
        }))
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
        reply.result(self.fs.getlk(&ctx(req), fh, lock_owner, lock))
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
        reply.result(r);
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
        reply.result(r);
    }
}
