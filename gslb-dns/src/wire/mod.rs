//! The DNS wire format as the answer path needs it: in-place parsing of a query
//! (`ParsedQuery`, `QueryName`) and the few writers that build a reply around pre-encoded
//! answer bytes (header, OPT with client subnet).
//!
//! Invariant: nothing in this module allocates; every writer appends to a caller's `Vec`.

pub mod name;
pub mod query;

pub use name::{NameParseError, QueryName, MAX_NAME_LEN};
pub use query::{
    ClientSubnet, CookieOption, EdnsRequest, ParsedQuery, QueryError, QueryHeader, HEADER_LEN,
    OPTION_CLIENT_SUBNET, OPTION_COOKIE, TYPE_OPT,
};

/// RCODE values this server sends (RFC 1035 §4.1.1, RFC 6891 §9).
pub mod rcode {
    /// No error.
    pub const NOERROR: u16 = 0;
    /// The query could not be interpreted.
    pub const FORMERR: u16 = 1;
    /// Internal failure.
    pub const SERVFAIL: u16 = 2;
    /// The name does not exist.
    pub const NXDOMAIN: u16 = 3;
    /// The opcode is not implemented.
    pub const NOTIMP: u16 = 4;
    /// Policy refusal (not our zone, unsupported class).
    pub const REFUSED: u16 = 5;
    /// A name that should not exist does: a DNAME substitution too long (RFC 6672 §2.2).
    pub const YXDOMAIN: u16 = 6;
    /// EDNS version not supported (extended RCODE, needs an OPT).
    pub const BADVERS: u16 = 16;
    /// A bad or missing server cookie (RFC 7873 §8, extended RCODE, needs an OPT).
    pub const BADCOOKIE: u16 = 23;
}

/// Record types and classes the answer path names.
pub mod types {
    /// IPv4 address.
    pub const A: u16 = 1;
    /// Name server.
    pub const NS: u16 = 2;
    /// Canonical name.
    pub const CNAME: u16 = 5;
    /// Start of authority.
    pub const SOA: u16 = 6;
    /// Domain name pointer (reverse lookups).
    pub const PTR: u16 = 12;
    /// Host information (RFC 8482 synthesis).
    pub const HINFO: u16 = 13;
    /// Mail exchange.
    pub const MX: u16 = 15;
    /// Text.
    pub const TXT: u16 = 16;
    /// IPv6 address.
    pub const AAAA: u16 = 28;
    /// Service location (RFC 2782).
    pub const SRV: u16 = 33;
    /// Naming authority pointer (RFC 3403).
    pub const NAPTR: u16 = 35;
    /// Subtree redirection (RFC 6672).
    pub const DNAME: u16 = 39;
    /// Delegation signer: lives on the parent side of a cut.
    pub const DS: u16 = 43;
    /// General service binding (RFC 9460).
    pub const SVCB: u16 = 64;
    /// A signature over an RRset (RFC 4034).
    pub const RRSIG: u16 = 46;
    /// HTTPS service binding (RFC 9460).
    pub const HTTPS: u16 = 65;
    /// Certification authority authorization (RFC 8659).
    pub const CAA: u16 = 257;
    /// Incremental zone transfer.
    pub const IXFR: u16 = 251;
    /// Full zone transfer.
    pub const AXFR: u16 = 252;
    /// The ANY meta-type (RFC 8482).
    pub const ANY: u16 = 255;
    /// Class IN.
    pub const CLASS_IN: u16 = 1;
    /// Class CHAOS.
    pub const CLASS_CH: u16 = 3;
    /// Class ANY.
    pub const CLASS_ANY: u16 = 255;
}

/// The reply header fields this server sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReplyFlags {
    /// AA: we are authoritative for the answer.
    pub authoritative: bool,
    /// TC: the reply was cut to fit UDP.
    pub truncated: bool,
    /// The full RCODE; values above 15 need an OPT to carry the upper bits.
    pub rcode: u16,
}

/// Writes a reply header for `query` at the start of `out` (which must hold ≥ 12 octets).
/// RD and CD are copied, RA, Z and AD are clear, the opcode is echoed.
pub fn patch_header(out: &mut [u8], query: &QueryHeader, flags: ReplyFlags, counts: [u16; 4]) {
    out[0..2].copy_from_slice(&query.id.to_be_bytes());
    out[2] = 0x80
        | (query.opcode << 3)
        | if flags.authoritative { 0x04 } else { 0 }
        | if flags.truncated { 0x02 } else { 0 }
        | u8::from(query.recursion_desired);
    out[3] = if query.checking_disabled { 0x10 } else { 0 } | (flags.rcode & 0x0F) as u8;
    for (index, count) in counts.iter().enumerate() {
        out[4 + 2 * index..6 + 2 * index].copy_from_slice(&count.to_be_bytes());
    }
}

/// Appends the reply OPT record (RFC 6891 §6.1.2): our payload size, version 0, the DO bit
/// copied, the upper RCODE bits, and the client subnet echoed with SCOPE = `scope`
/// (RFC 7871 §7.2.1: FAMILY, SOURCE PREFIX-LENGTH and ADDRESS as sent), then the COOKIE
/// option (client | server cookie, RFC 7873 §4) when one is given.
pub fn write_opt(
    out: &mut Vec<u8>,
    payload: u16,
    rcode: u16,
    dnssec_ok: bool,
    subnet: Option<&ClientSubnet>,
    scope: u8,
    cookie: Option<&[u8]>,
) {
    out.push(0);
    out.extend_from_slice(&TYPE_OPT.to_be_bytes());
    out.extend_from_slice(&payload.to_be_bytes());
    out.push((rcode >> 4) as u8);
    out.push(0);
    out.push(if dnssec_ok { 0x80 } else { 0 });
    out.push(0);
    let rdlength_at = out.len();
    out.extend_from_slice(&[0, 0]);
    if let Some(subnet) = subnet {
        let address = subnet.address_bytes();
        let option_len = 4 + address.len() as u16;
        out.extend_from_slice(&OPTION_CLIENT_SUBNET.to_be_bytes());
        out.extend_from_slice(&option_len.to_be_bytes());
        out.extend_from_slice(&subnet.family.to_be_bytes());
        out.push(subnet.source_prefix);
        out.push(scope);
        out.extend_from_slice(address);
    }
    if let Some(cookie) = cookie {
        out.extend_from_slice(&OPTION_COOKIE.to_be_bytes());
        out.extend_from_slice(&(cookie.len() as u16).to_be_bytes());
        out.extend_from_slice(cookie);
    }
    let rdlength = (out.len() - rdlength_at - 2) as u16;
    out[rdlength_at..rdlength_at + 2].copy_from_slice(&rdlength.to_be_bytes());
}
