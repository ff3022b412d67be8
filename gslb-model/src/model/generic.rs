//! RFC 3597 generic records: the `\# <length> <hex>` presentation format, and decoding
//! generic data of a type we keep structured (the types refused in that form are
//! `record::generic_refusal`'s, beside `RecordType`).
//!
//! Any type code may be written `TYPEnnn \# len hex`. A type we store structured (A, MX, ...)
//! given that way is decoded into its usual `RData` (RFC 3597 §5), so it is exported and
//! answered exactly like the same record written normally. Any other type is kept as opaque
//! octets (`RData::Unknown`) and answered as is, except the types in [`generic_refusal`],
//! whose meaning the server would have to act on.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::model::loc::Loc;
use crate::model::name::DomainName;
use crate::model::record::{generic_refusal, DnskeyData, DsData, RData, RecordType, SvcbData};
use crate::model::svcb::{self, SvcParam};

/// Parses generic RDATA of type `rtype` from the fields after `\#` (`["4", "C0000201"]`;
/// the hex may be split over several fields). Returns the decoded typed data for a type we
/// keep structured, opaque data otherwise. The error names the field and value.
pub fn parse_generic(rtype: RecordType, fields: &[&str]) -> Result<RData, String> {
    let Some((length, hex_fields)) = fields.split_first() else {
        return Err("missing RDATA length after \\#".to_string());
    };
    let length: usize = length
        .parse::<u16>()
        .map_err(|_| format!("RDATA length after \\# must be 0-65535, got {length:?}"))?
        .into();
    let hex_text: String = hex_fields.concat();
    let data = hex::decode(&hex_text)
        .map_err(|_| format!("RDATA after \\# must be hexadecimal octets, got {hex_text:?}"))?;
    if data.len() != length {
        return Err(format!(
            "RDATA length after \\# says {length} octets, the hex holds {}",
            data.len()
        ));
    }
    from_wire(rtype, data)
}

