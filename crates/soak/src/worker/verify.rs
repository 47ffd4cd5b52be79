//! Comparing what the filesystem returns with the model: byte ranges (with a message naming
//! path, offset, expected and observed bytes), directory listings, and a whole-subtree sweep.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Read;
use std::os::unix::fs::{FileExt, MetadataExt};

use anyhow::{anyhow, bail, Context};

use super::model::{Entry, Inode};
use super::Worker;

/// Up to 16 bytes from `at` as hex, for messages.
fn hex(data: &[u8], at: usize) -> String {
    let end = (at + 16).min(data.len());
    if at >= end {
        return "(nothing: end of data)".into();
    }
    data[at..end].iter().map(|b| format!("{b:02x}")).collect()
}

/// Fails with a precise message unless `got` equals `expected`; both start at file offset
/// `offset` of `what`.
pub fn compare(what: &str, offset: u64, expected: &[u8], got: &[u8]) -> anyhow::Result<()> {
    if expected == got {
        return Ok(());
    }
    let first = expected
        .iter()
        .zip(got)
        .position(|(a, b)| a != b)
        .unwrap_or(expected.len().min(got.len()));
    let differing = expected.iter().zip(got).filter(|(a, b)| a != b).count();
    bail!(
        "{what}: data mismatch at offset {} (read {} bytes at offset {offset}, expected {}; \
         {differing} differing bytes in the common part): expected {} got {}",
        offset + first as u64,
        got.len(),
        expected.len(),
        hex(expected, first),
        hex(got, first),
    )
}

/// Reads `len` bytes at `offset` (fewer at end of file) through `file`.
pub fn read_range(file: &File, offset: u64, len: usize) -> std::io::Result<Vec<u8>> {
    let mut buf = vec![0u8; len];
    let mut done = 0;
    while done < len {
        match file.read_at(&mut buf[done..], offset + done as u64) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(done);
    Ok(buf)
}

/// Checks an open file's size and whole contents against `inode`.
pub fn whole_file(what: &str, file: &mut File, inode: &Inode) -> anyhow::Result<()> {
    let size = file
        .metadata()
        .with_context(|| format!("fstat {what}"))?
        .len();
    if size != inode.data.len() as u64 {
        bail!("{what}: size {size}, expected {}", inode.data.len());
    }
    let mut got = Vec::with_capacity(inode.data.len());
    file.read_to_end(&mut got)
        .with_context(|| format!("read {what}"))?;
    compare(what, 0, &inode.data, &got)
}

/// The model's kind of an entry, in words.
fn kind(e: &Entry) -> &'static str {
    match e {
        Entry::File(_) => "file",
        Entry::Symlink(_) => "symlink",
        Entry::Dir => "directory",
    }
}

fn kind_of(ft: fs::FileType) -> &'static str {
    if ft.is_symlink() {
        "symlink"
    } else if ft.is_dir() {
        "directory"
    } else if ft.is_file() {
        "file"
    } else {
        "other"
    }
}

impl Worker {
    /// Adds the recent history of the inode at `rel` (if it is a file) to a failure.
    pub fn explain<T>(&self, rel: &str, r: anyhow::Result<T>) -> anyhow::Result<T> {
        r.map_err(|e| match self.model.ino(rel) {
            Some(ino) => anyhow!("{e:#}; {}", self.model.inodes[&ino].history_line()),
            None => e,
        })
    }

