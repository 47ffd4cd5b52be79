//! What the suite learns about the judged directory before any case runs: who we are, the
//! mount's type and options (from /proc/self/mountinfo), the umask, and one probe per feature
//! tag (xattrs, O_TMPFILE, fallocate, …). A case that needs a missing feature is skipped by the
//! runner with the probe's reason, so every skip says why.

use std::collections::BTreeMap;
use std::os::fd::AsFd;
use std::path::Path;

use rustix::fs::{FallocateFlags, Mode, OFlags};
use rustix::io::Errno;

use crate::util::errno_name;

/// Feature tags a case may list in `needs`.
pub const FEATURES: &[&str] = &[
    "root",
    "other_user",
    "xattr",
    "tmpfile",
    "atime",
    "noatime",
    "fallocate",
    "punch_hole",
    "mmap",
    "sparse_4g",
    "peer",
];

/// Facts about the environment, shared read-only by every case.
#[derive(Debug, Clone)]
pub struct Env {
    /// Effective uid of the process.
    pub euid: u32,
    /// Filesystem type from mountinfo (e.g. `tmpfs`, `fuse.memfs`, `ext4`).
    pub fs_type: String,
    /// Per-mount options (e.g. `rw`, `relatime`, `noatime`).
    pub mount_opts: Vec<String>,
    /// The process umask.
    pub umask: u32,
    /// Feature tag → `Ok` or the reason it is unavailable.
    pub features: BTreeMap<&'static str, Result<(), String>>,
}

impl Env {
    /// `Ok` if every tag in `needs` is available, else the first missing one's reason.
    pub fn check_needs(&self, needs: &[&str]) -> Result<(), String> {
        for n in needs {
            match self.features.get(n) {
                Some(Ok(())) => {}
                Some(Err(reason)) => return Err(reason.clone()),
                None => return Err(format!("unknown feature tag `{n}`")),
            }
        }
        Ok(())
    }

    /// An environment with no features, used only until the probe has run.
    pub fn placeholder() -> Env {
        Env {
            euid: rustix::process::geteuid().as_raw(),
            fs_type: "unknown".into(),
            mount_opts: Vec::new(),
            umask: 0o022,
            features: BTreeMap::new(),
        }
    }

    /// Probes `probe_dir` (an empty, writable scratch directory the caller removes).
    pub fn probe(judged: &Path, probe_dir: &Path) -> Env {
        let euid = rustix::process::geteuid().as_raw();
        let (fs_type, mount_opts) =
            mount_info(judged).unwrap_or_else(|| ("unknown".into(), vec![]));
        let mut features = BTreeMap::new();
        features.insert(
            "root",
            if euid == 0 {
                Ok(())
            } else {
                Err(format!(
                    "needs root to change owners or act as another user (running as uid {euid})"
                ))
            },
        );
        features.insert("atime", atime_rule(&mount_opts));
        features.insert(
            "noatime",
            if mount_opts.iter().any(|o| o == "noatime") {
                Ok(())
            } else {
                Err("not mounted noatime (mount with -o noatime to run it)".into())
            },
        );
        features.insert(
            "peer",
            Err("needs --peer DIR2 (the same directory seen through another mount)".into()),
        );
        let dir = rustix::fs::open(
            probe_dir,
            OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        );
        match dir {
            Ok(dir) => {
                features.insert("tmpfile", probe_tmpfile(dir.as_fd()));
                features.insert("other_user", probe_other_user(euid, dir.as_fd()));
                let file = rustix::fs::openat(
                    &dir,
                    "probe",
                    OFlags::CREATE | OFlags::RDWR | OFlags::CLOEXEC,
                    Mode::from_raw_mode(0o644),
                );
                match file {
                    Ok(f) => {
                        features.insert("xattr", probe_xattr(f.as_fd()));
                        features.insert("fallocate", probe_fallocate(f.as_fd()));
                        features.insert("punch_hole", probe_punch(f.as_fd()));
                        features.insert("mmap", probe_mmap(f.as_fd()));
                        features.insert("sparse_4g", probe_sparse(f.as_fd()));
                    }
                    Err(e) => {
                        for t in ["xattr", "fallocate", "punch_hole", "mmap", "sparse_4g"] {
                            features
                                .insert(t, Err(format!("probe file create: {}", errno_name(e))));
                        }
                    }
                }
            }
            Err(e) => {
                let missing: Vec<&'static str> = FEATURES
                    .iter()
                    .copied()
                    .filter(|t| !features.contains_key(t))
                    .collect();
                for t in missing {
                    features.insert(t, Err(format!("probe dir open: {}", errno_name(e))));
                }
            }
        }
        Env {
            euid,
            fs_type,
            mount_opts,
            umask: read_umask(),
            features,
        }
    }
}

fn unsupported(e: Errno) -> bool {
    matches!(e, Errno::OPNOTSUPP | Errno::NOSYS | Errno::NOTTY)
}

