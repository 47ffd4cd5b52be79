//! File-content operations: create and write, overwrite, truncate or extend, append, read and
//! verify, fsync, and unlink of an open file (then read and write through the open handle).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};

use anyhow::{bail, Context};

use super::model::{parent, write_at};
use super::verify::{compare, read_range, whole_file};
use super::Worker;

impl Worker {
    /// A write size: mostly small, sometimes tens of KiB, one in ten 128 KiB..1 MiB (larger
    /// than one FUSE request), capped by what the byte budget still allows.
    fn write_size(&mut self) -> usize {
        let n = match self.rng.below(10) {
            0..=5 => 1 + self.rng.below(8192),
            6..=8 => 8192 + self.rng.below(56 * 1024),
            _ => 128 * 1024 + 1 + self.rng.below(896 * 1024),
        };
        let room = self
            .max_bytes
            .saturating_sub(self.model.total_bytes())
            .max(1);
        n.min(room) as usize
    }

    /// A random existing file path, if any.
    fn some_file(&mut self) -> Option<String> {
        let files = self.model.files();
        self.pick(&files)
    }

    /// A directory to put a new name in.
    pub(super) fn some_dir(&mut self) -> String {
        let dirs = self.model.dirs();
        self.pick(&dirs).expect("base directories exist")
    }

    /// Reads back `len` bytes at `offset` through `file` when the dice say so (one write in
    /// three), checking them against the model of `rel`.
    fn maybe_read_back(
        &mut self,
        file: &File,
        rel: &str,
        offset: u64,
        len: usize,
    ) -> anyhow::Result<()> {
        if !self.rng.chance(33) {
            return Ok(());
        }
        let what = self.path(rel).display().to_string();
        let got = read_range(file, offset, len).with_context(|| format!("read back {what}"))?;
        let data = &self.model.inode(rel).data;
        let end = (offset as usize + len).min(data.len());
        let r = compare(&what, offset, &data[(offset as usize).min(end)..end], &got);
        self.explain(rel, r)
    }

    /// create(O_EXCL) a new file and write a random range into it (sometimes after a hole).
    pub(super) fn op_create(&mut self) -> anyhow::Result<()> {
        let dir = self.some_dir();
        let rel = format!("{dir}/{}", self.model.fresh_name("f"));
        let path = self.path(&rel);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(&path)
            .with_context(|| format!("create {}", path.display()))?;
        self.model.add_file(&rel);
        let offset = if self.rng.chance(20) {
            self.rng.below(256 * 1024)
        } else {
            0
        };
        let len = self.write_size();
        let buf = self.rng.bytes(len);
        file.write_all_at(&buf, offset)
            .with_context(|| format!("write {len} bytes at {offset} to {}", path.display()))?;
        write_at(&mut self.model.inode_mut(&rel).data, offset as usize, &buf);
        self.model.note(&rel, format!("pwrite {len} at {offset}"));
        self.maybe_read_back(&file, &rel, offset, len)
    }

    /// pwrite a random range of an existing file (inside it, or across its end).
    pub(super) fn op_overwrite(&mut self) -> anyhow::Result<()> {
        let Some(rel) = self.some_file() else {
            return self.op_create();
        };
        let path = self.path(&rel);
        let size = self.model.inode(&rel).data.len() as u64;
        let offset = self.rng.below(size + 4096);
        let len = self.write_size();
        let buf = self.rng.bytes(len);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .with_context(|| format!("open {}", path.display()))?;
        file.write_all_at(&buf, offset)
            .with_context(|| format!("write {len} bytes at {offset} to {}", path.display()))?;
        write_at(&mut self.model.inode_mut(&rel).data, offset as usize, &buf);
        self.model
            .note(&rel, format!("pwrite {len} at {offset} (size was {size})"));
        self.maybe_read_back(&file, &rel, offset, len)
    }

    /// ftruncate to a smaller or (one time in three) larger size; the new tail reads as zeros.
    pub(super) fn op_truncate(&mut self) -> anyhow::Result<()> {
        let Some(rel) = self.some_file() else {
            return Ok(());
        };
        let path = self.path(&rel);
        let size = self.model.inode(&rel).data.len() as u64;
        let over = self.model.total_bytes() >= self.max_bytes;
        let new = if !over && self.rng.chance(33) {
            size + self.rng.below(64 * 1024)
        } else {
            self.rng.below(size + 1)
        };
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .with_context(|| format!("open {}", path.display()))?;
        file.set_len(new)
            .with_context(|| format!("ftruncate {} from {size} to {new}", path.display()))?;
        self.model.inode_mut(&rel).data.resize(new as usize, 0);
        self.model.note(&rel, format!("ftruncate {size} -> {new}"));
        let len = (new.abs_diff(size) as usize).max(1);
        self.maybe_read_back(&file, &rel, size.min(new).saturating_sub(1), len + 1)
    }

