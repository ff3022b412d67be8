//! Fuzz target `update_tsig`: no message makes TSIG checks, UPDATE decoding or its evaluation
//! panic. The body is `gslb_fuzz::update_tsig::run`, which the workspace's tests also run over
//! seeds (gslb-fuzz/tests/seeds.rs).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    gslb_fuzz::update_tsig::run(data);
});
