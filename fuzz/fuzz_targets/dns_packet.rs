//! Fuzz target `dns_packet`: no packet makes `Responder::respond` panic, over UDP or TCP;
//! replies echo the ID and fit. The body is `gslb_fuzz::dns_packet::run`, which the workspace's
//! tests also run over seeds (gslb-fuzz/tests/seeds.rs).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    gslb_fuzz::dns_packet::run(data);
});
