//! The readahead window beyond what INIT can negotiate. The kernel proposes its default
//! window (128 KiB) in INIT and only takes a smaller one from the reply; a larger window is
//! the mount's backing-device setting `/sys/class/bdi/0:N/read_ahead_kb` (N: the connection
//! id), which root may raise once the INIT reply has been processed (before that the reply
//! would clamp it back). Sequential reads then arrive as fewer, larger READ requests.

use std::io;
use std::path::PathBuf;

use crate::conn::Negotiated;

/// Where the mount's readahead window lives. The kernel names a FUSE bdi after the
/// superblock's device, `MAJOR:MINOR`; for type `fuse` (the only type this library mounts;
/// `fuseblk` adds a suffix) that is an anonymous device, major 0, minor the connection id.
fn bdi_path(connection_id: u32) -> PathBuf {
    PathBuf::from(format!("/sys/class/bdi/0:{connection_id}/read_ahead_kb"))
}

/// Sets the window of connection `connection_id` to `bytes` (whole KiB) and returns the
/// window now in effect, as the kernel reports it back.
fn raise(connection_id: u32, bytes: u32) -> io::Result<u32> {
    let path = bdi_path(connection_id);
    std::fs::write(&path, format!("{}\n", bytes / 1024))?;
    let text = std::fs::read_to_string(&path)?;
    let kib: u32 = text
        .trim()
        .parse()
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, format!("{path:?}: {text:?}")))?;
    Ok(kib.saturating_mul(1024))
}

/// Applies a readahead window larger than INIT could negotiate (see `readahead`) and returns
/// the window in effect. Not being able to (not root, no connection id) is not an error: the
/// negotiated window stays, said once at debug level.
pub(super) fn apply_readahead_window(negotiated: &Negotiated, connection_id: Option<u32>) -> u32 {
    let wanted = negotiated.readahead_window;
    if wanted <= negotiated.max_readahead {
        return negotiated.max_readahead;
    }
    let Some(id) = connection_id else {
        tracing::debug!(
            wanted,
            "readahead window stays at {} bytes: the connection id is unknown",
            negotiated.max_readahead
        );
        return negotiated.max_readahead;
    };
    match raise(id, wanted) {
        Ok(in_effect) => {
            tracing::debug!(wanted, in_effect, "readahead window raised");
            in_effect
        }
        Err(e) => {
            tracing::debug!(
                wanted,
                error = %e,
                "readahead window stays at {} bytes: cannot set it through sysfs",
                negotiated.max_readahead
            );
            negotiated.max_readahead
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_names_the_connection() {
        assert_eq!(
            bdi_path(40),
            PathBuf::from("/sys/class/bdi/0:40/read_ahead_kb")
        );
    }
}
