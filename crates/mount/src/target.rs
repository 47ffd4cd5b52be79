//! Resolving a mountpoint to its canonical path without touching the root of a FUSE
//! mount: a stat there would hang until the filesystem answers INIT, and nobody may be
//! serving it yet. Components are walked one by one (like realpath), but mountinfo is
//! consulted first: a component that is a FUSE mountpoint is never stat'ed unless the path
//! goes on *inside* it, and `..` is applied to the already canonical prefix without any
//! lookup.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::fs::Metadata;
use std::path::{Component, Path, PathBuf};

use crate::error::MountError;
use crate::mountinfo;

/// Symlinks followed before giving up (the kernel's MAXSYMLINKS).
const MAX_SYMLINKS: usize = 40;

/// What a path turned out to be.
#[derive(Debug)]
pub(crate) enum Resolved {
    /// A FUSE filesystem is mounted there; the path is canonical.
    FuseMounted(PathBuf),
    /// An ordinary path (canonical), with its metadata.
    Plain(PathBuf, Metadata),
}

/// One step of the walk.
enum Part {
    Root,
    Up,
    Name(OsString),
}

/// Resolves `path` (relative paths are taken from the current directory).
pub(crate) fn resolve(path: &Path) -> Result<Resolved, MountError> {
    let absolute =
        std::path::absolute(path).map_err(|e| MountError::about_path("resolving", path, e))?;
    let mounts = mountinfo::read()?;
    let is_fuse = |p: &Path| mountinfo::fuse_mount_at(&mounts, p).is_some();
    let mut queue = parts(&absolute);
    let mut current = PathBuf::from("/");
    let mut symlinks = 0;
    while let Some(part) = queue.pop_front() {
        let name = match part {
            Part::Root => {
                current = PathBuf::from("/");
                continue;
            }
            Part::Up => {
                // `current` holds no symlinks, so its lexical parent is its real parent.
                current.pop();
                continue;
            }
            Part::Name(name) => name,
        };
        let next = current.join(&name);
        if queue.is_empty() && is_fuse(&next) {
            return Ok(Resolved::FuseMounted(next));
        }
        if is_fuse(&next) && matches!(queue.front(), Some(Part::Up)) {
            // `mnt/..`: no need to look at the mount's root.
            current = next;
            continue;
        }
        let meta = std::fs::symlink_metadata(&next)
            .map_err(|e| MountError::about_path("resolving", path, e))?;
        if meta.file_type().is_symlink() {
            symlinks += 1;
            if symlinks > MAX_SYMLINKS {
                return Err(MountError::io(
                    format!("resolving {}", path.display()),
                    rustix::io::Errno::LOOP,
                ));
            }
            let target = std::fs::read_link(&next)
                .map_err(|e| MountError::about_path("resolving", path, e))?;
            for part in parts(&target).into_iter().rev() {
                queue.push_front(part);
            }
            continue;
        }
        if !queue.is_empty() && !meta.is_dir() {
            return Err(MountError::NotADirectory(path.to_path_buf()));
        }
        current = next;
    }
    if is_fuse(&current) {
        return Ok(Resolved::FuseMounted(current));
    }
    let meta =
        std::fs::metadata(&current).map_err(|e| MountError::about_path("resolving", path, e))?;
    Ok(Resolved::Plain(current, meta))
}

fn parts(path: &Path) -> VecDeque<Part> {
    path.components()
        .filter_map(|c| match c {
            Component::RootDir | Component::Prefix(_) => Some(Part::Root),
            Component::CurDir => None,
            Component::ParentDir => Some(Part::Up),
            Component::Normal(name) => Some(Part::Name(name.to_os_string())),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(path: &Path) -> PathBuf {
        match resolve(path).unwrap() {
            Resolved::Plain(p, _) => p,
            Resolved::FuseMounted(p) => panic!("{} unexpectedly FUSE-mounted", p.display()),
        }
    }

    #[test]
    fn resolves_symlinks_dots_and_relative_paths() {
        let dir = tempfile::tempdir().unwrap();
        let base = std::fs::canonicalize(dir.path()).unwrap();
        std::fs::create_dir(base.join("real")).unwrap();
        std::os::unix::fs::symlink("real", base.join("link")).unwrap();
        std::os::unix::fs::symlink(base.join("link"), base.join("link2")).unwrap();
        assert_eq!(plain(&base.join("link")), base.join("real"));
        assert_eq!(plain(&base.join("link2")), base.join("real"));
        assert_eq!(plain(&base.join("real/..")), base);
        assert_eq!(plain(&base.join("real/.")), base.join("real"));
        assert_eq!(plain(&base.join("link/../real")), base.join("real"));
        assert_eq!(plain(Path::new("/")), Path::new("/"));
        std::fs::write(base.join("file"), b"").unwrap();
        assert!(matches!(
            resolve(&base.join("file/x")),
            Err(MountError::NotADirectory(_))
        ));
        let cwd_relative = resolve(Path::new(".")).unwrap();
        assert!(
            matches!(cwd_relative, Resolved::Plain(p, _) if p == std::env::current_dir().unwrap())
        );
    }

    #[test]
    fn missing_paths_and_loops_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let base = std::fs::canonicalize(dir.path()).unwrap();
        let missing = base.join("nope");
        assert!(matches!(resolve(&missing), Err(MountError::MountpointMissing(p)) if p == missing));
        assert!(matches!(
            resolve(&base.join("nope/deeper")),
            Err(MountError::MountpointMissing(_))
        ));
        std::os::unix::fs::symlink("loop", base.join("loop")).unwrap();
        let err = resolve(&base.join("loop")).unwrap_err().to_string();
        assert!(err.contains("loop"), "{err}");
        std::os::unix::fs::symlink("nowhere", base.join("dangling")).unwrap();
        assert!(matches!(
            resolve(&base.join("dangling")),
            Err(MountError::MountpointMissing(p)) if p == base.join("dangling")
        ));
    }
}
