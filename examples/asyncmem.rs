//! asyncmem: an in-memory filesystem written on the async API (`fusekit::asyncfs`, feature
//! `async` of this crate). Directories, regular files, symlinks, extended attributes; every
//! request may first wait a configurable latency, as a filesystem over the network would.
//! State sits behind one mutex that is never held across an `.await`.

use std::collections::{BTreeMap, HashMap};
use std::ffi::{OsStr, OsString};
use std::sync::Mutex;
use std::time::Duration;

use fusekit::abi::{OpenOutFlags, WriteFlags};
use fusekit::asyncfs::{tokio, AsyncFilesystem, Created, DirBuffer, Opened, RequestContext};
use fusekit::{
    Entry, Errno, FileAttr, FileType, Ino, OpenOptions, SetAttr, TimeOrNow, Timestamp, ROOT_ID,
};

const TTL: Duration = Duration::from_secs(1);
const RENAME_NOREPLACE: u32 = 1;
const XATTR_CREATE: i32 = 1;
const XATTR_REPLACE: i32 = 2;

#[derive(Debug)]
struct Node {
    attr: FileAttr,
    data: Vec<u8>,
    children: BTreeMap<OsString, Ino>,
    xattrs: BTreeMap<OsString, Vec<u8>>,
}

#[derive(Debug)]
struct State {
    nodes: HashMap<Ino, Node>,
    next: Ino,
}

impl State {
    fn node(&self, ino: Ino) -> Result<&Node, Errno> {
        self.nodes.get(&ino).ok_or(Errno::NOENT)
    }

    fn node_mut(&mut self, ino: Ino) -> Result<&mut Node, Errno> {
        self.nodes.get_mut(&ino).ok_or(Errno::NOENT)
    }

    fn dir(&self, ino: Ino) -> Result<&Node, Errno> {
        let node = self.node(ino)?;
        match node.attr.kind() {
            Some(FileType::Directory) => Ok(node),
            _ => Err(Errno::NOTDIR),
        }
    }

    fn child(&self, parent: Ino, name: &OsStr) -> Result<Ino, Errno> {
        self.dir(parent)?
            .children
            .get(name)
            .copied()
            .ok_or(Errno::NOENT)
    }

    /// Adds a node named `name` in `parent`.
    fn add(
        &mut self,
        ctx: &RequestContext,
        parent: Ino,
        name: &OsStr,
        mode: u32,
    ) -> Result<Entry, Errno> {
        if self.dir(parent)?.children.contains_key(name) {
            return Err(Errno::EXIST);
        }
        let ino = self.next;
        self.next += 1;
        let now = Timestamp::now();
        let is_dir = FileType::from_mode(mode) == Some(FileType::Directory);
        let attr = FileAttr {
            ino,
            mode,
            nlink: if is_dir { 2 } else { 1 },
            uid: ctx.uid(),
            gid: ctx.gid(),
            atime: now,
            mtime: now,
            ctime: now,
            ..FileAttr::default()
        };
        self.nodes.insert(
            ino,
            Node {
                attr,
                data: Vec::new(),
                children: BTreeMap::new(),
                xattrs: BTreeMap::new(),
            },
        );
        let dir = self.node_mut(parent)?;
        dir.children.insert(name.to_owned(), ino);
        if is_dir {
            dir.attr.nlink += 1;
        }
        dir.attr.mtime = now;
        dir.attr.ctime = now;
        Ok(Entry::new(attr, TTL))
    }

