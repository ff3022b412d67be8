//! The compact form of a staged chunk's record sets (`Command::StageZoneRecords::rrsets`) in
//! the Raft log: one JSON string, `"v1:"` and the base64 of a binary body, where the JSON of
//! the same sets (an array of `RecordSet` objects, ~80 bytes for `hN A 10.x.y.z`) costs about
//! three times the bytes and far more time to read on every node. Snapshots carry each
//! zone's record sets in the same binary body (`crate::snapshot_codec`).
//!
//! Body (integers big-endian):
//! - the base: the common ancestor of every owner in the chunk, as `u8` length + its wire
//!   form without the root label;
//! - `u32` number of sets, then each set: owner as `u8` length + its wire labels above the
//!   base; `u16` type code; `u32` TTL; `u32` number of records; each record a tag and its
//!   data: `1` A (4 octets), `2` AAAA (16), `3` CNAME, `4` NS, `5` PTR (a name: `u8` length +
//!   wire without the root label), `0` any other type (`u32` length + the JSON of the
//!   `RData`, exactly as the array form writes it).
//!
//! Reading accepts both forms: the array form (entries older nodes wrote, and what a reader
//! of the log's JSON can still write) and the compact one. The compact form is exact: a
//! chunk reads back equal to the sets written (names lower-case as stored; every other
//! record type through its own JSON).
//!
//! Invariant: decoding never builds a name that `DomainName` could not hold (each label 1 to
//! 63 octets, at most 255 in all, lower-case); anything else is an error, never a panic.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserializer, Serializer};

use crate::model::base64_text;
use crate::model::name::DomainName;
use crate::model::record::{RData, RecordSet, RecordType};

/// What the JSON string of a compact chunk starts with.
const PREFIX_V1: &str = "v1:";

const TAG_JSON: u8 = 0;
const TAG_A: u8 = 1;
const TAG_AAAA: u8 = 2;
const TAG_CNAME: u8 = 3;
const TAG_NS: u8 = 4;
const TAG_PTR: u8 = 5;

/// Serde `serialize_with`: the compact form.
pub(super) fn serialize<S: Serializer>(
    rrsets: &Arc<Vec<RecordSet>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let body = encode_sets(rrsets).map_err(serde::ser::Error::custom)?;
    let mut text = String::with_capacity(PREFIX_V1.len() + body.len() * 4 / 3 + 4);
    text.push_str(PREFIX_V1);
    text.push_str(&base64_text::encode(&body));
    serializer.serialize_str(&text)
}

/// Serde `deserialize_with`: the compact form or the array form.
pub(super) fn deserialize<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Arc<Vec<RecordSet>>, D::Error> {
    deserializer.deserialize_any(ChunkVisitor).map(Arc::new)
}

struct ChunkVisitor;

impl<'de> Visitor<'de> for ChunkVisitor {
    type Value = Vec<RecordSet>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an array of record sets, or a compact chunk (\"v1:\" and base64)")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut sets = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 16));
        while let Some(set) = seq.next_element::<RecordSet>()? {
            sets.push(set);
        }
        Ok(sets)
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
        let encoded = text
            .strip_prefix(PREFIX_V1)
            .ok_or_else(|| E::custom("a compact chunk starts with \"v1:\""))?;
        let body = base64_text::decode(encoded).map_err(|_| E::custom("bad base64 in a chunk"))?;
        decode_chunk_body(&body).map_err(E::custom)
    }
}

/// The binary body of `sets` (see the module doc).
fn encode_sets(sets: &[RecordSet]) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(16 + sets.len() * 24);
    encode_sets_into(&mut out, sets)?;
    Ok(out)
}

