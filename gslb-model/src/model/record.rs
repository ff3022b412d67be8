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

use crate::model::base64_text;
use crate::model::loc::Loc;
use crate::model::name::DomainName;
use crate::model::svcb::{self, SvcParam};
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
    /// Mailbox domain name, experimental (RFC 1035 §3.3.3).
    MB,
    /// Mail group member, experimental (RFC 1035 §3.3.6).
    MG,
    /// Mail rename domain name, experimental (RFC 1035 §3.3.8).
    MR,
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
    /// Naming authority pointer (RFC 3403).
    NAPTR,
    /// Delegation signer, held by the parent at a delegation point (RFC 4034 §5).
    DS,
    /// Child DS, what the child wants its parent's DS to be (RFC 7344).
    CDS,
    /// A static DNSSEC public key (RFC 4034 §2).
    DNSKEY,
    /// Child DNSKEY (RFC 7344).
    CDNSKEY,
    /// Redirection of a whole subtree, answered by CNAME synthesis (RFC 6672).
    DNAME,
    /// Location (RFC 1876).
    LOC,
    /// Uniform resource identifier (RFC 7553).
    URI,
    /// Responsible person (RFC 1183).
    RP,
    /// Certificate (RFC 4398).
    CERT,
    /// OpenPGP public key for DANE (RFC 7929).
    OPENPGPKEY,
    /// 48-bit MAC address (RFC 7043).
    EUI48,
    /// 64-bit MAC address (RFC 7043).
    EUI64,
    /// Service binding (RFC 9460).
    SVCB,
    /// Service binding for HTTPS origins (RFC 9460).
    HTTPS,
    /// Start of authority; held by `Zone::soa`, never in `Zone::rrsets`.
    SOA,
    /// Any other type, by code, holding opaque data (RFC 3597); never the code of a type
    /// above (`from_code_any` makes sure).
    Unknown(u16),
}

