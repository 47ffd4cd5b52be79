//! `AsyncFilesystem` for [`EtcdFs`]: each opcode mapped onto the namespace, data, attribute
//! and xattr operations of this crate.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::sync::Arc;
use std::time::Duration;

use fusekit::asyncfs::{AsyncFilesystem, Created, DirBuffer, Opened, RequestContext};
use fusekit::{Entry, Errno, FileAttr, Ino, KernelConfig, Lock, OpenOptions, SetAttr, Statfs};

use super::attr::{self, to_attr, BLOCK_SIZE};
use super::handles::Listed;
use super::{errno, stale, EtcdFs};
use crate::ns::{FallocMode, FsError, NewNode, RenameFlags, SeekTo, XattrFlags};
use crate::schema::FileType;
use crate::store::Store;

/// The largest WRITE the kernel sends: `ns::MAX_WRITE` (16 chunks), so one write stays one
/// transaction well under etcd's request size limit.
const MAX_WRITE: u32 = crate::ns::MAX_WRITE as u32;

/// Entries fetched per store request when a directory handle lists its directory.
const LIST_PAGE: usize = 1000;

/// Attribute namespaces Linux knows; any other name is EOPNOTSUPP, as on local filesystems.
fn check_xattr_namespace(name: &OsStr) -> Result<(), Errno> {
    const NAMESPACES: [&[u8]; 4] = [b"user.", b"trusted.", b"security.", b"system."];
    if NAMESPACES.iter().any(|ns| name.as_bytes().starts_with(ns)) {
        Ok(())
    } else {
        Err(Errno::OPNOTSUPP)
    }
}

impl<S: Store> EtcdFs<S> {
    fn entry(&self, ino: u64, inode: &crate::schema::Inode) -> Entry {
        Entry::new(to_attr(ino, inode), self.ttl)
    }

    fn is_open(&self) -> impl Fn(u64) -> bool + Sync + '_ {
        |ino| self.handles.is_open(ino)
    }

    /// The whole listing of directory `ino`, `.` and `..` first (reading it updates the
    /// directory's access time, relatime).
    async fn list(&self, ino: u64) -> Result<Vec<Listed>, FsError> {
        let dir = self.ns.getattr(ino).await?;
        if !dir.is_dir() {
            return Err(FsError::NotDir);
        }
        if attr::atime_due(&dir) {
            attr::touch_atime(&self.ns, ino).await?;
        }
        let dt_dir = u32::from(FileType::Directory.to_byte());
        let mut out = vec![
            Listed {
                ino,
                typ: dt_dir,
                name: b".".to_vec(),
            },
            Listed {
                ino: dir.parent,
                typ: dt_dir,
                name: b"..".to_vec(),
            },
        ];
        let mut after = Vec::new();
        loop {
            let page = self.ns.readdir(ino, &after, LIST_PAGE).await?;
            let full = page.len() == LIST_PAGE;
            for (name, entry) in page {
                out.push(Listed {
                    ino: entry.ino,
                    typ: u32::from(entry.kind.to_byte()),
                    name: name.clone(),
                });
                after = name;
            }
            if !full {
                return Ok(out);
            }
        }
    }
}

impl<S: Store> AsyncFilesystem for EtcdFs<S> {
    async fn init(&self, _ctx: &RequestContext, config: &mut KernelConfig) -> Result<(), Errno> {
        config.set_max_write(MAX_WRITE);
        // Sequential reads as 1 MiB READs (16 chunks, one range of the store each) instead of
        // the default 128 KiB: every READ costs two store round trips whatever its size.
        config.set_max_readahead(MAX_WRITE);
        // File handles (name_to_handle_at / open_by_handle_at): see LOOKUP of "." and "..".
        config.enable_if_offered(fusekit::abi::InitFlags::EXPORT_SUPPORT);
        super::locks::negotiate(config);
        if let Some(coherence) = &self.coherence {
            coherence.attach(config.notifier());
        }
        if let Some(t) = self.request_timeout {
            if config.set_request_timeout(t).is_err() {
                tracing::warn!("the kernel offers no request timeout; --request-timeout ignored");
            }
        }
        Ok(())
    }

