//! Shared fixtures for gslb-dns integration tests: a sample `State` with every kind of name
//! the answer path distinguishes, and hickory-proto helpers to build queries and read
//! replies as one-line-per-record digests.

#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use gslb_dns::{compile_plan, QueryContext, Responder, ResponderOptions, Transport};
use gslb_model::{
    AdminState, DomainName, Endpoint, EndpointTarget, Location, RData, RecordSet, RecordType,
    Region, Soa, State, Zone,
};
use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query};
use hickory_proto::rr::rdata::opt::{ClientSubnet, EdnsOption};
use hickory_proto::rr::{DNSClass, Name, RecordType as HickoryType};

/// Parses an absolute name.
pub fn name(text: &str) -> DomainName {
    DomainName::parse_absolute(text).unwrap()
}

/// `apex` and every name of up to `depth` labels below it made of `labels` (the universe of a
/// model check: a tiny alphabet makes wildcards, empty non-terminals and cuts collide).
pub fn names_below(apex: &DomainName, labels: &[&str], depth: usize) -> Vec<DomainName> {
    let mut names = vec![apex.clone()];
    let mut frontier = vec![apex.clone()];
    for _ in 0..depth {
        let mut next = Vec::new();
        for name in &frontier {
            for label in labels {
                next.push(name.prepend_label(label.as_bytes()).unwrap());
            }
        }
        names.extend(next.iter().cloned());
        frontier = next;
    }
    names
}

/// A record set of one type.
pub fn set(owner: &str, ttl: u32, rdata: Vec<RData>) -> RecordSet {
    RecordSet {
        name: name(owner),
        rtype: rdata[0].record_type(),
        ttl,
        rdata,
    }
}

/// A zone with the usual SOA (TTL 3600, MINIMUM 300: negative TTL 300).
pub fn zone(apex: &str, mut rrsets: Vec<RecordSet>) -> Zone {
    rrsets.push(set(
        apex,
        3600,
        vec![
            RData::NS(name(&format!("ns1.{apex}"))),
            RData::NS(name(&format!("ns2.{apex}"))),
        ],
    ));
    let mut zone = Zone {
        serial_policy: Default::default(),
        transfer: Default::default(),
        apex: name(apex),
        soa: Soa {
            mname: name(&format!("ns1.{apex}")),
            rname: name(&format!("hostmaster.{apex}")),
            serial: 2026112401,
            refresh: 3600,
            retry: 600,
            expire: 864000,
            minimum: 300,
            ttl: 3600,
        },
        default_ttl: 300,
        rrsets: rrsets.into(),
    };
    zone.normalize();
    zone
}

fn a(text: &str) -> RData {
    RData::A(text.parse().unwrap())
}

fn txt(text: &str) -> RData {
    RData::TXT(vec![text.as_bytes().to_vec()])
}

/// Adds regions `ids` (located in DE/EU) to `state`, each with endpoints `<id>-1` and
/// `<id>-2` at `10.<index>.0.<n>`; `us-2` is disabled.
pub fn add_regions(state: &mut State, ids: &[&str]) {
    for (index, id) in ids.iter().enumerate() {
        state.regions.insert(
            id.to_string(),
            Region {
                id: id.to_string(),
                location: Location {
                    lat_micro: 0,
                    lon_micro: 0,
                    country: "DE".to_string(),
                    continent: "EU".to_string(),
                },
                capacity: None,
                min_healthy: None,
            },
        );
        for n in 1..=2 {
            let endpoint = format!("{id}-{n}");
            state.endpoints.insert(
                endpoint.clone(),
                Endpoint {
                    id: endpoint,
                    region: id.to_string(),
                    target: EndpointTarget::Address(format!("10.{index}.0.{n}").parse().unwrap()),
                    weight: 1,
                    admin: if n == 2 && *id == "us" {
                        AdminState::Disabled
                    } else {
                        AdminState::Enabled
                    },
                    labels: Default::default(),
                },
            );
        }
    }
}

