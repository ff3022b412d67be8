//! Static record sets: `RecordType`, `RData` and `RecordSet`, the parts of a zone that do not
//! depend on health.
//!
//! RDATA is kept structured (not as wire bytes) so the Raft log, snapshots and the API stay
//! readable and validation can name the field at fault; `gslb-dns` renders it to wire once per
//! answer-plan version. Its presentation format (RFC 1035 §5.1: `10 mail.example.com.`,
//! `"quoted" "strings"`) is written here once, as `Display` (absolute names) and
//! `RData::relative_to` (names relative to an origin, for zone files); the zone file export and
//! the API's record DTOs both print through it.

use std::borrow::Cow;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::model::generic::generic_refusal;
use crate::model::name::DomainName;
use crate::model::validation::FieldErrors;

/// The largest TTL RFC 2181 §8 allows; larger values are treated as errors at write time.
pub const MAX_TTL: u32 = 0x7fff_ffff;

/// The record types a static record set may hold.
///
/// Serialized as its mnemonic (`"A"`, `"AAAA"`), and `"TYPEnnn"` for `Unknown` (RFC 3597 §5),
/// so states written before `Unknown` existed load unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(clippy::upper_case_acronyms)]
pub enum RecordType {
    /// IPv4 address (RFC 1035).
    A,
    /// IPv6 address (RFC 3596).
    AAAA,
    /// Canonical name (RFC 1035).
    CNAME,
    /// Mail exchange (RFC 1035).
    MX,
    /// Text strings (RFC 1035).
    TXT,
    /// Service location (RFC 2782).
    SRV,
    /// Certification authority authorization (RFC 8659).
    CAA,
    /// Name server: at the apex the zone's own, below it a delegation.
    NS,
    /// Pointer (RFC 1035).
    PTR,
    /// SSH host key fingerprint (RFC 4255).
    SSHFP,
    /// TLS certificate association for DANE (RFC 6698).
    TLSA,
    /// S/MIME certificate association (RFC 8162).
    SMIMEA,
    /// Host information (RFC 1035, RFC 8482).
    HINFO,
    /// Sender policy, the TXT format under its own type (RFC 4408; RFC 7208 deprecates it).
    SPF,
    /// Start of authority; held by `Zone::soa`, never in `Zone::rrsets`.
    SOA,
    /// Any other type, by code, holding opaque data (RFC 3597); never the code of a type
    /// above (`from_code_any` makes sure).
    Unknown(u16),
}

impl RecordType {
    /// Every type, in a fixed order.
    pub const ALL: [RecordType; 15] = [
        RecordType::A,
        RecordType::AAAA,
        RecordType::CNAME,
        RecordType::MX,
        RecordType::TXT,
        RecordType::SRV,
        RecordType::CAA,
        RecordType::NS,
        RecordType::PTR,
        RecordType::SSHFP,
        RecordType::TLSA,
        RecordType::SMIMEA,
        RecordType::HINFO,
        RecordType::SPF,
        RecordType::SOA,
    ];

    /// The TYPE code on the wire.
    pub fn code(self) -> u16 {
        match self {
            RecordType::A => 1,
            RecordType::NS => 2,
            RecordType::CNAME => 5,
            RecordType::SOA => 6,
            RecordType::PTR => 12,
            RecordType::MX => 15,
            RecordType::TXT => 16,
            RecordType::AAAA => 28,
            RecordType::SRV => 33,
            RecordType::SSHFP => 44,
            RecordType::TLSA => 52,
            RecordType::SMIMEA => 53,
            RecordType::HINFO => 13,
            RecordType::SPF => 99,
            RecordType::CAA => 257,
            RecordType::Unknown(code) => code,
        }
    }

    /// The type for a wire code, if it is one we store structured.
    pub fn from_code(code: u16) -> Option<RecordType> {
        RecordType::ALL
            .into_iter()
            .find(|rtype| rtype.code() == code)
    }

