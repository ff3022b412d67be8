//! Static record sets on the wire: `RecordSetDto`, whose data are presentation-format strings
//! (`"192.0.2.1"`, `"10 mail"`, `"0 issue \"ca.example.net\""`), and the hand conversion to
//! and from the model's structured `RData` (printed by its `Display`, the same presentation
//! format the zone file export writes).
//!
//! Names inside data and the owner name may be relative to the zone apex (as in a zone file):
//! `www` in zone `example.com.` is `www.example.com.`, `@` is the apex. Output is always
//! absolute.

use std::borrow::Cow;

use gslb_model::model::generic::parse_generic;
use gslb_model::model::{DomainName, FieldErrors, RData, RecordSet, RecordType};
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

/// The record types a static record set may hold. Serialized as the mnemonic (`"AAAA"`), or
/// `"TYPEnnn"` for any other type, whose data is given in RFC 3597 generic form
/// (`"\\# 3 0A0B0C"`); its schema is written by hand below.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
#[allow(clippy::upper_case_acronyms)]
pub enum RecordTypeDto {
    /// IPv4 address.
    A,
    /// IPv6 address.
    AAAA,
    /// Alias; alone at its name.
    CNAME,
    /// Mail exchange: `"<preference> <exchange>"`.
    MX,
    /// Text: one or more quoted strings, or one unquoted string.
    TXT,
    /// Service: `"<priority> <weight> <port> <target>"`.
    SRV,
    /// CA authorization: `"<flags> <tag> \"<value>\""`.
    CAA,
    /// Name server (apex or delegation).
    NS,
    /// Pointer.
    PTR,
    /// SSH fingerprint: `"<algorithm> <type> <hex>"`.
    SSHFP,
    /// DANE TLS association: `"<usage> <selector> <matching type> <hex>"`.
    TLSA,
    /// S/MIME association, as TLSA.
    SMIMEA,
    /// Host information: `"\"<cpu>\" \"<os>\""`.
    HINFO,
    /// Sender policy, as TXT.
    SPF,
    /// Any other type by code (`TYPE65280`), data as `"\\# <length> <hex>"` (RFC 3597).
    Unknown(u16),
}

impl RecordTypeDto {
    /// The model's type.
    pub fn to_model(self) -> RecordType {
        match self {
            RecordTypeDto::A => RecordType::A,
            RecordTypeDto::AAAA => RecordType::AAAA,
            RecordTypeDto::CNAME => RecordType::CNAME,
            RecordTypeDto::MX => RecordType::MX,
            RecordTypeDto::TXT => RecordType::TXT,
            RecordTypeDto::SRV => RecordType::SRV,
            RecordTypeDto::CAA => RecordType::CAA,
            RecordTypeDto::NS => RecordType::NS,
            RecordTypeDto::PTR => RecordType::PTR,
            RecordTypeDto::SSHFP => RecordType::SSHFP,
            RecordTypeDto::TLSA => RecordType::TLSA,
            RecordTypeDto::SMIMEA => RecordType::SMIMEA,
            RecordTypeDto::HINFO => RecordType::HINFO,
            RecordTypeDto::SPF => RecordType::SPF,
            RecordTypeDto::Unknown(code) => RecordType::Unknown(code),
        }
    }

    /// The DTO for a model type; `None` for SOA, which is not a record set.
    pub fn from_model(rtype: RecordType) -> Option<RecordTypeDto> {
        Some(match rtype {
            RecordType::A => RecordTypeDto::A,
            RecordType::AAAA => RecordTypeDto::AAAA,
            RecordType::CNAME => RecordTypeDto::CNAME,
            RecordType::MX => RecordTypeDto::MX,
            RecordType::TXT => RecordTypeDto::TXT,
            RecordType::SRV => RecordTypeDto::SRV,
            RecordType::CAA => RecordTypeDto::CAA,
            RecordType::NS => RecordTypeDto::NS,
            RecordType::PTR => RecordTypeDto::PTR,
            RecordType::SSHFP => RecordTypeDto::SSHFP,
            RecordType::TLSA => RecordTypeDto::TLSA,
            RecordType::SMIMEA => RecordTypeDto::SMIMEA,
            RecordType::HINFO => RecordTypeDto::HINFO,
            RecordType::SPF => RecordTypeDto::SPF,
            RecordType::Unknown(code) => RecordTypeDto::Unknown(code),
            RecordType::SOA => return None,
        })
    }

