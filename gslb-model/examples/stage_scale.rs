//! Staged-import cost per node: builds the `big.test.` zone of the import bench (N A records,
//! `hN A ...`, default 1,000,000), cuts it into chunks of at most 64 KiB as the API does,
//! and times what every node does with each `StageZoneRecords` entry: the leader's
//! `validate` and its encoding into the log, a follower's decoding, and `apply` (every node),
//! then the commit. Prints totals and per-chunk means, and beside them what encoding and
//! decoding the same sets cost as a JSON array of record sets (the form entries had before
//! the compact one). Last, the snapshot every node builds of the committed state: its bytes,
//! build (encode) and load (decode) time as `snapshot_codec` writes it, and as the plain
//! JSON of `State` snapshots were before.
//!
//! Run: `cargo run --release -p gslb-model --example stage_scale [N_RECORDS]`.

// A benchmark times itself; the model it drives never reads a clock.
#![allow(clippy::disallowed_methods)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use gslb_model::command::{self, chunk_codec, StampedCommand};
use gslb_model::{
    snapshot_codec, Actor, Command, DomainName, RData, RecordSet, RecordType, Soa, State, Zone,
};

/// The most bytes of one chunk's record sets in the log (`gslb_api::zone_import::STAGE_CHUNK_BYTES`).
const CHUNK_BYTES: usize = 64 * 1024;

fn name(text: &str) -> DomainName {
    DomainName::parse_absolute(text).expect("valid name")
}

/// The bench's zone, normalized: the apex NS, `ns1` and N hosts.
fn zone(n_records: usize) -> Zone {
    let apex = name("big.test.");
    let mut rrsets = vec![
        RecordSet {
            name: apex.clone(),
            rtype: RecordType::NS,
            ttl: 3600,
            rdata: vec![RData::NS(name("ns1.big.test."))],
        },
        RecordSet {
            name: name("ns1.big.test."),
            rtype: RecordType::A,
            ttl: 300,
            rdata: vec![RData::A("192.0.2.53".parse().expect("address"))],
        },
    ];
    for k in 0..n_records as u32 {
        rrsets.push(RecordSet {
            name: apex
                .prepend_label(format!("h{k}").as_bytes())
                .expect("label"),
            rtype: RecordType::A,
            ttl: 300,
            rdata: vec![RData::A(std::net::Ipv4Addr::from(0x0a00_0000 | k))],
        });
    }
    let mut zone = Zone {
        apex: apex.clone(),
        soa: Soa {
            mname: name("ns1.big.test."),
            rname: name("hostmaster.big.test."),
            serial: 1,
            refresh: 3600,
            retry: 600,
            expire: 86400,
            minimum: 60,
            ttl: 3600,
        },
        default_ttl: 300,
        transfer: Default::default(),
        rrsets: rrsets.into_iter().collect(),
        serial_policy: Default::default(),
    };
    zone.normalize();
    zone
}