    /// The type for any wire code: a structured one when we have it, else `Unknown`.
    pub fn from_code_any(code: u16) -> RecordType {
        RecordType::from_code(code).unwrap_or(RecordType::Unknown(code))
    }

    /// The mnemonic (`A`, `AAAA`, ...), `TYPEnnn` for other types.
    pub fn as_str(self) -> Cow<'static, str> {
        Cow::Borrowed(match self {
            RecordType::A => "A",
            RecordType::AAAA => "AAAA",
            RecordType::CNAME => "CNAME",
            RecordType::MX => "MX",
            RecordType::TXT => "TXT",
            RecordType::SRV => "SRV",
            RecordType::CAA => "CAA",
            RecordType::NS => "NS",
            RecordType::PTR => "PTR",
            RecordType::SSHFP => "SSHFP",
            RecordType::TLSA => "TLSA",
            RecordType::SMIMEA => "SMIMEA",
            RecordType::HINFO => "HINFO",
            RecordType::SPF => "SPF",
            RecordType::SOA => "SOA",
            RecordType::Unknown(code) => return Cow::Owned(format!("TYPE{code}")),
        })
    }

    /// The type for a mnemonic, case-insensitively, or for `TYPEnnn` (RFC 3597 §5; `TYPE1` is
    /// `A`). Refusing the types gslb cannot serve is left to validation.
    pub fn from_mnemonic(text: &str) -> Option<RecordType> {
        if let Some(rtype) = RecordType::ALL
            .into_iter()
            .find(|rtype| rtype.as_str().eq_ignore_ascii_case(text))
        {
            return Some(rtype);
        }
        let digits = text
            .get(..4)
            .filter(|prefix| prefix.eq_ignore_ascii_case("TYPE"))
            .and_then(|_| text.get(4..))?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse::<u16>().ok().map(RecordType::from_code_any)
    }
}

impl Serialize for RecordType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.as_str())
    }
}

impl<'de> Deserialize<'de> for RecordType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = Cow::<str>::deserialize(deserializer)?;
        RecordType::from_mnemonic(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown record type {text:?} (a mnemonic such as AAAA, or TYPEnnn)"
            ))
        })
    }
}

impl std::fmt::Display for RecordType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.as_str())
    }
}

/// The data of one resource record.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
#[allow(clippy::upper_case_acronyms)]
pub enum RData {
    /// An IPv4 address.
    A(Ipv4Addr),
    /// An IPv6 address.
    AAAA(Ipv6Addr),
    /// The canonical name this owner is an alias of.
    CNAME(DomainName),
    /// A mail exchange.
    MX {
        /// Lower is preferred.
        preference: u16,
        /// The host that accepts mail.
        exchange: DomainName,
    },
    /// One or more character-strings, each at most 255 octets (raw bytes, not text).
    TXT(Vec<Vec<u8>>),
    /// A service location.
    SRV {
        /// Lower is tried first.
        priority: u16,
        /// Relative share among equal priorities.
        weight: u16,
        /// The service's port.
        port: u16,
        /// The host providing the service; `.` means "not available here".
        target: DomainName,
    },
    /// A CAA property.
    CAA {
        /// Flags octet; 128 is "issuer critical".
        flags: u8,
        /// Property tag, e.g. `issue`, `issuewild`, `iodef` (ASCII letters and digits).
        tag: String,
        /// Property value as raw octets.
        value: Vec<u8>,
    },
    /// A name server.
    NS(DomainName),
    /// A pointer.
    PTR(DomainName),
    /// An SSH host key fingerprint.
    SSHFP {
        /// Key algorithm (1 RSA, 2 DSA, 3 ECDSA, 4 Ed25519, ...).
        algorithm: u8,
        /// Fingerprint type (1 SHA-1, 2 SHA-256).
        fingerprint_type: u8,
        /// The fingerprint octets; printed as hex.
        fingerprint: Vec<u8>,
    },
    /// A TLS certificate association.
    TLSA {
        /// Certificate usage (0-3).
        usage: u8,
        /// Which part of the certificate is matched (0 full, 1 public key).
        selector: u8,
        /// How it is matched (0 exact, 1 SHA-256, 2 SHA-512).
        matching_type: u8,
        /// The certificate association data; printed as hex.
        data: Vec<u8>,
    },
    /// An S/MIME certificate association; fields as in TLSA.
    SMIMEA {
        /// Certificate usage (0-3).
        usage: u8,
        /// Which part of the certificate is matched.
        selector: u8,
        /// How it is matched.
        matching_type: u8,
        /// The certificate association data; printed as hex.
        data: Vec<u8>,
    },
    /// Host information: two character-strings.
    HINFO {
        /// The CPU type.
        cpu: Vec<u8>,
        /// The operating system.
        os: Vec<u8>,
    },
    /// Sender policy character-strings, as TXT.
    SPF(Vec<Vec<u8>>),
    /// Data of any other type, kept as the octets of its wire RDATA (RFC 3597); printed as
    /// `\# <length> <hex>`.
    Unknown {
        /// The type code; never one of the structured types above.
        rtype: u16,
        /// The wire RDATA, at most 65535 octets.
        data: Vec<u8>,
    },
}