fn probe_tmpfile(dir: rustix::fd::BorrowedFd<'_>) -> Result<(), String> {
    match rustix::fs::openat(
        dir,
        ".",
        OFlags::TMPFILE | OFlags::RDWR | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o600),
    ) {
        Ok(_) => Ok(()),
        Err(e) if unsupported(e) || e == Errno::ISDIR || e == Errno::INVAL => {
            Err(format!("O_TMPFILE answered {}", errno_name(e)))
        }
        Err(e) => Err(format!("O_TMPFILE probe failed with {}", errno_name(e))),
    }
}

/// Can a thread running as `nobody` see into the judged directory? FUSE mounts without
/// `allow_other` answer EACCES to every other user, which would make the permission cases
/// pass for the wrong reason, so they are skipped instead.
fn probe_other_user(euid: u32, dir: rustix::fd::BorrowedFd<'_>) -> Result<(), String> {
    if euid != 0 {
        return Err(format!(
            "needs root to act as another user (running as uid {euid})"
        ));
    }
    let made = rustix::fs::openat(
        dir,
        "visible",
        OFlags::CREATE | OFlags::WRONLY | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o644),
    );
    if let Err(e) = made {
        return Err(format!("probe file create: {}", errno_name(e)));
    }
    let seen = crate::creds::as_nobody(|| {
        rustix::fs::statat(dir, "visible", rustix::fs::AtFlags::empty()).map(drop)
    });
    match seen {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(format!(
            "another user's stat in this directory answered {} (a FUSE mount without allow_other?)",
            errno_name(e)
        )),
        Err(_) => Err("could not switch a thread to uid 65534".into()),
    }
}

fn probe_xattr(f: rustix::fd::BorrowedFd<'_>) -> Result<(), String> {
    match rustix::fs::fsetxattr(
        f,
        "user.fusekit.probe",
        b"1",
        rustix::fs::XattrFlags::empty(),
    ) {
        Ok(()) => Ok(()),
        Err(e) => Err(format!("user xattrs answered {}", errno_name(e))),
    }
}

fn probe_fallocate(f: rustix::fd::BorrowedFd<'_>) -> Result<(), String> {
    match rustix::fs::fallocate(f, FallocateFlags::empty(), 0, 4096) {
        Ok(()) => Ok(()),
        Err(e) => Err(format!("fallocate answered {}", errno_name(e))),
    }
}

fn probe_punch(f: rustix::fd::BorrowedFd<'_>) -> Result<(), String> {
    let flags = FallocateFlags::PUNCH_HOLE | FallocateFlags::KEEP_SIZE;
    match rustix::fs::fallocate(f, flags, 0, 4096) {
        Ok(()) => Ok(()),
        Err(e) => Err(format!("fallocate(PUNCH_HOLE) answered {}", errno_name(e))),
    }
}

fn probe_mmap(f: rustix::fd::BorrowedFd<'_>) -> Result<(), String> {
    match crate::map::Mapping::new(f, 4096, true) {
        Ok(_) => Ok(()),
        Err(e) => Err(format!("shared mmap answered {}", errno_name(e))),
    }
}

fn probe_sparse(f: rustix::fd::BorrowedFd<'_>) -> Result<(), String> {
    let r = rustix::io::pwrite(f, b"x", 5 << 30);
    let _ = rustix::fs::ftruncate(f, 0);
    match r {
        Ok(_) => Ok(()),
        Err(e) => Err(format!("a write at 5 GiB answered {}", errno_name(e))),
    }
}

fn atime_rule(opts: &[String]) -> Result<(), String> {
    if opts.iter().any(|o| o == "noatime") {
        Err("mounted noatime: reads never update atime".into())
    } else {
        Ok(())
    }
}

fn read_umask() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Umask:"))
                .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
        })
        .unwrap_or(0o022)
}

fn unescape(s: &str) -> String {
    s.replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\012", "\n")
        .replace("\\134", "\\")
}

/// The (fs type, mount options) of the mount holding `path` (longest mount-point prefix).
pub fn mount_info(path: &Path) -> Option<(String, Vec<String>)> {
    let path = std::fs::canonicalize(path).ok()?;
    let text = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let mut best: Option<(usize, String, Vec<String>)> = None;
    for line in text.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        let sep = f.iter().position(|x| *x == "-")?;
        if f.len() < 6 || sep + 1 >= f.len() {
            continue;
        }
        let mp = unescape(f[4]);
        if !path.starts_with(&mp) {
            continue;
        }
        let len = mp.len();
        if best.as_ref().is_none_or(|b| len >= b.0) {
            let opts = f[5].split(',').map(String::from).collect();
            best = Some((len, f[sep + 1].to_string(), opts));
        }
    }
    best.map(|(_, t, o)| (t, o))
}
