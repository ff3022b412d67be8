//! Fuzz target `backup`: no file makes the backup reader panic; an accepted backup writes and
//! reads back the same state. The body is `gslb_fuzz::backup::run`, which the workspace's tests
//! also run over seeds (gslb-fuzz/tests/seeds.rs).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    gslb_fuzz::backup::run(data);
});