    /// Removes `name` from `parent`; the node stays while the kernel may still use it (this
    /// example never frees nodes, which keeps open-unlink-close trivially correct).
    fn remove(&mut self, parent: Ino, name: &OsStr, want_dir: bool) -> Result<(), Errno> {
        let ino = self.child(parent, name)?;
        let node = self.node(ino)?;
        let is_dir = node.attr.kind() == Some(FileType::Directory);
        match (want_dir, is_dir) {
            (true, false) => return Err(Errno::NOTDIR),
            (false, true) => return Err(Errno::ISDIR),
            (true, true) if !node.children.is_empty() => return Err(Errno::NOTEMPTY),
            _ => {}
        }
        let now = Timestamp::now();
        let node = self.node_mut(ino)?;
        node.attr.nlink = node.attr.nlink.saturating_sub(if is_dir { 2 } else { 1 });
        node.attr.ctime = now;
        let dir = self.node_mut(parent)?;
        dir.children.remove(name);
        if is_dir {
            dir.attr.nlink -= 1;
        }
        dir.attr.mtime = now;
        Ok(())
    }
}

/// The async in-memory filesystem.
#[derive(Debug)]
pub struct AsyncMem {
    state: Mutex<State>,
    latency: Duration,
}

impl AsyncMem {
    /// An empty filesystem whose root belongs to `uid:gid`; every request first waits
    /// `latency` (zero: none).
    pub fn new(uid: u32, gid: u32, latency: Duration) -> Self {
        let now = Timestamp::now();
        let root = Node {
            attr: FileAttr {
                ino: ROOT_ID,
                mode: FileType::Directory.mode_bits() | 0o755,
                nlink: 2,
                uid,
                gid,
                atime: now,
                mtime: now,
                ctime: now,
                ..FileAttr::default()
            },
            data: Vec::new(),
            children: BTreeMap::new(),
            xattrs: BTreeMap::new(),
        };
        AsyncMem {
            state: Mutex::new(State {
                nodes: HashMap::from([(ROOT_ID, root)]),
                next: ROOT_ID + 1,
            }),
            latency,
        }
    }

    /// Waits the configured latency (where a networked filesystem would ask its server),
    /// then runs `f` on the state. The lock is taken after the wait, never across it.
    async fn with<T>(&self, f: impl FnOnce(&mut State) -> Result<T, Errno>) -> Result<T, Errno> {
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut state)
    }
}

fn set_time(t: TimeOrNow) -> Timestamp {
    match t {
        TimeOrNow::Now => Timestamp::now(),
        TimeOrNow::At(t) => t,
    }
}

impl AsyncFilesystem for AsyncMem {
    async fn lookup(
        &self,
        _ctx: &RequestContext,
        parent: Ino,
        name: &OsStr,
    ) -> Result<Entry, Errno> {
        self.with(|s| {
            let ino = s.child(parent, name)?;
            Ok(Entry::new(s.node(ino)?.attr, TTL))
        })
        .await
    }

    async fn getattr(
        &self,
        _ctx: &RequestContext,
        ino: Ino,
        _fh: Option<u64>,
    ) -> Result<(FileAttr, Duration), Errno> {
        self.with(|s| Ok((s.node(ino)?.attr, TTL))).await
    }

    async fn setattr(
        &self,
        _ctx: &RequestContext,
        ino: Ino,
        set: SetAttr,
    ) -> Result<(FileAttr, Duration), Errno> {
        self.with(|s| {
            let node = s.node_mut(ino)?;
            let now = Timestamp::now();
            if let Some(mode) = set.mode {
                node.attr.mode = (node.attr.mode & !0o7777) | (mode & 0o7777);
            }
            node.attr.uid = set.uid.unwrap_or(node.attr.uid);
            node.attr.gid = set.gid.unwrap_or(node.attr.gid);
            if let Some(size) = set.size {
                let size = usize::try_from(size).map_err(|_| Errno::FBIG)?;
                node.data.resize(size, 0);
                node.attr.size = size as u64;
                node.attr.mtime = now;
            }
            if let Some(t) = set.atime {
                node.attr.atime = set_time(t);
            }
            if let Some(t) = set.mtime {
                node.attr.mtime = set_time(t);
            }
            node.attr.ctime = now;
            Ok((node.attr, TTL))
        })
        .await
    }

    async fn readlink(&self, _ctx: &RequestContext, ino: Ino) -> Result<Vec<u8>, Errno> {
        self.with(|s| Ok(s.node(ino)?.data.clone())).await
    }

