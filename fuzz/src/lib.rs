//! Fuzz targets for fusekit, as library code so the stable seed-replay test
//! (`tests/seeds.rs`) runs exactly what the libFuzzer binaries in `fuzz_targets/` run.
//! See docs/fuzzing.md for how to run them and what each one checks.

pub mod decode;
pub mod memfs;
pub mod reply;
pub mod wire;
