//! The shared mount-test helpers (root gate, deadlines, mount guard, leak probes, log
//! counter) live in `fusekit-testkit`; this module re-exports them for the tests here.

#![allow(unused_imports)]

pub use fusekit_testkit::*;