impl RecordType {
    /// Every type, in a fixed order.
    pub const ALL: [RecordType; 33] = [
        RecordType::A,
        RecordType::AAAA,
        RecordType::CNAME,
        RecordType::MX,
        RecordType::TXT,
        RecordType::SRV,
        RecordType::CAA,
        RecordType::NS,
        RecordType::PTR,
        RecordType::MB,
        RecordType::MG,
        RecordType::MR,
        RecordType::SSHFP,
        RecordType::TLSA,
        RecordType::SMIMEA,
        RecordType::HINFO,
        RecordType::SPF,
        RecordType::NAPTR,
        RecordType::DS,
        RecordType::CDS,
        RecordType::DNSKEY,
        RecordType::CDNSKEY,
        RecordType::DNAME,
        RecordType::LOC,
        RecordType::URI,
        RecordType::RP,
        RecordType::CERT,
        RecordType::OPENPGPKEY,
        RecordType::EUI48,
        RecordType::EUI64,
        RecordType::SVCB,
        RecordType::HTTPS,
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
            RecordType::MB => 7,
            RecordType::MG => 8,
            RecordType::MR => 9,
            RecordType::MX => 15,
            RecordType::TXT => 16,
            RecordType::AAAA => 28,
            RecordType::SRV => 33,
            RecordType::SSHFP => 44,
            RecordType::TLSA => 52,
            RecordType::SMIMEA => 53,
            RecordType::HINFO => 13,
            RecordType::SPF => 99,
            RecordType::NAPTR => 35,
            RecordType::DS => 43,
            RecordType::CDS => 59,
            RecordType::DNSKEY => 48,
            RecordType::CDNSKEY => 60,
            RecordType::DNAME => 39,
            RecordType::LOC => 29,
            RecordType::URI => 256,
            RecordType::RP => 17,
            RecordType::CERT => 37,
            RecordType::OPENPGPKEY => 61,
            RecordType::EUI48 => 108,
            RecordType::EUI64 => 109,
            RecordType::SVCB => 64,
            RecordType::HTTPS => 65,
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
            RecordType::MB => "MB",
            RecordType::MG => "MG",
            RecordType::MR => "MR",
            RecordType::SSHFP => "SSHFP",
            RecordType::TLSA => "TLSA",
            RecordType::SMIMEA => "SMIMEA",
            RecordType::HINFO => "HINFO",
            RecordType::SPF => "SPF",
            RecordType::NAPTR => "NAPTR",
            RecordType::DS => "DS",
            RecordType::CDS => "CDS",
            RecordType::DNSKEY => "DNSKEY",
            RecordType::CDNSKEY => "CDNSKEY",
            RecordType::DNAME => "DNAME",
            RecordType::LOC => "LOC",
            RecordType::URI => "URI",
            RecordType::RP => "RP",
            RecordType::CERT => "CERT",
            RecordType::OPENPGPKEY => "OPENPGPKEY",
            RecordType::EUI48 => "EUI48",
            RecordType::EUI64 => "EUI64",
            RecordType::SVCB => "SVCB",
            RecordType::HTTPS => "HTTPS",
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
    /// A mailbox's host (experimental RFC 1035 type).
    MB(DomainName),
    /// A mailbox that is a member of the mail group named by the owner (experimental).
    MG(DomainName),
    /// The mailbox the owner's mailbox was renamed to (experimental).
    MR(DomainName),
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
    /// A naming authority pointer.
    NAPTR {
        /// Lower is processed first.
        order: u16,
        /// Lower is preferred among equal orders.
        preference: u16,
        /// Flags character-string (`S`, `A`, `U`, `P`).
        flags: Vec<u8>,
        /// Services character-string (`SIP+D2U`).
        services: Vec<u8>,
        /// Substitution expression character-string.
        regexp: Vec<u8>,
        /// The next name to query; `.` when the regexp is used.
        replacement: DomainName,
    },
    /// A delegation signer (at a delegation point, served by the parent).
    DS(DsData),
    /// A child delegation signer.
    CDS(DsData),
    /// A static DNSSEC public key.
    DNSKEY(DnskeyData),
    /// A child DNSKEY.
    CDNSKEY(DnskeyData),
    /// The target of a subtree redirection.
    DNAME(DomainName),
    /// A location.
    LOC(Loc),
    /// A URI.
    URI {
        /// Lower is tried first.
        priority: u16,
        /// Relative share among equal priorities.
        weight: u16,
        /// The URI octets (non-empty).
        target: Vec<u8>,
    },
    /// A responsible person.
    RP {
        /// The person's mailbox as a name (`.` for none).
        mailbox: DomainName,
        /// A name holding TXT records about the person (`.` for none).
        text: DomainName,
    },
    /// A certificate.
    CERT {
        /// Certificate type (1 PKIX, 2 SPKI, 3 PGP, ...).
        cert_type: u16,
        /// Key tag of the key the certificate is about.
        key_tag: u16,
        /// DNSSEC algorithm number.
        algorithm: u8,
        /// The certificate octets; printed as base64.
        certificate: Vec<u8>,
    },
    /// An OpenPGP transferable public key; printed as base64.
    OPENPGPKEY(Vec<u8>),
    /// A 48-bit MAC address.
    EUI48([u8; 6]),
    /// A 64-bit MAC address.
    EUI64([u8; 8]),
    /// A service binding.
    SVCB(SvcbData),
    /// A service binding for HTTPS.
    HTTPS(SvcbData),
    /// Data of any other type, kept as the octets of its wire RDATA (RFC 3597); printed as
    /// `\# <length> <hex>`.
    Unknown {
        /// The type code; never one of the structured types above.
        rtype: u16,
        /// The wire RDATA, at most 65535 octets.
        data: Vec<u8>,
    },
}

/// The fields DS and CDS share (RFC 4034 §5.1).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DsData {
    /// The key tag of the DNSKEY it points at (0 in a CDS delete request).
    pub key_tag: u16,
    /// That key's algorithm.
    pub algorithm: u8,
    /// How the digest was computed (1 SHA-1, 2 SHA-256, 4 SHA-384).
    pub digest_type: u8,
    /// The digest; printed as hex.
    pub digest: Vec<u8>,
}

/// The fields DNSKEY and CDNSKEY share (RFC 4034 §2.1).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DnskeyData {
    /// 256 zone key, 257 also secure entry point.
    pub flags: u16,
    /// Always 3.
    pub protocol: u8,
    /// The key's algorithm.
    pub algorithm: u8,
    /// The public key; printed as base64.
    pub public_key: Vec<u8>,
}

/// The fields SVCB and HTTPS share (RFC 9460 §2.2).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SvcbData {
    /// 0 is AliasMode, others ServiceMode (lower preferred).
    pub priority: u16,
    /// The alias or service host; `.` means the owner itself (ServiceMode) or none.
    pub target: DomainName,
    /// The SvcParams, in strictly increasing key order.
    pub params: Vec<SvcParam>,
}

