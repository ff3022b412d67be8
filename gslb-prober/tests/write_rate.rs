//! The load target: 1,000 endpoints × 3 vantages at a 1 s interval cost fewer than
//! 5 Raft writes per second in steady state (and with 1 % of endpoints flapping), measured by
//! driving the pure core over simulated time.

use gslb_prober::simulate::{simulate_write_rate, Scenario};

/// Steady state is one digest per vantage per 10 s: 0.3 writes/s for the whole fleet.
#[test]
fn steady_state_writes_stay_under_five_per_second() {
    let scenario = Scenario::steady();
    let rate = simulate_write_rate(&scenario);
    println!("steady: {rate:?}");
    assert!(rate.writes_per_second < 5.0, "{rate:?}");
    assert!((rate.writes_per_second - 0.3).abs() < 0.05, "{rate:?}");
    let expected: u64 = 3 * 1_000 * 120;
    assert!(
        rate.attempts.abs_diff(expected) < expected / 100,
        "every check ran about every second: {rate:?}"
    );
}

/// Flapping adds transition batches, coalesced per flush delay, still far under the target.
#[test]
fn flapping_endpoints_stay_under_five_writes_per_second() {
    let scenario = Scenario {
        flap_one_in: 100,
        ..Scenario::steady()
    };
    let rate = simulate_write_rate(&scenario);
    println!("1% flapping: {rate:?}");
    assert!(rate.writes_per_second < 5.0, "{rate:?}");
}
