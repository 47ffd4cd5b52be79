//! Example filesystems.