impl RData {
    /// The name this data asks the server to add addresses for in the additional section
    /// (RFC 1035 §3.3.9, RFC 2782, RFC 9460 §4), if any; `.` is never one.
    pub fn additional_target(&self) -> Option<&DomainName> {
        let name = match self {
            RData::MX { exchange, .. } => exchange,
            RData::SRV { target, .. } => target,
            RData::NAPTR { replacement, .. } => replacement,
            RData::SVCB(data) | RData::HTTPS(data) => &data.target,
            _ => return None,
        };
        (!name.is_root()).then_some(name)
    }

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
            RData::CNAME(name)
            | RData::NS(name)
            | RData::PTR(name)
            | RData::MB(name)
            | RData::MG(name)
            | RData::MR(name) => self.name(f, name),
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
            RData::NAPTR {
                order,
                preference,
                flags,
                services,
                regexp,
                replacement,
            } => {
                write!(f, "{order} {preference} ")?;
                for string in [flags, services, regexp] {
                    write_quoted(f, string)?;
                    f.write_str(" ")?;
                }
                self.name(f, replacement)
            }
            RData::DS(ds) | RData::CDS(ds) => write!(
                f,
                "{} {} {} {}",
                ds.key_tag,
                ds.algorithm,
                ds.digest_type,
                hex::encode_upper(&ds.digest)
            ),
            RData::DNSKEY(key) | RData::CDNSKEY(key) => write!(
                f,
                "{} {} {} {}",
                key.flags,
                key.protocol,
                key.algorithm,
                base64_text::encode(&key.public_key)
            ),
            RData::DNAME(name) => self.name(f, name),
            RData::LOC(loc) => write!(f, "{loc}"),
            RData::URI {
                priority,
                weight,
                target,
            } => {
                write!(f, "{priority} {weight} ")?;
                write_quoted(f, target)
            }
            RData::RP { mailbox, text } => {
                self.name(f, mailbox)?;
                f.write_str(" ")?;
                self.name(f, text)
            }
            RData::CERT {
                cert_type,
                key_tag,
                algorithm,
                certificate,
            } => {
                match cert_type_name(*cert_type) {
                    Some(name) => f.write_str(name)?,
                    None => write!(f, "{cert_type}")?,
                }
                write!(
                    f,
                    " {key_tag} {algorithm} {}",
                    base64_text::encode(certificate)
                )
            }
            RData::OPENPGPKEY(key) => f.write_str(&base64_text::encode(key)),
            RData::EUI48(octets) => write_eui(f, octets),
            RData::EUI64(octets) => write_eui(f, octets),
            RData::SVCB(data) | RData::HTTPS(data) => {
                write!(f, "{} ", data.priority)?;
                self.name(f, &data.target)?;
                for param in &data.params {
                    f.write_str(" ")?;
                    svcb::write_param(f, param)?;
                }
                Ok(())
            }
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

/// The CERT type mnemonics of RFC 4398 §2.1.
const CERT_TYPES: [(u16, &str); 10] = [
    (1, "PKIX"),
    (2, "SPKI"),
    (3, "PGP"),
    (4, "IPKIX"),
    (5, "ISPKI"),
    (6, "IPGP"),
    (7, "ACPKIX"),
    (8, "IACPKIX"),
    (253, "URI"),
    (254, "OID"),
];

/// The mnemonic of a CERT type, if it has one.
pub fn cert_type_name(code: u16) -> Option<&'static str> {
    CERT_TYPES
        .iter()
        .find(|(known, _)| *known == code)
        .map(|(_, name)| *name)
}

/// The CERT type for a mnemonic (case-insensitive) or a number.
pub fn cert_type_from_text(text: &str) -> Option<u16> {
    CERT_TYPES
        .iter()
        .find(|(_, name)| name.eq_ignore_ascii_case(text))
        .map(|(code, _)| *code)
        .or_else(|| text.parse().ok())
}

