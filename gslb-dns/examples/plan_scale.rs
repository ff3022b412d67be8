//! Plan-scale measurement: builds a `State` with one zone of 1,000,000 A records, times
//! `compile_plan`, and prints resident memory (VmRSS) before and after, plus a query
//! throughput sample on the compiled plan.
//!
//! Run: `cargo run --release -p gslb-dns --example plan_scale [N_RECORDS]`.
//! Targets: compile ≤ 2 s and RSS ≤ 300 MB for 1,000,000 records.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Instant;

use gslb_dns::{compile_plan, QueryContext, Responder, ResponderOptions, Transport};
use gslb_model::{DomainName, RData, RecordSet, RecordType, Soa, State, Zone};

/// Resident set size in MiB, from /proc/self/status (0 where unavailable).
fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<f64>()
                .ok()
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

fn name(text: &str) -> DomainName {
    DomainName::parse_absolute(text).expect("valid name")
}

fn build_state(n_records: usize) -> State {
    let apex = name("big.example.");
    let mut rrsets = Vec::with_capacity(n_records + 1);
    rrsets.push(RecordSet {
        name: apex.clone(),
        rtype: RecordType::NS,
        ttl: 3600,
        rdata: vec![RData::NS(name("ns1.big.example."))],
    });
    for index in 0..n_records {
        let label = format!("host{index}");
        rrsets.push(RecordSet {
            name: apex.prepend_label(label.as_bytes()).expect("short label"),
            rtype: RecordType::A,
            ttl: 300,
            rdata: vec![RData::A(Ipv4Addr::from(0x0A00_0000 + index as u32))],
        });
    }
    let zone = Zone {
        serial_policy: Default::default(),
        transfer: Default::default(),
        apex: apex.clone(),
        soa: Soa {
            mname: name("ns1.big.example."),
            rname: name("hostmaster.big.example."),
            serial: 1,
            refresh: 3600,
            retry: 600,
            expire: 864000,
            minimum: 300,
            ttl: 3600,
        },
        default_ttl: 300,
        rrsets,
    };
    let mut state = State {
        version: 1,
        ..State::default()
    };
    state.zones.insert(apex, std::sync::Arc::new(zone));
    state
}

fn query_packet(index: usize) -> Vec<u8> {
    let mut packet = vec![0x12, 0x34, 0x00, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    let label = format!("host{index}");
    packet.push(label.len() as u8);
    packet.extend_from_slice(label.as_bytes());
    packet.extend_from_slice(b"\x03big\x07example\x00\x00\x01\x00\x01");
    packet
}

fn main() {
    let n_records: usize = std::env::args()
        .nth(1)
        .and_then(|arg| arg.parse().ok())
        .unwrap_or(1_000_000);
    let rss_start = rss_mib();
    let started = Instant::now();
    let state = build_state(n_records);
    println!(
        "state: {n_records} A records built in {:.2} s, rss {:.0} MiB (+{:.0} MiB for the State)",
        started.elapsed().as_secs_f64(),
        rss_mib(),
        rss_mib() - rss_start
    );

    let rss_before = rss_mib();
    let started = Instant::now();
    let plan = compile_plan(&state);
    let compile_seconds = started.elapsed().as_secs_f64();
    let rss_after = rss_mib();
    println!(
        "compile_plan: {compile_seconds:.3} s for {} names; plan heap {:.0} MiB; \
         rss after compile {rss_after:.0} MiB (+{:.0} MiB for the plan)",
        plan.name_count(),
        plan.heap_bytes() as f64 / (1024.0 * 1024.0),
        rss_after - rss_before
    );

    // One record set changed (and the serial moved, as every write does): what a DNS node
    // compiles for it, against a whole compile of the same state.
    let mut edited = state.clone();
    edited.version += 1;
    let zone = std::sync::Arc::make_mut(edited.zones.values_mut().next().expect("one zone"));
    let middle = zone.rrsets.len() / 2;
    zone.rrsets[middle].rdata = vec![gslb_model::RData::A([192, 0, 2, 77].into())];
    zone.soa.serial += 1;
    let started = Instant::now();
    let patched = gslb_dns::compile_plan_since(&plan, &state, &edited, edited.last_at, None, None);
    let incremental_ms = started.elapsed().as_secs_f64() * 1000.0;
    let started = Instant::now();
    let whole = compile_plan(&edited);
    let whole_ms = started.elapsed().as_secs_f64() * 1000.0;
    println!(
        "one edited record: compile_plan_since {incremental_ms:.1} ms ({} zone patched), \
         a whole compile {whole_ms:.0} ms (target: swap <= 50 ms: {})",
        patched.patched_zones(),
        if incremental_ms <= 50.0 {
            "met"
        } else {
            "MISSED"
        }
    );
    drop((whole, patched, edited));

    let responder = Responder::new(plan, ResponderOptions::default());
    let context = QueryContext {
        client: SocketAddr::from(([127, 0, 0, 1], 5353)),
        transport: Transport::Udp,
    };
    let packets: Vec<Vec<u8>> = (0..1024)
        .map(|i| query_packet(i * 977 % n_records.max(1)))
        .collect();
    let mut out = Vec::with_capacity(512);
    let n_queries = 2_000_000;
    let started = Instant::now();
    let mut answered = 0usize;
    for index in 0..n_queries {
        answered +=
            usize::from(responder.respond(&packets[index % packets.len()], &context, &mut out));
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "respond: {answered} answers in {seconds:.3} s on one thread = {:.2} M queries/s ({:.0} ns/query)",
        n_queries as f64 / seconds / 1e6,
        seconds * 1e9 / n_queries as f64
    );
    drop(state);
    println!(
        "targets: compile <= 2 s: {}; rss after compile <= 300 MiB: {}",
        if compile_seconds <= 2.0 {
            "met"
        } else {
            "MISSED"
        },
        if rss_after <= 300.0 { "met" } else { "MISSED" }
    );
}
