//! `Ctx`: what a case gets — its own fresh directory (fd and path), the seed, the race
//! duration, the probed `Env` and the link to `--peer` — plus short helpers for the operations almost every case
//! performs, each returning an `R<T>` whose failure names the step.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rustix::fs::{AtFlags, Mode, OFlags};

use crate::env::Env;
use crate::peer::{Peer, PeerLink};
use crate::util::{errno_name, fail, hash_str, read_all, write_all, Must, Rng, St, R};

/// The context one case runs in.
#[derive(Debug)]
pub struct Ctx {
    /// The case's own empty directory (mode 0755, owned by the caller).
    pub dir: OwnedFd,
    /// Absolute path of that directory.
    pub path: PathBuf,
    /// Case name (for messages and the per-case seed).
    pub name: &'static str,
    /// The run's seed.
    pub seed: u64,
    /// How long a race case should run.
    pub race: Duration,
    /// Probed facts about the judged filesystem.
    pub env: Arc<Env>,
    /// The second mount (`--peer`), its visibility bound and the case's recorded waits.
    pub peer_link: PeerLink,
}

impl Ctx {
    /// The case directory as a borrowed fd.
    pub fn d(&self) -> BorrowedFd<'_> {
        self.dir.as_fd()
    }

    /// Absolute path of `name` inside the case directory.
    pub fn p(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// The case directory seen through `--peer` ("B"), once it shows there: skips without
    /// `--peer`, fails when DIR2 does not show DIR's files.
    pub fn peer(&self) -> R<Peer> {
        self.peer_link.open(self.name)
    }

    /// A generator seeded from the run's seed and the case name.
    pub fn rng(&self) -> Rng {
        Rng::new(self.seed ^ hash_str(self.name))
    }

    /// Sleeps long enough for a coarse kernel clock to move (timestamps compare strictly).
    pub fn tick(&self) {
        std::thread::sleep(Duration::from_millis(25));
    }

    /// `openat(dir, name, flags | O_CLOEXEC, mode)` without judging the result.
    pub fn try_open(&self, name: &str, flags: OFlags, mode: u32) -> rustix::io::Result<OwnedFd> {
        rustix::fs::openat(
            &self.dir,
            name,
            flags | OFlags::CLOEXEC,
            Mode::from_raw_mode(mode),
        )
    }

    /// Opens `name` (mode 0644 if created); failure fails the case.
    pub fn open(&self, name: &str, flags: OFlags) -> R<OwnedFd> {
        self.try_open(name, flags, 0o644)
            .must(&format!("open {name}"))
    }

    /// Creates (or truncates) `name` with `data`, mode 0644 before umask.
    pub fn create(&self, name: &str, data: &[u8]) -> R<()> {
        let fd = self.open(name, OFlags::CREATE | OFlags::WRONLY | OFlags::TRUNC)?;
        write_all(&fd, data).must(&format!("write {name}"))
    }

    /// The whole content of `name`.
    pub fn read(&self, name: &str) -> R<Vec<u8>> {
        let fd = self.open(name, OFlags::RDONLY)?;
        read_all(&fd).must(&format!("read {name}"))
    }

    /// `stat` (following symlinks) without judging.
    pub fn try_stat(&self, name: &str) -> rustix::io::Result<St> {
        rustix::fs::statat(&self.dir, name, AtFlags::empty()).map(St::from)
    }

    /// `lstat` without judging.
    pub fn try_lstat(&self, name: &str) -> rustix::io::Result<St> {
        rustix::fs::statat(&self.dir, name, AtFlags::SYMLINK_NOFOLLOW).map(St::from)
    }

    /// `stat`; failure fails the case.
    pub fn stat(&self, name: &str) -> R<St> {
        self.try_stat(name).must(&format!("stat {name}"))
    }

    /// `lstat`; failure fails the case.
    pub fn lstat(&self, name: &str) -> R<St> {
        self.try_lstat(name).must(&format!("lstat {name}"))
    }

    /// `mkdir` with an exact mode (chmod after, so the umask does not matter).
    pub fn mkdir(&self, name: &str, mode: u32) -> R<()> {
        rustix::fs::mkdirat(&self.dir, name, Mode::from_raw_mode(mode))
            .must(&format!("mkdir {name}"))?;
        self.chmod(name, mode)
    }

    /// `chmod` (following symlinks).
    pub fn chmod(&self, name: &str, mode: u32) -> R<()> {
        rustix::fs::chmodat(&self.dir, name, Mode::from_raw_mode(mode), AtFlags::empty())
            .must(&format!("chmod {name} {mode:o}"))
    }

    /// `chown` (following symlinks).
    pub fn chown(&self, name: &str, uid: u32, gid: u32) -> R<()> {
        rustix::fs::chownat(
            &self.dir,
            name,
            Some(rustix::fs::Uid::from_raw(uid)),
            Some(rustix::fs::Gid::from_raw(gid)),
            AtFlags::empty(),
        )
        .must(&format!("chown {name} {uid}:{gid}"))
    }

    /// `symlink(target, name)`.
    pub fn symlink(&self, target: &str, name: &str) -> R<()> {
        rustix::fs::symlinkat(target, &self.dir, name).must(&format!("symlink {name} -> {target}"))
    }

    /// `link(old, new)`.
    pub fn link(&self, old: &str, new: &str) -> R<()> {
        rustix::fs::linkat(&self.dir, old, &self.dir, new, AtFlags::empty())
            .must(&format!("link {old} {new}"))
    }

    /// `unlink(name)`.
    pub fn unlink(&self, name: &str) -> R<()> {
        rustix::fs::unlinkat(&self.dir, name, AtFlags::empty()).must(&format!("unlink {name}"))
    }

    /// `rename(old, new)`.
    pub fn rename(&self, old: &str, new: &str) -> R<()> {
        rustix::fs::renameat(&self.dir, old, &self.dir, new).must(&format!("rename {old} {new}"))
    }

    /// Names in directory `name` ("." for the case directory), without `.` and `..`, sorted.
    pub fn list(&self, name: &str) -> R<Vec<String>> {
        let fd = self.open(name, OFlags::RDONLY | OFlags::DIRECTORY)?;
        list_fd(fd.as_fd())
    }

    /// Fails unless `name` is absent (stat answers ENOENT).
    pub fn gone(&self, name: &str) -> R<()> {
        match self.try_lstat(name) {
            Err(rustix::io::Errno::NOENT) => Ok(()),
            Err(e) => Err(fail("ENOENT", errno_name(e), format!("lstat {name}"))),
            Ok(_) => Err(fail("ENOENT", "it exists", format!("lstat {name}"))),
        }
    }
}

/// Names in an open directory, without `.` and `..`, sorted.
pub fn list_fd(fd: BorrowedFd<'_>) -> R<Vec<String>> {
    let mut dir = rustix::fs::Dir::read_from(fd).must("opendir")?;
    let mut out = Vec::new();
    while let Some(e) = dir.read() {
        let e = e.must("readdir")?;
        let n = e.file_name().to_string_lossy().into_owned();
        if n != "." && n != ".." {
            out.push(n);
        }
    }
    out.sort();
    Ok(out)
}
