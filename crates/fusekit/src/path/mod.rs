//! The path-level API (in progress).
