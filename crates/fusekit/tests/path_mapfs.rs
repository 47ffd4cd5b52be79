//! A small in-memory `PathFilesystem` for the path-level tests (`path_race`, `path_rename`,
//! `path_tmpfile` include this file as a module). It keeps files in a map from path to data,
//! does I/O either by path (the demanding case for hide mode) or by handle, can slow down
//! release and rename to widen race windows, and records every broken promise of the adapter
//! it sees (a path that does not exist when it should) as a violation instead of panicking
//! inside a worker thread.

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fusekit::path::{DirEntry, Opened, PathContext, PathFilesystem, HIDDEN_PREFIX};
use fusekit::{Errno, FileAttr, FileType, SetAttr};

/// One file's bytes, shared by its names and handles.
#[derive(Debug, Default)]
pub struct Data {
    pub bytes: Mutex<Vec<u8>>,
}

#[derive(Debug, Clone)]
pub enum Node {
    Dir,
    File(Arc<Data>),
}

/// State shared between the mounted filesystem and the test.
#[derive(Debug, Default)]
pub struct Inner {
    pub map: Mutex<BTreeMap<PathBuf, Node>>,
    pub handles: Mutex<HashMap<u64, Arc<Data>>>,
    next_fh: AtomicU64,
    /// Broken promises seen by the filesystem.
    pub violations: Mutex<Vec<String>>,
    /// Open handles not yet released.
    pub open: AtomicUsize,
    /// Renames whose target was a hidden name (files hidden by the adapter).
    pub hides: AtomicUsize,
    /// Releases that received no path.
    pub pathless_releases: AtomicUsize,
}

impl Inner {
    pub fn violation(&self, what: String) {
        self.violations.lock().unwrap().push(what);
    }

