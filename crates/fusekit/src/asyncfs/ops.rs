//! `impl Filesystem for AsyncAdapter`: each opcode copies what it borrows from the request
//! buffer (names, data) into its task and calls the async method there. FORGET,
//! BATCH_FORGET and NOTIFY_REPLY call the synchronous methods in place; INIT and DESTROY
//! block on the runtime.

use std::ffi::OsStr;

use fusekit_abi as abi;
use rustix::io::Errno;

use super::adapter::AsyncAdapter;
use super::answer::XattrAnswer;
use super::context::RequestContext;
use super::dir::{DirAnswer, DirPlusAnswer};
use super::filesystem::{AsyncFilesystem, IoctlRequest};
use crate::attr::{Ino, Lock, SetAttr};
use crate::lowlevel::{CopyRange, Filesystem, IoctlArgs, KernelConfig};
use crate::notify::PollHandle;
use crate::reply::*;
use crate::request::Request;

impl<F: AsyncFilesystem> Filesystem for AsyncAdapter<F> {
    fn init(&self, req: &Request<'_>, config: &mut KernelConfig) -> Result<(), Errno> {
        // Requests wait on the runtime, not on the thread that read them: over io_uring each
        // holds its ring entry meanwhile. The filesystem's own init may say otherwise.
        config.set_requests_in_flight(self.max_in_flight());
        let ctx = RequestContext::new(req);
        self.block_on(self.filesystem().init(&ctx, config))
    }

    fn destroy(&self) {
        self.block_on(self.filesystem().destroy())
    }

    fn lookup(&self, req: &Request<'_>, parent: Ino, name: &OsStr, reply: ReplyEntry) {
        let name = name.to_owned();
        self.spawn(req, "LOOKUP", reply, move |fs, ctx| async move {
            fs.lookup(&ctx, parent, &name).await
        })
    }

    fn forget(&self, _req: &Request<'_>, ino: Ino, nlookup: u64) {
        self.entered(|fs| fs.forget(ino, nlookup))
    }

    fn batch_forget(&self, _req: &Request<'_>, nodes: &[abi::ForgetOne]) {
        self.entered(|fs| fs.batch_forget(nodes))
    }

    fn getattr(&self, req: &Request<'_>, ino: Ino, fh: Option<u64>, reply: ReplyAttr) {
        self.spawn(req, "GETATTR", reply, move |fs, ctx| async move {
            fs.getattr(&ctx, ino, fh).await
        })
    }

    fn setattr(&self, req: &Request<'_>, ino: Ino, attr: &SetAttr, reply: ReplyAttr) {
        let attr = *attr;
        self.spawn(req, "SETATTR", reply, move |fs, ctx| async move {
            fs.setattr(&ctx, ino, attr).await
        })
    }

    fn readlink(&self, req: &Request<'_>, ino: Ino, reply: ReplyData) {
        self.spawn(req, "READLINK", reply, move |fs, ctx| async move {
            fs.readlink(&ctx, ino).await
        })
    }

    fn symlink(
        &self,
        req: &Request<'_>,
        parent: Ino,
        name: &OsStr,
        target: &OsStr,
        reply: ReplyEntry,
    ) {
        let (name, target) = (name.to_owned(), target.to_owned());
        self.spawn(req, "SYMLINK", reply, move |fs, ctx| async move {
            fs.symlink(&ctx, parent, &name, &target).await
        })
    }

    fn mknod(
        &self,
        req: &Request<'_>,
        parent: Ino,
        name: &OsStr,
        mode: u32,
        umask: u32,
        rdev: u32,
        reply: ReplyEntry,
    ) {
        let name = name.to_owned();
        self.spawn(req, "MKNOD", reply, move |fs, ctx| async move {
            fs.mknod(&ctx, parent, &name, mode, umask, rdev).await
        })
    }