impl RData {
    /// The data in presentation format with names relative to `origin` (`@` for the origin
    /// itself, absolute for names outside it), as a zone file with `$ORIGIN origin` writes it.
    pub fn relative_to<'a>(&'a self, origin: &'a DomainName) -> RDataPresentation<'a> {
        RDataPresentation {
            rdata: self,
            origin: Some(origin),
        }
    }
}

/// Presentation format of absolute names: `10 mail.example.com.`, `"v=spf1 -all"`,
/// `0 issue "ca.example.net"`. TXT strings and CAA values are always quoted, escaping `"` and
/// `\` and writing bytes outside printable ASCII as `\DDD`.
impl fmt::Display for RData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        RDataPresentation {
            rdata: self,
            origin: None,
        }
        .fmt(f)
    }
}

/// `RData` printed in presentation format, names relative to an origin when there is one.
#[derive(Debug, Clone, Copy)]
pub struct RDataPresentation<'a> {
    /// What to print.
    rdata: &'a RData,
    /// The origin names are written relative to; `None` writes them absolute.
    origin: Option<&'a DomainName>,
}

impl RDataPresentation<'_> {
    fn name(&self, f: &mut fmt::Formatter<'_>, name: &DomainName) -> fmt::Result {
        match self.origin {
            Some(origin) => f.write_str(&name.relative_to(origin)),
            None => write!(f, "{name}"),
        }
    }
}

impl fmt::Display for RDataPresentation<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.rdata {
            RData::A(address) => write!(f, "{address}"),
            RData::AAAA(address) => write!(f, "{address}"),
            RData::CNAME(name) | RData::NS(name) | RData::PTR(name) => self.name(f, name),
            RData::MX {
                preference,
                exchange,
            } => {
                write!(f, "{preference} ")?;
                self.name(f, exchange)
            }
            RData::HINFO { cpu, os } => {
                write_quoted(f, cpu)?;
                f.write_str(" ")?;
                write_quoted(f, os)
            }
            RData::TXT(strings) | RData::SPF(strings) => {
                for (index, string) in strings.iter().enumerate() {
                    if index > 0 {
                        f.write_str(" ")?;
                    }
                    write_quoted(f, string)?;
                }
                Ok(())
            }
            RData::SRV {
                priority,
                weight,
                port,
                target,
            } => {
                write!(f, "{priority} {weight} {port} ")?;
                self.name(f, target)
            }
            RData::CAA { flags, tag, value } => {
                write!(f, "{flags} {tag} ")?;
                write_quoted(f, value)
            }
            RData::SSHFP {
                algorithm,
                fingerprint_type,
                fingerprint,
            } => write!(
                f,
                "{algorithm} {fingerprint_type} {}",
                hex::encode_upper(fingerprint)
            ),
            RData::TLSA {
                usage,
                selector,
                matching_type,
                data,
            }
            | RData::SMIMEA {
                usage,
                selector,
                matching_type,
                data,
            } => write!(
                f,
                "{usage} {selector} {matching_type} {}",
                hex::encode_upper(data)
            ),
            RData::Unknown { data, .. } => {
                write!(f, "\\# {}", data.len())?;
                if !data.is_empty() {
                    write!(f, " {}", hex::encode_upper(data))?;
                }
                Ok(())
            }
        }
    }
}

