//! Fuzz target `rdata`: no RDATA text of any type makes `parse_rdata` panic; accepted data
//! prints and reads back the same. The body is `gslb_fuzz::rdata::run`, which the workspace's
//! tests also run over seeds (gslb-fuzz/tests/seeds.rs).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    gslb_fuzz::rdata::run(data);
});
