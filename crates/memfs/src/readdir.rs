//! Directory handles and listings: opendir, readdir, readdirplus, releasedir, fsyncdir.
//!
//! Offsets are the entries' cookies (see `dir.rs`): "." is 1, ".." is 2, the rest increase in
//! insertion order and never change, so a listing resumed at any offset neither repeats nor
//! skips an entry that exists for the whole listing. A listing ends at the directory's next
//! cookie as of its start (see `Handle::end`), so entries renamed within the directory while
//! it runs are not listed twice and it always ends. A removed directory lists nothing.
//!
//! The callback returns [`ControlFlow::Break`] when the entry it was given did *not* fit (the
//! adapter's reply buffer is full); the listing stops and that entry is not consumed (for
//! readdirplus its lookup reference is given back). Resume with the offset of the last entry
//! that fit.

use std::ffi::OsStr;
use std::ops::ControlFlow;
use std::os::unix::ffi::OsStrExt;

use rustix::io::Errno;

use crate::dir::{DOTDOT_COOKIE, DOT_COOKIE};
use crate::fs::MemFs;
use crate::handles::Handle;
use crate::table::Time;
use crate::time::atime_due;
use crate::types::{Caller, DirEntry, Fh, FileAttr, FileType, Ino, Timestamp};

/// Entries collected per lock hold by readdirplus.
const PLUS_BATCH: usize = 64;

impl MemFs {
    /// Opens directory `ino` for listing (`ENOTDIR` otherwise).
    pub fn opendir(&self, c: &Caller, ino: Ino, flags: u32) -> Result<Fh, Errno> {
        let _ = c;
        let inode = self.table.get(ino)?;
        let mut st = inode.state.write();
        st.check_live()?;
        st.dir()?;
        st.opens += 1;
        Ok(self.handles.insert(Handle {
            ino,
            flags,
            dir: true,
            end: 0,
        }))
    }

    /// Closes a directory handle.
    pub fn releasedir(&self, ino: Ino, fh: Fh) -> Result<(), Errno> {
        self.close_handle(ino, fh, true, None)
    }

    /// fsyncdir: nothing to do in memory beyond checking the handle.
    pub fn fsyncdir(&self, ino: Ino, fh: Fh, datasync: bool) -> Result<(), Errno> {
        let _ = datasync;
        self.handles.get(fh, ino, true).map(|_| ())
    }

    /// Lists directory `ino` from after cookie `offset` (0 = from the start), calling `emit`
    /// for each entry until it returns `Break` or the entries run out. The directory's lock is
    /// held (shared) while `emit` runs: `emit` must not call back into this filesystem.
    pub fn readdir<F>(&self, ino: Ino, fh: Fh, offset: u64, mut emit: F) -> Result<(), Errno>
    where
        F: FnMut(DirEntry<'_>) -> ControlFlow<()>,
    {
        self.handles.get(fh, ino, true)?;
        let inode = self.table.get(ino)?;
        let now = Timestamp::now();
        let due = {
            let st = inode.state.read();
            st.check_live()?;
            let dir = st.dir()?;
            if st.nlink > 0 {
                let dots = [(DOT_COOKIE, ino, "."), (DOTDOT_COOKIE, dir.parent, "..")];
                let mut stopped = false;
                for (cookie, dino, name) in dots {
                    if offset < cookie {
                        let e = DirEntry {
                            ino: dino,
                            offset: cookie,
                            kind: FileType::Directory,
                            name: OsStr::new(name),
                        };
                        if emit(e).is_break() {
                            stopped = true;
                            break;
                        }
                    }
                }
                if !stopped {
                    let end = self.handles.listing_end(fh, offset, dir.next_cookie());
                    for (cookie, e) in dir.after(offset).take_while(|(c, _)| *c < end) {
                        let e = DirEntry {
                            ino: e.ino(),
                            offset: cookie,
                            kind: e.kind(),
                            name: OsStr::from_bytes(e.name()),
                        };
                        if emit(e).is_break() {
                            break;
                        }
                    }
                }
            }
            atime_due(
                self.atime_policy(),
                st.time(Time::A),
                st.time(Time::M),
                st.time(Time::C),
                now,
            )
        };
        if due {
            inode.state.write().set_time(Time::A, now);
        }
        Ok(())
    }

    /// Like [`MemFs::readdir`], but each entry other than "." and ".." comes with its
    /// attributes and one lookup reference taken on it (as FUSE READDIRPLUS requires); "."
    /// and ".." come with `None` (no reference taken: reply with nodeid 0, which the kernel
    /// skips). Entries removed while the listing runs are skipped. No filesystem lock is held
    /// while `emit` runs.
    pub fn readdirplus<F>(&self, ino: Ino, fh: Fh, offset: u64, mut emit: F) -> Result<(), Errno>
    where
        F: FnMut(DirEntry<'_>, Option<&FileAttr>) -> ControlFlow<()>,
    {
        self.handles.get(fh, ino, true)?;
        let inode = self.table.get(ino)?;
        let start = offset;
        let mut offset = offset;
        let now = Timestamp::now();
        let mut end = None;
        loop {
            // Collect a batch under the shared lock, then emit without it.
            let batch: Vec<(u64, Ino, FileType, Vec<u8>)> = {
                let st = inode.state.read();
                st.check_live()?;
                let dir = st.dir()?;
                if st.nlink == 0 {
                    break;
                }
                let mut b = Vec::new();
                if offset < DOT_COOKIE {
                    b.push((DOT_COOKIE, ino, FileType::Directory, b".".to_vec()));
                }
                if offset < DOTDOT_COOKIE {
                    b.push((
                        DOTDOT_COOKIE,
                        dir.parent,
                        FileType::Directory,
                        b"..".to_vec(),
                    ));
                }
                let room = PLUS_BATCH.saturating_sub(b.len());
                let end = *end
                    .get_or_insert_with(|| self.handles.listing_end(fh, start, dir.next_cookie()));
                b.extend(
                    dir.after(offset)
                        .take_while(|(c, _)| *c < end)
                        .take(room)
                        .map(|(c, e)| (c, e.ino(), e.kind(), e.name().to_vec())),
                );
                b
            };
            if batch.is_empty() {
                break;
            }
            for (cookie, child, kind, name) in batch {
                offset = cookie;
                let e = DirEntry {
                    ino: child,
                    offset: cookie,
                    kind,
                    name: OsStr::from_bytes(&name),
                };
                if cookie <= DOTDOT_COOKIE {
                    if emit(e, None).is_break() {
                        return self.touch_dir_atime(ino, now);
                    }
                    continue;
                }
                let Ok(node) = self.table.get(child) else {
                    continue;
                };
                let Some(attr) = self.take_lookup(child, &node) else {
                    continue;
                };
                if emit(e, Some(&attr)).is_break() {
                    self.forget(child, 1);
                    return self.touch_dir_atime(ino, now);
                }
            }
        }
        self.touch_dir_atime(ino, now)
    }

    fn touch_dir_atime(&self, ino: Ino, now: Timestamp) -> Result<(), Errno> {
        let inode = self.table.get(ino)?;
        let mut st = inode.state.write();
        let (a, m, c) = (st.time(Time::A), st.time(Time::M), st.time(Time::C));
        if atime_due(self.atime_policy(), a, m, c, now) {
            st.set_time(Time::A, now);
        }
        Ok(())
    }
}