    async fn destroy(&self) {
        self.end().await;
    }

    async fn lookup(
        &self,
        _ctx: &RequestContext,
        parent: Ino,
        name: &OsStr,
    ) -> Result<Entry, Errno> {
        let (ino, inode) = match name.as_bytes() {
            // "." of any node and ".." of a directory come from the kernel's export operations
            // (open_by_handle_at of a node no longer in its cache; node ids are inode numbers,
            // never reused): a node with no name left is ENOENT, which the kernel makes ESTALE.
            b"." => {
                let inode = self.ns.getattr(parent).await.map_err(errno)?;
                if inode.nlink == 0 {
                    return Err(Errno::NOENT);
                }
                (parent, inode)
            }
            b".." => {
                let dir = self.ns.getattr(parent).await.map_err(errno)?;
                if !dir.is_dir() {
                    return Err(Errno::NOTDIR);
                }
                let up = self.ns.getattr(dir.parent).await.map_err(errno)?;
                (dir.parent, up)
            }
            name => self.ns.lookup(parent, name).await.map_err(errno)?,
        };
        Ok(self.entry(ino, &inode))
    }

    async fn getattr(
        &self,
        _ctx: &RequestContext,
        ino: Ino,
        _fh: Option<u64>,
    ) -> Result<(FileAttr, Duration), Errno> {
        let inode = self.ns.getattr(ino).await.map_err(stale)?;
        Ok((to_attr(ino, &inode), self.ttl))
    }

    async fn setattr(
        &self,
        _ctx: &RequestContext,
        ino: Ino,
        set: SetAttr,
    ) -> Result<(FileAttr, Duration), Errno> {
        let _serial = self.write_locks.lock(ino).await;
        let inode = self
            .ns
            .setattr(ino, attr::changes(&set))
            .await
            .map_err(stale)?;
        Ok((to_attr(ino, &inode), self.ttl))
    }

    async fn readlink(&self, _ctx: &RequestContext, ino: Ino) -> Result<Vec<u8>, Errno> {
        let inode = self.ns.getattr(ino).await.map_err(stale)?;
        if inode.kind() != Some(FileType::Symlink) {
            return Err(Errno::INVAL);
        }
        Ok(inode.target)
    }

    async fn symlink(
        &self,
        ctx: &RequestContext,
        parent: Ino,
        name: &OsStr,
        target: &OsStr,
    ) -> Result<Entry, Errno> {
        let (ino, inode) = self
            .ns
            .symlink(
                parent,
                name.as_bytes(),
                target.as_bytes(),
                ctx.uid(),
                ctx.gid(),
            )
            .await
            .map_err(errno)?;
        Ok(self.entry(ino, &inode))
    }

    async fn mknod(
        &self,
        ctx: &RequestContext,
        parent: Ino,
        name: &OsStr,
        mode: u32,
        _umask: u32,
        rdev: u32,
    ) -> Result<Entry, Errno> {
        let mut node = NewNode::new(mode, ctx.uid(), ctx.gid());
        node.rdev = u64::from(rdev);
        let (ino, inode) = self
            .ns
            .create(parent, name.as_bytes(), node)
            .await
            .map_err(errno)?;
        Ok(self.entry(ino, &inode))
    }

    async fn mkdir(
        &self,
        ctx: &RequestContext,
        parent: Ino,
        name: &OsStr,
        mode: u32,
        _umask: u32,
    ) -> Result<Entry, Errno> {
        let (ino, inode) = self
            .ns
            .mkdir(parent, name.as_bytes(), mode, ctx.uid(), ctx.gid())
            .await
            .map_err(errno)?;
        Ok(self.entry(ino, &inode))
    }