/// Hex octets joined by hyphens, as RFC 7043 §3.2 writes EUI48 and EUI64.
fn write_eui(f: &mut fmt::Formatter<'_>, octets: &[u8]) -> fmt::Result {
    for (index, octet) in octets.iter().enumerate() {
        if index > 0 {
            f.write_str("-")?;
        }
        write!(f, "{octet:02x}")?;
    }
    Ok(())
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
            RData::MB(_) => RecordType::MB,
            RData::MG(_) => RecordType::MG,
            RData::MR(_) => RecordType::MR,
            RData::SSHFP { .. } => RecordType::SSHFP,
            RData::TLSA { .. } => RecordType::TLSA,
            RData::SMIMEA { .. } => RecordType::SMIMEA,
            RData::HINFO { .. } => RecordType::HINFO,
            RData::SPF(_) => RecordType::SPF,
            RData::NAPTR { .. } => RecordType::NAPTR,
            RData::DS(_) => RecordType::DS,
            RData::CDS(_) => RecordType::CDS,
            RData::DNSKEY(_) => RecordType::DNSKEY,
            RData::CDNSKEY(_) => RecordType::CDNSKEY,
            RData::DNAME(_) => RecordType::DNAME,
            RData::LOC(_) => RecordType::LOC,
            RData::URI { .. } => RecordType::URI,
            RData::RP { .. } => RecordType::RP,
            RData::CERT { .. } => RecordType::CERT,
            RData::OPENPGPKEY(_) => RecordType::OPENPGPKEY,
            RData::EUI48(_) => RecordType::EUI48,
            RData::EUI64(_) => RecordType::EUI64,
            RData::SVCB(_) => RecordType::SVCB,
            RData::HTTPS(_) => RecordType::HTTPS,
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
            RData::NAPTR {
                flags,
                services,
                regexp,
                ..
            } => {
                for (field, value) in [("flags", flags), ("services", services), ("regexp", regexp)]
                {
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
            RData::DS(ds) | RData::CDS(ds) if ds.digest.is_empty() => {
                errors.push(format!("{path}.digest"), "must not be empty");
            }
            // As the presentation reader requires: a key read in RFC 3597 form must print
            // as text that reads back.
            RData::DNSKEY(key) | RData::CDNSKEY(key) if key.public_key.is_empty() => {
                errors.push(format!("{path}.public_key"), "must not be empty");
            }
            RData::URI { target, .. } if target.is_empty() => {
                errors.push(
                    format!("{path}.target"),
                    "must not be empty (RFC 7553 §4.4)",
                );
            }
            RData::SVCB(data) | RData::HTTPS(data) => {
                if let Err(message) = svcb::check_params(&data.params) {
                    errors.push(format!("{path}.params"), message);
                }
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
    #[serde(deserialize_with = "rdata_without_spare_room")]
    pub rdata: Vec<RData>,
}

/// Reads a set's records into a `Vec` of exactly their number. serde gives no length hint
/// for a JSON array, so a growing `Vec` kept room for four records in a one-record set: a
/// million sets loaded from a snapshot or a staged chunk held ~200 MB of that spare room.
fn rdata_without_spare_room<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<RData>, D::Error> {
    let mut rdata = Vec::<RData>::deserialize(deserializer)?;
    rdata.shrink_to_fit();
    Ok(rdata)
}

/// Why `code` cannot be stored as opaque data, or `None` when it can.
///
/// Refused: 0 and 65535 (reserved, RFC 6895 §3.1); SOA (6, the zone's `soa` field); SIG (24),
/// NXT (30), RRSIG (46), NSEC (47), NSEC3 (50) and NSEC3PARAM (51), which claim the zone is
/// signed while gslb's answers change with health and no signature of ours would cover them,
/// so validating resolvers would turn every answer bogus; OPT (41), a
/// pseudo-record that lives only in messages (RFC 6891 §6.1.1); and 128-255, the query and
/// meta types (TKEY, TSIG, IXFR, AXFR, ANY, ...; RFC 6895 §3.1), which are never zone data.
pub fn generic_refusal(code: u16) -> Option<&'static str> {
    Some(match code {
        0 | 65535 => "type code is reserved (RFC 6895)",
        6 => "SOA is held by the zone's soa field; write it in its usual form",
        24 | 30 | 46 | 47 | 50 | 51 => {
            "DNSSEC signature and denial records cannot be served: gslb's answers change with \
             health, so a static signature would make validating resolvers reject them"
        }
        41 => "OPT is a pseudo-record of a message (RFC 6891), not zone data",
        128..=255 => "query and meta types (RFC 6895 §3.1) are not zone data",
        _ => return None,
    })
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
        for bad in ["\"TYPE\"", "\"TYPE65536\"", "\"TYPE-1\"", "\"NAPTRX\"", "1"] {
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

    /// A set read from JSON (a snapshot, a log entry) holds its records without spare room.
    #[test]
    fn a_deserialized_set_holds_exactly_its_records() {
        let one = r#"{"name":"x.example.com.","type":"MX","ttl":60,
                      "rdata":[{"MX":{"preference":10,"exchange":"m.example.com."}}]}"#;
        let set: RecordSet = serde_json::from_str(one).unwrap();
        assert_eq!((set.rdata.len(), set.rdata.capacity()), (1, 1));
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
