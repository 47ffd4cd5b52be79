//! etcdfs: a FUSE filesystem whose whole state lives under a key prefix of an etcd v3
//! cluster. Layers, bottom up:
//!
//! - [`store`]: the key-value engine as a small async trait, and its etcd implementation;
//! - [`schema`]: the key layout and the compact binary encoding of inodes and entries;
//! - [`ns`]: namespace changes, each one etcd transaction guarded by compares;
//! - [`cache`]: the daemon's watch-fed mirror of the tree's metadata;
//! - [`fsck`]: the consistency checker of a prefix;
//! - [`fs`]: the filesystem itself, on fusekit's async API (`fusekit mount etcd`).

pub mod cache;
pub mod fs;
pub mod fsck;
pub mod ns;
pub mod schema;
pub mod store;
