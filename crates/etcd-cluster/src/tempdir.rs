//! A temp dir removed on drop (std only: named from the pid, a counter and the clock).

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

static NEXT: AtomicU64 = AtomicU64::new(0);

/// Where cluster directories go: `FUSEKIT_ETCD_DIR` if set, else `/dev/shm` (tmpfs: etcd's
/// fsyncs then cost nothing, so tests measure etcdfs rather than the disk, and a killed
/// member loses nothing either way), else the system temp dir.
fn base() -> PathBuf {
    if let Some(dir) = std::env::var_os("FUSEKIT_ETCD_DIR") {
        return dir.into();
    }
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        return shm.to_path_buf();
    }
    std::env::temp_dir()
}

/// A directory under [`base`], removed with its content on drop.
#[derive(Debug)]
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    pub(crate) fn new(tag: &str) -> io::Result<TempDir> {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = base().join(format!("{tag}-{}-{n}-{nanos:x}", std::process::id()));
        std::fs::create_dir(&path)?;
        Ok(TempDir(path))
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.0) {
            eprintln!("etcd-cluster: cannot remove {}: {e}", self.0.display());
        }
    }
}
