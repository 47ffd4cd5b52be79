//! The syscall helpers the workloads share: *at() calls relative to a directory fd (so a
//! benchmark never pays for resolving the work directory's path), page-cache dropping,
//! O_DIRECT opens, 4 KiB-aligned buffers, and which mount holds a directory.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Component, Path, PathBuf};
use std::time::Instant;

use rustix::fs::{openat, Advice, Mode, OFlags, CWD};

use crate::options::CacheDrop;

/// Opens a directory for *at() calls.
pub(crate) fn open_dir(path: &Path) -> io::Result<OwnedFd> {
    Ok(openat(
        CWD,
        path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?)
}

/// Creates (exclusively) and opens `name` in `dir` for writing.
pub(crate) fn create(dir: impl AsFd, name: &str) -> io::Result<OwnedFd> {
    Ok(openat(
        dir,
        name,
        OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o644),
    )?)
}

/// Writes all of `buf` at the current offset.
pub(crate) fn write_all(fd: impl AsFd, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        let n = rustix::io::write(&fd, buf)?;
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::WriteZero, "write returned 0"));
        }
        buf = &buf[n..];
    }
    Ok(())
}

/// Creates `name` in `dir` holding `size` bytes of pseudo-random data written in `block`-sized
/// writes, fsync'ed; `check` is called before every block (it fails when time is up).
pub(crate) fn make_file(
    dir: impl AsFd,
    name: &str,
    size: u64,
    block: usize,
    check: &dyn Fn(u64) -> io::Result<()>,
) -> io::Result<()> {
    let fd = create(dir, name)?;
    let mut buf = vec![0u8; block];
    crate::rng::Rng::new(size).fill(&mut buf);
    let mut left = size;
    while left > 0 {
        check(size - left)?;
        let n = left.min(block as u64) as usize;
        write_all(&fd, &buf[..n])?;
        left -= n as u64;
    }
    rustix::fs::fsync(&fd)?;
    Ok(())
}

/// Removes `dir` and everything below it, giving up with `TimedOut` once `deadline` passes
/// (the rest is left behind rather than stalling the run).
pub(crate) fn remove_tree(dir: &Path, deadline: Instant) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        if Instant::now() >= deadline {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "gave up removing it: out of time",
            ));
        }
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            remove_tree(&path, deadline)?;
        } else {
            std::fs::remove_file(&path)?;
        }
    }
    std::fs::remove_dir(dir)
}

/// How the page cache was emptied (said in the report).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dropped {
    DropCaches,
    Fadvise,
}

impl Dropped {
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Dropped::DropCaches => {
                "page cache dropped with `echo 1 > /proc/sys/vm/drop_caches` before timing"
            }
            Dropped::Fadvise => {
                "page cache dropped with posix_fadvise(POSIX_FADV_DONTNEED) on the file before timing"
            }
        }
    }
}

/// Empties the page cache of the open file `fd` as `how` asks.
pub(crate) fn drop_cache(fd: impl AsFd, how: CacheDrop) -> io::Result<Dropped> {
    if how == CacheDrop::Auto && std::fs::write("/proc/sys/vm/drop_caches", "1").is_ok() {
        return Ok(Dropped::DropCaches);
    }
    rustix::fs::fadvise(fd, 0, None, Advice::DontNeed)?;
    Ok(Dropped::Fadvise)
}

/// Opens `name` in `dir` read-only with O_DIRECT; `Ok(None)` when the filesystem refuses
/// O_DIRECT (EINVAL), as tmpfs does.
pub(crate) fn open_direct(dir: impl AsFd, name: &str) -> io::Result<Option<OwnedFd>> {
    match openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::DIRECT | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => Ok(Some(fd)),
        Err(rustix::io::Errno::INVAL) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// A buffer of `len` bytes whose start is aligned to `align` (for O_DIRECT), carved out of a
/// larger Vec so no unsafe allocation is needed.
pub(crate) struct Aligned {
    storage: Vec<u8>,
    start: usize,
    len: usize,
}

impl Aligned {
    pub(crate) fn new(len: usize, align: usize) -> io::Result<Aligned> {
        let storage = vec![0u8; len + align];
        let start = storage.as_ptr().align_offset(align);
        if start > align {
            return Err(io::Error::other("cannot align a buffer"));
        }
        Ok(Aligned {
            storage,
            start,
            len,
        })
    }

    pub(crate) fn as_mut(&mut self) -> &mut [u8] {
        &mut self.storage[self.start..self.start + self.len]
    }
}

/// The mount holding `dir`: (filesystem type, source), from /proc/self/mountinfo.
pub(crate) fn mount_of(dir: &Path) -> Option<(String, String)> {
    let dir = dir.canonicalize().ok()?;
    let info = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let mut best: Option<(usize, String, String)> = None;
    for line in info.lines() {
        let Some((pre, post)) = line.split_once(" - ") else {
            continue;
        };
        let Some(mount_point) = pre.split(' ').nth(4) else {
            continue;
        };
        let mount_point = PathBuf::from(unescape(mount_point));
        let mut post = post.split(' ');
        let (fs_type, source) = (post.next().unwrap_or("?"), post.next().unwrap_or(""));
        if dir.starts_with(&mount_point) {
            let depth = mount_point
                .components()
                .filter(|c| matches!(c, Component::Normal(_)))
                .count();
            // Later lines with the same depth are mounted on top: they win.
            if best.as_ref().is_none_or(|b| depth >= b.0) {
                best = Some((depth, fs_type.to_string(), unescape(source)));
            }
        }
    }
    best.map(|(_, t, s)| (t, s))
}

/// Undoes mountinfo's octal escapes (`\040` for a space).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescape_octal() {
        assert_eq!(unescape(r"/mnt/a\040b"), "/mnt/a b");
        assert_eq!(unescape(r"/x\"), r"/x\");
        assert_eq!(unescape("plain"), "plain");
    }

    #[test]
    fn root_is_on_some_mount() {
        let (t, _) = mount_of(Path::new("/")).expect("/ is mounted");
        assert!(!t.is_empty());
        let (p, _) = mount_of(Path::new("/proc/self")).expect("/proc is mounted");
        assert_eq!(p, "proc");
    }

    #[test]
    fn remove_tree_removes_nested_dirs_and_respects_the_deadline() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("r");
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        for p in ["f", "a/g", "a/b/h"] {
            std::fs::write(root.join(p), b"x").unwrap();
        }
        let past = Instant::now();
        let e = remove_tree(&root, past).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        assert!(root.exists());
        remove_tree(&root, Instant::now() + std::time::Duration::from_secs(60)).unwrap();
        assert!(!root.exists());
    }

    #[test]
    fn aligned_buffer_is_aligned() {
        let mut a = Aligned::new(4096, 4096).unwrap();
        let s = a.as_mut();
        assert_eq!(s.len(), 4096);
        assert_eq!(s.as_ptr() as usize % 4096, 0);
    }
}
