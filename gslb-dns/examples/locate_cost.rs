//! Measures `ClientLocator::locate` against the size of the replicated network table
//! (`/v1/networks`), which operators may fill with thousands of networks: the lookup walks a
//! trie, so its cost must not grow with the table. A measurement, not a test (timings want a
//! release build and a quiet machine); it still checks every answer's source and cell.
//!
//! Run: `cargo run --release -p gslb-dns --example locate_cost`.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use gslb_dns::client::{ClientLocator, GeoSource, PrefixTable};
use gslb_model::model::Network;

/// A locator whose replicated table holds `n` /24 networks from 10.0.0.0 up.
fn locator_with(n: u32) -> (ClientLocator, Duration) {
    let locator = ClientLocator::new(PrefixTable::default(), None);
    let mut networks = BTreeMap::new();
    for index in 0..n {
        let network = Network {
            cidr: format!("{}/24", Ipv4Addr::from(0x0a00_0000 + (index << 8)))
                .parse()
                .unwrap(),
            continent: None,
            country: Some("DE".to_string()),
            subdivision: None,
            asn: None,
            lat_micro: None,
            lon_micro: None,
            rtt_ms: Default::default(),
        };
        networks.insert(network.key(), network);
    }
    let started = Instant::now();
    assert!(n == 0 || locator.follow_networks(&networks));
    (locator, started.elapsed())
}

/// Builds tables of 10 to 10,000 networks, times 200,000 lookups of addresses half inside
/// and half beside them, checks every answer's source and cell, and prints the cost per
/// lookup; says whether the largest table stays under 2 µs a lookup (a linear scan took 26 µs).
fn main() {
    let rounds = 200_000u32;
    let mut largest = Duration::ZERO;
    for n in [10u32, 100, 1_000, 10_000] {
        let (locator, build) = locator_with(n);
        let started = Instant::now();
        for round in 0..rounds {
            let block = round % (2 * n);
            let addr = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + (block << 8) + 7));
            let (_, cell, source) = locator.locate(std::hint::black_box(addr));
            if block < n {
                assert_eq!((cell, source), (24, GeoSource::Network), "{addr}");
            } else {
                assert_eq!(source, GeoSource::Unknown, "{addr}");
            }
        }
        let per_lookup = started.elapsed() / rounds;
        println!("networks={n:>6} build={build:>12.3?} locate={per_lookup:?}");
        largest = per_lookup;
    }
    let verdict = if largest < Duration::from_micros(2) {
        "flat: under 2 µs"
    } else {
        "GROWS: over 2 µs"
    };
    println!("a lookup in 10,000 networks: {largest:?} ({verdict})");
}