    /// Parses a mnemonic (`a`, `AAAA`) case-insensitively, or `TYPEnnn` (`TYPE1` is `A`).
    pub fn parse(text: &str) -> Option<RecordTypeDto> {
        RecordType::from_mnemonic(text).and_then(RecordTypeDto::from_model)
    }
}

impl From<RecordTypeDto> for String {
    fn from(rtype: RecordTypeDto) -> String {
        rtype.to_model().as_str().into_owned()
    }
}

impl TryFrom<String> for RecordTypeDto {
    type Error = String;

    fn try_from(text: String) -> Result<RecordTypeDto, String> {
        RecordTypeDto::parse(&text).ok_or_else(|| {
            format!(
                "unknown record type {text:?} (A, AAAA, CNAME, MX, TXT, SRV, CAA, NS, PTR, \
                 SSHFP, TLSA, SMIMEA, HINFO, SPF or TYPEnnn)"
            )
        })
    }
}

impl PartialSchema for RecordTypeDto {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "A record type: A, AAAA, CNAME, MX, TXT, SRV, CAA, NS, PTR, SSHFP, TLSA, SMIMEA, HINFO, SPF, or TYPEnnn for any \
                 other type (RFC 3597), whose data is then \"\\\\# <length> <hex>\".",
            ))
            .pattern(Some("^([A-Za-z]+|[Tt][Yy][Pp][Ee][0-9]{1,5})$"))
            .examples(["AAAA", "TYPE65280"])
            .into()
    }
}

impl ToSchema for RecordTypeDto {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("RecordTypeDto")
    }
}

/// One static record set: every record of one owner name and type, sharing one TTL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordSetDto {
    /// Owner name: absolute (`www.example.com.`), relative to the zone (`www`), or `@`.
    pub name: String,
    /// The record type.
    #[serde(rename = "type")]
    pub rtype: RecordTypeDto,
    /// TTL in seconds; the zone's default TTL when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u32>,
    /// The records in presentation format, at least one.
    #[schema(min_items = 1)]
    pub data: Vec<String>,
}

impl RecordSetDto {
    /// Converts to the model inside zone `apex`, reporting faults under `path` (`""` at the
    /// top of a body, `records[3]` inside a zone).
    pub fn to_model(
        &self,
        apex: &DomainName,
        default_ttl: u32,
        path: &str,
        errors: &mut FieldErrors,
    ) -> Option<RecordSet> {
        let prefix = if path.is_empty() {
            String::new()
        } else {
            format!("{path}.")
        };
        let name = match DomainName::parse_relative_to(&self.name, apex) {
            Ok(name) => Some(name),
            Err(error) => {
                errors.push(format!("{prefix}name"), error.to_string());
                None
            }
        };
        let rtype = self.rtype.to_model();
        let mut rdata = Vec::with_capacity(self.data.len());
        for (index, text) in self.data.iter().enumerate() {
            match parse_rdata(rtype, text, apex) {
                Ok(parsed) => rdata.push(parsed),
                Err(message) => errors.push(format!("{prefix}data[{index}]"), message),
            }
        }
        if self.data.is_empty() {
            errors.push(format!("{prefix}data"), "must hold at least one record");
        }
        let name = name?;
        (rdata.len() == self.data.len()).then(|| RecordSet {
            name,
            rtype,
            ttl: self.ttl.unwrap_or(default_ttl),
            rdata,
        })
    }

    /// The DTO of a model set (absolute names); `None` for a set the API cannot show (SOA).
    pub fn from_model(set: &RecordSet) -> Option<RecordSetDto> {
        Some(RecordSetDto {
            name: set.name.to_string(),
            rtype: RecordTypeDto::from_model(set.rtype)?,
            ttl: Some(set.ttl),
            data: set.rdata.iter().map(ToString::to_string).collect(),
        })
    }
}