/// A quoted character-string: `"` and `\` escaped, bytes outside printable ASCII as `\DDD`.
fn write_quoted(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    f.write_str("\"")?;
    for &byte in bytes {
        match byte {
            b'"' | b'\\' => write!(f, "\\{}", byte as char)?,
            0x20..=0x7e => write!(f, "{}", byte as char)?,
            _ => write!(f, "\\{byte:03}")?,
        }
    }
    f.write_str("\"")
}

impl RData {
    /// The record type of this data.
    pub fn record_type(&self) -> RecordType {
        match self {
            RData::A(_) => RecordType::A,
            RData::AAAA(_) => RecordType::AAAA,
            RData::CNAME(_) => RecordType::CNAME,
            RData::MX { .. } => RecordType::MX,
            RData::TXT(_) => RecordType::TXT,
            RData::SRV { .. } => RecordType::SRV,
            RData::CAA { .. } => RecordType::CAA,
            RData::NS(_) => RecordType::NS,
            RData::PTR(_) => RecordType::PTR,
            RData::SSHFP { .. } => RecordType::SSHFP,
            RData::TLSA { .. } => RecordType::TLSA,
            RData::SMIMEA { .. } => RecordType::SMIMEA,
            RData::HINFO { .. } => RecordType::HINFO,
            RData::SPF(_) => RecordType::SPF,
            RData::Unknown { rtype, .. } => RecordType::Unknown(*rtype),
        }
    }

    /// Checks the limits the wire format imposes, reporting under `path`.
    pub fn validate(&self, path: &str, errors: &mut FieldErrors) {
        match self {
            RData::TXT(strings) | RData::SPF(strings) => {
                if strings.is_empty() {
                    errors.push(path, "TXT needs at least one character-string".to_string());
                }
                for (index, string) in strings.iter().enumerate() {
                    if string.len() > 255 {
                        errors.push(
                            format!("{path}.TXT[{index}]"),
                            format!(
                                "character-string longer than 255 octets, got {}",
                                string.len()
                            ),
                        );
                    }
                }
                let total: usize = strings.iter().map(|s| s.len() + 1).sum();
                if total > 65_000 {
                    errors.push(path, format!("TXT RDATA too long: {total} octets"));
                }
            }
            RData::CAA { tag, value, .. } => {
                if tag.is_empty()
                    || tag.len() > 255
                    || !tag.bytes().all(|b| b.is_ascii_alphanumeric())
                {
                    errors.push(
                        format!("{path}.tag"),
                        format!("must be 1-255 ASCII letters or digits, got {tag:?}"),
                    );
                }
                if value.len() > 65_000 {
                    errors.push(format!("{path}.value"), "value too long".to_string());
                }
            }
            RData::SSHFP { fingerprint, .. } if fingerprint.is_empty() => {
                errors.push(format!("{path}.fingerprint"), "must not be empty");
            }
            RData::HINFO { cpu, os } => {
                for (field, value) in [("cpu", cpu), ("os", os)] {
                    if value.len() > 255 {
                        errors.push(
                            format!("{path}.{field}"),
                            format!(
                                "character-string longer than 255 octets, got {}",
                                value.len()
                            ),
                        );
                    }
                }
            }
            RData::TLSA { data, .. } | RData::SMIMEA { data, .. } if data.is_empty() => {
                errors.push(format!("{path}.data"), "must not be empty");
            }
            RData::Unknown { rtype, data } => {
                if let Some(typed) = RecordType::from_code(*rtype) {
                    errors.push(
                        format!("{path}.rtype"),
                        format!("TYPE{rtype} is {typed}; give it as structured {typed} data"),
                    );
                } else if let Some(reason) = generic_refusal(*rtype) {
                    errors.push(format!("{path}.rtype"), format!("TYPE{rtype}: {reason}"));
                }
                if data.len() > usize::from(u16::MAX) {
                    errors.push(
                        format!("{path}.data"),
                        format!("RDATA longer than 65535 octets, got {}", data.len()),
                    );
                }
            }
            _ => {}
        }
    }
}

