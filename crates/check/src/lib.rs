//! fusekit-check