/// The sample state: `example.com.` (every case) and `child.example.com.` (a zone of its own).
pub fn sample_state(version: u64) -> State {
    let big: Vec<RData> = (0..10)
        .map(|i| txt(&format!("{i:02}{}", "x".repeat(98))))
        .collect();
    let huge: Vec<RData> = (0..40)
        .map(|i| txt(&format!("{i:02}{}", "y".repeat(198))))
        .collect();
    let mut mxmany = vec![set(
        "mxmany.example.com.",
        300,
        (0..10)
            .map(|i| RData::MX {
                preference: i,
                exchange: name(&format!("mx{i}.example.com.")),
            })
            .collect(),
    )];
    for i in 0..10 {
        let addresses = (0..4)
            .map(|j| a(&format!("192.0.2.{}", 100 + i * 4 + j)))
            .collect();
        mxmany.push(set(&format!("mx{i}.example.com."), 300, addresses));
    }
    let example = zone(
        "example.com.",
        vec![
            set(
                "mxout.example.com.",
                300,
                vec![
                    RData::MX {
                        preference: 5,
                        exchange: name("mx.example.net."),
                    },
                    RData::MX {
                        preference: 10,
                        exchange: name("ns.sub.example.com."),
                    },
                ],
            ),
            set(
                "example.com.",
                300,
                vec![RData::MX {
                    preference: 10,
                    exchange: name("mail.example.com."),
                }],
            ),
            set("example.com.", 300, vec![a("192.0.2.10")]),
            set(
                "www.example.com.",
                300,
                vec![a("192.0.2.1"), a("192.0.2.2")],
            ),
            set(
                "www.example.com.",
                300,
                vec![RData::AAAA("2001:db8::1".parse().unwrap())],
            ),
            set("mail.example.com.", 300, vec![a("192.0.2.25")]),
            set(
                "alias.example.com.",
                60,
                vec![RData::CNAME(name("www.example.com."))],
            ),
            set(
                "chain1.example.com.",
                60,
                vec![RData::CNAME(name("chain2.example.com."))],
            ),
            set(
                "chain2.example.com.",
                60,
                vec![RData::CNAME(name("www.example.com."))],
            ),
            set(
                "loop1.example.com.",
                60,
                vec![RData::CNAME(name("loop2.example.com."))],
            ),
            set(
                "loop2.example.com.",
                60,
                vec![RData::CNAME(name("loop1.example.com."))],
            ),
            set(
                "self.example.com.",
                60,
                vec![RData::CNAME(name("self.example.com."))],
            ),
            set(
                "tochild.example.com.",
                60,
                vec![RData::CNAME(name("www.sub.example.com."))],
            ),
            set(
                "mxtwice.example.com.",
                300,
                vec![
                    RData::MX {
                        preference: 10,
                        exchange: name("www.example.com."),
                    },
                    RData::MX {
                        preference: 20,
                        exchange: name("www.example.com."),
                    },
                ],
            ),
            set(
                "out.example.com.",
                60,
                vec![RData::CNAME(name("www.example.net."))],
            ),
            set(
                "dangling.example.com.",
                60,
                vec![RData::CNAME(name("nothere.example.com."))],
            ),
            set(
                "towild.example.com.",
                60,
                vec![RData::CNAME(name("x.wild.example.com."))],
            ),
            set("a.b.c.example.com.", 300, vec![a("192.0.2.3")]),
            set("*.wild.example.com.", 120, vec![a("192.0.2.99")]),
            set("host.wild.example.com.", 120, vec![txt("exists")]),
            set(
                "*.wc.example.com.",
                120,
                vec![RData::CNAME(name("www.example.com."))],
            ),
            set(
                "sub.example.com.",
                86400,
                vec![
                    RData::NS(name("ns.sub.example.com.")),
                    RData::NS(name("ns.elsewhere.net.")),
                ],
            ),
            set("ns.sub.example.com.", 86400, vec![a("192.0.2.53")]),
            set(
                "child.example.com.",
                86400,
                vec![RData::NS(name("ns1.child.example.com."))],
            ),
            set("big.example.com.", 300, big),
            set("huge.example.com.", 300, huge),
            set(
                "srv.example.com.",
                300,
                vec![RData::SRV {
                    priority: 1,
                    weight: 2,
                    port: 443,
                    target: name("www.example.com."),
                }],
            ),
            set(
                "caa.example.com.",
                300,
                vec![RData::CAA {
                    flags: 0,
                    tag: "issue".into(),
                    value: b"letsencrypt.org".to_vec(),
                }],
            ),
            set(
                "ptr.example.com.",
                300,
                vec![RData::PTR(name("www.example.com."))],
            ),
            set("ns1.example.com.", 300, vec![a("192.0.2.101")]),
            set("ns2.example.com.", 300, vec![a("192.0.2.102")]),
        ],
    );
    let mut example = example;
    example.rrsets.extend(mxmany);
    example.normalize();
    let child = zone(
        "child.example.com.",
        vec![set("www.child.example.com.", 300, vec![a("198.51.100.1")])],
    );
    let mut state = State {
        version,
        ..State::default()
    };
    state
        .zones
        .insert(example.apex.clone(), std::sync::Arc::new(example));
    state
        .zones
        .insert(child.apex.clone(), std::sync::Arc::new(child));
    state
}

