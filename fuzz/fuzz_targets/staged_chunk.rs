//! Fuzz target `staged_chunk`: no chunk body makes reading a staged zone-import chunk panic;
//! an accepted one writes and reads back the same. The body is
//! `gslb_fuzz::staged_chunk::run`, which the workspace's tests also run over seeds
//! (gslb-fuzz/tests/seeds.rs).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    gslb_fuzz::staged_chunk::run(data);
});
