//! Example filesystems built on fusekit. Each is one short file meant to be read and copied.
//! `fusekit mount hello MNT` runs [`hello::Hello`]; `cargo run -p fusekit-examples --example
//! hello -- MNT` runs it standalone, and `cargo run -p fusekit-examples --example pathfs --
//! SRC MNT` runs [`pathfs::PathPassthrough`]. Both serve in the foreground with
//! [`foreground::serve`]: they say where they are mounted, and Ctrl-C or SIGTERM unmounts.
//! `asyncmem` (feature `async`) is an in-memory filesystem on the async API:
//! `cargo run -p fusekit-examples --features async --example asyncmem -- MNT`.

#[cfg(feature = "async")]
pub mod asyncmem;
pub mod foreground;
#[path = "hello.rs"]
pub mod hello;
pub mod pathfs;
