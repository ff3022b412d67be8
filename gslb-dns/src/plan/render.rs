//! Rendering model data (`RData`, `Soa`) into wire-form resource records, once per plan.
//!
//! Every RR is written with its owner as the two-octet compression pointer `0xC00C` (the
//! question name at offset 12), so a pre-rendered RRset can be copied after any question as
//! is — which is also exactly what wildcard synthesis needs (RFC 4592 §2.2.1: the owner is the
//! query name). Names inside RDATA are written uncompressed (RFC 3597 §4 forbids compressing
//! them for newer types anyway, and keeping blocks position-independent avoids per-query
//! fix-ups).

use gslb_model::{RData, Soa};

/// The owner placeholder: a pointer to offset 12, where the question name starts.
pub(crate) const OWNER_QNAME: [u8; 2] = [0xC0, 0x0C];
/// Class IN.
const CLASS_IN: u16 = 1;

/// Appends one RR `(owner = question name) type IN ttl rdata`; returns false (writing
/// nothing) when the RDATA would exceed 65535 octets.
pub(crate) fn write_record(out: &mut Vec<u8>, rtype: u16, ttl: u32, rdata: &RData) -> bool {
    let start = out.len();
    out.extend_from_slice(&OWNER_QNAME);
    out.extend_from_slice(&rtype.to_be_bytes());
    out.extend_from_slice(&CLASS_IN.to_be_bytes());
    out.extend_from_slice(&ttl.to_be_bytes());
    out.extend_from_slice(&[0, 0]);
    let rdata_start = out.len();
    write_rdata(out, rdata);
    finish_rdlength(out, start, rdata_start)
}

/// Appends the zone's SOA as an RR owned by the question name placeholder with `ttl`.
pub(crate) fn write_soa(out: &mut Vec<u8>, soa: &Soa, ttl: u32) {
    let start = out.len();
    out.extend_from_slice(&OWNER_QNAME);
    out.extend_from_slice(&6u16.to_be_bytes());
    out.extend_from_slice(&CLASS_IN.to_be_bytes());
    out.extend_from_slice(&ttl.to_be_bytes());
    out.extend_from_slice(&[0, 0]);
    let rdata_start = out.len();
    soa.mname.write_wire(out);
    soa.rname.write_wire(out);
    for value in [soa.serial, soa.refresh, soa.retry, soa.expire, soa.minimum] {
        out.extend_from_slice(&value.to_be_bytes());
    }
    finish_rdlength(out, start, rdata_start);
}

/// Copies RRs rendered with the placeholder owner, writing `owner` (uncompressed wire form)
/// in full instead (glue and additional data).
pub(crate) fn write_with_owner(out: &mut Vec<u8>, owner: &[u8], records: &[u8]) {
    let mut pos = 0;
    while pos + 12 <= records.len() {
        let rdlength = u16::from_be_bytes([records[pos + 10], records[pos + 11]]) as usize;
        let end = pos + 12 + rdlength;
        out.extend_from_slice(owner);
        out.extend_from_slice(&records[pos + 2..end]);
        pos = end;
    }
}

fn finish_rdlength(out: &mut Vec<u8>, start: usize, rdata_start: usize) -> bool {
    let rdlength = out.len() - rdata_start;
    match u16::try_from(rdlength) {
        Ok(rdlength) => {
            out[rdata_start - 2..rdata_start].copy_from_slice(&rdlength.to_be_bytes());
            true
        }
        Err(_) => {
            out.truncate(start);
            false
        }
    }
}

