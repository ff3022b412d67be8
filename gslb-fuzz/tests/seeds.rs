//! Runs every fuzz target's body over seeds and bounded mutations of them, on stable, as part
//! of `cargo test --workspace`: a change that breaks a target's build or its property fails
//! here, not only under `cargo fuzz`. Each seed that must get past the target's first check
//! is asserted `Accepted`, so a target whose property stops being exercised fails too. Also
//! checks that `fuzz/` wraps exactly these targets.

use std::path::Path;

use gslb_dns::slow::tsig::{verify_request, Verification};
use gslb_fuzz::fixture::{example_zone, EXAMPLE_ZONE};
use gslb_fuzz::{rdata, text_fields, update_tsig, Outcome, TARGETS};
use gslb_model::backup::{cluster_id_for, encode, BackupInfo};
use gslb_model::model::tsig_key::{TsigAlgorithm, TsigKey};
use gslb_model::{DomainName, RecordType};
use hmac::{Mac, SimpleHmac};

/// Mutants per seed: enough to walk the error paths of every field, bounded so the test
/// stays a few seconds in a debug build.
const MUTANTS_PER_SEED: usize = 1024;

/// xorshift64*: deterministic, so a failing mutant is the same on every run.
struct Mutator(u64);

impl Mutator {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound.max(1) as u64) as usize
    }

    /// `seed` with one to three edits: a bit flipped, a byte set, a cut, a byte inserted, a
    /// run repeated.
    fn mutate(&mut self, seed: &[u8]) -> Vec<u8> {
        let mut data = seed.to_vec();
        for _ in 0..1 + self.below(3) {
            let at = self.below(data.len() + 1);
            match self.below(5) {
                0 if at < data.len() => data[at] ^= 1 << self.below(8),
                1 if at < data.len() => data[at] = self.next() as u8,
                2 => data.truncate(at),
                3 => data.insert(at, self.next() as u8),
                _ => {
                    let len = self.below(16).min(data.len() - at.min(data.len()));
                    let run = data[at.min(data.len())..at.min(data.len()) + len].to_vec();
                    data.splice(at..at, run);
                }
            }
        }
        data
    }
}

/// Runs target `name` over `accepted` (each must be `Accepted`), `refused` (each must be
/// `Refused`), and mutants of all of them (anything but a panic).
fn exercise(name: &str, accepted: &[Vec<u8>], refused: &[Vec<u8>]) {
    let run = TARGETS
        .iter()
        .find(|(target, _)| *target == name)
        .unwrap_or_else(|| panic!("no target {name}"))
        .1;
    for seed in accepted {
        assert_eq!(
            run(seed),
            Outcome::Accepted,
            "{name}: seed {:?} is not accepted",
            String::from_utf8_lossy(seed)
        );
    }
    for seed in refused {
        assert_eq!(
            run(seed),
            Outcome::Refused,
            "{name}: seed {:?} is not refused",
            String::from_utf8_lossy(seed)
        );
    }
    let mut mutator = Mutator(0x9e37_79b9_7f4a_7c15 ^ name.len() as u64);
    for seed in accepted.iter().chain(refused) {
        for _ in 0..MUTANTS_PER_SEED {
            let mutant = mutator.mutate(seed);
            if std::panic::catch_unwind(|| run(&mutant)).is_err() {
                panic!(
                    "{name} panics on the mutant {mutant:?} ({:?}) of seed {:?}",
                    String::from_utf8_lossy(&mutant),
                    String::from_utf8_lossy(seed)
                );
            }
        }
    }
}

/// A name in DNS wire form, uncompressed.
fn wire_name(name: &str) -> Vec<u8> {
    let mut wire = Vec::new();
    for label in name.split('.').filter(|label| !label.is_empty()) {
        wire.push(label.len() as u8);
        wire.extend_from_slice(label.as_bytes());
    }
    wire.push(0);
    wire
}