/// Builds the data of one record of type `rtype` from its wire RDATA (names uncompressed).
pub fn from_wire(rtype: RecordType, data: Vec<u8>) -> Result<RData, String> {
    let code = rtype.code();
    if let Some(reason) = generic_refusal(code) {
        return Err(format!("{rtype} in generic form is refused: {reason}"));
    }
    let mut reader = WireReader {
        rtype,
        data: &data,
        pos: 0,
    };
    let rdata = match rtype {
        RecordType::Unknown(rtype) => return Ok(RData::Unknown { rtype, data }),
        RecordType::SOA => unreachable!("SOA is refused above"),
        RecordType::A => RData::A(Ipv4Addr::from(reader.array::<4>("address")?)),
        RecordType::AAAA => RData::AAAA(Ipv6Addr::from(reader.array::<16>("address")?)),
        RecordType::CNAME => RData::CNAME(reader.name("target")?),
        RecordType::NS => RData::NS(reader.name("name server")?),
        RecordType::PTR => RData::PTR(reader.name("target")?),
        RecordType::MB => RData::MB(reader.name("mailbox host")?),
        RecordType::MG => RData::MG(reader.name("mailbox")?),
        RecordType::MR => RData::MR(reader.name("mailbox")?),
        RecordType::MX => RData::MX {
            preference: reader.u16("preference")?,
            exchange: reader.name("exchange")?,
        },
        RecordType::SRV => RData::SRV {
            priority: reader.u16("priority")?,
            weight: reader.u16("weight")?,
            port: reader.u16("port")?,
            target: reader.name("target")?,
        },
        RecordType::TXT | RecordType::SPF => {
            let mut strings = Vec::new();
            while reader.pos < data.len() || strings.is_empty() {
                strings.push(reader.string("character-string")?);
            }
            if rtype == RecordType::SPF {
                RData::SPF(strings)
            } else {
                RData::TXT(strings)
            }
        }
        RecordType::HINFO => RData::HINFO {
            cpu: reader.string("cpu")?,
            os: reader.string("os")?,
        },
        RecordType::SMIMEA => RData::SMIMEA {
            usage: reader.array::<1>("usage")?[0],
            selector: reader.array::<1>("selector")?[0],
            matching_type: reader.array::<1>("matching type")?[0],
            data: reader.rest(),
        },
        RecordType::CAA => {
            let flags = reader.array::<1>("flags")?[0];
            let tag = String::from_utf8(reader.string("tag")?)
                .map_err(|_| "CAA tag in generic form is not ASCII".to_string())?;
            let value = data[reader.pos..].to_vec();
            reader.pos = data.len();
            RData::CAA { flags, tag, value }
        }
        RecordType::SSHFP => RData::SSHFP {
            algorithm: reader.array::<1>("algorithm")?[0],
            fingerprint_type: reader.array::<1>("fingerprint type")?[0],
            fingerprint: reader.rest(),
        },
        RecordType::NAPTR => RData::NAPTR {
            order: reader.u16("order")?,
            preference: reader.u16("preference")?,
            flags: reader.string("flags")?,
            services: reader.string("services")?,
            regexp: reader.string("regexp")?,
            replacement: reader.name("replacement")?,
        },
        RecordType::DS | RecordType::CDS => {
            let ds = DsData {
                key_tag: reader.u16("key tag")?,
                algorithm: reader.array::<1>("algorithm")?[0],
                digest_type: reader.array::<1>("digest type")?[0],
                digest: reader.rest(),
            };
            if rtype == RecordType::DS {
                RData::DS(ds)
            } else {
                RData::CDS(ds)
            }
        }
        RecordType::DNSKEY | RecordType::CDNSKEY => {
            let key = DnskeyData {
                flags: reader.u16("flags")?,
                protocol: reader.array::<1>("protocol")?[0],
                algorithm: reader.array::<1>("algorithm")?[0],
                public_key: reader.rest(),
            };
            if rtype == RecordType::DNSKEY {
                RData::DNSKEY(key)
            } else {
                RData::CDNSKEY(key)
            }
        }
        RecordType::DNAME => RData::DNAME(reader.name("target")?),
        RecordType::LOC => RData::LOC(Loc::from_wire(&reader.rest()).ok_or_else(|| {
            "LOC RDATA in generic form must be 16 octets of version 0".to_string()
        })?),
        RecordType::URI => RData::URI {
            priority: reader.u16("priority")?,
            weight: reader.u16("weight")?,
            target: reader.rest(),
        },
        RecordType::RP => RData::RP {
            mailbox: reader.name("mailbox")?,
            text: reader.name("text name")?,
        },
        RecordType::CERT => RData::CERT {
            cert_type: reader.u16("type")?,
            key_tag: reader.u16("key tag")?,
            algorithm: reader.array::<1>("algorithm")?[0],
            certificate: reader.rest(),
        },
        RecordType::OPENPGPKEY => RData::OPENPGPKEY(reader.rest()),
        RecordType::EUI48 => RData::EUI48(reader.array::<6>("address")?),
        RecordType::EUI64 => RData::EUI64(reader.array::<8>("address")?),
        RecordType::SVCB | RecordType::HTTPS => {
            let priority = reader.u16("priority")?;
            let target = reader.name("target")?;
            let mut params = Vec::new();
            while reader.pos < data.len() {
                let key = reader.u16("SvcParamKey")?;
                let length = usize::from(reader.u16("SvcParam length")?);
                let value = data
                    .get(reader.pos..reader.pos + length)
                    .ok_or_else(|| reader.short("SvcParam value"))?
                    .to_vec();
                reader.pos += length;
                params.push(SvcParam { key, value });
            }
            // Keys out of order or repeated, malformed values: named here, where the wire
            // data is read (RFC 9460 §2.2 calls such an RR malformed).
            svcb::check_params(&params).map_err(|message| format!("{rtype} RDATA: {message}"))?;
            let svcb = SvcbData {
                priority,
                target,
                params,
            };
            if rtype == RecordType::SVCB {
                RData::SVCB(svcb)
            } else {
                RData::HTTPS(svcb)
            }
        }
        RecordType::TLSA => RData::TLSA {
            usage: reader.array::<1>("usage")?[0],
            selector: reader.array::<1>("selector")?[0],
            matching_type: reader.array::<1>("matching type")?[0],
            data: reader.rest(),
        },
    };
    if reader.pos != data.len() {
        return Err(format!(
            "{rtype} RDATA in generic form has {} octets left over",
            data.len() - reader.pos
        ));
    }
    Ok(rdata)
}

/// Reads fields from wire RDATA, naming the field that runs past the end.
struct WireReader<'d> {
    rtype: RecordType,
    data: &'d [u8],
    pos: usize,
}