/// Appends the binary body of `sets` (see the module doc) to `out`: the form a snapshot
/// (`crate::snapshot_codec`) carries each zone's sets in, read back by `decode_sets_into`.
pub(crate) fn encode_sets_into<'a, I>(out: &mut Vec<u8>, sets: I) -> Result<(), String>
where
    I: IntoIterator<Item = &'a RecordSet> + Copy,
    I::IntoIter: ExactSizeIterator,
{
    let base = common_ancestor(sets);
    put_name(out, &base, &DomainName::root())?;
    out.extend_from_slice(&u32_of(sets.into_iter().len())?.to_be_bytes());
    for set in sets {
        put_name(out, &set.name, &base)?;
        out.extend_from_slice(&set.rtype.code().to_be_bytes());
        out.extend_from_slice(&set.ttl.to_be_bytes());
        out.extend_from_slice(&u32_of(set.rdata.len())?.to_be_bytes());
        for rdata in &set.rdata {
            match rdata {
                RData::A(address) => {
                    out.push(TAG_A);
                    out.extend_from_slice(&address.octets());
                }
                RData::AAAA(address) => {
                    out.push(TAG_AAAA);
                    out.extend_from_slice(&address.octets());
                }
                RData::CNAME(target) | RData::NS(target) | RData::PTR(target) => {
                    out.push(match rdata {
                        RData::CNAME(_) => TAG_CNAME,
                        RData::NS(_) => TAG_NS,
                        _ => TAG_PTR,
                    });
                    put_name(out, target, &DomainName::root())?;
                }
                other => {
                    out.push(TAG_JSON);
                    let json = serde_json::to_vec(other).map_err(|error| error.to_string())?;
                    out.extend_from_slice(&u32_of(json.len())?.to_be_bytes());
                    out.extend_from_slice(&json);
                }
            }
        }
    }
    Ok(())
}

/// The most octets `set` takes in a compact chunk's body whose owners all lie at or below
/// `apex` (exact when the chunk's common ancestor is `apex`): what the API sizes chunks by.
pub fn set_body_len(set: &RecordSet, apex: &DomainName) -> usize {
    let owner = set
        .name
        .wire_prefix_below(apex)
        .map_or(set.name.wire_len(), <[u8]>::len);
    let records: usize = set
        .rdata
        .iter()
        .map(|rdata| match rdata {
            RData::A(_) => 1 + 4,
            RData::AAAA(_) => 1 + 16,
            RData::CNAME(target) | RData::NS(target) | RData::PTR(target) => 1 + target.wire_len(),
            other => {
                let mut counter = ByteCounter(0);
                let json = serde_json::to_writer(&mut counter, other)
                    .map_or(usize::MAX / 2, |()| counter.0);
                1 + 4 + json
            }
        })
        .sum();
    1 + owner + 2 + 4 + 4 + records
}

/// The length of the JSON string (quotes included) of a chunk whose sets take `sets_len`
/// octets of body, under a base of at most 255 octets.
pub fn chunk_json_len(sets_len: usize) -> usize {
    let body = 1 + 255 + 4 + sets_len;
    2 + PREFIX_V1.len() + body.div_ceil(3) * 4
}

/// A writer that only counts the bytes it is given.
struct ByteCounter(usize);

impl std::io::Write for ByteCounter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0 += bytes.len();
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The nearest name every owner in `sets` is at or below (the root for none).
fn common_ancestor<'a>(sets: impl IntoIterator<Item = &'a RecordSet>) -> DomainName {
    let mut sets = sets.into_iter().peekable();
    let Some(first) = sets.peek() else {
        return DomainName::root();
    };
    let mut base = first.name.clone();
    for set in sets {
        while !set.name.is_subdomain_of(&base) {
            match base.parent() {
                Some(parent) => base = parent,
                None => break,
            }
        }
    }
    base
}

fn u32_of(count: usize) -> Result<u32, String> {
    u32::try_from(count).map_err(|_| format!("{count} does not fit a chunk's u32 count"))
}

/// `name`'s labels above `base` as `u8` length + wire.
fn put_name(out: &mut Vec<u8>, name: &DomainName, base: &DomainName) -> Result<(), String> {
    let prefix = name
        .wire_prefix_below(base)
        .ok_or_else(|| format!("{name} is not below {base}"))?;
    out.push(u8::try_from(prefix.len()).map_err(|_| format!("{name} is too long"))?);
    out.extend_from_slice(prefix);
    Ok(())
}

/// Reads a compact chunk's body (see the module doc); says what is wrong otherwise.
fn decode_chunk_body(body: &[u8]) -> Result<Vec<RecordSet>, String> {
    let mut sets = Vec::new();
    decode_sets_into(body, |set| sets.push(set))?;
    Ok(sets)
}

