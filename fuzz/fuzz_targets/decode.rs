#![no_main]
//! libFuzzer entry for the `decode` target; the logic is `fusekit_fuzz::decode`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| fusekit_fuzz::decode::run(data));
