//! etcdfs foundations: a FUSE filesystem whose whole state lives under a key prefix of an etcd
//! v3 cluster. This crate holds the layers under the FUSE glue:
//!
//! - [`store`]: the key-value engine as a small async trait, and its etcd implementation.

pub mod store;