    async fn unlink(&self, _ctx: &RequestContext, parent: Ino, name: &OsStr) -> Result<(), Errno> {
        let is_open = self.is_open();
        self.ns
            .unlink(parent, name.as_bytes(), &is_open)
            .await
            .map_err(errno)
    }

    async fn rmdir(&self, _ctx: &RequestContext, parent: Ino, name: &OsStr) -> Result<(), Errno> {
        let is_open = self.is_open();
        self.ns
            .rmdir(parent, name.as_bytes(), &is_open)
            .await
            .map_err(errno)
    }

    async fn rename(
        &self,
        ctx: &RequestContext,
        parent: Ino,
        name: &OsStr,
        newparent: Ino,
        newname: &OsStr,
        flags: u32,
    ) -> Result<(), Errno> {
        // The kernel checked CAP_MKNOD for RENAME_WHITEOUT; the whiteout is the caller's.
        let flags = RenameFlags::from_bits(flags)
            .map_err(errno)?
            .owned_by(ctx.uid(), ctx.gid());
        let is_open = self.is_open();
        self.ns
            .rename(
                parent,
                name.as_bytes(),
                newparent,
                newname.as_bytes(),
                flags,
                &is_open,
            )
            .await
            .map_err(errno)
    }

    async fn link(
        &self,
        _ctx: &RequestContext,
        ino: Ino,
        newparent: Ino,
        newname: &OsStr,
    ) -> Result<Entry, Errno> {
        let inode = self
            .ns
            .link(ino, newparent, newname.as_bytes())
            .await
            .map_err(errno)?;
        Ok(self.entry(ino, &inode))
    }

    async fn open(&self, _ctx: &RequestContext, ino: Ino, _flags: i32) -> Result<Opened, Errno> {
        // A node removed meanwhile (by another call or another host) is ESTALE: the kernel
        // then looks the name up again (and O_CREAT creates it afresh).
        let (fh, _) = self.open_handle(ino).await?;
        Ok((fh, OpenOptions::default()))
    }

    async fn read(
        &self,
        _ctx: &RequestContext,
        ino: Ino,
        _fh: u64,
        offset: u64,
        size: u32,
        _flags: i32,
        _lock_owner: Option<u64>,
    ) -> Result<Vec<u8>, Errno> {
        let (bytes, inode) = self
            .ns
            .read_snapshot(ino, offset, size as usize)
            .await
            .map_err(stale)?;
        if attr::atime_due(&inode) {
            attr::touch_atime(&self.ns, ino).await.map_err(stale)?;
        }
        Ok(bytes)
    }

    async fn write(
        &self,
        ctx: &RequestContext,
        ino: Ino,
        _fh: u64,
        offset: u64,
        bytes: Vec<u8>,
        _write_flags: fusekit::abi::WriteFlags,
        flags: i32,
        _lock_owner: Option<u64>,
    ) -> Result<u32, Errno> {
        let _serial = self.write_locks.lock(ino).await;
        let inode = if flags & libc::O_APPEND != 0 {
            // At the end the store knows: another host may have appended since this kernel
            // learned the size. This kernel's idea of the size (and, for a buffered write, the
            // page it wrote into) may now be wrong: drop them once this write is answered.
            let (inode, at) = self.ns.append(ino, &bytes).await.map_err(stale)?;
            if at != offset {
                self.invalidate_inode_later(ino);
            }
            inode
        } else {
            self.ns.write(ino, offset, &bytes).await.map_err(stale)?
        };
        attr::clear_privileges(&self.ns, ctx, ino, &inode)
            .await
            .map_err(stale)?;
        Ok(bytes.len() as u32)
    }

    async fn flush(
        &self,
        _ctx: &RequestContext,
        ino: Ino,
        _fh: u64,
        lock_owner: u64,
    ) -> Result<(), Errno> {
        // Every acknowledged WRITE is already committed; the closing process's locks go.
        self.locks_flush(ino, lock_owner).await
    }