    /// Names in the map that are hidden files.
    pub fn hidden_left(&self) -> Vec<PathBuf> {
        self.map
            .lock()
            .unwrap()
            .keys()
            .filter(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with(HIDDEN_PREFIX))
            })
            .cloned()
            .collect()
    }

    /// Waits until every handle was released (RELEASE is asynchronous to close()).
    pub fn wait_closed(&self, limit: Duration) -> bool {
        let start = std::time::Instant::now();
        while self.open.load(Ordering::SeqCst) != 0 {
            if start.elapsed() > limit {
                return false;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        true
    }

    pub fn contents(&self, path: &str) -> Option<Vec<u8>> {
        match self.map.lock().unwrap().get(Path::new(path))? {
            Node::File(d) => Some(d.bytes.lock().unwrap().clone()),
            Node::Dir => None,
        }
    }
}

/// The filesystem. Clone it to keep a handle on its state.
#[derive(Debug, Clone)]
pub struct MapFs {
    pub inner: Arc<Inner>,
    /// Do I/O by path (true; the handle is ignored) or by handle.
    pub io_by_path: bool,
    /// Sleep in release and after the map update of rename.
    pub delay: Duration,
}

fn file_attr(size: usize) -> FileAttr {
    FileAttr {
        size: size as u64,
        mode: FileType::RegularFile.mode_bits() | 0o644,
        nlink: 1,
        ..FileAttr::default()
    }
}

fn dir_attr() -> FileAttr {
    FileAttr {
        mode: FileType::Directory.mode_bits() | 0o755,
        nlink: 2,
        ..FileAttr::default()
    }
}

impl MapFs {
    pub fn new(io_by_path: bool, delay: Duration) -> MapFs {
        let inner = Inner::default();
        inner
            .map
            .lock()
            .unwrap()
            .insert(PathBuf::from("/"), Node::Dir);
        inner.next_fh.store(1, Ordering::SeqCst);
        MapFs {
            inner: Arc::new(inner),
            io_by_path,
            delay,
        }
    }

    fn file_at(&self, path: &Path) -> Result<Arc<Data>, Errno> {
        match self.inner.map.lock().unwrap().get(path) {
            Some(Node::File(d)) => Ok(Arc::clone(d)),
            Some(Node::Dir) => Err(Errno::ISDIR),
            None => Err(Errno::NOENT),
        }
    }

    /// The file an I/O call is about: by path when `io_by_path` (a missing path is a
    /// violation), else by handle.
    fn io_target(&self, op: &str, path: Option<&Path>, fh: u64) -> Result<Arc<Data>, Errno> {
        if self.io_by_path {
            let Some(path) = path else {
                self.inner
                    .violation(format!("{op}: no path for I/O by path"));
                return Err(Errno::IO);
            };
            self.file_at(path).inspect_err(|_| {
                self.inner
                    .violation(format!("{op}: path {path:?} does not exist"))
            })
        } else {
            let handles = self.inner.handles.lock().unwrap();
            handles.get(&fh).cloned().ok_or(Errno::BADF)
        }
    }

    fn keep(&self, data: Arc<Data>) -> u64 {
        let fh = self.inner.next_fh.fetch_add(1, Ordering::SeqCst);
        self.inner.handles.lock().unwrap().insert(fh, data);
        self.inner.open.fetch_add(1, Ordering::SeqCst);
        fh
    }

    fn parent_is_dir(map: &BTreeMap<PathBuf, Node>, path: &Path) -> Result<(), Errno> {
        match path.parent().and_then(|p| map.get(p)) {
            Some(Node::Dir) => Ok(()),
            Some(Node::File(_)) => Err(Errno::NOTDIR),
            None => Err(Errno::NOENT),
        }
    }
}

impl PathFilesystem for MapFs {
    fn getattr(
        &self,
        _: &PathContext,
        path: Option<&Path>,
        fh: Option<u64>,
    ) -> Result<FileAttr, Errno> {
        if let Some(path) = path {
            return match self.inner.map.lock().unwrap().get(path) {
                Some(Node::Dir) => Ok(dir_attr()),
                Some(Node::File(d)) => Ok(file_attr(d.bytes.lock().unwrap().len())),
                None => Err(Errno::NOENT),
            };
        }
        let fh = fh.ok_or(Errno::NOENT)?;
        let data = self.inner.handles.lock().unwrap().get(&fh).cloned();
        let data = data.ok_or(Errno::BADF)?;
        let len = data.bytes.lock().unwrap().len();
        Ok(FileAttr {
            nlink: 0,
            ..file_attr(len)
        })
    }

    fn setattr(
        &self,
        ctx: &PathContext,
        path: Option<&Path>,
        fh: Option<u64>,
        attr: &SetAttr,
    ) -> Result<FileAttr, Errno> {
        if let Some(size) = attr.size {
            let data = match (path, fh) {
                (_, Some(fh)) => self.inner.handles.lock().unwrap().get(&fh).cloned(),
                (Some(p), None) => self.file_at(p).ok(),
                _ => None,
            };
            data.ok_or(Errno::NOENT)?
                .bytes
                .lock()
                .unwrap()
                .resize(size as usize, 0);
        }
        self.getattr(ctx, path, fh)
    }

    fn mkdir(&self, _: &PathContext, path: &Path, _mode: u32) -> Result<FileAttr, Errno> {
        let mut map = self.inner.map.lock().unwrap();
        Self::parent_is_dir(&map, path)?;
        if map.contains_key(path) {
            return Err(Errno::EXIST);
        }
        map.insert(path.to_path_buf(), Node::Dir);
        Ok(dir_attr())
    }

    fn unlink(&self, _: &PathContext, path: &Path) -> Result<(), Errno> {
        let mut map = self.inner.map.lock().unwrap();
        match map.get(path) {
            Some(Node::File(_)) => {
                map.remove(path);
                Ok(())
            }
            Some(Node::Dir) => Err(Errno::ISDIR),
            None => Err(Errno::NOENT),
        }
    }

    fn rmdir(&self, _: &PathContext, path: &Path) -> Result<(), Errno> {
        let mut map = self.inner.map.lock().unwrap();
        if !matches!(map.get(path), Some(Node::Dir)) {
            return Err(Errno::NOTDIR);
        }
        if map.keys().any(|k| k.parent() == Some(path)) {
            return Err(Errno::NOTEMPTY);
        }
        map.remove(path);
        Ok(())
    }

    fn rename(&self, _: &PathContext, from: &Path, to: &Path, flags: u32) -> Result<(), Errno> {
        {
            let mut map = self.inner.map.lock().unwrap();
            let node = map.get(from).cloned().ok_or(Errno::NOENT)?;
            Self::parent_is_dir(&map, to)?;
            if flags & 1 != 0 && map.contains_key(to) {
                return Err(Errno::EXIST);
            }
            if flags & !1 != 0 {
                return Err(Errno::INVAL);
            }
            if matches!(node, Node::Dir) {
                if map.keys().any(|k| k.parent() == Some(to)) {
                    return Err(Errno::NOTEMPTY);
                }
                let moved: Vec<PathBuf> = map
                    .keys()
                    .filter(|k| k.starts_with(from) && *k != from)
                    .cloned()
                    .collect();
                for old in moved {
                    let n = map.remove(&old).expect("listed");
                    let rest = old.strip_prefix(from).expect("prefix");
                    map.insert(to.join(rest), n);
                }
            }
            map.remove(from);
            map.insert(to.to_path_buf(), node);
        }
        if to
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with(HIDDEN_PREFIX))
        {
            self.inner.hides.fetch_add(1, Ordering::SeqCst);
        }
        // Slow down after the change: a release that ran now with the old path would find
        // nothing there.
        std::thread::sleep(self.delay);
        Ok(())
    }

    fn open(&self, _: &PathContext, path: Option<&Path>, _flags: i32) -> Result<Opened, Errno> {
        let data = match path {
            Some(p) => self.file_at(p)?,
            None => return Err(Errno::NOENT),
        };
        Ok(Opened::new(self.keep(data)))
    }

    fn reopen(&self, _: &PathContext, fh: u64, _flags: i32) -> Result<Opened, Errno> {
        let data = self.inner.handles.lock().unwrap().get(&fh).cloned();
        Ok(Opened::new(self.keep(data.ok_or(Errno::BADF)?)))
    }

    fn create(
        &self,
        _: &PathContext,
        path: &Path,
        _mode: u32,
        flags: i32,
    ) -> Result<(FileAttr, Opened), Errno> {
        let data = {
            let mut map = self.inner.map.lock().unwrap();
            Self::parent_is_dir(&map, path)?;
            match map.get(path) {
                Some(_) if flags & libc::O_EXCL != 0 => return Err(Errno::EXIST),
                Some(Node::File(d)) => Arc::clone(d),
                Some(Node::Dir) => return Err(Errno::ISDIR),
                None => {
                    let d = Arc::new(Data::default());
                    map.insert(path.to_path_buf(), Node::File(Arc::clone(&d)));
                    d
                }
            }
        };
        let size = data.bytes.lock().unwrap().len();
        Ok((file_attr(size), Opened::new(self.keep(data))))
    }

    fn read(
        &self,
        _: &PathContext,
        path: Option<&Path>,
        fh: u64,
        offset: u64,
        size: u32,
    ) -> Result<Vec<u8>, Errno> {
        let data = self.io_target("read", path, fh)?;
        let bytes = data.bytes.lock().unwrap();
        let start = (offset as usize).min(bytes.len());
        let end = (start + size as usize).min(bytes.len());
        Ok(bytes[start..end].to_vec())
    }

    fn write(
        &self,
        _: &PathContext,
        path: Option<&Path>,
        fh: u64,
        offset: u64,
        buf: &[u8],
    ) -> Result<u32, Errno> {
        let data = self.io_target("write", path, fh)?;
        let mut bytes = data.bytes.lock().unwrap();
        let end = offset as usize + buf.len();
        if bytes.len() < end {
            bytes.resize(end, 0);
        }
        bytes[offset as usize..end].copy_from_slice(buf);
        Ok(buf.len() as u32)
    }

    fn flush(&self, _: &PathContext, _: Option<&Path>, _: u64, _: u64) -> Result<(), Errno> {
        Ok(())
    }

    fn release(
        &self,
        _: &PathContext,
        path: Option<&Path>,
        fh: u64,
        _flags: i32,
    ) -> Result<(), Errno> {
        match path {
            Some(p) => {
                if !self.inner.map.lock().unwrap().contains_key(p) {
                    self.inner
                        .violation(format!("release: path {p:?} does not exist"));
                }
            }
            None => {
                self.inner.pathless_releases.fetch_add(1, Ordering::SeqCst);
            }
        }
        // Slow down before the adapter drops the open count.
        std::thread::sleep(self.delay);
        if self.inner.handles.lock().unwrap().remove(&fh).is_some() {
            self.inner.open.fetch_sub(1, Ordering::SeqCst);
        }
        Ok(())
    }

    fn readdir(&self, _: &PathContext, path: &Path, _fh: u64) -> Result<Vec<DirEntry>, Errno> {
        let map = self.inner.map.lock().unwrap();
        Ok(map
            .iter()
            .filter(|(k, _)| k.parent() == Some(path))
            .map(|(k, n)| {
                let kind = match n {
                    Node::Dir => FileType::Directory,
                    Node::File(_) => FileType::RegularFile,
                };
                DirEntry::new(k.file_name().unwrap_or(OsStr::new("")), kind)
            })
            .collect())
    }

    fn tmpfile(
        &self,
        _: &PathContext,
        dir: &Path,
        _mode: u32,
        _flags: i32,
    ) -> Result<(FileAttr, Opened), Errno> {
        if !matches!(self.inner.map.lock().unwrap().get(dir), Some(Node::Dir)) {
            return Err(Errno::NOTDIR);
        }
        let fh = self.keep(Arc::new(Data::default()));
        Ok((
            FileAttr {
                nlink: 0,
                ..file_attr(0)
            },
            Opened::new(fh),
        ))
    }

    fn link_tmpfile(&self, _: &PathContext, fh: u64, to: &Path) -> Result<FileAttr, Errno> {
        let data = self.inner.handles.lock().unwrap().get(&fh).cloned();
        let data = data.ok_or(Errno::BADF)?;
        let mut map = self.inner.map.lock().unwrap();
        Self::parent_is_dir(&map, to)?;
        if map.contains_key(to) {
            return Err(Errno::EXIST);
        }
        let size = data.bytes.lock().unwrap().len();
        map.insert(to.to_path_buf(), Node::File(data));
        Ok(file_attr(size))
    }
}

#[test]
fn mapfs_renames_directories_with_their_contents() {
    let fs = MapFs::new(true, Duration::ZERO);
    let ctx = PathContext::kernel();
    fs.mkdir(&ctx, Path::new("/d"), 0o755).unwrap();
    let (_, o) = fs.create(&ctx, Path::new("/d/f"), 0o644, 0).unwrap();
    fs.write(&ctx, Some(Path::new("/d/f")), o.fh, 0, b"x")
        .unwrap();
    fs.rename(&ctx, Path::new("/d"), Path::new("/e"), 0)
        .unwrap();
    assert_eq!(fs.inner.contents("/e/f").as_deref(), Some(&b"x"[..]));
    assert_eq!(fs.inner.contents("/d/f"), None);
    assert_eq!(
        fs.rename(&ctx, Path::new("/e/f"), Path::new("/e/f"), 1),
        Err(Errno::EXIST)
    );
}
