//! fusekit-memfs