    async fn release(
        &self,
        _ctx: &RequestContext,
        _ino: Ino,
        fh: u64,
        _flags: i32,
        _lock_owner: Option<u64>,
        _flush: bool,
        _flock_release: bool,
    ) -> Result<(), Errno> {
        self.locks_release(fh).await;
        self.close_handle(fh).await
    }

    async fn fsync(
        &self,
        _ctx: &RequestContext,
        _ino: Ino,
        _fh: u64,
        _datasync: bool,
    ) -> Result<(), Errno> {
        // Every acknowledged WRITE is already committed by a quorum.
        Ok(())
    }

    async fn opendir(&self, _ctx: &RequestContext, ino: Ino, _flags: i32) -> Result<Opened, Errno> {
        let inode = self.ns.getattr(ino).await.map_err(stale)?;
        if !inode.is_dir() {
            return Err(Errno::NOTDIR);
        }
        Ok((self.handles.open_dir(ino), OpenOptions::default()))
    }

    async fn readdir(
        &self,
        _ctx: &RequestContext,
        ino: Ino,
        fh: u64,
        offset: u64,
        buf: &mut DirBuffer,
    ) -> Result<(), Errno> {
        // The listing is taken once per handle (at its first READDIR, or again after a rewind
        // to offset 0), so offsets stay stable while the directory changes.
        let listing = match self.handles.listing(fh) {
            Some(l) if offset != 0 => l,
            _ => {
                let l = Arc::new(self.list(ino).await.map_err(errno)?);
                self.handles.set_listing(fh, Arc::clone(&l));
                l
            }
        };
        let start = usize::try_from(offset).unwrap_or(usize::MAX);
        for (i, e) in listing.iter().enumerate().skip(start) {
            if buf.add(e.ino, (i + 1) as u64, e.typ, OsStr::from_bytes(&e.name)) {
                break;
            }
        }
        Ok(())
    }

    async fn releasedir(
        &self,
        _ctx: &RequestContext,
        _ino: Ino,
        fh: u64,
        _flags: i32,
    ) -> Result<(), Errno> {
        if let Some(ino) = self.handles.close_dir(fh) {
            self.ns.release(ino, false).await.map_err(errno)?;
        }
        Ok(())
    }

    async fn fsyncdir(
        &self,
        _ctx: &RequestContext,
        _ino: Ino,
        _fh: u64,
        _datasync: bool,
    ) -> Result<(), Errno> {
        Ok(())
    }

    async fn statfs(&self, _ctx: &RequestContext, _ino: Ino) -> Result<Statfs, Errno> {
        // The store's capacity is etcd's quota, not visible per prefix: report a large,
        // constant capacity so that programs that check free space proceed.
        Ok(Statfs {
            blocks: 1 << 32,
            bfree: 1 << 32,
            bavail: 1 << 32,
            files: 1 << 32,
            ffree: 1 << 32,
            bsize: BLOCK_SIZE,
            namelen: crate::schema::NAME_MAX as u32,
            frsize: 4096,
        })
    }

    async fn setxattr(
        &self,
        _ctx: &RequestContext,
        ino: Ino,
        name: &OsStr,
        value: &[u8],
        flags: i32,
    ) -> Result<(), Errno> {
        check_xattr_namespace(name)?;
        let flags = XattrFlags {
            create: flags & libc::XATTR_CREATE != 0,
            replace: flags & libc::XATTR_REPLACE != 0,
        };
        self.ns
            .setxattr(ino, name.as_bytes(), value, flags)
            .await
            .map_err(stale)
    }

    async fn getxattr(
        &self,
        _ctx: &RequestContext,
        ino: Ino,
        name: &OsStr,
    ) -> Result<Vec<u8>, Errno> {
        check_xattr_namespace(name)?;
        self.ns.getxattr(ino, name.as_bytes()).await.map_err(stale)
    }