    fn mkdir(
        &self,
        req: &Request<'_>,
        parent: Ino,
        name: &OsStr,
        mode: u32,
        umask: u32,
        reply: ReplyEntry,
    ) {
        let name = name.to_owned();
        self.spawn(req, "MKDIR", reply, move |fs, ctx| async move {
            fs.mkdir(&ctx, parent, &name, mode, umask).await
        })
    }

    fn unlink(&self, req: &Request<'_>, parent: Ino, name: &OsStr, reply: ReplyEmpty) {
        let name = name.to_owned();
        self.spawn(req, "UNLINK", reply, move |fs, ctx| async move {
            fs.unlink(&ctx, parent, &name).await
        })
    }

    fn rmdir(&self, req: &Request<'_>, parent: Ino, name: &OsStr, reply: ReplyEmpty) {
        let name = name.to_owned();
        self.spawn(req, "RMDIR", reply, move |fs, ctx| async move {
            fs.rmdir(&ctx, parent, &name).await
        })
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
        let (name, newname) = (name.to_owned(), newname.to_owned());
        self.spawn(req, "RENAME", reply, move |fs, ctx| async move {
            fs.rename(&ctx, parent, &name, newparent, &newname, flags)
                .await
        })
    }

    fn link(
        &self,
        req: &Request<'_>,
        ino: Ino,
        newparent: Ino,
        newname: &OsStr,
        reply: ReplyEntry,
    ) {
        let newname = newname.to_owned();
        self.spawn(req, "LINK", reply, move |fs, ctx| async move {
            fs.link(&ctx, ino, newparent, &newname).await
        })
    }

    fn open(&self, req: &Request<'_>, ino: Ino, flags: i32, reply: ReplyOpen) {
        self.spawn(req, "OPEN", reply, move |fs, ctx| async move {
            fs.open(&ctx, ino, flags).await
        })
    }

    fn read(
        &self,
        req: &Request<'_>,
        ino: Ino,
        fh: u64,
        offset: u64,
        size: u32,
        flags: i32,
        lock_owner: Option<u64>,
        reply: ReplyData,
    ) {
        self.spawn(req, "READ", reply, move |fs, ctx| async move {
            fs.read(&ctx, ino, fh, offset, size, flags, lock_owner)
                .await
        })
    }

    fn write(
        &self,
        req: &Request<'_>,
        ino: Ino,
        fh: u64,
        offset: u64,
        data: &[u8],
        write_flags: abi::WriteFlags,
        flags: i32,
        lock_owner: Option<u64>,
        reply: ReplyWrite,
    ) {
        let data = data.to_vec();
        self.spawn(req, "WRITE", reply, move |fs, ctx| async move {
            fs.write(&ctx, ino, fh, offset, data, write_flags, flags, lock_owner)
                .await
        })
    }

    fn flush(&self, req: &Request<'_>, ino: Ino, fh: u64, lock_owner: u64, reply: ReplyEmpty) {
        self.spawn(req, "FLUSH", reply, move |fs, ctx| async move {
            fs.flush(&ctx, ino, fh, lock_owner).await
        })
    }

    fn release(
        &self,
        req: &Request<'_>,
        ino: Ino,
        fh: u64,
        flags: i32,
        lock_owner: Option<u64>,
        flush: bool,
        flock_release: bool,
        reply: ReplyEmpty,
    ) {
        self.spawn(req, "RELEASE", reply, move |fs, ctx| async move {
            fs.release(&ctx, ino, fh, flags, lock_owner, flush, flock_release)
                .await
        })
    }

    fn fsync(&self, req: &Request<'_>, ino: Ino, fh: u64, datasync: bool, reply: ReplyEmpty) {
        self.spawn(req, "FSYNC", reply, move |fs, ctx| async move {
            fs.fsync(&ctx, ino, fh, datasync).await
        })
    }

    fn opendir(&self, req: &Request<'_>, ino: Ino, flags: i32, reply: ReplyOpen) {
        self.spawn(req, "OPENDIR", reply, move |fs, ctx| async move {
            fs.opendir(&ctx, ino, flags).await
        })
    }