    /// readdir(dir) must list exactly the model's children, with the right types.
    pub fn verify_listing(&self, dir: &str) -> anyhow::Result<()> {
        let path = self.path(dir);
        let mut got = BTreeMap::new();
        for entry in fs::read_dir(&path).with_context(|| format!("readdir {}", path.display()))? {
            let entry = entry.with_context(|| format!("readdir {}", path.display()))?;
            let ft = entry
                .file_type()
                .with_context(|| format!("type of {}", entry.path().display()))?;
            got.insert(
                entry.file_name().to_string_lossy().into_owned(),
                kind_of(ft),
            );
        }
        let expected: BTreeMap<String, &str> = self
            .model
            .children(dir)
            .into_iter()
            .map(|(n, e)| (n.to_string(), kind(e)))
            .collect();
        if got != expected {
            let missing: Vec<_> = expected.keys().filter(|k| !got.contains_key(*k)).collect();
            let extra: Vec<_> = got.keys().filter(|k| !expected.contains_key(*k)).collect();
            let wrong: Vec<_> = expected
                .iter()
                .filter(|(k, v)| got.get(*k).is_some_and(|g| g != *v))
                .map(|(k, v)| format!("{k} is {} not {v}", got[k]))
                .collect();
            bail!(
                "readdir {}: listing differs from the model: missing {missing:?}, unexpected \
                 {extra:?}, wrong type {wrong:?}",
                path.display()
            );
        }
        Ok(())
    }

    /// lstat(path) must agree with the model: kind, and for files size and link count.
    pub fn verify_stat(&self, rel: &str) -> anyhow::Result<()> {
        self.explain(rel, self.verify_stat_inner(rel))
    }

    fn verify_stat_inner(&self, rel: &str) -> anyhow::Result<()> {
        let path = self.path(rel);
        let md =
            fs::symlink_metadata(&path).with_context(|| format!("lstat {}", path.display()))?;
        let entry = &self.model.entries[rel];
        if kind_of(md.file_type()) != kind(entry) {
            bail!(
                "lstat {}: a {}, expected a {}",
                path.display(),
                kind_of(md.file_type()),
                kind(entry)
            );
        }
        if let Entry::File(ino) = entry {
            let inode = &self.model.inodes[ino];
            if md.len() != inode.data.len() as u64 {
                bail!(
                    "lstat {}: size {}, expected {}",
                    path.display(),
                    md.len(),
                    inode.data.len()
                );
            }
            if md.nlink() != inode.names.len() as u64 {
                bail!(
                    "lstat {}: nlink {}, expected {} (names {:?})",
                    path.display(),
                    md.nlink(),
                    inode.names.len(),
                    inode.names
                );
            }
        }
        if let Entry::Symlink(target) = entry {
            self.verify_readlink(rel, target)?;
        }
        Ok(())
    }

    /// readlink(path) must return `target`.
    pub fn verify_readlink(&self, rel: &str, target: &str) -> anyhow::Result<()> {
        let path = self.path(rel);
        let got = fs::read_link(&path).with_context(|| format!("readlink {}", path.display()))?;
        if got.as_os_str() != target {
            bail!(
                "readlink {}: {:?}, expected {target:?}",
                path.display(),
                got
            );
        }
        Ok(())
    }

    /// Reads the whole file at `rel` and checks it.
    pub fn verify_file(&self, rel: &str) -> anyhow::Result<()> {
        let path = self.path(rel);
        let mut f = File::open(&path).with_context(|| format!("open {}", path.display()))?;
        self.explain(
            rel,
            whole_file(&path.display().to_string(), &mut f, self.model.inode(rel)),
        )
    }

    /// Every directory listing, every entry's lstat, every file's bytes, every symlink, and
    /// (when supported) every file's extended attributes.
    pub fn verify_all(&self) -> anyhow::Result<()> {
        self.verify_listing("")?;
        for dir in self.model.dirs() {
            self.verify_listing(&dir)?;
        }
        let paths: Vec<String> = self.model.entries.keys().cloned().collect();
        for rel in &paths {
            self.verify_stat(rel)?;
        }
        for rel in self.model.files() {
            self.verify_file(&rel)?;
            self.verify_xattr_list(&rel)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mismatch_message_names_offset_and_bytes() {
        let e = compare("f", 100, b"abcdef", b"abXdef")
            .unwrap_err()
            .to_string();
        assert!(e.contains("offset 102"), "{e}");
        assert!(
            e.contains("expected 636465") && e.contains("got 586465"),
            "{e}"
        );
        let e = compare("f", 0, b"abc", b"ab").unwrap_err().to_string();
        assert!(
            e.contains("read 2 bytes") && e.contains("expected 3"),
            "{e}"
        );
        assert!(compare("f", 0, b"abc", b"abc").is_ok());
    }
}