/// All records of one owner name and type, sharing one TTL (RFC 2181 §5.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordSet {
    /// Owner name, absolute; must lie inside the zone that holds the set.
    pub name: DomainName,
    /// The type every entry of `rdata` has.
    #[serde(rename = "type")]
    pub rtype: RecordType,
    /// Time to live in seconds, ≤ 2^31 - 1.
    pub ttl: u32,
    /// The records; at least one, no duplicates.
    pub rdata: Vec<RData>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The stored form of a type stays its mnemonic, so states written before `Unknown`
    /// existed load unchanged; other types are `TYPEnnn`, and `TYPE1` reads as `A`.
    #[test]
    fn record_types_serialize_as_mnemonics() {
        for (rtype, json) in [
            (RecordType::A, "\"A\""),
            (RecordType::CAA, "\"CAA\""),
            (RecordType::Unknown(65280), "\"TYPE65280\""),
        ] {
            assert_eq!(serde_json::to_string(&rtype).unwrap(), json);
            assert_eq!(serde_json::from_str::<RecordType>(json).unwrap(), rtype);
        }
        let read = |json: &str| serde_json::from_str::<RecordType>(json);
        assert_eq!(read("\"TYPE1\"").unwrap(), RecordType::A);
        assert_eq!(read("\"aaaa\"").unwrap(), RecordType::AAAA);
        for bad in ["\"TYPE\"", "\"TYPE65536\"", "\"TYPE-1\"", "\"NAPTR\"", "1"] {
            assert!(read(bad).is_err(), "{bad}");
        }
        let old = r#"{"name":"x.example.com.","type":"MX","ttl":60,
                      "rdata":[{"MX":{"preference":10,"exchange":"m.example.com."}}]}"#;
        let set: RecordSet = serde_json::from_str(old).unwrap();
        assert_eq!(set.rtype, RecordType::MX);
        let generic = RecordSet {
            rtype: RecordType::Unknown(731),
            rdata: vec![RData::Unknown {
                rtype: 731,
                data: vec![1, 2],
            }],
            ..set
        };
        let json = serde_json::to_string(&generic).unwrap();
        assert_eq!(serde_json::from_str::<RecordSet>(&json).unwrap(), generic);
    }

    /// `Unknown` data must not hide a structured or refused type.
    #[test]
    fn unknown_data_of_special_types_is_refused() {
        for (rtype, wanted) in [(1, "TYPE1 is A"), (39, "DNAME"), (250, "meta types")] {
            let mut errors = FieldErrors::default();
            RData::Unknown {
                rtype,
                data: vec![],
            }
            .validate("rdata[0]", &mut errors);
            let text = format!("{errors:?}");
            assert!(text.contains(wanted), "TYPE{rtype}: {text}");
        }
        let mut errors = FieldErrors::default();
        RData::Unknown {
            rtype: 731,
            data: vec![0; 10],
        }
        .validate("rdata[0]", &mut errors);
        assert!(errors.is_empty(), "{errors:?}");
    }
}