    fn readdir(&self, req: &Request<'_>, ino: Ino, fh: u64, offset: u64, reply: ReplyDirectory) {
        let (reply, lend) = DirAnswer::new(reply);
        self.spawn(req, "READDIR", reply, move |fs, ctx| async move {
            let mut buf = lend();
            fs.readdir(&ctx, ino, fh, offset, &mut buf).await?;
            Ok(buf)
        })
    }

    fn readdirplus(
        &self,
        req: &Request<'_>,
        ino: Ino,
        fh: u64,
        offset: u64,
        reply: ReplyDirectoryPlus,
    ) {
        let (reply, lend) = DirPlusAnswer::new(reply);
        self.spawn(req, "READDIRPLUS", reply, move |fs, ctx| async move {
            let mut buf = lend();
            fs.readdirplus(&ctx, ino, fh, offset, &mut buf).await?;
            Ok(buf)
        })
    }

    fn releasedir(&self, req: &Request<'_>, ino: Ino, fh: u64, flags: i32, reply: ReplyEmpty) {
        self.spawn(req, "RELEASEDIR", reply, move |fs, ctx| async move {
            fs.releasedir(&ctx, ino, fh, flags).await
        })
    }

    fn fsyncdir(&self, req: &Request<'_>, ino: Ino, fh: u64, datasync: bool, reply: ReplyEmpty) {
        self.spawn(req, "FSYNCDIR", reply, move |fs, ctx| async move {
            fs.fsyncdir(&ctx, ino, fh, datasync).await
        })
    }

    fn statfs(&self, req: &Request<'_>, ino: Ino, reply: ReplyStatfs) {
        self.spawn(req, "STATFS", reply, move |fs, ctx| async move {
            fs.statfs(&ctx, ino).await
        })
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
        let (name, value) = (name.to_owned(), value.to_vec());
        self.spawn(req, "SETXATTR", reply, move |fs, ctx| async move {
            fs.setxattr(&ctx, ino, &name, &value, flags).await
        })
    }

    fn getxattr(&self, req: &Request<'_>, ino: Ino, name: &OsStr, size: u32, reply: ReplyXattr) {
        let name = name.to_owned();
        let reply = XattrAnswer { reply, size };
        self.spawn(req, "GETXATTR", reply, move |fs, ctx| async move {
            fs.getxattr(&ctx, ino, &name).await
        })
    }

    fn listxattr(&self, req: &Request<'_>, ino: Ino, size: u32, reply: ReplyXattr) {
        let reply = XattrAnswer { reply, size };
        self.spawn(req, "LISTXATTR", reply, move |fs, ctx| async move {
            fs.listxattr(&ctx, ino).await
        })
    }

    fn removexattr(&self, req: &Request<'_>, ino: Ino, name: &OsStr, reply: ReplyEmpty) {
        let name = name.to_owned();
        self.spawn(req, "REMOVEXATTR", reply, move |fs, ctx| async move {
            fs.removexattr(&ctx, ino, &name).await
        })
    }

    fn access(&self, req: &Request<'_>, ino: Ino, mask: i32, reply: ReplyEmpty) {
        self.spawn(req, "ACCESS", reply, move |fs, ctx| async move {
            fs.access(&ctx, ino, mask).await
        })
    }

    fn create(
        &self,
        req: &Request<'_>,
        parent: Ino,
        name: &OsStr,
        mode: u32,
        umask: u32,
        flags: i32,
        reply: ReplyCreate,
    ) {
        let name = name.to_owned();
        self.spawn(req, "CREATE", reply, move |fs, ctx| async move {
            fs.create(&ctx, parent, &name, mode, umask, flags).await
        })
    }

    fn getlk(
        &self,
        req: &Request<'_>,
        ino: Ino,
        fh: u64,
        lock_owner: u64,
        lock: &Lock,
        reply: ReplyLock,
    ) {
        let lock = *lock;
        self.spawn(req, "GETLK", reply, move |fs, ctx| async move {
            fs.getlk(&ctx, ino, fh, lock_owner, lock).await
        })
    }

