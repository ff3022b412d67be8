//! Decoding an RFC 2136 UPDATE message into the model's `DnsUpdate`, with hickory-proto
//! reading the message (names decompressed, every section), and the record classes of
//! §2.4/§2.5 mapped to `Prerequisite` and `UpdateChange` (§3.2, §3.4.1 decide what is a
//! FORMERR).
//!
//! The TSIG record is cut off before decoding (the caller verified it), so hickory never
//! needs its TSIG support.

use std::net::IpAddr;

use gslb_model::model::dns_update::{DnsUpdate, Prerequisite, UpdateChange, UpdateRcode};
use gslb_model::model::generic::from_wire;
use gslb_model::model::name::DomainName;
use gslb_model::model::record::{RData, RecordSet, RecordType};
use hickory_proto::op::{Message, OpCode};
use hickory_proto::rr::{DNSClass, Name, RData as WireRData, Record};
use hickory_proto::serialize::binary::{BinEncodable, BinEncoder, NameEncoding};

/// Why an UPDATE could not be decoded: its RCODE and a sentence for the log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct DecodeRefusal {
    /// FORMERR, NOTIMP (a class we do not serve) or REFUSED (a type we cannot hold).
    pub rcode: UpdateRcode,
    /// What was wrong.
    pub reason: String,
}

fn refuse(rcode: UpdateRcode, reason: impl Into<String>) -> DecodeRefusal {
    DecodeRefusal {
        rcode,
        reason: reason.into(),
    }
}

/// Reads `message` (an UPDATE without its TSIG record) sent by `client`, signed with `key`.
pub fn decode_update(
    message: &[u8],
    key: Option<DomainName>,
    client: IpAddr,
) -> Result<DnsUpdate, DecodeRefusal> {
    let message = Message::from_vec(message)
        .map_err(|error| refuse(UpdateRcode::FormErr, format!("malformed update: {error}")))?;
    if message.metadata.op_code != OpCode::Update {
        return Err(refuse(UpdateRcode::FormErr, "not an update"));
    }
    // §3.1.1: exactly one zone, of type SOA.
    let [zone] = message.queries.as_slice() else {
        return Err(refuse(
            UpdateRcode::FormErr,
            format!("{} zones in the zone section, not 1", message.queries.len()),
        ));
    };
    if u16::from(zone.query_type()) != RecordType::SOA.code() {
        return Err(refuse(UpdateRcode::FormErr, "the zone's type is not SOA"));
    }
    let zone_class = zone.query_class();
    if zone_class != DNSClass::IN {
        return Err(refuse(
            UpdateRcode::NotAuth,
            format!("class {zone_class} is not served here"),
        ));
    }
    let zone_name = domain_name(zone.name())?;
    let prerequisites = prerequisites(&message.answers, zone_class)?;
    let changes = message
        .authorities
        .iter()
        .map(|record| change(record, zone_class))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(DnsUpdate {
        zone: zone_name,
        key,
        client,
        prerequisites,
        changes,
    })
}

/// §3.2: the prerequisite section; value-dependent records of one name and type gathered
/// into one `RrsetEquals`.
fn prerequisites(
    records: &[Record],
    zone_class: DNSClass,
) -> Result<Vec<Prerequisite>, DecodeRefusal> {
    let mut prerequisites: Vec<Prerequisite> = Vec::new();
    for record in records {
        if record.ttl != 0 {
            return Err(refuse(
                UpdateRcode::FormErr,
                "a prerequisite's ttl is not 0",
            ));
        }
        let name = domain_name(&record.name)?;
        let code = u16::from(record.record_type());
        let empty = matches!(record.data, WireRData::Update0(_));
        let prerequisite = match (record.dns_class, code, empty) {
            (DNSClass::ANY, 255, true) => Prerequisite::NameInUse { name },
            (DNSClass::NONE, 255, true) => Prerequisite::NameNotInUse { name },
            (DNSClass::ANY, _, true) => Prerequisite::RrsetExists {
                name,
                rtype: stored_type(code)?,
            },
            (DNSClass::NONE, _, true) => Prerequisite::RrsetAbsent {
                name,
                rtype: stored_type(code)?,
            },
            (class, _, false) if class == zone_class => {
                let rtype = stored_type(code)?;
                let rdata = model_rdata(rtype, &record.data)?;
                let existing =
                    prerequisites
                        .iter_mut()
                        .find_map(|prerequisite| match prerequisite {
                            Prerequisite::RrsetEquals {
                                name: other,
                                rtype: other_type,
                                rdata,
                            } if *other == name && *other_type == rtype => Some(rdata),
                            _ => None,
                        });
                match existing {
                    Some(set) => set.push(rdata),
                    None => prerequisites.push(Prerequisite::RrsetEquals {
                        name,
                        rtype,
                        rdata: vec![rdata],
                    }),
                }
                continue;
            }
            _ => {
                return Err(refuse(
                    UpdateRcode::FormErr,
                    format!(
                        "prerequisite {} {} is of no form rfc 2136 §2.4 knows",
                        record.name,
                        record.record_type()
                    ),
                ))
            }
        };
        prerequisites.push(prerequisite);
    }
    Ok(prerequisites)
}