/// Reads a body `encode_sets_into` wrote, handing each set to `push` in order; says what
/// is wrong otherwise (never panics, whatever the bytes).
pub(crate) fn decode_sets_into(body: &[u8], mut push: impl FnMut(RecordSet)) -> Result<(), String> {
    let mut reader = Reader { body, at: 0 };
    let base = reader.name(&DomainName::root())?;
    let count = reader.u32()? as usize;
    // Every set takes at least 11 octets: no count can ask for more room than the body.
    if count > body.len() / 11 {
        return Err(format!(
            "a chunk of {} octets cannot hold {count} sets",
            body.len()
        ));
    }
    for _ in 0..count {
        let name = reader.name(&base)?;
        let rtype = RecordType::from_code_any(reader.u16()?);
        let ttl = reader.u32()?;
        let records = reader.u32()? as usize;
        if records > reader.remaining() {
            return Err(format!(
                "a set claims {records} records past the chunk's end"
            ));
        }
        let mut rdata = Vec::with_capacity(records);
        for _ in 0..records {
            rdata.push(match reader.u8()? {
                TAG_A => RData::A(Ipv4Addr::from(
                    <[u8; 4]>::try_from(reader.take(4)?).unwrap_or_default(),
                )),
                TAG_AAAA => RData::AAAA(Ipv6Addr::from(
                    <[u8; 16]>::try_from(reader.take(16)?).unwrap_or_default(),
                )),
                TAG_CNAME => RData::CNAME(reader.name(&DomainName::root())?),
                TAG_NS => RData::NS(reader.name(&DomainName::root())?),
                TAG_PTR => RData::PTR(reader.name(&DomainName::root())?),
                TAG_JSON => {
                    let len = reader.u32()? as usize;
                    serde_json::from_slice(reader.take(len)?)
                        .map_err(|error| format!("record data in a chunk: {error}"))?
                }
                tag => return Err(format!("unknown record tag {tag} in a chunk")),
            });
        }
        push(RecordSet {
            name,
            rtype,
            ttl,
            rdata,
        });
    }
    if reader.remaining() != 0 {
        return Err(format!(
            "{} octets after a chunk's last set",
            reader.remaining()
        ));
    }
    Ok(())
}

