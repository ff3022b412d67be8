//! Static record sets on the wire: `RecordSetDto`, whose data are presentation-format strings
//! (`"192.0.2.1"`, `"10 mail"`, `"0 issue \"ca.example.net\""`), and the hand conversion to
//! and from the model's structured `RData` (printed by its `Display`, the same presentation
//! format the zone file export writes).
//!
//! Names inside data and the owner name may be relative to the zone apex (as in a zone file):
//! `www` in zone `example.com.` is `www.example.com.`, `@` is the apex. Output is always
//! absolute.

use std::borrow::Cow;

use gslb_model::model::{DomainName, FieldErrors, RecordSet, RecordType};
use gslb_model::zonefile::parse_rdata;
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

/// A record type a static record set may hold: any of the model's `RecordType`s but SOA
/// (which is the zone's `soa`, not a record set), so the list is the model's
/// (`RecordType::ALL`) and a type added there is accepted here. Serialized as the mnemonic
/// (`"AAAA"`), or `"TYPEnnn"` for any other type, whose data is given in RFC 3597 generic
/// form (`"\\# 3 0A0B0C"`); its schema is written by hand below.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RecordTypeDto(RecordType);

impl RecordTypeDto {
    /// IPv4 address (the default query type of DNS checks).
    pub const A: RecordTypeDto = RecordTypeDto(RecordType::A);
    /// Name server (apex or delegation).
    pub const NS: RecordTypeDto = RecordTypeDto(RecordType::NS);

    /// The model's type.
    pub fn to_model(self) -> RecordType {
        self.0
    }

    /// The DTO for a model type; `None` for SOA, which is not a record set.
    pub fn from_model(rtype: RecordType) -> Option<RecordTypeDto> {
        (rtype != RecordType::SOA).then_some(RecordTypeDto(rtype))
    }

    /// Parses a mnemonic (`a`, `AAAA`) case-insensitively, or `TYPEnnn` (`TYPE1` is `A`).
    pub fn parse(text: &str) -> Option<RecordTypeDto> {
        RecordType::from_mnemonic(text).and_then(RecordTypeDto::from_model)
    }

