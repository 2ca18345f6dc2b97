#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| gd_sunrpc::fuzz::brick(data));