impl WireReader<'_> {
    fn short(&self, what: &str) -> String {
        format!(
            "{} RDATA in generic form ends inside the {what}",
            self.rtype
        )
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], String> {
        let bytes = self
            .data
            .get(self.pos..self.pos + N)
            .ok_or_else(|| self.short(what))?;
        self.pos += N;
        Ok(bytes.try_into().unwrap_or([0; N]))
    }

    fn rest(&mut self) -> Vec<u8> {
        let rest = self.data[self.pos..].to_vec();
        self.pos = self.data.len();
        rest
    }

    fn u16(&mut self, what: &str) -> Result<u16, String> {
        self.array::<2>(what).map(u16::from_be_bytes)
    }

    fn string(&mut self, what: &str) -> Result<Vec<u8>, String> {
        let length = usize::from(self.array::<1>(what)?[0]);
        let bytes = self
            .data
            .get(self.pos..self.pos + length)
            .ok_or_else(|| self.short(what))?;
        self.pos += length;
        Ok(bytes.to_vec())
    }

    fn name(&mut self, what: &str) -> Result<DomainName, String> {
        let mut labels: Vec<&[u8]> = Vec::new();
        loop {
            let length = *self.data.get(self.pos).ok_or_else(|| self.short(what))?;
            self.pos += 1;
            if length == 0 {
                break;
            }
            if length > 63 {
                return Err(format!(
                    "{} {what} in generic form is compressed or has a bad label length {length}",
                    self.rtype
                ));
            }
            let label = self
                .data
                .get(self.pos..self.pos + usize::from(length))
                .ok_or_else(|| self.short(what))?;
            self.pos += usize::from(length);
            labels.push(label);
        }
        DomainName::from_labels(labels)
            .map_err(|error| format!("bad {} {what} in generic form: {error}", self.rtype))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(rtype: RecordType, fields: &str, wanted: &str) {
        let fields: Vec<&str> = fields.split_whitespace().collect();
        match parse_generic(rtype, &fields) {
            Ok(rdata) => assert_eq!(rdata.to_string(), wanted, "{fields:?}"),
            Err(error) => assert!(error.contains(wanted), "{fields:?}: {error}"),
        }
    }

    #[test]
    fn typed_data_in_generic_form_is_decoded() {
        check(RecordType::A, "4 C0000201", "192.0.2.1");
        check(RecordType::A, "4 c0 00 02 01", "192.0.2.1");
        check(RecordType::MX, "4 000a 016d", "ends inside the exchange");
        check(RecordType::MX, "5 000a 016d 00", "10 m.");
        check(RecordType::TXT, "6 0268690161 00", "\"hi\" \"a\" \"\"");
        check(RecordType::CAA, "8 00 05 6973737565 78", "0 issue \"x\"");
        check(RecordType::A, "5 C000020101", "1 octets left over");
        check(RecordType::SSHFP, "4 04 02 abcd", "4 2 ABCD");
        check(RecordType::TLSA, "5 03 01 01 abcd", "3 1 1 ABCD");
        check(RecordType::TLSA, "2 03 01", "ends inside the matching type");
        check(RecordType::SMIMEA, "4 03 01 01 ab", "3 1 1 AB");
        check(RecordType::HINFO, "4 0161 0162", "\"a\" \"b\"");
        check(RecordType::SPF, "3 02 6869", "\"hi\"");
        check(RecordType::MB, "3 016d 00", "m.");
        check(RecordType::MG, "1 00", ".");
        check(RecordType::MR, "2 016d", "ends inside the mailbox");
        check(RecordType::NS, "3 C00C 00", "compressed");
        check(RecordType::DNAME, "3 0178 00", "x.");
        check(RecordType::DS, "6 0001 08 02 abcd", "1 8 2 ABCD");
        check(RecordType::EUI48, "6 00005e00532a", "00-00-5e-00-53-2a");
        check(
            RecordType::HTTPS,
            "16 0001 00 0001 0003 026832 0003 0002 01bb",
            "1 . alpn=h2 port=443",
        );
        check(RecordType::URI, "6 000a 0001 6162", "10 1 \"ab\"");
        // SvcParams on the wire: new keys read as their names, order and shapes checked.
        check(
            RecordType::SVCB,
            "29 0001 00 0003 0002 1f44 0007 0004 2f717b7d 0008 0000 0009 0004 001d 0017",
            "1 . port=8004 dohpath=\"/q{}\" ohttp tls-supported-groups=29,23",
        );
        check(
            RecordType::SVCB,
            "16 0001 00 0003 0002 01bb 0001 0003 026832",
            "alpn is given twice or out of order",
        );
        check(
            RecordType::SVCB,
            "15 0001 00 0003 0002 01bb 0003 0002 01bb",
            "port is given twice or out of order",
        );
        check(
            RecordType::HTTPS,
            "8 0001 00 0009 0001 1d",
            "malformed tls-supported-groups",
        );
        check(
            RecordType::HTTPS,
            "8 0001 00 0008 0001 1d",
            "malformed ohttp",
        );
        check(
            RecordType::HTTPS,
            "9 0001 00 0000 0002 0000",
            "must not list itself",
        );
        check(
            RecordType::HTTPS,
            "17 0001 00 0000 0004 00030003 0003 0002 01bb",
            "mandatory lists port twice or out of order",
        );
        check(
            RecordType::HTTPS,
            "9 0001 00 0003 0003 01bb",
            "ends inside the SvcParam value",
        );
    }

    #[test]
    fn opaque_types_keep_their_octets() {
        check(RecordType::Unknown(65280), "0", "\\# 0");
        check(RecordType::Unknown(99), "3 0A0b0c", "\\# 3 0A0B0C");
        check(
            RecordType::Unknown(99),
            "4 0A0b0c",
            "says 4 octets, the hex holds 3",
        );
        check(
            RecordType::Unknown(99),
            "x 0A",
            "length after \\# must be 0-65535",
        );
        check(RecordType::Unknown(99), "1 0G", "must be hexadecimal");
        check(RecordType::Unknown(99), "", "missing RDATA length");
    }

    #[test]
    fn types_the_server_must_act_on_are_refused() {
        for (code, wanted) in [
            (6, "soa field"),
            (41, "OPT"),
            (46, "DNSSEC"),
            (47, "DNSSEC"),
            (250, "meta types"),
            (252, "meta types"),
            (0, "reserved"),
        ] {
            let rtype = RecordType::from_code_any(code);
            let error = parse_generic(rtype, &["0"]).unwrap_err();
            assert!(error.contains(wanted), "TYPE{code}: {error}");
        }
    }
}