    /// The mnemonics a record set may hold, in the model's order (`A, AAAA, ..., HTTPS`).
    fn mnemonics() -> String {
        RecordType::ALL
            .into_iter()
            .filter_map(RecordTypeDto::from_model)
            .map(|rtype| rtype.0.as_str().into_owned())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The mnemonic, as the API spells it (`AAAA`, `TYPE65280`).
impl std::fmt::Display for RecordTypeDto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl From<RecordTypeDto> for String {
    fn from(rtype: RecordTypeDto) -> String {
        rtype.to_string()
    }
}

impl TryFrom<String> for RecordTypeDto {
    type Error = String;

    fn try_from(text: String) -> Result<RecordTypeDto, String> {
        RecordTypeDto::parse(&text).ok_or_else(|| {
            format!(
                "unknown record type {text:?} ({} or TYPEnnn)",
                RecordTypeDto::mnemonics()
            )
        })
    }
}

impl PartialSchema for RecordTypeDto {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(format!(
                "A record type: {}, or TYPEnnn for any other type (RFC 3597), whose data is \
                 then \"\\\\# <length> <hex>\".",
                RecordTypeDto::mnemonics()
            )))
            .pattern(Some("^([A-Za-z][A-Za-z0-9]*|[Tt][Yy][Pp][Ee][0-9]{1,5})$"))
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
    /// The records in presentation format, at least one; identical records are merged into
    /// one, as a zone file import merges them.
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
        let mut parsed_all = true;
        for (index, text) in self.data.iter().enumerate() {
            match parse_rdata(rtype, text, apex) {
                // Identical records are merged, as a zone file import merges them.
                Ok(parsed) if rdata.contains(&parsed) => {}
                Ok(parsed) => rdata.push(parsed),
                Err(message) => {
                    parsed_all = false;
                    errors.push(format!("{prefix}data[{index}]"), message);
                }
            }
        }
        if self.data.is_empty() {
            errors.push(format!("{prefix}data"), "must hold at least one record");
        }
        let name = name?;
        parsed_all.then(|| RecordSet {
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
        check(
            RecordType::NAPTR,
            "100 10 S SIP+D2U \"!^.*$!sip:x@example.com!\" _sip._udp",
            "100 10 \"S\" \"SIP+D2U\" \"!^.*$!sip:x@example.com!\" _sip._udp.example.com.",
        );
        check(
            RecordType::DS,
            "60485 RSASHA1 1 2BB183AF 5F22",
            "60485 5 1 2BB183AF5F22",
        );
        check(RecordType::CDS, "0 0 0 00", "0 0 0 00");
        check(
            RecordType::DNSKEY,
            "257 3 13 AQID BA==",
            "257 3 13 AQIDBA==",
        );
        check(RecordType::CDNSKEY, "0 3 0 AA==", "0 3 0 AA==");
        check(RecordType::DNAME, "other.net.", "other.net.");
        check(
            RecordType::LOC,
            "42 21 54 N 71 06 18 W -24m 30m",
            "42 21 54.000 N 71 6 18.000 W -24.00m 30m 10000m 10m",
        );
        check(
            RecordType::URI,
            "10 1 \"ftp://ftp1.example.com/\"",
            "10 1 \"ftp://ftp1.example.com/\"",
        );
        check(
            RecordType::RP,
            "louie.trantor.umd.edu. .",
            "louie.trantor.umd.edu. .",
        );
        check(RecordType::CERT, "PGP 0 0 AQID", "PGP 0 0 AQID");
        check(RecordType::OPENPGPKEY, "AQID", "AQID");
        check(RecordType::EUI48, "00-00-5E-00-53-2A", "00-00-5e-00-53-2a");
        check(
            RecordType::EUI64,
            "00-00-5e-ef-10-00-00-2a",
            "00-00-5e-ef-10-00-00-2a",
        );
        check(
            RecordType::HTTPS,
            "1 . alpn=h3,h2 port=8443 ipv4hint=192.0.2.1,192.0.2.2 ech=AQID ipv6hint=2001:db8::1 mandatory=alpn,port",
            "1 . mandatory=alpn,port alpn=h3,h2 port=8443 ipv4hint=192.0.2.1,192.0.2.2 ech=AQID ipv6hint=2001:db8::1",
        );
        check(RecordType::SVCB, "0 svc", "0 svc.example.com.");
        check(
            RecordType::SVCB,
            r#"16 foo.example.org. alpn="f\\\\oo\\,bar,h2" no-default-alpn key65333=ex1"#,
            r#"16 foo.example.org. alpn=f\\\\oo\\,bar,h2 no-default-alpn key65333="ex1""#,
        );
        // The keys of RFC 9461, RFC 9540 and key 9; keyNNNNN values are wire octets.
        check(
            RecordType::HTTPS,
            r#"1 . tls-supported-groups=29,23 ohttp dohpath=/q{?dns} key1="\002h2""#,
            r#"1 . alpn=h2 dohpath="/q{?dns}" ohttp tls-supported-groups=29,23"#,
        );
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
                RecordType::Unknown(46),
                "\\# 0",
                "DNSSEC signature and denial records cannot be served",
            ),
            (RecordType::Unknown(41), "\\# 0", "OPT is a pseudo-record"),
        ] {
            let error = parse_rdata(rtype, text, &origin()).unwrap_err();
            assert!(error.contains(wanted), "{text:?}: {error}");
        }
        for (json, rtype) in [
            ("\"TYPE65280\"", RecordType::Unknown(65280)),
            ("\"MX\"", RecordType::MX),
        ] {
            let rtype = RecordTypeDto::from_model(rtype).unwrap();
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
            (
                RecordType::MX,
                "x mail",
                "bad MX preference \"x\" (must be 0-65535)",
            ),
            (RecordType::MX, "10", "missing exchange in the MX record"),
            (RecordType::TXT, "\"open", "unterminated"),
            (
                RecordType::CAA,
                "300 issue x",
                "bad CAA flags \"300\" (must be 0-255)",
            ),
            (
                RecordType::SSHFP,
                "4 2",
                "missing fingerprint in the SSHFP record",
            ),
            (
                RecordType::HINFO,
                "\"x86\"",
                "missing os in the HINFO record",
            ),
            (
                RecordType::A,
                "192.0.2.1 192.0.2.2",
                "unexpected \"192.0.2.2\"",
            ),
            (
                RecordType::TLSA,
                "3 1 1 xyz",
                "bad TLSA certificate association data \"xyz\"",
            ),
            (
                RecordType::TLSA,
                "3 1 256 ab",
                "bad TLSA matching type \"256\" (must be 0-255)",
            ),
            (RecordType::HTTPS, "1 . alpn=h2 alpn=h3", "given twice"),
            (
                RecordType::HTTPS,
                "1 . mandatory=port",
                "mandatory lists port",
            ),
            (RecordType::SVCB, "1 . port=x", "port must be 0-65535"),
            (RecordType::SVCB, "1 . key65535", "is reserved"),
            (RecordType::SVCB, "1 . key1=h2", "write alpn=... to give it"),
            (RecordType::LOC, "91 N 0 E 0m", "bad LOC data"),
            (RecordType::EUI48, "00-00-5e-00-53", "6 hex octets"),
        ] {
            let error = parse_rdata(rtype, text, &origin()).unwrap_err();
            assert!(error.contains(wanted), "{text:?}: {error}");
        }
        // A character-string over 255 octets, quoted or not, is refused, not split.
        let long = "x".repeat(256);
        for text in [long.clone(), format!("\"{long}\"")] {
            let error = parse_rdata(RecordType::TXT, &text, &origin()).unwrap_err();
            assert!(error.contains("TXT text is 256 octets"), "{error}");
        }
    }
}