    /// O_APPEND write.
    pub(super) fn op_append(&mut self) -> anyhow::Result<()> {
        let Some(rel) = self.some_file() else {
            return self.op_create();
        };
        let path = self.path(&rel);
        let len = self.write_size().min(64 * 1024);
        let buf = self.rng.bytes(len);
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("open O_APPEND {}", path.display()))?;
        file.write_all(&buf)
            .with_context(|| format!("append {len} bytes to {}", path.display()))?;
        let data = &mut self.model.inode_mut(&rel).data;
        let at = data.len();
        data.extend_from_slice(&buf);
        self.model
            .note(&rel, format!("O_APPEND write {len} at {at}"));
        self.maybe_read_back(&file, &rel, at as u64, len)
    }

    /// Reads a whole file, or a random range (possibly past the end), or a file through a
    /// symlink that points at it, and verifies the bytes.
    pub(super) fn op_read(&mut self) -> anyhow::Result<()> {
        if self.rng.chance(15) {
            return self.op_read_symlink();
        }
        let Some(rel) = self.some_file() else {
            return Ok(());
        };
        if self.rng.chance(40) {
            return self.verify_file(&rel);
        }
        let path = self.path(&rel);
        let size = self.model.inode(&rel).data.len() as u64;
        let offset = self.rng.below(size + 1024);
        let len = 1 + self.rng.below(256 * 1024) as usize;
        let file = File::open(&path).with_context(|| format!("open {}", path.display()))?;
        let got = read_range(&file, offset, len)
            .with_context(|| format!("read {len} at {offset} from {}", path.display()))?;
        let data = &self.model.inode(&rel).data;
        let end = (offset as usize + len).min(data.len());
        let r = compare(
            &path.display().to_string(),
            offset,
            &data[(offset as usize).min(end)..end],
            &got,
        );
        self.explain(&rel, r)
    }

    /// Write then fsync or fdatasync through the same descriptor, and read the range back.
    pub(super) fn op_fsync(&mut self) -> anyhow::Result<()> {
        let Some(rel) = self.some_file() else {
            return self.op_create();
        };
        let path = self.path(&rel);
        let size = self.model.inode(&rel).data.len() as u64;
        let offset = self.rng.below(size + 1);
        let len = self.write_size().min(16 * 1024);
        let buf = self.rng.bytes(len);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .with_context(|| format!("open {}", path.display()))?;
        file.write_all_at(&buf, offset)
            .with_context(|| format!("write {len} at {offset} to {}", path.display()))?;
        let full = self.rng.chance(50);
        if full {
            file.sync_all()
                .with_context(|| format!("fsync {}", path.display()))?;
        } else {
            file.sync_data()
                .with_context(|| format!("fdatasync {}", path.display()))?;
        }
        write_at(&mut self.model.inode_mut(&rel).data, offset as usize, &buf);
        let sync = if full { "fsync" } else { "fdatasync" };
        self.model
            .note(&rel, format!("pwrite {len} at {offset} + {sync}"));
        let what = path.display().to_string();
        let got = read_range(&file, offset, len).with_context(|| format!("read back {what}"))?;
        self.explain(&rel, compare(&what, offset, &buf, &got))
    }

    /// Opens a file, unlinks one of its names (often its only one), then reads it whole, writes
    /// through the handle, reads that back, and checks the link count, before closing.
    pub(super) fn op_unlink_open(&mut self) -> anyhow::Result<()> {
        let Some(rel) = self.some_file() else {
            return Ok(());
        };
        let path = self.path(&rel);
        let what = format!("{} (unlinked, open)", path.display());
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .with_context(|| format!("open {}", path.display()))?;
        std::fs::remove_file(&path).with_context(|| format!("unlink open {}", path.display()))?;
        let ino = self.model.ino(&rel).expect("file");
        let orphan = self.model.remove(&rel);
        let mut inode = match &orphan {
            Some(inode) => inode.clone(),
            None => self.model.inodes[&ino].clone(),
        };
        let offset = self.rng.below(inode.data.len() as u64 + 1);
        let n = 1 + self.rng.below(8192) as usize;
        let buf = self.rng.bytes(n);
        let mut checked = || -> anyhow::Result<()> {
            whole_file(&what, &mut file, &inode)?;
            let nlink = file
                .metadata()
                .with_context(|| format!("fstat {what}"))?
                .nlink();
            if nlink != inode.names.len() as u64 {
                bail!(
                    "fstat {what}: nlink {nlink}, expected {}",
                    inode.names.len()
                );
            }
            file.write_all_at(&buf, offset)
                .with_context(|| format!("write {n} at {offset} to {what}"))?;
            let mut expected = inode.data.clone();
            write_at(&mut expected, offset as usize, &buf);
            let got = read_range(&file, 0, expected.len() + 1)
                .with_context(|| format!("read {what} after a write"))?;
            compare(&format!("{what} after a write"), 0, &expected, &got)
        };
        if let Err(e) = checked() {
            bail!("{e:#}; {}", inode.history_line());
        }
        write_at(&mut inode.data, offset as usize, &buf);
        inode.note(format!(
            "pwrite {n} at {offset} through the handle after unlink"
        ));
        if orphan.is_none() {
            // Other names remain: they must see the write too (checked by later reads).
            let kept = self.model.inodes.get_mut(&ino).expect("inode");
            kept.data = inode.data;
            kept.history = inode.history;
        }
        let dir = parent(&rel).to_string();
        drop(file);
        self.verify_listing(&dir)
    }
}