/// A DNS message: header with `id`, `flags` and the four counts, then `sections` as given.
fn message(id: u16, flags: u16, counts: [u16; 4], sections: &[u8]) -> Vec<u8> {
    let mut data = Vec::new();
    data.extend_from_slice(&id.to_be_bytes());
    data.extend_from_slice(&flags.to_be_bytes());
    for count in counts {
        data.extend_from_slice(&count.to_be_bytes());
    }
    data.extend_from_slice(sections);
    data
}

/// One record: owner, type, class, TTL, RDATA.
fn record(owner: &str, rtype: u16, class: u16, ttl: u32, rdata: &[u8]) -> Vec<u8> {
    let mut data = wire_name(owner);
    data.extend_from_slice(&rtype.to_be_bytes());
    data.extend_from_slice(&class.to_be_bytes());
    data.extend_from_slice(&ttl.to_be_bytes());
    data.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    data.extend_from_slice(rdata);
    data
}

/// A question: name, type, class IN.
fn question(name: &str, qtype: u16) -> Vec<u8> {
    let mut data = wire_name(name);
    data.extend_from_slice(&qtype.to_be_bytes());
    data.extend_from_slice(&1u16.to_be_bytes());
    data
}

/// A query for `name`/`qtype`, RD clear; with an OPT record (1232, DO, a client cookie)
/// when `edns`.
fn query(id: u16, name: &str, qtype: u16, edns: bool) -> Vec<u8> {
    let mut sections = question(name, qtype);
    if edns {
        let mut cookie = vec![0, 10, 0, 8];
        cookie.extend_from_slice(b"fuzzseed");
        sections.extend(record(".", 41, 1232, 0x0000_8000, &cookie));
    }
    message(id, 0, [1, 0, 0, u16::from(edns)], &sections)
}

#[test]
fn dns_packet_answers_its_seeds_and_survives_their_mutants() {
    let mut accepted = Vec::new();
    for (index, (name, qtype)) in [
        ("www.example.com.", 1),
        ("example.com.", 6),
        ("example.com.", 2),
        ("alias.example.com.", 1),
        ("loop.example.com.", 1),
        ("x.wild.example.com.", 1),
        ("a.b.c.example.com.", 16),
        ("b.c.example.com.", 1),
        ("host.sub.example.com.", 1),
        ("nx.example.com.", 28),
        ("www.example.com.", 255),
        ("other.test.", 1),
        ("id.server.", 16),
    ]
    .into_iter()
    .enumerate()
    {
        accepted.push(query(index as u16, name, qtype, index % 2 == 0));
    }
    // Header-only: a valid header without a question is still answered (FORMERR).
    let refused = vec![vec![], vec![0; 11]];
    exercise("dns_packet", &accepted, &refused);
}

/// An IXFR request for `example.com.` from `serial` (the client's SOA in the authority
/// section).
fn ixfr(id: u16, serial: u32) -> Vec<u8> {
    let mut soa = wire_name("ns1.example.com.");
    soa.extend(wire_name("hostmaster.example.com."));
    for field in [serial, 3600, 600, 86400, 300] {
        soa.extend_from_slice(&field.to_be_bytes());
    }
    let mut sections = question("example.com.", 251);
    sections.extend(record("example.com.", 6, 1, 3600, &soa));
    message(id, 0, [1, 0, 1, 0], &sections)
}

#[test]
fn zone_transfer_runs_its_seeds_to_the_end_and_survives_their_mutants() {
    let accepted = vec![
        message(1, 0, [1, 0, 0, 0], &question("example.com.", 252)),
        message(2, 0, [1, 0, 0, 0], &question("catalog.invalid.", 252)),
        message(3, 0, [1, 0, 0, 0], &question("other.test.", 252)),
        ixfr(4, 1),
        ixfr(5, 2),
        ixfr(6, 3),
        ixfr(7, 7),
    ];
    let refused = vec![query(8, "example.com.", 1, false)];
    exercise("zone_transfer", &accepted, &refused);
}

