//! The run's work directory: validating the judged directory, creating
//! `DIR/.fusekit-check-<pid>-<seed>-<n>` and probing the environment inside it (all bounded by
//! a deadline, so a wedged mount gives an error instead of a hang), proving that `--peer`
//! shows it, and removing everything
//! again — recursively, restoring permissions first — even after failures or panics.

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rustix::fs::{AtFlags, Mode, OFlags};
use rustix::io::Errno;

use crate::env::Env;
use crate::peer::{self, PeerRoot};
use crate::runner::{with_deadline, Abort};
use crate::util::errno_name;
use crate::CheckError;

static RUNS: AtomicU64 = AtomicU64::new(0);

fn io_err(what: String, e: Errno) -> CheckError {
    CheckError::Io {
        what,
        source: std::io::Error::from_raw_os_error(e.raw_os_error()),
    }
}

fn validate(dir: &Path) -> Result<PathBuf, CheckError> {
    let meta = match std::fs::metadata(dir) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(CheckError::Missing(dir.to_path_buf()))
        }
        Err(source) => {
            return Err(CheckError::Io {
                what: format!("stat {}", dir.display()),
                source,
            })
        }
    };
    if !meta.is_dir() {
        return Err(CheckError::NotADirectory(dir.to_path_buf()));
    }
    std::fs::canonicalize(dir).map_err(|source| CheckError::Io {
        what: format!("resolve {}", dir.display()),
        source,
    })
}

