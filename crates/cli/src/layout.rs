//! Mount layouts refused before mounting: a passthrough whose mount point lies inside its own
//! source. The mount would contain itself, and a lookup of the mount point's name through
//! the mount would make the daemon wait on a request to its own mount (the daemon also
//! refuses such lookups, see `fusekit_passthrough::OwnMount`; this check gives the clear
//! message up front).
//!
//! The source equal to the mount point, or inside it, is allowed: the daemon opens the source
//! before mounting, so it keeps seeing the directory underneath the mount (mirroring a
//! directory over itself), and nothing it does can reach the mount.

use std::path::Path;

/// Fails when the canonical `mountpoint` lies strictly inside the canonical `source`. Paths
/// that cannot be resolved are left to the mount itself to report.
pub fn refuse_self_containing(source: &Path, mountpoint: &Path) -> anyhow::Result<()> {
    let (Ok(src), Ok(mnt)) = (source.canonicalize(), mountpoint.canonicalize()) else {
        return Ok(());
    };
    if mnt != src && mnt.starts_with(&src) {
        anyhow::bail!(
            "cannot mount a passthrough of {} on {}: the mount point is inside the source \
             directory, so the mount would contain itself (every lookup of {} through the \
             mount would reach the mount again); choose a mount point outside {}",
            src.display(),
            mnt.display(),
            mnt.strip_prefix(&src).unwrap_or(&mnt).display(),
            src.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mount_point_inside_the_source_is_refused_other_layouts_pass() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        let inner = src.join("a/mnt");
        std::fs::create_dir_all(&inner).unwrap();
        let e = refuse_self_containing(&src, &inner)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("inside the source") && e.contains("a/mnt"),
            "{e}"
        );
        // Through a symlink and `..`: canonicalized.
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&src, &link).unwrap();
        assert!(refuse_self_containing(&link, &src.join("a/../a/mnt")).is_err());
        // Equal, source inside the mount point, siblings, and missing paths pass.
        refuse_self_containing(&src, &src).unwrap();
        refuse_self_containing(&inner, &src).unwrap();
        refuse_self_containing(&src, dir.path()).unwrap();
        let other = dir.path().join("srcfoo");
        std::fs::create_dir(&other).unwrap();
        refuse_self_containing(&src, &other).unwrap();
        refuse_self_containing(&src, &src.join("missing")).unwrap();
    }
}