/// §3.4.1.2: one record of the update section.
fn change(record: &Record, zone_class: DNSClass) -> Result<UpdateChange, DecodeRefusal> {
    let name = domain_name(&record.name)?;
    let code = u16::from(record.record_type());
    let empty = matches!(record.data, WireRData::Update0(_));
    match record.dns_class {
        class if class == zone_class => {
            if empty || is_meta(code) {
                return Err(refuse(
                    UpdateRcode::FormErr,
                    format!("an added {} record has no data or a meta type", record.name),
                ));
            }
            let rtype = if code == RecordType::SOA.code() {
                RecordType::SOA
            } else {
                stored_type(code)?
            };
            let rdata = model_rdata(rtype, &record.data)?;
            Ok(UpdateChange::Add {
                rrset: RecordSet {
                    name,
                    rtype,
                    ttl: record.ttl,
                    rdata: vec![rdata],
                },
            })
        }
        DNSClass::ANY => {
            if record.ttl != 0 || !empty {
                return Err(refuse(
                    UpdateRcode::FormErr,
                    "a class ANY delete must have ttl 0 and no data",
                ));
            }
            if code == 255 {
                Ok(UpdateChange::DeleteName { name })
            } else {
                Ok(UpdateChange::DeleteRrset {
                    name,
                    rtype: any_type(code)?,
                })
            }
        }
        DNSClass::NONE => {
            if record.ttl != 0 || empty || is_meta(code) {
                return Err(refuse(
                    UpdateRcode::FormErr,
                    "a class NONE delete must have ttl 0, data and a real type",
                ));
            }
            let rtype = any_type(code)?;
            Ok(UpdateChange::DeleteRecord {
                name,
                rdata: model_rdata(rtype, &record.data)?,
            })
        }
        class => Err(refuse(
            UpdateRcode::FormErr,
            format!("update record class {class} is neither the zone's, ANY nor NONE"),
        )),
    }
}

/// Meta and question-only types (RFC 6895 §3.1: 128-255 but for the data types there).
fn is_meta(code: u16) -> bool {
    matches!(code, 0 | 41 | 249..=255)
}

/// A type a record set may hold here; SOA only where `change` allows it.
fn stored_type(code: u16) -> Result<RecordType, DecodeRefusal> {
    if is_meta(code) {
        return Err(refuse(
            UpdateRcode::FormErr,
            format!("TYPE{code} is a meta type"),
        ));
    }
    Ok(RecordType::from_code_any(code))
}

/// A type in a delete: any real type, SOA included (its deletes are ignored, §3.4.2.3).
fn any_type(code: u16) -> Result<RecordType, DecodeRefusal> {
    if is_meta(code) {
        return Err(refuse(
            UpdateRcode::FormErr,
            format!("TYPE{code} is a meta type"),
        ));
    }
    Ok(RecordType::from_code_any(code))
}

/// The model's data for a record: its RDATA re-encoded without compression, then read by
/// the model (`from_wire`); the SOA, which the model keeps apart, as opaque data.
fn model_rdata(rtype: RecordType, data: &WireRData) -> Result<RData, DecodeRefusal> {
    let mut wire = Vec::new();
    {
        let mut encoder = BinEncoder::new(&mut wire);
        let mut encoder = encoder.with_name_encoding(NameEncoding::Uncompressed);
        data.emit(&mut encoder).map_err(|error| {
            refuse(
                UpdateRcode::FormErr,
                format!("record data of {rtype}: {error}"),
            )
        })?;
    }
    if rtype == RecordType::SOA {
        return Ok(RData::Unknown {
            rtype: RecordType::SOA.code(),
            data: wire,
        });
    }
    from_wire(rtype, wire).map_err(|reason| refuse(UpdateRcode::Refused, reason))
}

/// A hickory name as the model's (lower-case, absolute).
fn domain_name(name: &Name) -> Result<DomainName, DecodeRefusal> {
    DomainName::from_labels(name.iter())
        .map_err(|error| refuse(UpdateRcode::FormErr, format!("name {name}: {error}")))
}