pub(crate) fn write_rdata(out: &mut Vec<u8>, rdata: &RData) {
    match rdata {
        RData::A(address) => out.extend_from_slice(&address.octets()),
        RData::AAAA(address) => out.extend_from_slice(&address.octets()),
        RData::CNAME(name)
        | RData::NS(name)
        | RData::PTR(name)
        | RData::MB(name)
        | RData::MG(name)
        | RData::MR(name) => name.write_wire(out),
        RData::MX {
            preference,
            exchange,
        } => {
            out.extend_from_slice(&preference.to_be_bytes());
            exchange.write_wire(out);
        }
        RData::TXT(strings) | RData::SPF(strings) => {
            for string in strings {
                // The model caps strings at 255 octets; cut defensively rather than panic.
                let string = &string[..string.len().min(255)];
                out.push(string.len() as u8);
                out.extend_from_slice(string);
            }
        }
        RData::SRV {
            priority,
            weight,
            port,
            target,
        } => {
            for value in [priority, weight, port] {
                out.extend_from_slice(&value.to_be_bytes());
            }
            target.write_wire(out);
        }
        RData::CAA { flags, tag, value } => {
            let tag = &tag.as_bytes()[..tag.len().min(255)];
            out.push(*flags);
            out.push(tag.len() as u8);
            out.extend_from_slice(tag);
            out.extend_from_slice(value);
        }
        RData::SSHFP {
            algorithm,
            fingerprint_type,
            fingerprint,
        } => {
            out.extend_from_slice(&[*algorithm, *fingerprint_type]);
            out.extend_from_slice(fingerprint);
        }
        RData::HINFO { cpu, os } => {
            for string in [cpu, os] {
                write_character_string(out, string);
            }
        }
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
        } => {
            out.extend_from_slice(&[*usage, *selector, *matching_type]);
            out.extend_from_slice(data);
        }
        RData::NAPTR {
            order,
            preference,
            flags,
            services,
            regexp,
            replacement,
        } => {
            out.extend_from_slice(&order.to_be_bytes());
            out.extend_from_slice(&preference.to_be_bytes());
            for string in [flags, services, regexp] {
                write_character_string(out, string);
            }
            replacement.write_wire(out);
        }
        RData::DS(ds) | RData::CDS(ds) => {
            out.extend_from_slice(&ds.key_tag.to_be_bytes());
            out.extend_from_slice(&[ds.algorithm, ds.digest_type]);
            out.extend_from_slice(&ds.digest);
        }
        RData::DNSKEY(key) | RData::CDNSKEY(key) => {
            out.extend_from_slice(&key.flags.to_be_bytes());
            out.extend_from_slice(&[key.protocol, key.algorithm]);
            out.extend_from_slice(&key.public_key);
        }
        RData::DNAME(name) => name.write_wire(out),
        RData::LOC(loc) => out.extend_from_slice(&loc.to_wire()),
        RData::URI {
            priority,
            weight,
            target,
        } => {
            out.extend_from_slice(&priority.to_be_bytes());
            out.extend_from_slice(&weight.to_be_bytes());
            out.extend_from_slice(target);
        }
        RData::RP { mailbox, text } => {
            mailbox.write_wire(out);
            text.write_wire(out);
        }
        RData::CERT {
            cert_type,
            key_tag,
            algorithm,
            certificate,
        } => {
            out.extend_from_slice(&cert_type.to_be_bytes());
            out.extend_from_slice(&key_tag.to_be_bytes());
            out.push(*algorithm);
            out.extend_from_slice(certificate);
        }
        RData::OPENPGPKEY(key) => out.extend_from_slice(key),
        RData::EUI48(address) => out.extend_from_slice(address),
        RData::EUI64(address) => out.extend_from_slice(address),
        RData::SVCB(data) | RData::HTTPS(data) => {
            out.extend_from_slice(&data.priority.to_be_bytes());
            data.target.write_wire(out);
            for param in &data.params {
                // The model caps values at 65535 octets; cut defensively rather than panic.
                let value = &param.value[..param.value.len().min(usize::from(u16::MAX))];
                out.extend_from_slice(&param.key.to_be_bytes());
                out.extend_from_slice(&(value.len() as u16).to_be_bytes());
                out.extend_from_slice(value);
            }
        }
        // RFC 3597 §3: opaque data goes out exactly as given.
        RData::Unknown { data, .. } => out.extend_from_slice(data),
    }
}

/// A length-prefixed character-string; the model caps strings at 255 octets, so this cuts
/// defensively rather than panic.
fn write_character_string(out: &mut Vec<u8>, string: &[u8]) {
    let string = &string[..string.len().min(255)];
    out.push(string.len() as u8);
    out.extend_from_slice(string);
}
