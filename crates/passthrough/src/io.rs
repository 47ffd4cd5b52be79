//! File I/O: OPEN (and the open half of CREATE/TMPFILE), READ, WRITE, FLUSH, RELEASE, FSYNC,
//! FALLOCATE, LSEEK, COPY_FILE_RANGE and SYNCFS, all on the handle's real descriptor. With
//! kernel passthrough the kernel reads and writes the source file itself and READ/WRITE never
//! arrive; otherwise a READ is one `pread` into a per-thread buffer (reused, never
//! reallocated once large enough) answered straight from it, and a WRITE is one `pwrite`
//! straight from the request buffer.

use std::cell::RefCell;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;

use fusekit::abi::{OpenOutFlags, WriteFlags};
use fusekit::{CopyRange, FileType, Ino, OpenOptions, ReplyData, Request};
use rustix::fs::{FallocateFlags, OFlags, SeekFrom};
use rustix::io::Errno;

use crate::handles::FileHandle;
use crate::inode::Inode;
use crate::killpriv::{forget_cached_mode, kill_suidgid};
use crate::stats::Counters;
use crate::sys::{dup, reopen};
use crate::Passthrough;

thread_local! {
    static READ_BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// True when `fd` is open for writing and the file has setuid or setgid bits, which a write
/// by an unprivileged caller must clear.
fn guards_privileges(fd: &OwnedFd) -> bool {
    let writable = rustix::fs::fcntl_getfl(fd)
        .map(|f| f & OFlags::RWMODE != OFlags::RDONLY)
        .unwrap_or(true);
    writable
        && rustix::fs::fstat(fd)
            .map(|st| st.st_mode & 0o6000 != 0)
            .unwrap_or(false)
}

/// Opens with `flags`; when they hold O_NOATIME and the daemon may not use it on this file
/// (EPERM: neither its owner nor CAP_FOWNER), opens without it.
pub(crate) fn noatime_or_not(
    flags: OFlags,
    open: impl Fn(OFlags) -> Result<OwnedFd, Errno>,
) -> Result<OwnedFd, Errno> {
    match open(flags) {
        Err(Errno::PERM) if flags.contains(OFlags::NOATIME) => open(flags - OFlags::NOATIME),
        r => r,
    }
}

impl Passthrough {
    /// The flags to open a source file with, from the caller's open flags.
    pub(crate) fn open_flags(&self, flags: i32) -> OFlags {
        let mut f = OFlags::from_bits_retain(flags as u32) - OFlags::NOCTTY;
        if self.writeback() {
            // The kernel reads pages around partial writes and appends itself.
            if f & OFlags::RWMODE == OFlags::WRONLY {
                f = (f - OFlags::RWMODE) | OFlags::RDWR;
            }
            f -= OFlags::APPEND;
        }
        if self.noatime() {
            f |= OFlags::NOATIME;
        }
        f | OFlags::CLOEXEC
    }

    /// Registers an open descriptor of `inode` as a handle, with kernel passthrough when
    /// possible.
    ///
    /// One exception: a setuid/setgid file opened for writing gets a handle whose writes the
    /// daemon serves (direct I/O when passthrough is on — the one non-passthrough mode the
    /// kernel allows beside passthrough handles of the same inode), so that writes by
    /// unprivileged callers clear the bits as Linux does today (see `killpriv`); the kernel
    /// would write the source file with the daemon's (root) credentials.
    pub(crate) fn new_handle(
        &self,
        req: &Request<'_>,
        inode: Arc<Inode>,
        fd: OwnedFd,
    ) -> (u64, OpenOptions) {
        let mut flags = OpenOutFlags::empty();
        let kill_privs = inode.kind == FileType::RegularFile && guards_privileges(&fd);
        let backing = if inode.kind == FileType::RegularFile {
            Counters::add(&self.counters.opens, 1);
            if kill_privs && self.backing.enabled() {
                flags |= OpenOutFlags::DIRECT_IO;
                None
            } else {
                self.backing.for_open(req, &inode, &self.counters)
            }
        } else {
            None
        };
        let backing_id = backing.as_ref().map(|b| b.id());
        if backing_id.is_some() {
            Counters::add(&self.counters.passthrough_opens, 1);
        }
        let fh = self
            .files
            .insert(FileHandle::new(fd, inode, backing, kill_privs));
        (fh, OpenOptions { flags, backing_id })
    }

    pub(crate) fn do_open(
        &self,
        req: &Request<'_>,
        ino: Ino,
        flags: i32,
    ) -> Result<(u64, OpenOptions), Errno> {
        let inode = self.inodes.get(ino)?;
        let fd = noatime_or_not(self.open_flags(flags), |f| reopen(inode.fd()?.as_fd(), f))?;
        Ok(self.new_handle(req, inode, fd))
    }

    pub(crate) fn do_read(&self, fh: u64, offset: u64, size: u32, reply: ReplyData) {
        READ_BUF.with(|buf| {
            let mut buf = buf.borrow_mut();
            let size = size as usize;
            if buf.len() < size {
                buf.resize(size, 0);
            }
            let read = self.read_into(fh, offset, &mut buf[..size]);
            reply.result(read.map(|done| &buf[..done]));
        })
    }

    /// Reads at `offset` into `buf` until it is full or the file ends; the number of bytes
    /// read. An error after some bytes were read ends the read short instead.
    fn read_into(&self, fh: u64, offset: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        let handle = self.files.get(fh)?;
        let mut done = 0;
        while done < buf.len() {
            match rustix::io::pread(handle.fd(), &mut buf[done..], offset + done as u64) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(Errno::INTR) => continue,
                Err(e) if done == 0 => return Err(e),
                Err(_) => break,
            }
        }
        Counters::add(&self.counters.reads, 1);
        Counters::add(&self.counters.read_bytes, done as u64);
        Ok(done)
    }

    pub(crate) fn do_write(
        &self,
        req: &Request<'_>,
        ino: Ino,
        fh: u64,
        offset: u64,
        data: &[u8],
        write_flags: WriteFlags,
    ) -> Result<u32, Errno> {
        let handle = self.files.get(fh)?;
        let flagged = write_flags.contains(WriteFlags::KILL_SUIDGID);
        if (flagged || (handle.kill_privs && req.uid() != 0)) && kill_suidgid(req, handle.fd())? {
            forget_cached_mode(req, ino);
        }
        let mut done = 0;
        while done < data.len() {
            match rustix::io::pwrite(handle.fd(), &data[done..], offset + done as u64) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(Errno::INTR) => continue,
                Err(e) if done == 0 => return Err(e),
                Err(_) => break,
            }
        }
        Counters::add(&self.counters.writes, 1);
        Counters::add(&self.counters.written_bytes, done as u64);
        Ok(done as u32)
    }

    pub(crate) fn do_flush(&self, fh: u64, lock_owner: u64) -> Result<(), Errno> {
        let handle = self.files.get(fh)?;
        if self.opts.delegate_locks {
            self.drop_lock_owner(&handle.inode, lock_owner);
        }
        // Closing a duplicate reports errors some filesystems (NFS) only give at close.
        drop(dup(handle.fd())?);
        Ok(())
    }

    pub(crate) fn do_release(&self, fh: u64) {
        if let Some(handle) = self.files.remove(fh) {
            if self.opts.delegate_locks {
                self.drop_lock_handle(&handle.inode, fh);
            }
        }
    }

    pub(crate) fn do_fsync(&self, fh: u64, datasync: bool) -> Result<(), Errno> {
        let handle = self.files.get(fh)?;
        if datasync {
            rustix::fs::fdatasync(handle.fd())
        } else {
            rustix::fs::fsync(handle.fd())
        }
    }

    pub(crate) fn do_fallocate(
        &self,
        fh: u64,
        offset: u64,
        length: u64,
        mode: i32,
    ) -> Result<(), Errno> {
        let handle = self.files.get(fh)?;
        rustix::fs::fallocate(
            handle.fd(),
            FallocateFlags::from_bits_retain(mode as u32),
            offset,
            length,
        )
    }

    pub(crate) fn do_lseek(&self, fh: u64, offset: i64, whence: i32) -> Result<u64, Errno> {
        let handle = self.files.get(fh)?;
        if self.writeback() && matches!(whence, libc::SEEK_DATA | libc::SEEK_HOLE) {
            // Data may still sit dirty in the kernel's cache, invisible in the source file.
            // ENOSYS makes the kernel answer from its own view (all data up to its size).
            return Err(Errno::NOSYS);
        }
        let pos = match whence {
            libc::SEEK_SET => SeekFrom::Start(u64::try_from(offset).map_err(|_| Errno::INVAL)?),
            libc::SEEK_CUR => SeekFrom::Current(offset),
            libc::SEEK_END => SeekFrom::End(offset),
            libc::SEEK_DATA => SeekFrom::Data(u64::try_from(offset).map_err(|_| Errno::NXIO)?),
            libc::SEEK_HOLE => SeekFrom::Hole(u64::try_from(offset).map_err(|_| Errno::NXIO)?),
            _ => return Err(Errno::INVAL),
        };
        rustix::fs::seek(handle.fd(), pos)
    }

    pub(crate) fn do_copy_file_range(&self, range: &CopyRange) -> Result<u64, Errno> {
        let input = self.files.get(range.fh_in)?;
        let output = self.files.get(range.fh_out)?;
        if range.flags != 0 {
            return Err(Errno::INVAL);
        }
        let mut off_in = range.offset_in;
        let mut off_out = range.offset_out;
        let len = usize::try_from(range.len).unwrap_or(usize::MAX);
        let n = rustix::fs::copy_file_range(
            input.fd(),
            Some(&mut off_in),
            output.fd(),
            Some(&mut off_out),
            len,
        )?;
        Ok(n as u64)
    }

    pub(crate) fn do_syncfs(&self, ino: Ino) -> Result<(), Errno> {
        let inode = self.inodes.get(ino)?;
        // syncfs needs a real descriptor; O_PATH ones are refused.
        let fd = reopen(inode.fd()?.as_fd(), OFlags::RDONLY | OFlags::NONBLOCK)?;
        rustix::fs::syncfs(&fd)
    }
}