/// A cursor over a chunk's body.
struct Reader<'a> {
    body: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> usize {
        self.body.len() - self.at
    }

    fn take(&mut self, len: usize) -> Result<&'a [u8], String> {
        let end = self
            .at
            .checked_add(len)
            .filter(|end| *end <= self.body.len())
            .ok_or("a chunk ends early")?;
        let taken = &self.body[self.at..end];
        self.at = end;
        Ok(taken)
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, String> {
        Ok(u16::from_be_bytes([self.u8()?, self.u8()?]))
    }

    fn u32(&mut self) -> Result<u32, String> {
        let bytes = self.take(4)?;
        Ok(u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }

    /// A name written by `put_name` below `base`.
    fn name(&mut self, base: &DomainName) -> Result<DomainName, String> {
        let len = self.u8()? as usize;
        let prefix = self.take(len)?;
        DomainName::with_wire_prefix(prefix, base)
            .ok_or_else(|| format!("a malformed or too long name below {base} in a chunk"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::record::DsData;

    fn name(text: &str) -> DomainName {
        DomainName::parse_absolute(text).unwrap()
    }

    fn set(owner: &str, rdata: Vec<RData>) -> RecordSet {
        RecordSet {
            name: name(owner),
            rtype: rdata[0].record_type(),
            ttl: 300,
            rdata,
        }
    }

    /// Sets of every encoding: the fixed-size tags, names, and other types through JSON.
    fn mixed() -> Vec<RecordSet> {
        vec![
            set(
                "example.com.",
                vec![
                    RData::NS(name("ns1.example.com.")),
                    RData::NS(name("ns.other.net.")),
                ],
            ),
            set(
                "h1.example.com.",
                vec![
                    RData::A(Ipv4Addr::new(10, 0, 0, 1)),
                    RData::A(Ipv4Addr::new(10, 0, 0, 2)),
                ],
            ),
            set(
                "h1.example.com.",
                vec![RData::AAAA("2001:db8::1".parse().unwrap())],
            ),
            set(
                "www.example.com.",
                vec![RData::CNAME(name("h1.example.com."))],
            ),
            set(
                "1.2.0.192.in-addr.example.com.",
                vec![RData::PTR(name("host.example.org."))],
            ),
            set(
                "mail.example.com.",
                vec![RData::MX {
                    preference: 10,
                    exchange: name("h1.example.com."),
                }],
            ),
            set(
                "txt.example.com.",
                vec![RData::TXT(vec![
                    b"v=spf1 \"-all\"\\".to_vec(),
                    vec![0, 255],
                ])],
            ),
            set(
                "sub.example.com.",
                vec![RData::DS(DsData {
                    key_tag: 1,
                    algorithm: 13,
                    digest_type: 2,
                    digest: vec![0xab; 32],
                })],
            ),
        ]
    }

    fn json_of(sets: &[RecordSet]) -> String {
        struct Compact<'a>(&'a Arc<Vec<RecordSet>>);
        impl serde::Serialize for Compact<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serialize(self.0, serializer)
            }
        }
        serde_json::to_string(&Compact(&Arc::new(sets.to_vec()))).unwrap()
    }

    fn read(json: &str) -> Result<Vec<RecordSet>, serde_json::Error> {
        let mut deserializer = serde_json::Deserializer::from_str(json);
        deserialize(&mut deserializer).map(|sets| sets.as_ref().clone())
    }

    #[test]
    fn a_compact_chunk_reads_back_as_the_sets_written() {
        let sets = mixed();
        let json = json_of(&sets);
        assert!(json.starts_with("\"v1:"), "{json}");
        assert_eq!(read(&json).unwrap(), sets);
        assert_eq!(read(&json_of(&[])).unwrap(), Vec::<RecordSet>::new());
    }

    #[test]
    fn the_array_form_older_nodes_wrote_still_reads() {
        let sets = mixed();
        let array = serde_json::to_string(&sets).unwrap();
        assert_eq!(read(&array).unwrap(), sets);
    }

    /// A whole `StageZoneRecords` command as an older node logged it (sets as a JSON array)
    /// reads as the same command the compact form carries.
    #[test]
    fn a_logged_command_of_either_form_reads_as_the_same_command() {
        let command = crate::Command::StageZoneRecords {
            import_id: "imp-0".to_string(),
            apex: name("example.com."),
            chunk: 3,
            total_chunks: Some(4),
            rrsets: Arc::new(mixed()),
        };
        let compact = serde_json::to_value(&command).unwrap();
        assert!(compact["rrsets"].as_str().unwrap().starts_with("v1:"));
        let mut older = compact.clone();
        older["rrsets"] = serde_json::to_value(mixed()).unwrap();
        let from_older: crate::Command = serde_json::from_value(older).unwrap();
        let from_compact: crate::Command = serde_json::from_str(&compact.to_string()).unwrap();
        assert_eq!(from_older, command);
        assert_eq!(from_compact, command);
    }

    #[test]
    fn a_host_record_costs_about_a_third_of_its_json() {
        let sets: Vec<RecordSet> = (0..1000)
            .map(|k| {
                set(
                    &format!("h{k}.big.test."),
                    vec![RData::A(Ipv4Addr::from(0x0a00_0000 | k))],
                )
            })
            .collect();
        let compact = json_of(&sets).len();
        let array = serde_json::to_string(&sets).unwrap().len();
        assert!(
            compact * 5 < array * 2,
            "compact {compact} bytes, array {array}"
        );
    }

    #[test]
    fn the_size_the_api_splits_by_bounds_the_written_chunk() {
        let apex = name("example.com.");
        let sets = mixed();
        let sets_len: usize = sets.iter().map(|set| set_body_len(set, &apex)).sum();
        let written = json_of(&sets).len();
        assert!(
            written <= chunk_json_len(sets_len),
            "{written} > {}",
            chunk_json_len(sets_len)
        );
        assert!(
            written + 400 >= chunk_json_len(sets_len),
            "a loose bound: {written}"
        );
    }

    #[test]
    fn damaged_bodies_are_errors_not_panics() {
        let body = encode_sets(&mixed()).unwrap();
        for cut in 0..body.len() {
            assert!(decode_chunk_body(&body[..cut]).is_err(), "cut at {cut}");
        }
        let mut flipped = body.clone();
        for at in 0..flipped.len() {
            flipped[at] ^= 0xff;
            let _ = decode_chunk_body(&flipped);
            flipped[at] ^= 0xff;
        }
        assert!(read("\"v2:AAAA\"").is_err());
        assert!(read("\"v1:!!\"").is_err());
        // A label of 64 octets, or a zero-length label inside a name, is refused.
        let mut long = vec![0u8, 0, 0, 0, 1, 65, 64];
        long.extend([b'a'; 64]);
        assert!(decode_chunk_body(&long).is_err());
        assert!(decode_chunk_body(&[0, 0, 0, 0, 1, 2, 0, 0]).is_err());
    }

    #[test]
    fn names_are_lower_cased_as_every_stored_name_is() {
        let mut body = vec![0u8, 0, 0, 0, 1];
        body.extend([4, 3, b'W', b'w', b'W']);
        body.extend(1u16.to_be_bytes());
        body.extend(60u32.to_be_bytes());
        body.extend(1u32.to_be_bytes());
        body.extend([TAG_A, 192, 0, 2, 1]);
        let sets = decode_chunk_body(&body).unwrap();
        assert_eq!(sets[0].name, name("www."));
    }
}