/// A responder over the sample state with CHAOS identity enabled.
pub fn sample_responder() -> Responder {
    let options = ResponderOptions {
        version_bind: Some("gslb test".into()),
        id_server: Some("dns-1".into()),
        hostname_bind: None,
        ..ResponderOptions::default()
    };
    Responder::new(compile_plan(&sample_state(7)), options)
}

/// A context for a client at 203.0.113.9.
pub fn context(transport: Transport) -> QueryContext {
    QueryContext {
        client: SocketAddr::new(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 9)), 5353),
        transport,
    }
}

/// A query with RD set and no EDNS.
pub fn query(qname: &str, qtype: HickoryType) -> Message {
    let mut message = Message::new(0xBEEF, MessageType::Query, OpCode::Query);
    message.metadata.recursion_desired = true;
    let mut question = Query::query(Name::from_ascii(qname).unwrap(), qtype);
    question.set_query_class(DNSClass::IN);
    message.add_query(question);
    message
}

/// Adds an OPT with `payload`, the DO bit, and optionally a client subnet.
pub fn with_edns(
    mut message: Message,
    payload: u16,
    dnssec_ok: bool,
    subnet: Option<(IpAddr, u8)>,
) -> Message {
    let mut edns = Edns::new();
    edns.set_max_payload(payload);
    edns.set_dnssec_ok(dnssec_ok);
    if let Some((address, prefix)) = subnet {
        edns.options_mut()
            .insert(EdnsOption::Subnet(ClientSubnet::new(address, prefix, 0)));
    }
    message.set_edns(edns);
    message
}

/// Sends `packet` through `responder`; `None` when it stays silent.
pub fn exchange(responder: &Responder, packet: &[u8], transport: Transport) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    responder
        .respond(packet, &context(transport), &mut out)
        .then_some(out)
}

/// A reply as text: a flags line, then one line per record (`an`/`ns`/`ar`), then the OPT.
pub fn digest(reply: &[u8]) -> String {
    let message = Message::from_vec(reply).expect("reply parses");
    let metadata = &message.metadata;
    let mut lines = vec![format!(
        "{:?}{}{}{}{} id={:04x} qd={}",
        metadata.response_code,
        if metadata.authoritative { " aa" } else { "" },
        if metadata.truncation { " tc" } else { "" },
        if metadata.recursion_desired {
            " rd"
        } else {
            ""
        },
        if metadata.recursion_available {
            " ra"
        } else {
            ""
        },
        metadata.id,
        message.queries.len(),
    )];
    for (section, records) in [
        ("an", &message.answers),
        ("ns", &message.authorities),
        ("ar", &message.additionals),
    ] {
        for record in records {
            lines.push(format!(
                "{section} {} {} {} {} {}",
                record.name,
                record.ttl,
                record.dns_class,
                record.record_type(),
                record.data
            ));
        }
    }
    if let Some(edns) = &message.edns {
        let mut line = format!(
            "opt payload={} version={} do={}",
            edns.max_payload(),
            edns.version(),
            edns.flags().dnssec_ok
        );
        if let Some(EdnsOption::Subnet(subnet)) =
            edns.option(hickory_proto::rr::rdata::opt::EdnsCode::Subnet)
        {
            line.push_str(&format!(
                " ecs={}/{}/{}",
                subnet.addr(),
                subnet.source_prefix(),
                subnet.scope_prefix()
            ));
        }
        lines.push(line);
    }
    lines.join("\n")
}

/// Record type helper for tests that name types by mnemonic.
pub fn rtype(text: &str) -> HickoryType {
    text.parse().unwrap()
}

/// Silences an unused-import lint for `RecordType` in some test crates.
pub fn model_type(code: u16) -> Option<RecordType> {
    RecordType::from_code(code)
}
