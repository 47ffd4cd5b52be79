//! fusekit-passthrough: mirrors a directory.
