//! Prints the Raft write load probers cause: 1,000 endpoints × 3 vantages at a 1 s interval,
//! steady and with 1 % of endpoints flapping, over simulated time (no network, no runtime).
//!
//! `cargo run -p gslb-prober --example write_rate` (a debug build is enough).

use gslb_prober::simulate::{simulate_write_rate, Scenario};

fn main() {
    for (label, scenario) in [
        ("steady", Scenario::steady()),
        (
            "1% flapping (down 20 s of every 60 s)",
            Scenario {
                flap_one_in: 100,
                ..Scenario::steady()
            },
        ),
    ] {
        let rate = simulate_write_rate(&scenario);
        println!(
            "{label}: {} checks x {} vantages @ {} ms over {} s: {:.2} writes/s \
             ({:.0} entries/s, {:.0} attempts/s)",
            scenario.checks,
            scenario.vantages,
            scenario.interval_ms,
            scenario.measure_ms / 1000,
            rate.writes_per_second,
            rate.entries_per_second,
            rate.attempts as f64 / (scenario.measure_ms as f64 / 1000.0),
        );
    }
}
