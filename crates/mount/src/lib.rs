//! fusekit-mount
