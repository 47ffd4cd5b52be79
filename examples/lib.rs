//! Example filesystems built on fusekit. Each is one short file meant to be read and copied.
//! `fusekit mount hello MNT` runs [`hello::Hello`]; `cargo run -p fusekit-examples --example
//! hello -- MNT` runs it standalone.

#[path = "hello.rs"]
pub mod hello;
pub mod pathfs;