    fn setlk(
        &self,
        req: &Request<'_>,
        ino: Ino,
        fh: u64,
        lock_owner: u64,
        lock: &Lock,
        sleep: bool,
        flock: bool,
        reply: ReplyEmpty,
    ) {
        let lock = *lock;
        let op = if sleep { "SETLKW" } else { "SETLK" };
        self.spawn(req, op, reply, move |fs, ctx| async move {
            fs.setlk(&ctx, ino, fh, lock_owner, lock, sleep, flock)
                .await
        })
    }

    fn bmap(&self, req: &Request<'_>, ino: Ino, blocksize: u32, block: u64, reply: ReplyBmap) {
        self.spawn(req, "BMAP", reply, move |fs, ctx| async move {
            fs.bmap(&ctx, ino, blocksize, block).await
        })
    }

    fn ioctl(&self, req: &Request<'_>, ino: Ino, args: &IoctlArgs<'_>, reply: ReplyIoctl) {
        let args = IoctlRequest {
            fh: args.fh,
            flags: args.flags,
            cmd: args.cmd,
            arg: args.arg,
            in_data: args.in_data.to_vec(),
            out_size: args.out_size,
        };
        self.spawn(req, "IOCTL", reply, move |fs, ctx| async move {
            fs.ioctl(&ctx, ino, &args).await
        })
    }

    fn poll(
        &self,
        req: &Request<'_>,
        ino: Ino,
        fh: u64,
        handle: Option<PollHandle>,
        events: u32,
        flags: u32,
        reply: ReplyPoll,
    ) {
        self.spawn(req, "POLL", reply, move |fs, ctx| async move {
            fs.poll(&ctx, ino, fh, handle, events, flags).await
        })
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
        self.spawn(req, "FALLOCATE", reply, move |fs, ctx| async move {
            fs.fallocate(&ctx, ino, fh, offset, length, mode).await
        })
    }

    fn lseek(
        &self,
        req: &Request<'_>,
        ino: Ino,
        fh: u64,
        offset: i64,
        whence: i32,
        reply: ReplyLseek,
    ) {
        self.spawn(req, "LSEEK", reply, move |fs, ctx| async move {
            fs.lseek(&ctx, ino, fh, offset, whence).await
        })
    }

    fn copy_file_range(&self, req: &Request<'_>, range: &CopyRange, reply: ReplyCopy) {
        let range = *range;
        self.spawn(req, "COPY_FILE_RANGE", reply, move |fs, ctx| async move {
            fs.copy_file_range(&ctx, range).await
        })
    }

    fn syncfs(&self, req: &Request<'_>, ino: Ino, reply: ReplyEmpty) {
        self.spawn(req, "SYNCFS", reply, move |fs, ctx| async move {
            fs.syncfs(&ctx, ino).await
        })
    }

    fn tmpfile(
        &self,
        req: &Request<'_>,
        parent: Ino,
        mode: u32,
        umask: u32,
        flags: i32,
        reply: ReplyCreate,
    ) {
        self.spawn(req, "TMPFILE", reply, move |fs, ctx| async move {
            fs.tmpfile(&ctx, parent, mode, umask, flags).await
        })
    }

    fn statx(
        &self,
        req: &Request<'_>,
        ino: Ino,
        fh: Option<u64>,
        flags: u32,
        mask: u32,
        reply: ReplyStatx,
    ) {
        self.spawn(req, "STATX", reply, move |fs, ctx| async move {
            fs.statx(&ctx, ino, fh, flags, mask).await
        })
    }

    fn retrieve_reply(&self, req: &Request<'_>, cookie: u64, ino: Ino, offset: u64, data: &[u8]) {
        let ctx = RequestContext::new(req);
        self.entered(|fs| fs.retrieve_reply(&ctx, cookie, ino, offset, data))
    }
}
