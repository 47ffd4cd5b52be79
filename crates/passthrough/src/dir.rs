//! Directory handles and listings. Each handle keeps a real directory stream of the source
//! directory; the cookies handed to the kernel are the source filesystem's own `d_off`
//! values, so a listing continues correctly across requests, across entries appearing and
//! disappearing, and after the kernel seeks (the stream is repositioned when the requested
//! offset is not where it stands).

use std::ffi::OsStr;
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;

use fusekit::{Entry, FileAttr, FileType, Ino, ReplyDirectory, ReplyDirectoryPlus, Request};
use rustix::fs::{Dir, DirEntry, OFlags};
use rustix::io::Errno;

use crate::handles::DirHandle;
use crate::sys::reopen;
use crate::Passthrough;

/// A source directory stream and where it stands.
#[derive(Debug)]
pub(crate) struct DirStream {
    dir: Dir,
    /// The cookie of the next entry `read` returns (0 = start).
    pos: i64,
    /// An entry read from the stream but not yet sent (the reply was full).
    pending: Option<DirEntry>,
}

impl DirStream {
    fn seek_to(&mut self, offset: i64) -> Result<(), Errno> {
        if offset != self.pos {
            self.pending = None;
            self.dir.seek(offset)?;
            self.pos = offset;
        }
        Ok(())
    }

    fn next(&mut self) -> Option<Result<DirEntry, Errno>> {
        if let Some(e) = self.pending.take() {
            return Some(Ok(e));
        }
        self.dir.read()
    }

    /// Puts back an entry that did not fit.
    fn unread(&mut self, entry: DirEntry) {
        self.pending = Some(entry);
    }

    fn advance(&mut self, entry: &DirEntry) {
        self.pos = entry.offset();
    }
}

fn dirent_type(entry: &DirEntry) -> u32 {
    use rustix::fs::FileType as T;
    let t = match entry.file_type() {
        T::RegularFile => FileType::RegularFile,
        T::Directory => FileType::Directory,
        T::Symlink => FileType::Symlink,
        T::Fifo => FileType::NamedPipe,
        T::Socket => FileType::Socket,
        T::CharacterDevice => FileType::CharDevice,
        T::BlockDevice => FileType::BlockDevice,
        _ => return 0,
    };
    t.dirent_type()
}

fn is_dot(name: &[u8]) -> bool {
    name == b"." || name == b".."
}

impl Passthrough {
    pub(crate) fn do_opendir(&self, ino: Ino) -> Result<u64, Errno> {
        let inode = self.inodes.get(ino)?;
        let mut flags = OFlags::RDONLY | OFlags::DIRECTORY;
        if self.noatime() {
            flags |= OFlags::NOATIME;
        }
        let fd = crate::io::noatime_or_not(flags, |f| reopen(inode.fd()?.as_fd(), f))?;
        let dir = Dir::new(fd)?;
        let stream = DirStream {
            dir,
            pos: 0,
            pending: None,
        };
        Ok(self.dirs.insert(DirHandle {
            inode,
            stream: std::sync::Mutex::new(stream),
        }))
    }

    pub(crate) fn do_readdir(
        &self,
        fh: u64,
        offset: u64,
        reply: &mut ReplyDirectory,
    ) -> Result<(), Errno> {
        let handle = self.dirs.get(fh)?;
        let mut stream = handle.stream.lock().unwrap_or_else(|p| p.into_inner());
        stream.seek_to(offset as i64)?;
        let mut sent = 0;
        while let Some(entry) = stream.next() {
            let entry = match entry {
                Ok(e) => e,
                Err(e) if sent == 0 => return Err(e),
                Err(_) => break,
            };
            let name = OsStr::from_bytes(entry.file_name().to_bytes());
            if reply.add(
                entry.ino(),
                entry.offset() as u64,
                dirent_type(&entry),
                name,
            ) {
                stream.unread(entry);
                break;
            }
            stream.advance(&entry);
            sent += 1;
        }
        Ok(())
    }

    pub(crate) fn do_readdirplus(
        &self,
        _req: &Request<'_>,
        fh: u64,
        offset: u64,
        reply: &mut ReplyDirectoryPlus,
    ) -> Result<(), Errno> {
        let handle = self.dirs.get(fh)?;
        let mut stream = handle.stream.lock().unwrap_or_else(|p| p.into_inner());
        stream.seek_to(offset as i64)?;
        let mut sent = 0;
        while let Some(entry) = stream.next() {
            let entry = match entry {
                Ok(e) => e,
                Err(e) if sent == 0 => return Err(e),
                Err(_) => break,
            };
            let bytes = entry.file_name().to_bytes();
            let name = OsStr::from_bytes(bytes);
            // No node for "." and "..": the kernel never makes dentries for them; nor for an
            // entry that reaches this mount itself (see `own_mount`), listed by name only.
            let nameonly = |entry: &DirEntry| Entry {
                ino: 0,
                generation: 0,
                attr: FileAttr {
                    ino: entry.ino(),
                    mode: dirent_type(entry) << 12,
                    ..Default::default()
                },
                entry_ttl: std::time::Duration::ZERO,
                attr_ttl: std::time::Duration::ZERO,
            };
            let (full, looked_up) = if is_dot(bytes) {
                (
                    reply.add(&nameonly(&entry), entry.offset() as u64, name),
                    None,
                )
            } else {
                match self.lookup_in(&handle.inode, name) {
                    Ok(e) => (reply.add(&e, entry.offset() as u64, name), Some(e.ino)),
                    Err(Errno::DEADLK) => (
                        reply.add(&nameonly(&entry), entry.offset() as u64, name),
                        None,
                    ),
                    // Removed since the stream read it: leave it out.
                    Err(Errno::NOENT) => {
                        stream.advance(&entry);
                        continue;
                    }
                    Err(e) if sent == 0 => return Err(e),
                    Err(_) => {
                        stream.unread(entry);
                        break;
                    }
                }
            };
            if full {
                if let Some(ino) = looked_up {
                    self.inodes.forget(ino, 1);
                }
                stream.unread(entry);
                break;
            }
            stream.advance(&entry);
            sent += 1;
        }
        Ok(())
    }

    pub(crate) fn do_fsyncdir(&self, fh: u64, datasync: bool) -> Result<(), Errno> {
        let handle = self.dirs.get(fh)?;
        let stream = handle.stream.lock().unwrap_or_else(|p| p.into_inner());
        let fd = stream.dir.fd()?;
        if datasync {
            rustix::fs::fdatasync(fd)
        } else {
            rustix::fs::fsync(fd)
        }
    }
}
