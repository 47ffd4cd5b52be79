//! Dispatch: one decoded request → one `Filesystem` call with a reply handle. Requests the
//! session answers itself (INTERRUPT, DESTROY, unsupported opcodes) end here too.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use fusekit_abi as abi;
use rustix::io::Errno;

use crate::attr::{Lock, SetAttr};
use crate::conn::{Connection, Stats};
use crate::lowlevel::{CopyRange, Filesystem, IoctlArgs};
use crate::notify::{Notifier, PollHandle};
use crate::op::{Decoded, Op};
use crate::reply::*;
use crate::request::Request;

/// Holds a lock request back until the RELEASEs of its inode that the kernel queued before
/// it have been answered (`conn::ReleaseFence`): closing one descriptor and then locking
/// through another must find the closed one's OFD locks and flocks gone.
fn after_earlier_releases(conn: &Connection, unique: u64, ino: u64) {
    let waited = conn.release_fence.wait_before(unique, ino);
    if waited.releases > 0 {
        Stats::bump(&conn.stats.locks_after_release);
        tracing::debug!(unique, ino, "lock request waited for an earlier RELEASE");
    }
    if waited.gaps > 0 {
        conn.stats
            .request_id_gaps
            .fetch_add(waited.gaps, Ordering::Relaxed);
        tracing::debug!(
            unique,
            gaps = waited.gaps,
            "lock request waited for request ids no worker read"
        );
    }
    if waited.slow_releases > 0 {
        tracing::warn!(
            unique,
            ino,
            "an earlier RELEASE of this inode is still unanswered after 5 s; the lock request goes ahead"
        );
    }
}

