//! Example filesystems built on fusekit. Each is one short file meant to be read and copied.
//! `fusekit mount hello MNT` runs [`hello::Hello`]; `cargo run -p fusekit-examples --example
//! hello -- MNT` runs it standalone. `asyncmem` (feature `async`) is the same idea on the
//! async API: `cargo run -p fusekit-examples --features async --example asyncmem -- MNT`.

#[cfg(feature = "async")]
pub mod asyncmem;
#[path = "hello.rs"]
pub mod hello;
pub mod pathfs;