/// Parses one record's data of type `rtype` in presentation format; names may be relative to
/// `origin`. The error names the value.
pub fn parse_rdata(rtype: RecordType, text: &str, origin: &DomainName) -> Result<RData, String> {
    let name = |field: &str| {
        DomainName::parse_relative_to(field, origin)
            .map_err(|error| format!("bad name {field:?}: {error}"))
    };
    let number = |field: Option<&str>, what: &str| -> Result<u16, String> {
        let field = field.ok_or_else(|| format!("missing {what} in {text:?}"))?;
        field
            .parse::<u16>()
            .map_err(|_| format!("{what} must be 0-65535, got {field:?}"))
    };
    let fields: Vec<&str> = text.split_whitespace().collect();
    if fields.first() == Some(&"\\#") {
        return parse_generic(rtype, &fields[1..]);
    }
    let expect_fields = |count: usize, shape: &str| {
        if fields.len() == count {
            Ok(())
        } else {
            Err(format!("expected {shape}, got {text:?}"))
        }
    };
    match rtype {
        RecordType::A => text
            .trim()
            .parse()
            .map(RData::A)
            .map_err(|_| format!("bad IPv4 address {text:?}")),
        RecordType::AAAA => text
            .trim()
            .parse()
            .map(RData::AAAA)
            .map_err(|_| format!("bad IPv6 address {text:?}")),
        RecordType::CNAME | RecordType::NS | RecordType::PTR => {
            expect_fields(1, "one name")?;
            let target = name(fields[0])?;
            Ok(match rtype {
                RecordType::CNAME => RData::CNAME(target),
                RecordType::NS => RData::NS(target),
                _ => RData::PTR(target),
            })
        }
        RecordType::MX => {
            expect_fields(2, "\"<preference> <exchange>\"")?;
            Ok(RData::MX {
                preference: number(fields.first().copied(), "preference")?,
                exchange: name(fields[1])?,
            })
        }
        RecordType::SRV => {
            expect_fields(4, "\"<priority> <weight> <port> <target>\"")?;
            Ok(RData::SRV {
                priority: number(Some(fields[0]), "priority")?,
                weight: number(Some(fields[1]), "weight")?,
                port: number(Some(fields[2]), "port")?,
                target: name(fields[3])?,
            })
        }
        RecordType::CAA => {
            let mut parts = text.trim().splitn(3, char::is_whitespace);
            let flags = parts.next().unwrap_or_default();
            let tag = parts.next().unwrap_or_default();
            let value = parts.next().unwrap_or_default().trim();
            let flags = flags
                .parse::<u8>()
                .map_err(|_| format!("flags must be 0-255, got {flags:?}"))?;
            if tag.is_empty() || value.is_empty() {
                return Err(format!(
                    "expected \"<flags> <tag> \\\"<value>\\\"\", got {text:?}"
                ));
            }
            let value = if value.starts_with('"') {
                let strings = parse_quoted(value)?;
                if strings.len() != 1 {
                    return Err(format!("a CAA value is one string, got {value:?}"));
                }
                strings.into_iter().next().unwrap_or_default()
            } else {
                value.as_bytes().to_vec()
            };
            Ok(RData::CAA {
                flags,
                tag: tag.to_string(),
                value,
            })
        }
        RecordType::TXT | RecordType::SPF => {
            let trimmed = text.trim();
            let strings = if trimmed.starts_with('"') {
                parse_quoted(trimmed)?
            } else {
                vec![text.as_bytes().to_vec()]
            };
            Ok(if rtype == RecordType::SPF {
                RData::SPF(strings)
            } else {
                RData::TXT(strings)
            })
        }
        RecordType::SSHFP => {
            let numbers = octets(&fields, 2, "\"<algorithm> <fingerprint type> <hex>\"")?;
            Ok(RData::SSHFP {
                algorithm: numbers.0[0],
                fingerprint_type: numbers.0[1],
                fingerprint: numbers.1,
            })
        }
        RecordType::TLSA | RecordType::SMIMEA => {
            let numbers = octets(
                &fields,
                3,
                "\"<usage> <selector> <matching type> <hex>\"",
            )?;
            let (usage, selector, matching_type) = (numbers.0[0], numbers.0[1], numbers.0[2]);
            let data = numbers.1;
            Ok(if rtype == RecordType::TLSA {
                RData::TLSA {
                    usage,
                    selector,
                    matching_type,
                    data,
                }
            } else {
                RData::SMIMEA {
                    usage,
                    selector,
                    matching_type,
                    data,
                }
            })
        }
        RecordType::HINFO => {
            let strings = parse_quoted(text.trim())?;
            match <[Vec<u8>; 2]>::try_from(strings) {
                Ok([cpu, os]) => Ok(RData::HINFO { cpu, os }),
                Err(_) => Err(format!("expected \"\\\"<cpu>\\\" \\\"<os>\\\"\", got {text:?}")),
            }
        }
        RecordType::SOA => Err("SOA is the zone's soa field, not a record set".to_string()),
        RecordType::Unknown(code) => Err(format!(
            "TYPE{code} data must be in RFC 3597 generic form \"\\\\# <length> <hex>\", got {text:?}"
        )),
    }
}

