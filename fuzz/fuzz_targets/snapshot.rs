//! Fuzz target `snapshot`: no bytes make reading a Raft snapshot of the state panic; an
//! accepted one writes and reads back the same. The body is `gslb_fuzz::snapshot::run`,
//! which the workspace's tests also run over seeds (gslb-fuzz/tests/seeds.rs).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    gslb_fuzz::snapshot::run(data);
});