    async fn symlink(
        &self,
        ctx: &RequestContext,
        parent: Ino,
        name: &OsStr,
        target: &OsStr,
    ) -> Result<Entry, Errno> {
        use std::os::unix::ffi::OsStrExt;
        self.with(|s| {
            let mut entry = s.add(ctx, parent, name, FileType::Symlink.mode_bits() | 0o777)?;
            let node = s.node_mut(entry.ino)?;
            node.data = target.as_bytes().to_vec();
            node.attr.size = node.data.len() as u64;
            entry.attr = node.attr;
            Ok(entry)
        })
        .await
    }

    async fn mkdir(
        &self,
        ctx: &RequestContext,
        parent: Ino,
        name: &OsStr,
        mode: u32,
        _umask: u32,
    ) -> Result<Entry, Errno> {
        let mode = FileType::Directory.mode_bits() | (mode & 0o7777);
        self.with(|s| s.add(ctx, parent, name, mode)).await
    }

    async fn mknod(
        &self,
        ctx: &RequestContext,
        parent: Ino,
        name: &OsStr,
        mode: u32,
        _umask: u32,
        _rdev: u32,
    ) -> Result<Entry, Errno> {
        if FileType::from_mode(mode) != Some(FileType::RegularFile) {
            return Err(Errno::OPNOTSUPP);
        }
        self.with(|s| s.add(ctx, parent, name, mode)).await
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
        let mode = FileType::RegularFile.mode_bits() | (mode & 0o7777);
        let entry = self.with(|s| s.add(ctx, parent, name, mode)).await?;
        Ok((entry, 0, OpenOptions::default()))
    }

    async fn unlink(&self, _ctx: &RequestContext, parent: Ino, name: &OsStr) -> Result<(), Errno> {
        self.with(|s| s.remove(parent, name, false)).await
    }

    async fn rmdir(&self, _ctx: &RequestContext, parent: Ino, name: &OsStr) -> Result<(), Errno> {
        self.with(|s| s.remove(parent, name, true)).await
    }

    async fn rename(
        &self,
        _ctx: &RequestContext,
        parent: Ino,
        name: &OsStr,
        newparent: Ino,
        newname: &OsStr,
        flags: u32,
    ) -> Result<(), Errno> {
        if flags & !RENAME_NOREPLACE != 0 {
            return Err(Errno::INVAL);
        }
        self.with(|s| {
            let ino = s.child(parent, name)?;
            let is_dir = s.node(ino)?.attr.kind() == Some(FileType::Directory);
            if let Some(&old) = s.dir(newparent)?.children.get(newname) {
                if old == ino {
                    return Ok(());
                }
                if flags & RENAME_NOREPLACE != 0 {
                    return Err(Errno::EXIST);
                }
                s.remove(newparent, newname, is_dir)?;
            }
            s.node_mut(parent)?.children.remove(name);
            s.node_mut(newparent)?
                .children
                .insert(newname.to_owned(), ino);
            if is_dir && parent != newparent {
                s.node_mut(parent)?.attr.nlink -= 1;
                s.node_mut(newparent)?.attr.nlink += 1;
            }
            s.node_mut(ino)?.attr.ctime = Timestamp::now();
            Ok(())
        })
        .await
    }

    async fn open(&self, _ctx: &RequestContext, ino: Ino, _flags: i32) -> Result<Opened, Errno> {
        self.with(|s| s.node(ino).map(|_| (0, OpenOptions::default())))
            .await
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
        self.with(|s| {
            let data = &s.node(ino)?.data;
            let start = usize::try_from(offset)
                .unwrap_or(usize::MAX)
                .min(data.len());
            let end = start.saturating_add(size as usize).min(data.len());
            Ok(data[start..end].to_vec())
        })
        .await
    }

