#![no_main]
//! libFuzzer entry for the `memfs` target; the logic is `fusekit_fuzz::memfs`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| fusekit_fuzz::memfs::run(data));