    async fn listxattr(&self, _ctx: &RequestContext, ino: Ino) -> Result<Vec<u8>, Errno> {
        let names = self.ns.listxattr(ino).await.map_err(stale)?;
        let mut out = Vec::new();
        for name in names {
            out.extend_from_slice(&name);
            out.push(0);
        }
        Ok(out)
    }

    async fn removexattr(
        &self,
        _ctx: &RequestContext,
        ino: Ino,
        name: &OsStr,
    ) -> Result<(), Errno> {
        check_xattr_namespace(name)?;
        self.ns
            .removexattr(ino, name.as_bytes())
            .await
            .map_err(stale)
    }

    async fn getlk(
        &self,
        _ctx: &RequestContext,
        ino: Ino,
        _fh: u64,
        lock_owner: u64,
        lock: Lock,
    ) -> Result<Lock, Errno> {
        self.lock_get(ino, lock_owner, lock).await
    }

    async fn setlk(
        &self,
        _ctx: &RequestContext,
        ino: Ino,
        fh: u64,
        lock_owner: u64,
        lock: Lock,
        sleep: bool,
        flock: bool,
    ) -> Result<(), Errno> {
        self.lock_set(ino, fh, lock_owner, lock, sleep, flock).await
    }

    async fn create(
        &self,
        ctx: &RequestContext,
        parent: Ino,
        name: &OsStr,
        mode: u32,
        _umask: u32,
        _flags: i32,
    ) -> Result<Created, Errno> {
        let mut node = NewNode::new(mode, ctx.uid(), ctx.gid());
        node.open = true;
        let (ino, inode) = self
            .ns
            .create(parent, name.as_bytes(), node)
            .await
            .map_err(errno)?;
        let fh = self.created_handle(ino);
        Ok((self.entry(ino, &inode), fh, OpenOptions::default()))
    }

    async fn tmpfile(
        &self,
        ctx: &RequestContext,
        parent: Ino,
        mode: u32,
        _umask: u32,
        _flags: i32,
    ) -> Result<Created, Errno> {
        let node = NewNode::new(mode, ctx.uid(), ctx.gid());
        let (ino, inode) = self.ns.tmpfile(parent, node).await.map_err(errno)?;
        // Born an orphan of this daemon: its last close deletes it unless linked meanwhile.
        let fh = self.handles.open_orphan(ino);
        Ok((self.entry(ino, &inode), fh, OpenOptions::default()))
    }

    async fn fallocate(
        &self,
        ctx: &RequestContext,
        ino: Ino,
        _fh: u64,
        offset: u64,
        length: u64,
        mode: i32,
    ) -> Result<(), Errno> {
        let mode = FallocMode::from_bits(mode).map_err(errno)?;
        let _serial = self.write_locks.lock(ino).await;
        let inode = self
            .ns
            .fallocate(ino, offset, length, mode)
            .await
            .map_err(stale)?;
        attr::clear_privileges(&self.ns, ctx, ino, &inode)
            .await
            .map_err(stale)
    }

    async fn lseek(
        &self,
        _ctx: &RequestContext,
        ino: Ino,
        _fh: u64,
        offset: i64,
        whence: i32,
    ) -> Result<u64, Errno> {
        // The kernel answers SEEK_SET, SEEK_CUR and SEEK_END itself.
        let to = match whence {
            libc::SEEK_DATA => SeekTo::Data,
            libc::SEEK_HOLE => SeekTo::Hole,
            _ => return Err(Errno::INVAL),
        };
        let offset = u64::try_from(offset).map_err(|_| Errno::NXIO)?;
        self.ns.seek(ino, offset, to).await.map_err(stale)
    }

    async fn statx(
        &self,
        _ctx: &RequestContext,
        ino: Ino,
        _fh: Option<u64>,
        _flags: u32,
        _mask: u32,
    ) -> Result<(fusekit::abi::Statx, Duration), Errno> {
        let inode = self.ns.getattr(ino).await.map_err(stale)?;
        Ok((attr::to_statx(ino, &inode), self.ttl))
    }
}
