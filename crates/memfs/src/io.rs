//! File I/O: open, read, write, flush, release, fsync, fallocate, lseek (SEEK_DATA/HOLE) and
//! copy_file_range on regular files.
//!
//! Writes by a non-root caller (or with the kernel's kill flag) clear setuid, and setgid when
//! group-execute is set. Reads update atime by the `relatime` rule. `O_APPEND` handles write
//! at the current end of file whatever offset the kernel sends. `ENOSPC` is reported as a
//! short write when some bytes fitted.

use rustix::fs::OFlags;
use rustix::io::Errno;

use crate::fs::MemFs;
use crate::handles::{Handle, Handles};
use crate::perm;
use crate::table::{Content, State, Time};
use crate::time::atime_due;
use crate::types::{Caller, Fh, FileType, Ino, Timestamp, MAX_FILE_SIZE};

/// `fallocate` mode bits understood here.
pub const FALLOC_FL_KEEP_SIZE: u32 = 0x01;
/// Deallocate the range (needs `FALLOC_FL_KEEP_SIZE`).
pub const FALLOC_FL_PUNCH_HOLE: u32 = 0x02;
/// Zero the range (whole pages become holes).
pub const FALLOC_FL_ZERO_RANGE: u32 = 0x10;
/// `lseek` whence: next data at or after the offset.
pub const SEEK_DATA: u32 = 3;
/// `lseek` whence: next hole at or after the offset.
pub const SEEK_HOLE: u32 = 4;

/// Bytes moved per lock hold by copy_file_range.
const COPY_CHUNK: u64 = 1 << 20;

fn regular(st: &State) -> Result<(), Errno> {
    match st.kind() {
        FileType::RegularFile => Ok(()),
        FileType::Directory => Err(Errno::ISDIR),
        _ => Err(Errno::INVAL),
    }
}

fn file_handle(handles: &Handles, fh: Fh, ino: Ino) -> Result<Handle, Errno> {
    handles.get(fh, ino, false)
}

impl MemFs {
    /// Opens `ino` (not a directory: `EISDIR`; symlinks: `ELOOP`). `O_TRUNC` with write
    /// access truncates to 0. The handle keeps the inode alive until [`MemFs::release`].
    pub fn open(&self, c: &Caller, ino: Ino, flags: u32) -> Result<Fh, Errno> {
        let inode = self.table.get(ino)?;
        let mut st = inode.state.write();
        st.check_live()?;
        match st.kind() {
            FileType::Directory => return Err(Errno::ISDIR),
            FileType::Symlink => return Err(Errno::LOOP),
            _ => {}
        }
        let h = Handle {
            ino,
            flags,
            dir: false,
            end: 0,
        };
        if flags & OFlags::TRUNC.bits() != 0 && h.writable() && st.kind() == FileType::RegularFile {
            if let Content::File(pages) = &mut st.content {
                pages.truncate(0, &self.usage);
            }
            st.size = 0;
            st.touch_mc(Timestamp::now());
            st.mode = perm::mode_after_data_change(c, &st, false);
        }
        st.opens += 1;
        Ok(self.handles.insert(h))
    }

