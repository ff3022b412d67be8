//! Fuzz target `zone_transfer`: no request makes the AXFR/IXFR path panic; every message fits
//! and the transfer ends. The body is `gslb_fuzz::zone_transfer::run`, which the workspace's
//! tests also run over seeds (gslb-fuzz/tests/seeds.rs).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    gslb_fuzz::zone_transfer::run(data);
});