/// `message` signed by `k3.` (hmac-sha256, the target's key of that algorithm) at
/// `update_tsig::NOW`, as a client signs a request (RFC 8945 §4.3.1).
fn signed(mut message: Vec<u8>) -> Vec<u8> {
    let key_name = wire_name("k3.");
    let algorithm = wire_name("hmac-sha256.");
    let mut timers = update_tsig::NOW.to_be_bytes()[2..].to_vec();
    timers.extend_from_slice(&update_tsig::FUDGE.to_be_bytes());
    let mut covered = message.clone();
    covered.extend_from_slice(&key_name);
    covered.extend_from_slice(&255u16.to_be_bytes());
    covered.extend_from_slice(&0u32.to_be_bytes());
    covered.extend_from_slice(&algorithm);
    covered.extend_from_slice(&timers);
    covered.extend_from_slice(&[0, 0, 0, 0]);
    let mut hmac = <SimpleHmac<sha2::Sha256> as Mac>::new_from_slice(&update_tsig::SECRET)
        .expect("any key length");
    hmac.update(&covered);
    let mac = hmac.finalize().into_bytes();
    let mut rdata = algorithm;
    rdata.extend_from_slice(&timers);
    rdata.extend_from_slice(&(mac.len() as u16).to_be_bytes());
    rdata.extend_from_slice(&mac);
    rdata.extend_from_slice(&message[..2]);
    rdata.extend_from_slice(&[0, 0, 0, 0]);
    message.extend(record("k3.", 250, 255, 0, &rdata));
    let arcount = u16::from_be_bytes([message[10], message[11]]) + 1;
    message[10..12].copy_from_slice(&arcount.to_be_bytes());
    message
}

#[test]
fn update_tsig_decodes_its_seeds_and_survives_their_mutants() {
    let opcode_update = 5 << 11;
    let mut add = question("example.com.", 6);
    add.extend(record("new.example.com.", 1, 1, 300, &[192, 0, 2, 77]));
    let mut delete = question("example.com.", 6);
    // Prerequisite "www is in use" (class ANY, type ANY), then delete its A set.
    delete.extend(record("www.example.com.", 255, 255, 0, &[]));
    delete.extend(record("www.example.com.", 1, 255, 0, &[]));
    let unsigned_add = message(10, opcode_update, [1, 0, 1, 0], &add);
    let accepted = vec![
        unsigned_add.clone(),
        signed(unsigned_add),
        signed(message(11, opcode_update, [1, 1, 1, 0], &delete)),
    ];
    // The signed seeds get through the TSIG checks, so the target's signing runs too.
    let keys: std::collections::BTreeMap<_, _> = (0..6)
        .map(|index| {
            let name = DomainName::parse_absolute(&format!("k{index}.")).unwrap();
            let key = TsigKey {
                name: name.clone(),
                algorithm: TsigAlgorithm::ALL[index],
                secret: update_tsig::SECRET.to_vec(),
                update: vec![],
                transfer: vec![],
            };
            (name, key)
        })
        .collect();
    for seed in &accepted[1..] {
        let verified = verify_request(seed, &keys, update_tsig::NOW, update_tsig::FUDGE);
        assert!(
            matches!(verified, Ok(Verification::Signed(_))),
            "a signed seed does not verify: {verified:?}"
        );
    }
    let refused = vec![query(12, "example.com.", 6, false)];
    exercise("update_tsig", &accepted, &refused);
}

#[test]
fn zone_file_reads_its_seeds_and_survives_their_mutants() {
    let model_fixture = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../gslb-model/tests/data/zones/example.zone"),
    )
    .expect("gslb-model's zone fixture");
    let accepted = vec![EXAMPLE_ZONE.as_bytes().to_vec(), model_fixture];
    let refused = vec![b"www A 192.0.2.1\n".to_vec()];
    exercise("zone_file", &accepted, &refused);
}