    /// Reads up to `size` bytes at `offset` into `out` (appended); short at end of file,
    /// holes read as zeros.
    pub fn read(
        &self,
        ino: Ino,
        fh: Fh,
        offset: u64,
        size: u32,
        out: &mut Vec<u8>,
    ) -> Result<(), Errno> {
        let h = file_handle(&self.handles, fh, ino)?;
        if !h.readable() {
            return Err(Errno::BADF);
        }
        let inode = self.table.get(ino)?;
        let now = Timestamp::now();
        let due = {
            let st = inode.state.read();
            st.check_live()?;
            regular(&st)?;
            if offset < st.size {
                let len = (st.size - offset).min(u64::from(size)) as usize;
                if let Some(p) = st.pages() {
                    p.read(offset, len, out);
                }
            }
            h.flags & OFlags::NOATIME.bits() == 0
                && atime_due(
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

    /// Writes `data` at `offset` (at end of file for `O_APPEND` handles). Returns the bytes
    /// written: shortened at [`MAX_FILE_SIZE`] (`EFBIG` when starting there) or when space runs
    /// out (`ENOSPC` when nothing fitted). `kill_priv` is FUSE_WRITE_KILL_SUIDGID.
    pub fn write(
        &self,
        c: &Caller,
        ino: Ino,
        fh: Fh,
        offset: u64,
        data: &[u8],
        kill_priv: bool,
    ) -> Result<u32, Errno> {
        let h = file_handle(&self.handles, fh, ino)?;
        if !h.writable() {
            return Err(Errno::BADF);
        }
        let inode = self.table.get(ino)?;
        let mut st = inode.state.write();
        st.check_live()?;
        regular(&st)?;
        let offset = if h.append() { st.size } else { offset };
        if offset >= MAX_FILE_SIZE && !data.is_empty() {
            return Err(Errno::FBIG);
        }
        let len = (data.len() as u64).min(MAX_FILE_SIZE.saturating_sub(offset)) as usize;
        let data = &data[..len];
        if data.is_empty() {
            return Ok(0);
        }
        let Content::File(pages) = &mut st.content else {
            return Err(Errno::INVAL);
        };
        let n = pages.write(offset, data, &self.usage)?;
        st.size = st.size.max(offset + n as u64);
        st.touch_mc(Timestamp::now());
        st.mode = perm::mode_after_data_change(c, &st, kill_priv);
        Ok(n as u32)
    }

    /// FUSE FLUSH (every `close` of a descriptor): drops the POSIX record locks that
    /// `lock_owner` holds on `ino`, as closing any descriptor of a file does.
    pub fn flush(&self, ino: Ino, fh: Fh, lock_owner: Option<u64>) -> Result<(), Errno> {
        file_handle(&self.handles, fh, ino)?;
        if let Some(owner) = lock_owner {
            self.locks.release_owner(ino, owner, false);
        }
        Ok(())
    }

    /// Closes handle `fh` of `ino` (FUSE RELEASE). Drops every lock (POSIX and flock) that
    /// `lock_owner` holds on the inode, and frees the inode if this was the last thing
    /// keeping it alive.
    pub fn release(&self, ino: Ino, fh: Fh, lock_owner: Option<u64>) -> Result<(), Errno> {
        self.close_handle(ino, fh, false, lock_owner)
    }

    pub(crate) fn close_handle(
        &self,
        ino: Ino,
        fh: Fh,
        dir: bool,
        lock_owner: Option<u64>,
    ) -> Result<(), Errno> {
        self.handles.remove(fh, ino, dir)?;
        if !dir {
            self.locks.release_handle(ino, fh);
        }
        if let Some(owner) = lock_owner {
            self.locks.release_owner(ino, owner, true);
        }
        let inode = self.table.get(ino)?;
        let mut st = inode.state.write();
        st.opens = st.opens.saturating_sub(1);
        self.free_if_unused(ino, &mut st);
        Ok(())
    }

    /// fsync/fdatasync: nothing to do in memory beyond checking the handle.
    pub fn fsync(&self, ino: Ino, fh: Fh, datasync: bool) -> Result<(), Errno> {
        let _ = datasync;
        file_handle(&self.handles, fh, ino).map(|_| ())
    }

    /// fallocate. Modes: 0 and `KEEP_SIZE` allocate pages (all or nothing, `ENOSPC`) and,
    /// without KEEP_SIZE, extend the size; `PUNCH_HOLE|KEEP_SIZE` frees/zeroes the range;
    /// `ZERO_RANGE` (optionally with KEEP_SIZE) zeroes it (whole pages become holes) and may
    /// extend the size. Anything else: `EOPNOTSUPP`. `len == 0`: `EINVAL`; past
    /// [`MAX_FILE_SIZE`]: `EFBIG`. Sets mtime and ctime.
    pub fn fallocate(
        &self,
        ino: Ino,
        fh: Fh,
        offset: u64,
        len: u64,
        mode: u32,
    ) -> Result<(), Errno> {
        let h = file_handle(&self.handles, fh, ino)?;
        if !h.writable() {
            return Err(Errno::BADF);
        }
        let keep = mode & FALLOC_FL_KEEP_SIZE != 0;
        let op = mode & !FALLOC_FL_KEEP_SIZE;
        if op != 0 && op != FALLOC_FL_PUNCH_HOLE && op != FALLOC_FL_ZERO_RANGE {
            return Err(Errno::OPNOTSUPP);
        }
        if op == FALLOC_FL_PUNCH_HOLE && !keep {
            return Err(Errno::OPNOTSUPP);
        }
        if len == 0 {
            return Err(Errno::INVAL);
        }
        let end = offset
            .checked_add(len)
            .filter(|&e| e <= MAX_FILE_SIZE)
            .ok_or(Errno::FBIG)?;
        let inode = self.table.get(ino)?;
        let mut st = inode.state.write();
        st.check_live()?;
        regular(&st)?;
        let Content::File(pages) = &mut st.content else {
            return Err(Errno::INVAL);
        };
        match op {
            0 => pages.allocate(offset, len, &self.usage)?,
            _ => pages.zero(offset, len, &self.usage),
        }
        if !keep && end > st.size {
            st.size = end;
        }
        st.touch_mc(Timestamp::now());
        Ok(())
    }

    /// `lseek` with `SEEK_DATA` or `SEEK_HOLE` (other whence values: `EINVAL`). `ENXIO` when
    /// `offset` is at or past the end of file, or no data follows it.
    pub fn lseek(&self, ino: Ino, fh: Fh, offset: u64, whence: u32) -> Result<u64, Errno> {
        file_handle(&self.handles, fh, ino)?;
        let inode = self.table.get(ino)?;
        let st = inode.state.read();
        st.check_live()?;
        regular(&st)?;
        let pages = st.pages().ok_or(Errno::INVAL)?;
        match whence {
            SEEK_DATA => pages.seek_data(offset, st.size),
            SEEK_HOLE => pages.seek_hole(offset, st.size),
            _ => return Err(Errno::INVAL),
        }
        .ok_or(Errno::NXIO)
    }

    /// copy_file_range: copies up to `len` bytes from `ino_in` at `off_in` to `ino_out` at
    /// `off_out`; holes in the source stay holes. Returns the bytes copied (0 at end of
    /// source). `EINVAL` for flags or overlapping ranges in one file, `EBADF` for handles
    /// without the needed access (or an `O_APPEND` destination), `EFBIG` past
    /// [`MAX_FILE_SIZE`].
    #[allow(clippy::too_many_arguments)]
    pub fn copy_file_range(
        &self,
        c: &Caller,
        (ino_in, fh_in, off_in): (Ino, Fh, u64),
        (ino_out, fh_out, off_out): (Ino, Fh, u64),
        len: u64,
        flags: u64,
    ) -> Result<u64, Errno> {
        if flags != 0 {
            return Err(Errno::INVAL);
        }
        let hin = file_handle(&self.handles, fh_in, ino_in)?;
        let hout = file_handle(&self.handles, fh_out, ino_out)?;
        if !hin.readable() || !hout.writable() || hout.append() {
            return Err(Errno::BADF);
        }
        let src = self.table.get(ino_in)?;
        let dst = self.table.get(ino_out)?;
        let size_in = {
            let st = src.state.read();
            st.check_live()?;
            regular(&st)?;
            st.size
        };
        regular(&dst.state.read())?;
        let len = len.min(size_in.saturating_sub(off_in));
        if len == 0 {
            return Ok(0);
        }
        if off_out.checked_add(len).is_none_or(|e| e > MAX_FILE_SIZE) {
            return Err(Errno::FBIG);
        }
        if ino_in == ino_out && off_in < off_out + len && off_out < off_in + len {
            return Err(Errno::INVAL);
        }
        let mut done = 0u64;
        let mut buf = Vec::new();
        while done < len {
            // Read up to COPY_CHUNK bytes of data as (offset, length, data-or-hole) segments;
            // holes are skipped whole, however long (a sparse source costs its data, not its
            // length).
            buf.clear();
            let mut segs: Vec<(u64, u64, bool)> = Vec::new();
            let covered = {
                let st = src.state.read();
                st.check_live()?;
                let start = off_in + done;
                let end = start + st.size.saturating_sub(start).min(len - done);
                let pages = st.pages().ok_or(Errno::INVAL)?;
                let mut pos = start;
                while pos < end && (buf.len() as u64) < COPY_CHUNK {
                    let data = pages.is_data(pos);
                    let seg_end = if data {
                        let page_end =
                            (pos / crate::types::PAGE_SIZE + 1) * crate::types::PAGE_SIZE;
                        let seg_end = page_end.min(end);
                        pages.read(pos, (seg_end - pos) as usize, &mut buf);
                        seg_end
                    } else {
                        pages.seek_data(pos, end).unwrap_or(end)
                    };
                    match segs.last_mut() {
                        Some(last) if last.2 == data && last.0 + last.1 == pos => {
                            last.1 += seg_end - pos
                        }
                        _ => segs.push((pos, seg_end - pos, data)),
                    }
                    pos = seg_end;
                }
                pos - start
            };
            if segs.is_empty() {
                break;
            }
            // Write them.
            let mut st = dst.state.write();
            st.check_live()?;
            let Content::File(pages) = &mut st.content else {
                return Err(Errno::INVAL);
            };
            let mut consumed = 0usize;
            let mut written = 0u64;
            let mut short = false;
            for (pos, seg_len, data) in segs {
                let out_pos = off_out + done + (pos - (off_in + done));
                if data {
                    let bytes = &buf[consumed..consumed + seg_len as usize];
                    consumed += seg_len as usize;
                    match pages.write(out_pos, bytes, &self.usage) {
                        Ok(w) => {
                            written += w as u64;
                            if (w as u64) < seg_len {
                                short = true;
                                break;
                            }
                        }
                        Err(e) if done + written == 0 => return Err(e),
                        Err(_) => {
                            short = true;
                            break;
                        }
                    }
                } else {
                    pages.zero(out_pos, seg_len, &self.usage);
                    written += seg_len;
                }
            }
            if written > 0 {
                let end = off_out + done + written;
                st.size = st.size.max(end);
                st.touch_mc(Timestamp::now());
                st.mode = perm::mode_after_data_change(c, &st, false);
            }
            done += written;
            if short || written < covered {
                break;
            }
        }
        Ok(done)
    }
}
