//! Aborting a FUSE connection through the fusectl filesystem
//! (`/sys/fs/fuse/connections/<id>/abort`): every pending and future request fails with
//! ENOTCONN, which unsticks processes blocked on a hung filesystem.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rustix::io::Errno;

use crate::error::MountError;
use crate::mountinfo;
use crate::privilege::is_privileged;

/// Where fusectl lives.
pub const CONNECTIONS_DIR: &str = "/sys/fs/fuse/connections";

/// Serializes "is fusectl mounted? if not, mount it" so that concurrent aborts cannot
/// stack several fusectl mounts. The only global state in this crate.
static FUSECTL_SETUP: Mutex<()> = Mutex::new(());

/// Writes "1" to `/sys/fs/fuse/connections/<id>/abort`, mounting fusectl first if it is
/// absent and we are privileged.
pub fn abort_connection(id: u32) -> Result<(), MountError> {
    let dir = connection_dir(id);
    if !dir.is_dir() {
        ensure_fusectl()?;
        if !dir.is_dir() {
            return Err(MountError::ConnectionNotFound(id));
        }
    }
    let abort = dir.join("abort");
    tracing::debug!(path = %abort.display(), "aborting FUSE connection");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .open(&abort)
        .map_err(|e| open_error(id, &abort, e))?;
    file.write_all(b"1")
        .map_err(|e| MountError::about_path("writing", &abort, e))
}

fn connection_dir(id: u32) -> PathBuf {
    Path::new(CONNECTIONS_DIR).join(id.to_string())
}

fn open_error(id: u32, path: &Path, e: std::io::Error) -> MountError {
    if e.kind() == std::io::ErrorKind::NotFound {
        // The connection went away between the check and the open.
        MountError::ConnectionNotFound(id)
    } else {
        MountError::about_path("opening", path, e)
    }
}

/// Makes sure fusectl is mounted on [`CONNECTIONS_DIR`], mounting it if we are
/// privileged. Nothing to do if it already is (as systemd usually arranges).
pub fn ensure_fusectl() -> Result<(), MountError> {
    let _guard = FUSECTL_SETUP
        .lock()
        .unwrap_or_else(|poison| poison.into_inner());
    let mounted = mountinfo::read()?
        .iter()
        .any(|m| m.fstype == "fusectl" && m.mount_point == Path::new(CONNECTIONS_DIR));
    if mounted {
        return Ok(());
    }
    if !is_privileged() {
        return Err(MountError::FusectlUnavailable);
    }
    tracing::debug!("mounting fusectl on {CONNECTIONS_DIR}");
    match rustix::mount::mount(
        "fusectl",
        CONNECTIONS_DIR,
        "fusectl",
        rustix::mount::MountFlags::empty(),
        None,
    ) {
        Ok(()) | Err(Errno::BUSY) => Ok(()),
        Err(e) => Err(MountError::io(
            format!("mounting fusectl on {CONNECTIONS_DIR}"),
            e,
        )),
    }
}