/// Removes `name` under `parent` recursively, restoring write/search permission on
/// directories first so read-only leftovers of a case can go too.
pub fn remove_tree(parent: impl AsFd, name: &str) -> rustix::io::Result<()> {
    let parent = parent.as_fd();
    match rustix::fs::unlinkat(parent, name, AtFlags::empty()) {
        Ok(()) | Err(Errno::NOENT) => return Ok(()),
        Err(Errno::ISDIR) | Err(Errno::PERM) => {}
        Err(e) => return Err(e),
    }
    let st = rustix::fs::statat(parent, name, AtFlags::SYMLINK_NOFOLLOW)?;
    if st.st_mode & libc::S_IFMT != libc::S_IFDIR {
        return rustix::fs::unlinkat(parent, name, AtFlags::empty());
    }
    let _ = rustix::fs::chmodat(parent, name, Mode::from_raw_mode(0o700), AtFlags::empty());
    let fd = rustix::fs::openat(
        parent,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let mut dir = rustix::fs::Dir::read_from(&fd)?;
    let mut names = Vec::new();
    while let Some(e) = dir.read() {
        let n = e?.file_name().to_string_lossy().into_owned();
        if n != "." && n != ".." {
            names.push(n);
        }
    }
    for n in names {
        remove_tree(&fd, &n)?;
    }
    rustix::fs::unlinkat(parent, name, AtFlags::REMOVEDIR)
}

/// The work directory of one run; removed on [`WorkDir::cleanup`] or drop.
pub struct WorkDir {
    /// The judged directory (canonical).
    pub dir: PathBuf,
    /// Absolute path of the work directory.
    pub path: PathBuf,
    /// An fd of the work directory.
    pub fd: OwnedFd,
    /// Probed facts.
    pub env: Env,
    /// The work directory as `--peer` shows it (or why it does not).
    pub peer: PeerRoot,
    name: String,
    /// Trouble worth reporting (cleanup failures, stuck threads).
    pub notes: Vec<String>,
    limit: Duration,
}

impl WorkDir {
    /// Validates `dir` (and `peer`: a directory other than `dir`), makes the work directory,
    /// probes the environment and proves that `peer` shows it within its bound, all within
    /// `limit` plus that bound.
    pub fn create(
        dir: &Path,
        seed: u64,
        limit: Duration,
        peer: Option<(&Path, Duration)>,
    ) -> Result<WorkDir, CheckError> {
        let dir = dir.to_path_buf();
        let shown = dir.clone();
        let peer = peer.map(|(p, bound)| (p.to_path_buf(), bound));
        let total = limit + peer.as_ref().map(|p| p.1).unwrap_or_default();
        match with_deadline("setup", total, move || setup(&dir, seed, limit, peer)) {
            Ok(r) => r,
            Err(Abort::TimedOut) => Err(CheckError::Unresponsive {
                dir: shown,
                secs: total.as_secs(),
            }),
            Err(Abort::Panicked(msg)) => Err(CheckError::Io {
                what: format!("setting up in {}", shown.display()),
                source: std::io::Error::other(msg),
            }),
        }
    }

    /// Removes the work directory (bounded by the deadline); notes any trouble.
    pub fn cleanup(&mut self) {
        if self.name.is_empty() {
            return;
        }
        let (parent, name) = (self.dir.clone(), std::mem::take(&mut self.name));
        let r = with_deadline("cleanup", self.limit, move || {
            let p = rustix::fs::open(&parent, OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())?;
            remove_tree(&p, &name)
        });
        match r {
            Ok(Ok(())) => {}
            Ok(Err(e)) => self.notes.push(format!(
                "could not remove {}: {}",
                self.path.display(),
                errno_name(e)
            )),
            Err(a) => self.notes.push(format!(
                "removing {} did not finish: {a:?}",
                self.path.display()
            )),
        }
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        self.cleanup();
    }
}

fn validate_peer(dir: &Path, peer: &Path) -> Result<PathBuf, CheckError> {
    let bad = |reason: String| CheckError::BadPeer {
        peer: peer.to_path_buf(),
        reason,
    };
    let canon = match validate(peer) {
        Ok(p) => p,
        Err(CheckError::Missing(_)) => return Err(bad("no such directory".into())),
        Err(CheckError::NotADirectory(_)) => return Err(bad("not a directory".into())),
        Err(e) => return Err(bad(e.to_string())),
    };
    if canon == dir {
        return Err(bad(format!(
            "is {} itself; give the same directory seen through another mount",
            dir.display()
        )));
    }
    Ok(canon)
}

fn setup(
    dir: &Path,
    seed: u64,
    limit: Duration,
    peer: Option<(PathBuf, Duration)>,
) -> Result<WorkDir, CheckError> {
    let dir = validate(dir)?;
    let peer = match peer {
        Some((p, bound)) => Some((validate_peer(&dir, &p)?, bound)),
        None => None,
    };
    let n = RUNS.fetch_add(1, Ordering::Relaxed);
    let name = format!(".fusekit-check-{}-{}-{}", std::process::id(), seed, n);
    let path = dir.join(&name);
    let perm = Mode::from_raw_mode(0o755);
    if let Err(e) = rustix::fs::mkdir(&path, perm) {
        return Err(match e {
            Errno::ROFS | Errno::ACCESS | Errno::PERM => CheckError::NotWritable {
                dir,
                errno: errno_name(e),
            },
            e => io_err(format!("mkdir {}", path.display()), e),
        });
    }
    let fd = rustix::fs::open(&path, OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty());
    let mut work = WorkDir {
        dir: dir.clone(),
        path: path.clone(),
        fd: fd.map_err(|e| io_err(format!("open {}", path.display()), e))?,
        env: Env::placeholder(),
        peer: PeerRoot::None,
        name,
        notes: Vec::new(),
        limit,
    };
    let _ = rustix::fs::chmod(&path, perm);
    let probe = path.join(".probe");
    let _ = rustix::fs::mkdir(&probe, perm);
    work.env = Env::probe(&dir, &probe);
    let _ = remove_tree(&work.fd, ".probe");
    if let Some((peer_dir, bound)) = peer {
        let t0 = std::time::Instant::now();
        work.peer = peer::verify(work.fd.as_fd(), &peer_dir, &work.name, bound);
        if matches!(work.peer, PeerRoot::Shown(_)) {
            work.notes.push(format!(
                "peer {} showed a file written through {} after {:.1} ms",
                peer_dir.display(),
                work.dir.display(),
                t0.elapsed().as_secs_f64() * 1000.0
            ));
        }
        work.env.features.insert("peer", Ok(()));
    }
    Ok(work)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    /// A FUSE mount whose daemon never answers (not even INIT): every access blocks.
    struct DeadFuse {
        dir: tempfile::TempDir,
        dev: Option<OwnedFd>,
    }

    impl Drop for DeadFuse {
        fn drop(&mut self) {
            // Closing the last /dev/fuse fd aborts the connection: blocked callers get ENOTCONN.
            drop(self.dev.take());
            let _ = rustix::mount::unmount(self.dir.path(), rustix::mount::UnmountFlags::DETACH);
        }
    }

    fn dead_fuse() -> Option<DeadFuse> {
        let why = if !rustix::process::geteuid().is_root() {
            "needs root"
        } else if !Path::new("/dev/fuse").exists() {
            "needs /dev/fuse"
        } else {
            ""
        };
        if !why.is_empty() {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{why} (CI=true)"
            );
            eprintln!("skipped: {why}");
            return None;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let dev = rustix::fs::open("/dev/fuse", OFlags::RDWR | OFlags::CLOEXEC, Mode::empty())
            .expect("open /dev/fuse");
        let data = format!("fd={},rootmode=40000,user_id=0,group_id=0", dev.as_raw_fd());
        let data = std::ffi::CString::new(data).expect("options");
        rustix::mount::mount(
            "fusekit-check-dead",
            dir.path(),
            "fuse",
            rustix::mount::MountFlags::NOSUID | rustix::mount::MountFlags::NODEV,
            data.as_c_str(),
        )
        .expect("mount fuse");
        Some(DeadFuse {
            dir,
            dev: Some(dev),
        })
    }

    #[test]
    fn an_unanswering_mount_is_reported_not_waited_on() {
        let Some(fs) = dead_fuse() else { return };
        let t0 = std::time::Instant::now();
        let r = WorkDir::create(fs.dir.path(), 1, Duration::from_millis(500), None);
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "took {:?}",
            t0.elapsed()
        );
        match r {
            Err(e @ CheckError::Unresponsive { .. }) => {
                assert!(e.to_string().contains("hung"), "{e}")
            }
            Err(e) => panic!("expected Unresponsive, got {e:?}"),
            Ok(_) => panic!("expected Unresponsive, got a work dir"),
        }
    }

    #[test]
    fn remove_tree_clears_read_only_leftovers() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().join("t");
        std::fs::create_dir_all(root.join("a/b")).expect("mkdir");
        std::fs::write(root.join("a/b/f"), b"x").expect("write");
        rustix::fs::chmod(root.join("a/b"), Mode::from_raw_mode(0o500)).expect("chmod");
        rustix::fs::chmod(root.join("a"), Mode::from_raw_mode(0o000)).expect("chmod");
        let fd = rustix::fs::open(
            dir.path(),
            OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .expect("open");
        remove_tree(&fd, "t").expect("remove_tree");
        assert!(!root.exists());
    }
}