/// Reads `count` leading octet fields and the hex after them (blanks may split it).
fn octets(fields: &[&str], count: usize, shape: &str) -> Result<(Vec<u8>, Vec<u8>), String> {
    if fields.len() <= count {
        return Err(format!("expected {shape}, got {:?}", fields.join(" ")));
    }
    let numbers = fields[..count]
        .iter()
        .map(|field| {
            field
                .parse::<u8>()
                .map_err(|_| format!("{shape}: numbers must be 0-255, got {field:?}"))
        })
        .collect::<Result<Vec<u8>, String>>()?;
    let hex_text = fields[count..].concat();
    let data = hex::decode(&hex_text)
        .map_err(|_| format!("{shape}: bad hexadecimal data {hex_text:?}"))?;
    Ok((numbers, data))
}

/// Parses one or more `"..."` strings separated by blanks, with `\"`, `\\` and `\DDD`.
fn parse_quoted(text: &str) -> Result<Vec<Vec<u8>>, String> {
    let bytes = text.as_bytes();
    let mut strings = Vec::new();
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b' ' | b'\t' => index += 1,
            b'"' => {
                index += 1;
                let mut current = Vec::new();
                loop {
                    match bytes.get(index) {
                        None => return Err(format!("unterminated quoted string in {text:?}")),
                        Some(b'"') => {
                            index += 1;
                            break;
                        }
                        Some(b'\\') => {
                            let rest = &bytes[index + 1..];
                            if rest.len() >= 3 && rest[..3].iter().all(u8::is_ascii_digit) {
                                let value = u32::from(rest[0] - b'0') * 100
                                    + u32::from(rest[1] - b'0') * 10
                                    + u32::from(rest[2] - b'0');
                                let byte = u8::try_from(value)
                                    .map_err(|_| format!("bad escape \\{value} in {text:?}"))?;
                                current.push(byte);
                                index += 4;
                            } else if let Some(&next) = rest.first() {
                                current.push(next);
                                index += 2;
                            } else {
                                return Err(format!("bad escape at the end of {text:?}"));
                            }
                        }
                        Some(&byte) => {
                            current.push(byte);
                            index += 1;
                        }
                    }
                }
                strings.push(current);
            }
            _ => return Err(format!("expected quoted strings, got {text:?}")),
        }
    }
    Ok(strings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> DomainName {
        DomainName::parse_absolute("example.com.").unwrap()
    }

    fn check(rtype: RecordType, text: &str, rendered: &str) {
        let parsed = parse_rdata(rtype, text, &origin()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(parsed.to_string(), rendered);
        let again = parse_rdata(rtype, rendered, &origin()).unwrap();
        assert_eq!(again, parsed, "round trip of {rendered:?}");
    }

    #[test]
    fn every_type_round_trips() {
        check(RecordType::A, "192.0.2.1", "192.0.2.1");
        check(RecordType::AAAA, "2001:db8::1", "2001:db8::1");
        check(RecordType::CNAME, "www", "www.example.com.");
        check(RecordType::NS, "ns1.example.net.", "ns1.example.net.");
        check(RecordType::MX, "10 mail", "10 mail.example.com.");
        check(RecordType::SRV, "1 2 443 web", "1 2 443 web.example.com.");
        check(RecordType::CAA, "0 issue \"ca.net\"", "0 issue \"ca.net\"");
        check(RecordType::TXT, "hello world", "\"hello world\"");
        check(
            RecordType::TXT,
            "\"a\\\"b\" \"c\\255\"",
            "\"a\\\"b\" \"c\\255\"",
        );
        check(RecordType::PTR, "@", "example.com.");
        check(RecordType::SSHFP, "4 2 ab CD", "4 2 ABCD");
        check(RecordType::TLSA, "3 1 1 0a0b", "3 1 1 0A0B");
        check(RecordType::SMIMEA, "3 0 1 0a0b", "3 0 1 0A0B");
        check(RecordType::HINFO, "\"x86\" \"linux\"", "\"x86\" \"linux\"");
        check(RecordType::SPF, "v=spf1 -all", "\"v=spf1 -all\"");
    }

    /// RFC 3597: `TYPEnnn` types with `\\# len hex` data, the same text the zone file takes;
    /// a structured type in generic form reads as that type; bad or refused data is named.
    #[test]
    fn generic_data_and_types() {
        check(RecordType::Unknown(65280), "\\# 3 0a0b0c", "\\# 3 0A0B0C");
        check(RecordType::Unknown(65280), "\\# 0", "\\# 0");
        check(RecordType::A, "\\# 4 c0 00 02 01", "192.0.2.1");
        for (rtype, text, wanted) in [
            (
                RecordType::Unknown(65280),
                "0a0b0c",
                "must be in RFC 3597 generic form",
            ),
            (RecordType::Unknown(65280), "\\# 2 0a0b0c", "says 2 octets"),
            (
                RecordType::Unknown(39),
                "\\# 0",
                "DNAME needs answer synthesis",
            ),
            (RecordType::Unknown(41), "\\# 0", "OPT is a pseudo-record"),
        ] {
            let error = parse_rdata(rtype, text, &origin()).unwrap_err();
            assert!(error.contains(wanted), "{text:?}: {error}");
        }
        for (json, rtype) in [
            ("\"TYPE65280\"", RecordTypeDto::Unknown(65280)),
            ("\"MX\"", RecordTypeDto::MX),
        ] {
            assert_eq!(serde_json::from_str::<RecordTypeDto>(json).unwrap(), rtype);
            assert_eq!(serde_json::to_string(&rtype).unwrap(), json);
        }
        assert_eq!(
            serde_json::from_str::<RecordTypeDto>("\"type1\"").unwrap(),
            RecordTypeDto::A
        );
        let error = serde_json::from_str::<RecordTypeDto>("\"SOA\"").unwrap_err();
        assert!(
            error.to_string().contains("unknown record type \"SOA\""),
            "{error}"
        );
        let dto: RecordSetDto =
            serde_json::from_str(r#"{"name": "g", "type": "TYPE65280", "data": ["\\# 2 0102"]}"#)
                .unwrap();
        let mut errors = FieldErrors::default();
        let set = dto.to_model(&origin(), 300, "", &mut errors).unwrap();
        assert_eq!(set.rtype, RecordType::Unknown(65280));
        assert_eq!(
            RecordSetDto::from_model(&set).unwrap(),
            RecordSetDto {
                name: "g.example.com.".to_string(),
                ttl: Some(300),
                ..dto
            }
        );
    }

    #[test]
    fn bad_data_is_named() {
        for (rtype, text, wanted) in [
            (RecordType::A, "10.0.0.300", "bad IPv4 address"),
            (RecordType::AAAA, "10.0.0.1", "bad IPv6 address"),
            (RecordType::MX, "x mail", "preference must be 0-65535"),
            (RecordType::MX, "10", "expected"),
            (RecordType::TXT, "\"open", "unterminated"),
            (RecordType::CAA, "300 issue x", "flags must be 0-255"),
            (RecordType::SSHFP, "4 2", "expected \"<algorithm>"),
            (RecordType::HINFO, "\"x86\"", "expected \"\\\"<cpu>"),
            (
                RecordType::TLSA,
                "3 1 1 xyz",
                "bad hexadecimal data \"xyz\"",
            ),
            (
                RecordType::TLSA,
                "3 1 256 ab",
                "numbers must be 0-255, got \"256\"",
            ),
        ] {
            let error = parse_rdata(rtype, text, &origin()).unwrap_err();
            assert!(error.contains(wanted), "{text:?}: {error}");
        }
    }
}
