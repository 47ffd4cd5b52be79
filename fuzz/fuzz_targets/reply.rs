#![no_main]
//! libFuzzer entry for the `reply` target; the logic is `fusekit_fuzz::reply`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| fusekit_fuzz::reply::run(data));