/// The zone's sets in chunks as the API cuts them: at most `CHUNK_BYTES` in the log's
/// compact form.
fn chunks(zone: &Zone) -> Vec<Vec<RecordSet>> {
    let mut chunks = Vec::new();
    let mut current = Vec::new();
    let mut bytes = 0;
    for set in zone.rrsets.iter() {
        let size = chunk_codec::set_body_len(set, &zone.apex);
        if !current.is_empty() && chunk_codec::chunk_json_len(bytes + size) > CHUNK_BYTES {
            chunks.push(std::mem::take(&mut current));
            bytes = 0;
        }
        bytes += size;
        current.push(set.clone());
    }
    chunks.push(current);
    chunks
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn main() {
    let n_records: usize = std::env::args()
        .nth(1)
        .map(|arg| arg.parse().expect("N_RECORDS is a number"))
        .unwrap_or(1_000_000);
    let zone = zone(n_records);
    let chunks = chunks(&zone);
    let mut header = zone.clone();
    header.rrsets = Default::default();
    let actor = Actor::new("bench");
    let mut state = State::default();
    let (mut validate, mut encode, mut decode, mut apply) = Default::default();
    let (mut array_encode, mut array_decode) = <(Duration, Duration)>::default();
    let (mut entry_bytes, mut array_bytes) = (0usize, 0usize);
    let started = Instant::now();
    for (number, rrsets) in chunks.iter().enumerate() {
        let stamped = StampedCommand {
            at: 1,
            actor: actor.clone(),
            command: Command::StageZoneRecords {
                import_id: "imp-bench".to_string(),
                apex: zone.apex.clone(),
                chunk: number as u64,
                total_chunks: Some(chunks.len() as u64),
                rrsets: Arc::new(rrsets.clone()),
            },
        };
        let t = Instant::now();
        command::validate(&state, &stamped.command).expect("a valid chunk");
        validate += t.elapsed();
        let t = Instant::now();
        let json = serde_json::to_vec(&stamped).expect("encodes");
        encode += t.elapsed();
        entry_bytes += json.len();
        let t = Instant::now();
        let decoded: StampedCommand = serde_json::from_slice(&json).expect("decodes");
        decode += t.elapsed();
        let t = Instant::now();
        let array = serde_json::to_vec(rrsets).expect("encodes");
        array_encode += t.elapsed();
        array_bytes += array.len();
        let t = Instant::now();
        let _: Vec<RecordSet> = serde_json::from_slice(&array).expect("decodes");
        array_decode += t.elapsed();
        let previous = Arc::new(state.clone());
        let t = Instant::now();
        command::apply(&mut state, &decoded, number as u64 + 1).expect("applies");
        apply += t.elapsed();
        drop(previous);
    }
    let staging = started.elapsed();
    let commit = StampedCommand {
        at: 1,
        actor,
        command: Command::CommitStagedZone {
            import_id: "imp-bench".to_string(),
            chunks: chunks.len() as u64,
            zone: header,
        },
    };
    let t = Instant::now();
    command::apply(&mut state, &commit, chunks.len() as u64 + 1).expect("commits");
    let commit_took = t.elapsed();
    assert_eq!(state.zones[&zone.apex].rrsets.len(), zone.rrsets.len());
    let n = chunks.len() as f64;
    println!(
        "{n_records} records, {} chunks, {:.0} bytes of entry JSON a chunk ({:.1} a record)",
        chunks.len(),
        entry_bytes as f64 / n,
        entry_bytes as f64 / zone.rrsets.len() as f64
    );
    println!(
        "as a JSON array of record sets: {:.1} bytes a record",
        array_bytes as f64 / zone.rrsets.len() as f64
    );
    for (what, took) in [
        ("leader validate", validate),
        ("leader encode", encode),
        ("follower decode", decode),
        ("apply (every node)", apply),
        ("array encode", array_encode),
        ("array decode", array_decode),
    ] {
        println!(
            "{what:<20} {:>9.1} ms total {:>7.2} ms a chunk",
            ms(took),
            ms(took) / n
        );
    }
    println!("{:<20} {:>9.1} ms", "commit", ms(commit_took));
    println!("{:<20} {:>9.1} ms", "whole loop", ms(staging));
    snapshot_costs(&state);
}

/// The committed state's snapshot, compact (`snapshot_codec`) and as plain JSON: bytes,
/// build and load time of each.
fn snapshot_costs(state: &State) {
    let t = Instant::now();
    let json = serde_json::to_vec(state).expect("encodes");
    let json_build = t.elapsed();
    let t = Instant::now();
    let from_json: State = serde_json::from_slice(&json).expect("decodes");
    let json_load = t.elapsed();
    drop(from_json);
    let t = Instant::now();
    let compact = snapshot_codec::encode(state).expect("encodes");
    let compact_build = t.elapsed();
    let t = Instant::now();
    let from_compact = snapshot_codec::decode(&compact).expect("decodes");
    let compact_load = t.elapsed();
    assert!(&from_compact == state, "the compact snapshot reads back");
    for (what, bytes, build, load) in [
        ("snapshot, JSON", json.len(), json_build, json_load),
        (
            "snapshot, compact",
            compact.len(),
            compact_build,
            compact_load,
        ),
    ] {
        println!(
            "{what:<20} {bytes:>11} bytes, build {:>7.1} ms, load {:>7.1} ms",
            ms(build),
            ms(load)
        );
    }
}
