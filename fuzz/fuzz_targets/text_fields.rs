//! Fuzz target `text_fields`: no text makes the small parsers of user input panic (durations,
//! CIDRs, names, grants, ...). The body is `gslb_fuzz::text_fields::run`, which the workspace's
//! tests also run over seeds (gslb-fuzz/tests/seeds.rs).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    gslb_fuzz::text_fields::run(data);
});
