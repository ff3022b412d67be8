//! Fuzz target `zone_file`: no master-file text makes `parse_zone` panic; accepted zones export
//! and read back the same. The body is `gslb_fuzz::zone_file::run`, which the workspace's tests
//! also run over seeds (gslb-fuzz/tests/seeds.rs).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    gslb_fuzz::zone_file::run(data);
});