    async fn write(
        &self,
        _ctx: &RequestContext,
        ino: Ino,
        _fh: u64,
        offset: u64,
        data: Vec<u8>,
        _write_flags: WriteFlags,
        _flags: i32,
        _lock_owner: Option<u64>,
    ) -> Result<u32, Errno> {
        self.with(|s| {
            let node = s.node_mut(ino)?;
            let start = usize::try_from(offset).map_err(|_| Errno::FBIG)?;
            let end = start.checked_add(data.len()).ok_or(Errno::FBIG)?;
            if node.data.len() < end {
                node.data.resize(end, 0);
            }
            node.data[start..end].copy_from_slice(&data);
            node.attr.size = node.data.len() as u64;
            node.attr.blocks = node.attr.size.div_ceil(512);
            node.attr.mtime = Timestamp::now();
            Ok(data.len() as u32)
        })
        .await
    }

    async fn flush(
        &self,
        _ctx: &RequestContext,
        _ino: Ino,
        _fh: u64,
        _lock_owner: u64,
    ) -> Result<(), Errno> {
        Ok(())
    }

    async fn opendir(&self, _ctx: &RequestContext, ino: Ino, _flags: i32) -> Result<Opened, Errno> {
        self.with(|s| {
            s.dir(ino).map(|_| {
                (
                    0,
                    OpenOptions {
                        flags: OpenOutFlags::empty(),
                        backing_id: None,
                    },
                )
            })
        })
        .await
    }

    async fn readdir(
        &self,
        _ctx: &RequestContext,
        ino: Ino,
        _fh: u64,
        offset: u64,
        buf: &mut DirBuffer,
    ) -> Result<(), Errno> {
        // Cookies: 1 is ".", 2 is "..", 3 + i is the i-th child in name order.
        let entries: Vec<(Ino, u32, OsString)> = self
            .with(|s| {
                let dir = s.dir(ino)?;
                let dot = FileType::Directory.dirent_type();
                let mut all = vec![
                    (ino, dot, OsString::from(".")),
                    (ROOT_ID, dot, OsString::from("..")),
                ];
                for (name, &child) in &dir.children {
                    let typ = s.node(child)?.attr.kind().map_or(0, FileType::dirent_type);
                    all.push((child, typ, name.clone()));
                }
                Ok(all)
            })
            .await?;
        for (i, (child, typ, name)) in entries.iter().enumerate().skip(offset as usize) {
            if buf.add(*child, i as u64 + 1, *typ, name) {
                break;
            }
        }
        Ok(())
    }

    async fn setxattr(
        &self,
        _ctx: &RequestContext,
        ino: Ino,
        name: &OsStr,
        value: &[u8],
        flags: i32,
    ) -> Result<(), Errno> {
        self.with(|s| {
            let xattrs = &mut s.node_mut(ino)?.xattrs;
            let exists = xattrs.contains_key(name);
            if flags & XATTR_CREATE != 0 && exists {
                return Err(Errno::EXIST);
            }
            if flags & XATTR_REPLACE != 0 && !exists {
                return Err(Errno::NODATA);
            }
            xattrs.insert(name.to_owned(), value.to_vec());
            Ok(())
        })
        .await
    }

    async fn getxattr(
        &self,
        _ctx: &RequestContext,
        ino: Ino,
        name: &OsStr,
    ) -> Result<Vec<u8>, Errno> {
        self.with(|s| s.node(ino)?.xattrs.get(name).cloned().ok_or(Errno::NODATA))
            .await
    }

    async fn listxattr(&self, _ctx: &RequestContext, ino: Ino) -> Result<Vec<u8>, Errno> {
        use std::os::unix::ffi::OsStrExt;
        self.with(|s| {
            let mut list = Vec::new();
            for name in s.node(ino)?.xattrs.keys() {
                list.extend_from_slice(name.as_bytes());
                list.push(0);
            }
            Ok(list)
        })
        .await
    }

    async fn removexattr(
        &self,
        _ctx: &RequestContext,
        ino: Ino,
        name: &OsStr,
    ) -> Result<(), Errno> {
        self.with(|s| {
            s.node_mut(ino)?
                .xattrs
                .remove(name)
                .map(|_| ())
                .ok_or(Errno::NODATA)
        })
        .await
    }
}