/// Serves one request. Never panics on its own account; a panic inside the filesystem is
/// caught by the serve loop.
pub(crate) fn dispatch<FS: Filesystem>(fs: &FS, chan: &Arc<Channel>, d: &Decoded<'_>) {
    let h = &d.header;
    let conn = chan.conn();
    let req = Request::new(h, d.ext, conn);
    let ino = h.nodeid;
    let inner = || ReplyInner::new(h.unique, h.opcode, Arc::clone(chan));
    match d.op {
        Op::Lookup { name } => fs.lookup(&req, ino, name, ReplyEntry::new(inner())),
        Op::Forget { arg } => fs.forget(&req, ino, arg.nlookup),
        Op::BatchForget { forgets } => {
            // Collect in bounded chunks: no allocation proportional to a hostile count.
            let mut chunk = [abi::ForgetOne::default(); 64];
            let mut n = 0;
            for one in forgets.iter() {
                chunk[n] = one;
                n += 1;
                if n == chunk.len() {
                    fs.batch_forget(&req, &chunk);
                    n = 0;
                }
            }
            if n > 0 {
                fs.batch_forget(&req, &chunk[..n]);
            }
        }
        Op::Getattr { arg } => {
            let fh = abi::GetattrFlags::from_bits_retain(arg.getattr_flags)
                .contains(abi::GetattrFlags::FH)
                .then_some(arg.fh);
            fs.getattr(&req, ino, fh, ReplyAttr::new(inner()))
        }
        Op::Setattr { arg } => {
            fs.setattr(&req, ino, &SetAttr::from_abi(&arg), ReplyAttr::new(inner()))
        }
        Op::Readlink => fs.readlink(&req, ino, ReplyData::new(inner())),
        Op::Symlink { name, target } => {
            fs.symlink(&req, ino, name, target, ReplyEntry::new(inner()))
        }
        Op::Mknod { arg, name } => fs.mknod(
            &req,
            ino,
            name,
            arg.mode,
            arg.umask,
            arg.rdev,
            ReplyEntry::new(inner()),
        ),
        Op::Mkdir { arg, name } => fs.mkdir(
            &req,
            ino,
            name,
            arg.mode,
            arg.umask,
            ReplyEntry::new(inner()),
        ),
        Op::Unlink { name } => fs.unlink(&req, ino, name, ReplyEmpty::new(inner())),
        Op::Rmdir { name } => fs.rmdir(&req, ino, name, ReplyEmpty::new(inner())),
        Op::Rename {
            newdir,
            flags,
            name,
            newname,
        } => fs.rename(
            &req,
            ino,
            name,
            newdir,
            newname,
            flags,
            ReplyEmpty::new(inner()),
        ),
        Op::Link { arg, newname } => {
            fs.link(&req, arg.oldnodeid, ino, newname, ReplyEntry::new(inner()))
        }
        Op::Open { arg } => fs.open(&req, ino, arg.flags as i32, ReplyOpen::new(inner())),
        Op::Read { arg } => {
            let owner = abi::ReadFlags::from_bits_retain(arg.read_flags)
                .contains(abi::ReadFlags::LOCKOWNER)
                .then_some(arg.lock_owner);
            fs.read(
                &req,
                ino,
                arg.fh,
                arg.offset,
                arg.size,
                arg.flags as i32,
                owner,
                ReplyData::new(inner()),
            )
        }
        Op::Write { arg, data } => {
            let wflags = abi::WriteFlags::from_bits_retain(arg.write_flags);
            let owner = wflags
                .contains(abi::WriteFlags::LOCKOWNER)
                .then_some(arg.lock_owner);
            fs.write(
                &req,
                ino,
                arg.fh,
                arg.offset,
                data,
                wflags,
                arg.flags as i32,
                owner,
                ReplyWrite::new(inner()),
            )
        }
        Op::Statfs => fs.statfs(&req, ino, ReplyStatfs::new(inner())),
        Op::Release { arg } => {
            let rflags = abi::ReleaseFlags::from_bits_retain(arg.release_flags);
            let flush = rflags.contains(abi::ReleaseFlags::FLUSH);
            let flock = rflags.contains(abi::ReleaseFlags::FLOCK_UNLOCK);
            let owner = (flush || flock).then_some(arg.lock_owner);
            fs.release(
                &req,
                ino,
                arg.fh,
                arg.flags as i32,
                owner,
                flush,
                flock,
                ReplyEmpty::new(inner()),
            )
        }
        Op::Fsync { arg } => {
            let datasync = abi::FsyncFlags::from_bits_retain(arg.fsync_flags)
                .contains(abi::FsyncFlags::FDATASYNC);
            fs.fsync(&req, ino, arg.fh, datasync, ReplyEmpty::new(inner()))
        }
        Op::Setxattr { arg, name, value } => fs.setxattr(
            &req,
            ino,
            name,
            value,
            arg.flags as i32,
            ReplyEmpty::new(inner()),
        ),
        Op::Getxattr { arg, name } => {
            fs.getxattr(&req, ino, name, arg.size, ReplyXattr::new(inner()))
        }
        Op::Listxattr { arg } => fs.listxattr(&req, ino, arg.size, ReplyXattr::new(inner())),
        Op::Removexattr { name } => fs.removexattr(&req, ino, name, ReplyEmpty::new(inner())),
        Op::Flush { arg } => fs.flush(&req, ino, arg.fh, arg.lock_owner, ReplyEmpty::new(inner())),
        Op::Init { .. } => {
            tracing::warn!("second INIT on an initialized connection; answering EIO");
            inner().error(Errno::IO)
        }
        Op::Opendir { arg } => fs.opendir(&req, ino, arg.flags as i32, ReplyOpen::new(inner())),
        Op::Readdir { arg } => fs.readdir(
            &req,
            ino,
            arg.fh,
            arg.offset,
            ReplyDirectory::new(inner(), arg.size as usize),
        ),
        Op::Readdirplus { arg } => fs.readdirplus(
            &req,
            ino,
            arg.fh,
            arg.offset,
            ReplyDirectoryPlus::new(inner(), arg.size as usize),
        ),
        Op::Releasedir { arg } => fs.releasedir(
            &req,
            ino,
            arg.fh,
            arg.flags as i32,
            ReplyEmpty::new(inner()),
        ),
        Op::Fsyncdir { arg } => {
            let datasync = abi::FsyncFlags::from_bits_retain(arg.fsync_flags)
                .contains(abi::FsyncFlags::FDATASYNC);
            fs.fsyncdir(&req, ino, arg.fh, datasync, ReplyEmpty::new(inner()))
        }
        Op::Getlk { arg } => {
            after_earlier_releases(conn, h.unique, ino);
            fs.getlk(
                &req,
                ino,
                arg.fh,
                arg.owner,
                &Lock::from_abi(&arg.lk),
                ReplyLock::new(inner()),
            )
        }
        Op::Setlk { arg } | Op::Setlkw { arg } => {
            after_earlier_releases(conn, h.unique, ino);
            let sleep = matches!(d.op, Op::Setlkw { .. });
            let flock = abi::LkFlags::from_bits_retain(arg.lk_flags).contains(abi::LkFlags::FLOCK);
            fs.setlk(
                &req,
                ino,
                arg.fh,
                arg.owner,
                &Lock::from_abi(&arg.lk),
                sleep,
                flock,
                ReplyEmpty::new(inner()),
            )
        }
        Op::Access { arg } => fs.access(&req, ino, arg.mask as i32, ReplyEmpty::new(inner())),
        Op::Create { arg, name } => fs.create(
            &req,
            ino,
            name,
            arg.mode,
            arg.umask,
            arg.flags as i32,
            ReplyCreate::new(inner()),
        ),
        Op::Interrupt { arg } => {
            Stats::bump(&conn.stats.interrupts);
            tracing::debug!(target_unique = arg.unique, "interrupt");
            conn.interrupts.interrupt(arg.unique);
        }
        Op::Bmap { arg } => fs.bmap(&req, ino, arg.blocksize, arg.block, ReplyBmap::new(inner())),
        Op::Destroy => {
            if !conn.destroyed.swap(true, Ordering::AcqRel) {
                fs.destroy();
            }
            inner().ok()
        }
        Op::Ioctl { arg, data } => {
            let args = IoctlArgs {
                fh: arg.fh,
                flags: abi::IoctlFlags::from_bits_retain(arg.flags),
                cmd: arg.cmd,
                arg: arg.arg,
                in_data: data,
                out_size: arg.out_size,
            };
            fs.ioctl(&req, ino, &args, ReplyIoctl::new(inner()))
        }
        Op::Poll { arg } => {
            let handle = abi::PollFlags::from_bits_retain(arg.flags)
                .contains(abi::PollFlags::SCHEDULE_NOTIFY)
                .then(|| PollHandle::new(arg.kh, Notifier::new(Arc::clone(conn))));
            fs.poll(
                &req,
                ino,
                arg.fh,
                handle,
                arg.events,
                arg.flags,
                ReplyPoll::new(inner()),
            )
        }
        Op::NotifyReply { arg, data } => fs.retrieve_reply(&req, h.unique, ino, arg.offset, data),
        Op::Fallocate { arg } => fs.fallocate(
            &req,
            ino,
            arg.fh,
            arg.offset,
            arg.length,
            arg.mode as i32,
            ReplyEmpty::new(inner()),
        ),
        Op::Lseek { arg } => fs.lseek(
            &req,
            ino,
            arg.fh,
            arg.offset as i64,
            arg.whence as i32,
            ReplyLseek::new(inner()),
        ),
        Op::CopyFileRange { arg } | Op::CopyFileRange64 { arg } => {
            let range = CopyRange {
                ino_in: ino,
                fh_in: arg.fh_in,
                offset_in: arg.off_in,
                ino_out: arg.nodeid_out,
                fh_out: arg.fh_out,
                offset_out: arg.off_out,
                len: arg.len,
                flags: arg.flags,
            };
            fs.copy_file_range(&req, &range, ReplyCopy::new(inner()))
        }
        Op::Syncfs { .. } => fs.syncfs(&req, ino, ReplyEmpty::new(inner())),
        Op::Tmpfile { arg } => fs.tmpfile(
            &req,
            ino,
            arg.mode,
            arg.umask,
            arg.flags as i32,
            ReplyCreate::new(inner()),
        ),
        Op::Statx { arg } => {
            let fh = abi::GetattrFlags::from_bits_retain(arg.getattr_flags)
                .contains(abi::GetattrFlags::FH)
                .then_some(arg.fh);
            fs.statx(
                &req,
                ino,
                fh,
                arg.sx_flags,
                arg.sx_mask,
                ReplyStatx::new(inner()),
            )
        }
        Op::DaxMapping { .. } | Op::CuseInit | Op::Unknown { .. } => {
            tracing::debug!(opcode = h.opcode, "unsupported opcode; answering ENOSYS");
            inner().error(Errno::NOSYS)
        }
    }
}