/// One presentation-format sample of every type the `rdata` target selects.
const RDATA_SAMPLES: &[(RecordType, &str)] = &[
    (RecordType::A, "192.0.2.1"),
    (RecordType::AAAA, "2001:db8::1"),
    (RecordType::CNAME, "www.example.com."),
    (RecordType::MX, "10 mail"),
    (RecordType::TXT, "\"hello world\" second \"\\059\""),
    (RecordType::SRV, "0 5 5060 sip.example.com."),
    (RecordType::CAA, "0 issue \"letsencrypt.org\""),
    (RecordType::NS, "ns1.example.com."),
    (RecordType::PTR, "host.example.com."),
    (RecordType::MB, "mail.example.com."),
    (RecordType::MG, "member.example.com."),
    (RecordType::MR, "renamed.example.com."),
    (RecordType::SSHFP, "1 1 123456789abcdef67890123456789abcdef67890"),
    (
        RecordType::TLSA,
        "3 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    ),
    (
        RecordType::SMIMEA,
        "3 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    ),
    (RecordType::HINFO, "\"x86_64\" \"linux\""),
    (RecordType::SPF, "\"v=spf1 -all\""),
    (
        RecordType::NAPTR,
        "100 10 \"S\" \"SIP+D2U\" \"\" _sip._udp.example.com.",
    ),
    (
        RecordType::DS,
        "12345 13 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    ),
    (
        RecordType::CDS,
        "12345 13 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    ),
    (
        RecordType::DNSKEY,
        "257 3 13 AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4/QA==",
    ),
    (
        RecordType::CDNSKEY,
        "257 3 13 AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4/QA==",
    ),
    (RecordType::DNAME, "target.example.com."),
    (
        RecordType::LOC,
        "52 22 23.000 N 4 53 32.000 E -2.00m 1m 10000m 10m",
    ),
    (RecordType::URI, "10 1 \"https://example.com/\""),
    (RecordType::RP, "admin.example.com. txt.example.com."),
    (RecordType::CERT, "1 12345 8 AQIDBAUGBwg="),
    (RecordType::OPENPGPKEY, "AQIDBAUGBwgJCgsMDQ4PEA=="),
    (RecordType::EUI48, "00-00-5e-00-53-2a"),
    (RecordType::EUI64, "00-00-5e-ef-10-00-00-2a"),
    (RecordType::SVCB, "1 svc.example.com. alpn=h2,h3 port=8443"),
    (RecordType::HTTPS, "1 . alpn=h2 ipv4hint=192.0.2.1"),
    // Every registered SvcParamKey, and keyNNNNN forms (wire values, leading zeros).
    (
        RecordType::SVCB,
        "5 . mandatory=port alpn=h2 no-default-alpn port=8004 ipv4hint=192.0.2.1 ech=AQID \
         ipv6hint=2001:db8::1 dohpath=\"/dns-query{?dns}\" ohttp tls-supported-groups=29,23",
    ),
    (
        RecordType::SVCB,
        "1 . key1=\"\\002h2\" key9=\"\\000\\029\" key0997=x key65534=\"a\\\"b\\255\"",
    ),
    (RecordType::HTTPS, "\\# 13 0001 00 0008 0000 0009 0002 001d"),
    (RecordType::Unknown(65280), "\\# 3 abcdef"),
    // A structured type in RFC 3597 generic form (the generic decoders of each type).
    (RecordType::A, "\\# 4 c0000201"),
    (RecordType::LOC, "\\# 16 00121613 89172dd0 70be15f0 00988d20"),
];

#[test]
fn rdata_reads_a_sample_of_every_type_and_survives_their_mutants() {
    let missing: Vec<RecordType> = rdata::types()
        .into_iter()
        .filter(|rtype| !RDATA_SAMPLES.iter().any(|(sample, _)| sample == rtype))
        .collect();
    assert!(
        missing.is_empty(),
        "add an rdata sample for {missing:?} (a new type is fuzzed from its sample)"
    );
    let accepted: Vec<Vec<u8>> = RDATA_SAMPLES
        .iter()
        .map(|(rtype, text)| rdata::input(*rtype, text))
        .collect();
    let refused = vec![
        rdata::input(RecordType::A, "192.0.2.256"),
        rdata::input(RecordType::SVCB, "1 . key1=\"h2\""),
        rdata::input(RecordType::SVCB, "1 . key65535"),
        rdata::input(RecordType::SVCB, "1 . mandatory=port,port port=1"),
        rdata::input(
            RecordType::HTTPS,
            "\\# 15 0001 00 0003 0002 01bb 0003 0002 01bb",
        ),
        rdata::input(RecordType::TXT, &format!("\"{}\"", "x".repeat(256))),
        vec![],
        // Found by the mutants: data readable only in RFC 3597 form that printed as text
        // that did not read back (a key-less CDNSKEY, LOC precisions of 10^12 cm and of
        // zero with an exponent).
        rdata::input(RecordType::CDNSKEY, "\\# 4 c0000201"),
        rdata::input(
            RecordType::LOC,
            "\\# 16 0012161c 89172dd0 70be15f0 00988d20",
        ),
        rdata::input(
            RecordType::LOC,
            "\\# 16 00121603 89172dd0 70be15f0 00988d20",
        ),
    ];
    exercise("rdata", &accepted, &refused);
}

#[test]
fn text_fields_read_their_seeds_and_survive_their_mutants() {
    let samples = [
        ("duration", "1h30m"),
        ("duration", "300"),
        ("api_duration", "1h30m"),
        ("api_duration", "500ms"),
        ("cidr", "10.0.0.0/8"),
        ("cidr", "2001:db8::/32"),
        ("host_or_network", "192.0.2.1"),
        ("host_or_network", "2001:db8::/48"),
        ("absolute_name", "Www.Example.COM."),
        ("absolute_name", "bücher.example."),
        ("relative_name", "www"),
        ("relative_name", "@"),
        ("key_name", "acme-key"),
        ("update_grant", "example.com"),
        ("notify_target", "192.0.2.1:5353"),
        ("notify_target", "[2001:db8::1]:53"),
        ("tsig_secret", "c2VjcmV0IG9mIHNpeHRlZW4gYnl0ZXM="),
        (text_fields::JSON_CONDITION, "/replication/lag_seconds < 5"),
        (text_fields::JSON_CONDITION, "/status == \"ok\""),
    ];
    for field in text_fields::FIELDS
        .iter()
        .chain([&text_fields::JSON_CONDITION])
    {
        assert!(
            samples.iter().any(|(name, _)| name == field),
            "add a sample for {field}"
        );
    }
    let accepted: Vec<Vec<u8>> = samples
        .iter()
        .map(|(field, text)| text_fields::input(field, text))
        .collect();
    let refused = vec![
        text_fields::input("cidr", "10.0.0.1/8"),
        text_fields::input("duration", "1x"),
        text_fields::input("api_duration", "1.5h"),
        text_fields::input("api_duration", "1234567890s"),
    ];
    exercise("text_fields", &accepted, &refused);
}

#[test]
fn backup_reads_a_written_backup_and_survives_its_mutants() {
    let mut state = gslb_model::State::default();
    let zone = example_zone("");
    state.zones.insert(zone.apex.clone(), zone.into());
    state.version = 42;
    let info = BackupInfo {
        cluster_id: cluster_id_for("a cluster secret of the seeds"),
        created_at_ms: 1_700_000_000_000,
        node: 1,
        linearizable: true,
    };
    let written = encode(&info, &state).expect("a state encodes");
    let refused = vec![b"{\"format\":\"gslb-backup\"}\n{}".to_vec(), vec![]];
    exercise("backup", &[written], &refused);
}

#[test]
fn snapshot_reads_written_snapshots_and_survives_their_mutants() {
    let mut state = gslb_model::State::default();
    let zone = example_zone("");
    state.zones.insert(zone.apex.clone(), zone.into());
    state.version = 42;
    let compact = gslb_model::snapshot_codec::encode(&state).expect("a state encodes");
    let json = serde_json::to_vec(&state).expect("a state writes as JSON");
    let refused = vec![
        vec![],
        b"GSLBSNAP".to_vec(),
        compact[..compact.len() - 1].to_vec(),
    ];
    exercise("snapshot", &[compact, json], &refused);
}

#[test]
fn staged_chunk_reads_written_chunks_and_survives_their_mutants() {
    use gslb_model::{Command, RData, RecordSet};
    let zone = example_zone("");
    let name = |text: &str| DomainName::parse_absolute(text).expect("a name");
    let mut sets: Vec<RecordSet> = zone.rrsets.iter().cloned().collect();
    for (owner, rdata) in [
        ("ptr.example.com.", RData::PTR(name("host.example.org."))),
        (
            "txt.example.com.",
            RData::TXT(vec![b"a \"quoted\" string".to_vec()]),
        ),
        (
            "v6.example.com.",
            RData::AAAA("2001:db8::53".parse().expect("an address")),
        ),
    ] {
        sets.push(RecordSet {
            name: name(owner),
            rtype: rdata.record_type(),
            ttl: 60,
            rdata: vec![rdata],
        });
    }
    let body_of = |sets: Vec<RecordSet>| -> Vec<u8> {
        let command = Command::StageZoneRecords {
            import_id: "imp-seed".to_string(),
            apex: zone.apex.clone(),
            chunk: 0,
            total_chunks: None,
            rrsets: std::sync::Arc::new(sets),
        };
        let json = serde_json::to_value(&command).expect("a chunk writes");
        let text = json["rrsets"]
            .as_str()
            .expect("the compact form is a string");
        gslb_model::model::base64_text::decode(text.strip_prefix("v1:").expect("v1"))
            .expect("base64")
    };
    let accepted = vec![body_of(sets), body_of(Vec::new())];
    let refused = vec![vec![], vec![0, 0, 0, 0, 5], vec![0, 0, 0, 0, 1, 2, 0, 0]];
    exercise("staged_chunk", &accepted, &refused);
}

/// `fuzz/` wraps exactly `TARGETS`: one `fuzz_targets/NAME.rs` calling
/// `gslb_fuzz::NAME::run`, and one `[[bin]]` named NAME, for each.
#[test]
fn the_fuzz_crate_wraps_every_target() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let manifest = std::fs::read_to_string(fuzz.join("Cargo.toml")).expect("fuzz/Cargo.toml");
    let mut files: Vec<String> = std::fs::read_dir(fuzz.join("fuzz_targets"))
        .expect("fuzz/fuzz_targets")
        .flatten()
        .filter_map(|entry| {
            entry
                .file_name()
                .to_string_lossy()
                .strip_suffix(".rs")
                .map(str::to_string)
        })
        .collect();
    files.sort();
    let mut names: Vec<String> = TARGETS.iter().map(|(name, _)| name.to_string()).collect();
    names.sort();
    assert_eq!(
        files, names,
        "fuzz/fuzz_targets/ and gslb_fuzz::TARGETS differ"
    );
    for name in &names {
        let wrapper = std::fs::read_to_string(fuzz.join(format!("fuzz_targets/{name}.rs")))
            .expect("the wrapper reads");
        assert!(
            wrapper.contains(&format!("gslb_fuzz::{name}::run(")),
            "fuzz/fuzz_targets/{name}.rs does not call gslb_fuzz::{name}::run"
        );
        assert!(
            manifest.contains(&format!(
                "name = \"{name}\"\npath = \"fuzz_targets/{name}.rs\""
            )),
            "fuzz/Cargo.toml has no [[bin]] {name}"
        );
    }
}
