//! The one RDATA presentation-format reader (RFC 1035 §5.1 and each type's RFC): the zone
//! file parser and the REST API (`parse_rdata`) both read record data through it, so a
//! record means the same whichever way it enters.
//!
//! It works on the lexer's tokens (quotes, escapes and parentheses already sorted out), so
//! a problem is reported with the line of the token at fault; `parse_rdata` lexes one
//! record's text and joins the problems into one message.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::model::base64_text;
use crate::model::generic;
use crate::model::loc::Loc;
use crate::model::record::{cert_type_from_text, DnskeyData, DsData, SvcbData};
use crate::model::svcb::{self, SvcParam};
use crate::model::{DomainName, RData, RecordType, Soa};
use crate::zonefile::fields::{parse_duration, supported_types, Problem};
use crate::zonefile::lexer::{lex, Token};

/// Parses one record's data of type `rtype` in presentation format (as a zone file writes it
/// after the type); names may be relative to `origin`. TXT and SPF data that does not start
/// with a quote is one character-string as written (`v=spf1 -all`), as the API has always
/// taken it. The error names the value at fault.
pub fn parse_rdata(rtype: RecordType, text: &str, origin: &DomainName) -> Result<RData, String> {
    let trimmed = text.trim();
    if matches!(rtype, RecordType::TXT | RecordType::SPF) && !trimmed.starts_with('"') {
        if trimmed.len() > 255 {
            return Err(string_too_long(rtype, "text", trimmed.len()));
        }
        let strings = vec![trimmed.as_bytes().to_vec()];
        return Ok(if rtype == RecordType::SPF {
            RData::SPF(strings)
        } else {
            RData::TXT(strings)
        });
    }
    if rtype == RecordType::SOA {
        return Err("SOA is the zone's soa field, not a record set".to_string());
    }
    let (entries, lex_errors) = lex(trimmed);
    let mut problems: Vec<Problem> = lex_errors
        .into_iter()
        .map(|error| (error.line, error.message))
        .collect();
    if entries.len() > 1 {
        problems.push((1, format!("record data must be one line, got {text:?}")));
    }
    let empty = Vec::new();
    let tokens = entries.first().map_or(&empty, |entry| &entry.tokens);
    let parsed = if problems.is_empty() {
        read_rdata(rtype, tokens, 1, origin, &mut problems)
    } else {
        None
    };
    match parsed {
        Some(rdata) if problems.is_empty() => Ok(rdata),
        _ => Err(problems
            .into_iter()
            .map(|(_, message)| message)
            .collect::<Vec<_>>()
            .join("; ")),
    }
}

/// Reads the data of one record of type `rtype` (not SOA) from `tokens`, the fields after
/// the type, which stands on `type_line`; problems go to `problems`.
pub(crate) fn read_rdata(
    rtype: RecordType,
    tokens: &[Token<'_>],
    type_line: usize,
    origin: &DomainName,
    problems: &mut Vec<Problem>,
) -> Option<RData> {
    let generic = tokens
        .first()
        .is_some_and(|first| !first.quoted && first.text == "\\#");
    if generic || matches!(rtype, RecordType::Unknown(_)) {
        return generic_rdata(rtype, tokens, type_line, generic, problems);
    }
    let mut fields = Fields {
        problems,
        rtype,
        tokens,
        next: 0,
        line: type_line,
        origin,
        ok: true,
    };
    let rdata = fields.rdata();
    let ok = fields.finish();
    rdata.filter(|_| ok)
}

/// Reads the SOA fields after the type.
pub(crate) fn read_soa(
    tokens: &[Token<'_>],
    type_line: usize,
    origin: &DomainName,
    problems: &mut Vec<Problem>,
) -> Option<Soa> {
    let mut fields = Fields {
        problems,
        rtype: RecordType::SOA,
        tokens,
        next: 0,
        line: type_line,
        origin,
        ok: true,
    };
    let soa = fields.soa();
    let ok = fields.finish();
    soa.filter(|_| ok)
}

/// Reads RFC 3597 generic RDATA (`\\# <length> <hex>...`), the only form a type we do not
/// keep structured may take; `generic` says whether the fields start with `\\#`.
fn generic_rdata(
    rtype: RecordType,
    fields: &[Token<'_>],
    type_line: usize,
    generic: bool,
    problems: &mut Vec<Problem>,
) -> Option<RData> {
    if !generic {
        problems.push((
            type_line,
            format!(
                "{rtype} data must be in RFC 3597 generic form (\\# <length> <hex>); the \
                 structured types are {}",
                supported_types()
            ),
        ));
        return None;
    }
    if let Some(quoted) = fields.iter().find(|token| token.quoted) {
        problems.push((
            quoted.line,
            format!(
                "generic {rtype} data cannot hold the quoted string \"{}\"",
                quoted.text
            ),
        ));
        return None;
    }
    let texts: Vec<&str> = fields[1..].iter().map(|token| token.text).collect();
    match generic::parse_generic(rtype, &texts) {
        Ok(rdata) => Some(rdata),
        Err(message) => {
            problems.push((fields[0].line, format!("bad {rtype} record: {message}")));
            None
        }
    }
}

/// DNSSEC algorithm mnemonics (RFC 8624 §3.1 and the IANA registry).
const ALGORITHMS: [(u8, &str); 13] = [
    (1, "RSAMD5"),
    (2, "DH"),
    (3, "DSA"),
    (5, "RSASHA1"),
    (6, "DSA-NSEC3-SHA1"),
    (7, "RSASHA1-NSEC3-SHA1"),
    (8, "RSASHA256"),
    (10, "RSASHA512"),
    (12, "ECC-GOST"),
    (13, "ECDSAP256SHA256"),
    (14, "ECDSAP384SHA384"),
    (15, "ED25519"),
    (16, "ED448"),
];

/// A DNSSEC algorithm number, from digits or a mnemonic.
fn algorithm_from_text(text: &str) -> Option<u8> {
    ALGORITHMS
        .iter()
        .find(|(_, name)| name.eq_ignore_ascii_case(text))
        .map(|(code, _)| *code)
        .or_else(|| {
            text.bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| text.parse().ok())
                .flatten()
        })
}

/// The RDATA tokens of one record, read left to right.
struct Fields<'p, 't, 'a> {
    /// Where problems go, each with its line.
    problems: &'p mut Vec<Problem>,
    rtype: RecordType,
    tokens: &'t [Token<'a>],
    next: usize,
    /// The line of the type token, for "missing field" problems.
    line: usize,
    origin: &'t DomainName,
    /// False once a problem was reported.
    ok: bool,
}

impl<'a> Fields<'_, '_, 'a> {
    fn problem(&mut self, line: usize, message: String) {
        self.problems.push((line, message));
    }

    fn rdata(&mut self) -> Option<RData> {
        let rdata = match self.rtype {
            RecordType::A => {
                let token = self.take("address")?;
                match token.text.parse::<Ipv4Addr>() {
                    Ok(address) => RData::A(address),
                    Err(_) => {
                        return self.bad(&token, format!("bad IPv4 address {:?}", token.text))
                    }
                }
            }
            RecordType::AAAA => {
                let token = self.take("address")?;
                match token.text.parse::<Ipv6Addr>() {
                    Ok(address) => RData::AAAA(address),
                    Err(_) => {
                        return self.bad(&token, format!("bad IPv6 address {:?}", token.text))
                    }
                }
            }
            RecordType::CNAME => RData::CNAME(self.name("target")?),
            RecordType::NS => RData::NS(self.name("name server")?),
            RecordType::PTR => RData::PTR(self.name("target")?),
            RecordType::MB => RData::MB(self.name("mailbox host")?),
            RecordType::MG => RData::MG(self.name("mailbox")?),
            RecordType::MR => RData::MR(self.name("mailbox")?),
            RecordType::MX => {
                let preference = self.number("preference");
                let exchange = self.name("exchange");
                RData::MX {
                    preference: preference?,
                    exchange: exchange?,
                }
            }
            RecordType::SRV => {
                let priority = self.number("priority");
                let weight = self.number("weight");
                let port = self.number("port");
                let target = self.name("target");
                RData::SRV {
                    priority: priority?,
                    weight: weight?,
                    port: port?,
                    target: target?,
                }
            }
            RecordType::HINFO => {
                let cpu = self.take_char_string("cpu");
                let os = self.take_char_string("os");
                RData::HINFO { cpu: cpu?, os: os? }
            }
            RecordType::TXT | RecordType::SPF => {
                let mut strings = Vec::new();
                self.take("text")?;
                self.next -= 1;
                while self.next < self.tokens.len() {
                    let token = self.tokens[self.next].clone();
                    self.next += 1;
                    if let Some(string) = self.char_string(&token, "text") {
                        strings.push(string);
                    }
                }
                if self.rtype == RecordType::SPF {
                    RData::SPF(strings)
                } else {
                    RData::TXT(strings)
                }
            }
            RecordType::CAA => {
                let flags = self.number::<u8>("flags");
                let tag = self.take("tag").and_then(|token| {
                    if !token.quoted
                        && !token.text.is_empty()
                        && token.text.len() <= 255
                        && token.text.bytes().all(|b| b.is_ascii_alphanumeric())
                    {
                        Some(token.text.to_string())
                    } else {
                        self.bad(
                            &token,
                            format!(
                                "bad CAA tag {:?} (1-255 ASCII letters and digits)",
                                token.text
                            ),
                        )
                    }
                });
                let value = self.take("value").and_then(|token| self.string(&token));
                RData::CAA {
                    flags: flags?,
                    tag: tag?,
                    value: value?,
                }
            }
            RecordType::SSHFP => {
                let algorithm = self.number::<u8>("algorithm");
                let fingerprint_type = self.number::<u8>("fingerprint type");
                let fingerprint = self.hex_rest("fingerprint");
                RData::SSHFP {
                    algorithm: algorithm?,
                    fingerprint_type: fingerprint_type?,
                    fingerprint: fingerprint?,
                }
            }
            RecordType::TLSA | RecordType::SMIMEA => {
                let usage = self.number::<u8>("usage");
                let selector = self.number::<u8>("selector");
                let matching_type = self.number::<u8>("matching type");
                let data = self.hex_rest("certificate association data");
                let (usage, selector, matching_type, data) =
                    (usage?, selector?, matching_type?, data?);
                if self.rtype == RecordType::TLSA {
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
                }
            }
            RecordType::NAPTR => {
                let order = self.number("order");
                let preference = self.number("preference");
                let flags = self.take_char_string("flags");
                let services = self.take_char_string("services");
                let regexp = self.take_char_string("regexp");
                let replacement = self.name("replacement");
                RData::NAPTR {
                    order: order?,
                    preference: preference?,
                    flags: flags?,
                    services: services?,
                    regexp: regexp?,
                    replacement: replacement?,
                }
            }
            RecordType::DS | RecordType::CDS => {
                let key_tag = self.number("key tag");
                let algorithm = self.algorithm();
                let digest_type = self.number::<u8>("digest type");
                let digest = self.hex_rest("digest");
                let ds = DsData {
                    key_tag: key_tag?,
                    algorithm: algorithm?,
                    digest_type: digest_type?,
                    digest: digest?,
                };
                if self.rtype == RecordType::DS {
                    RData::DS(ds)
                } else {
                    RData::CDS(ds)
                }
            }
            RecordType::DNSKEY | RecordType::CDNSKEY => {
                let flags = self.number("flags");
                let protocol = self.number::<u8>("protocol");
                let algorithm = self.algorithm();
                let public_key = self.base64_rest("public key");
                let key = DnskeyData {
                    flags: flags?,
                    protocol: protocol?,
                    algorithm: algorithm?,
                    public_key: public_key?,
                };
                if self.rtype == RecordType::DNSKEY {
                    RData::DNSKEY(key)
                } else {
                    RData::CDNSKEY(key)
                }
            }
            RecordType::DNAME => RData::DNAME(self.name("target")?),
            RecordType::LOC => {
                let first = self.take("latitude")?;
                let mut texts = vec![first.text];
                while let Some(token) = self.tokens.get(self.next) {
                    texts.push(token.text);
                    self.next += 1;
                }
                match Loc::parse(&texts) {
                    Ok(loc) => RData::LOC(loc),
                    Err(message) => return self.bad(&first, format!("bad LOC data: {message}")),
                }
            }
            RecordType::URI => {
                let priority = self.number("priority");
                let weight = self.number("weight");
                let target = self.take("target").and_then(|token| self.string(&token));
                RData::URI {
                    priority: priority?,
                    weight: weight?,
                    target: target?,
                }
            }
            RecordType::RP => {
                let mailbox = self.name("mailbox");
                let text = self.name("text name");
                RData::RP {
                    mailbox: mailbox?,
                    text: text?,
                }
            }
            RecordType::CERT => {
                let cert_type = self.take("certificate type").and_then(|token| {
                    match cert_type_from_text(token.text) {
                        Some(code) => Some(code),
                        None => self.bad(
                            &token,
                            format!("bad CERT type {:?} (PKIX, PGP, ... or 0-65535)", token.text),
                        ),
                    }
                });
                let key_tag = self.number("key tag");
                let algorithm = self.algorithm();
                let certificate = self.base64_rest("certificate");
                RData::CERT {
                    cert_type: cert_type?,
                    key_tag: key_tag?,
                    algorithm: algorithm?,
                    certificate: certificate?,
                }
            }
            RecordType::OPENPGPKEY => RData::OPENPGPKEY(self.base64_rest("public key")?),
            RecordType::EUI48 => RData::EUI48(self.eui::<6>()?),
            RecordType::EUI64 => RData::EUI64(self.eui::<8>()?),
            RecordType::SVCB | RecordType::HTTPS => {
                let priority = self.number("priority");
                let target = self.name("target");
                let params = self.svc_params();
                let data = SvcbData {
                    priority: priority?,
                    target: target?,
                    params: params?,
                };
                if self.rtype == RecordType::SVCB {
                    RData::SVCB(data)
                } else {
                    RData::HTTPS(data)
                }
            }
            RecordType::SOA => unreachable!("the SOA is read by Fields::soa"),
            RecordType::Unknown(_) => unreachable!("read by Parser::generic_rdata"),
        };
        self.ok.then_some(rdata)
    }

    fn soa(&mut self) -> Option<Soa> {
        let mname = self.name("primary name server (MNAME)");
        let rname = self.name("mailbox (RNAME)");
        let serial = self.number::<u32>("serial");
        let refresh = self.duration("refresh");
        let retry = self.duration("retry");
        let expire = self.duration("expire");
        let minimum = self.duration("minimum");
        Some(Soa {
            mname: mname?,
            rname: rname?,
            serial: serial?,
            refresh: refresh?,
            retry: retry?,
            expire: expire?,
            minimum: minimum?,
            ttl: 0,
        })
    }

    /// Reports any token left over; true when the record had no problem.
    fn finish(mut self) -> bool {
        if let Some(extra) = self.tokens.get(self.next) {
            self.problem(
                extra.line,
                format!("unexpected {:?} after the {} data", extra.text, self.rtype),
            );
            return false;
        }
        self.ok
    }

    fn take(&mut self, what: &str) -> Option<Token<'a>> {
        match self.tokens.get(self.next) {
            Some(token) => {
                self.next += 1;
                Some(token.clone())
            }
            None => {
                if self.ok {
                    self.problem(
                        self.line,
                        format!("missing {what} in the {} record", self.rtype),
                    );
                }
                self.ok = false;
                None
            }
        }
    }

    /// A DNSSEC algorithm: a number or its mnemonic (`RSASHA256`, `ECDSAP256SHA256`).
    fn algorithm(&mut self) -> Option<u8> {
        let token = self.take("algorithm")?;
        match algorithm_from_text(token.text) {
            Some(code) => Some(code),
            None => self.bad(
                &token,
                format!(
                    "bad {} algorithm {:?} (0-255 or a mnemonic such as ECDSAP256SHA256)",
                    self.rtype, token.text
                ),
            ),
        }
    }

    /// Reads every remaining token as one base64 text (blanks may split it).
    fn base64_rest(&mut self, what: &str) -> Option<Vec<u8>> {
        let first = self.take(what)?;
        let mut text = first.text.to_string();
        while let Some(token) = self.tokens.get(self.next) {
            text.push_str(token.text);
            self.next += 1;
        }
        match base64_text::decode(&text) {
            Ok(bytes) if !first.quoted && !bytes.is_empty() => Some(bytes),
            _ => self.bad(
                &first,
                format!("bad {} {what} {text:?} (base64)", self.rtype),
            ),
        }
    }

    /// An EUI48 or EUI64 address: `N` hex octets joined by hyphens (RFC 7043 §3.2).
    fn eui<const N: usize>(&mut self) -> Option<[u8; N]> {
        let token = self.take("address")?;
        let octets: Option<Vec<u8>> = token
            .text
            .split('-')
            .map(|part| {
                (part.len() == 2)
                    .then(|| u8::from_str_radix(part, 16).ok())
                    .flatten()
            })
            .collect();
        match octets.and_then(|octets| <[u8; N]>::try_from(octets).ok()) {
            Some(address) => Some(address),
            None => self.bad(
                &token,
                format!(
                    "bad {} address {:?} ({N} hex octets joined by hyphens)",
                    self.rtype, token.text
                ),
            ),
        }
    }

    /// The SvcParams after the target: `key=value`, `key="quoted value"` or `key`; sorted by
    /// key, then checked as a whole.
    fn svc_params(&mut self) -> Option<Vec<SvcParam>> {
        let mut params = Vec::new();
        while let Some(token) = self.tokens.get(self.next).cloned() {
            self.next += 1;
            let (key, value_text) = match token.text.split_once('=') {
                Some((key, "")) if !token.quoted => match self.tokens.get(self.next) {
                    Some(next) if next.quoted => {
                        self.next += 1;
                        (key, Some(next.text))
                    }
                    _ => (key, Some("")),
                },
                Some((key, value)) if !token.quoted => (key, Some(value)),
                _ if !token.quoted => (token.text, None),
                _ => {
                    self.next = self.tokens.len();
                    return self.bad(
                        &token,
                        format!(
                            "expected key=value, got the quoted string \"{}\"",
                            token.text
                        ),
                    );
                }
            };
            let value = match value_text.map(decode_string) {
                Some(None) => {
                    self.next = self.tokens.len();
                    return self.bad(&token, format!("bad escape in {:?}", token.text));
                }
                Some(Some(bytes)) => Some(bytes),
                None => None,
            };
            match svcb::parse_param(&key.to_ascii_lowercase(), value.as_deref()) {
                Ok(param) => params.push(param),
                Err(message) => {
                    // One problem per record: the parameters after it are not "unexpected".
                    self.next = self.tokens.len();
                    return self.bad(&token, format!("bad {} parameter: {message}", self.rtype));
                }
            }
        }
        params.sort_by_key(|param| param.key);
        match svcb::check_params(&params) {
            Ok(()) => Some(params),
            Err(message) => {
                let line = self.line;
                self.problem(line, format!("bad {} parameters: {message}", self.rtype));
                self.ok = false;
                None
            }
        }
    }

    /// Reads every remaining token as one hex string (blanks may split it, RFC 4255 §3.2).
    fn hex_rest(&mut self, what: &str) -> Option<Vec<u8>> {
        let first = self.take(what)?;
        let mut text = first.text.to_string();
        while let Some(token) = self.tokens.get(self.next) {
            text.push_str(token.text);
            self.next += 1;
        }
        match hex::decode(&text) {
            Ok(bytes) if !first.quoted => Some(bytes),
            _ => self.bad(
                &first,
                format!("bad {} {what} {text:?} (hexadecimal octets)", self.rtype),
            ),
        }
    }

    fn bad<T>(&mut self, token: &Token<'_>, message: String) -> Option<T> {
        self.problem(token.line, message);
        self.ok = false;
        None
    }

    fn name(&mut self, what: &str) -> Option<DomainName> {
        let token = self.take(what)?;
        match DomainName::parse_relative_to(token.text, self.origin) {
            Ok(name) => Some(name),
            Err(error) => self.bad(&token, format!("bad {} {what}: {error}", self.rtype)),
        }
    }

    fn number<T: TryFrom<u64> + num_bounds::Max>(&mut self, what: &str) -> Option<T> {
        let token = self.take(what)?;
        let value = if !token.quoted && !token.text.is_empty() && token.text.len() <= 20 {
            token
                .text
                .bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| token.text.parse::<u64>().ok())
                .flatten()
                .and_then(|value| T::try_from(value).ok())
        } else {
            None
        };
        match value {
            Some(value) => Some(value),
            None => self.bad(
                &token,
                format!(
                    "bad {} {what} {:?} (must be 0-{})",
                    self.rtype,
                    token.text,
                    T::MAX
                ),
            ),
        }
    }

    fn duration(&mut self, what: &str) -> Option<u32> {
        let token = self.take(what)?;
        match parse_duration(token.text, u64::from(u32::MAX)) {
            Ok(value) => Some(value as u32),
            Err(_) => self.bad(
                &token,
                format!(
                    "bad SOA {what} {:?} (seconds or units such as 1h30m, at most {})",
                    token.text,
                    u32::MAX
                ),
            ),
        }
    }

    fn string(&mut self, token: &Token<'_>) -> Option<Vec<u8>> {
        match decode_string(token.text) {
            Some(bytes) => Some(bytes),
            None => self.bad(token, format!("bad escape in {:?}", token.text)),
        }
    }

    /// The next token as a character-string field (`char_string`).
    fn take_char_string(&mut self, what: &str) -> Option<Vec<u8>> {
        let token = self.take(what)?;
        self.char_string(&token, what)
    }

    /// A character-string field (TXT and SPF strings, HINFO, NAPTR's flags, services and
    /// regexp): at most 255 octets once decoded.
    fn char_string(&mut self, token: &Token<'_>, what: &str) -> Option<Vec<u8>> {
        let string = self.string(token)?;
        if string.len() > 255 {
            let message = string_too_long(self.rtype, what, string.len());
            return self.bad(token, message);
        }
        Some(string)
    }
}

/// Why a character-string of `length` octets is refused (RFC 1035 §3.3: one length octet).
/// Refused, not split: BIND and NSD refuse it too (Knot and PowerDNS split it into 255-octet
/// strings), and a refusal keeps what is stored exactly what was written; TXT and SPF data
/// may hold several strings, which readers such as SPF and DKIM join.
fn string_too_long(rtype: RecordType, what: &str, length: usize) -> String {
    let hint = if matches!(rtype, RecordType::TXT | RecordType::SPF) {
        ": split it into several quoted strings (\"first 255\" \"rest\"), which SPF and DKIM \
         readers join"
    } else {
        ""
    };
    format!(
        "{rtype} {what} is {length} octets, and a character-string holds at most 255 \
         (RFC 1035 §3.3){hint}"
    )
}

/// The largest value of an integer type, for messages.
mod num_bounds {
    /// The largest value, as shown in "must be 0-N".
    pub(crate) trait Max {
        const MAX: u64;
    }
    impl Max for u8 {
        const MAX: u64 = u8::MAX as u64;
    }
    impl Max for u16 {
        const MAX: u64 = u16::MAX as u64;
    }
    impl Max for u32 {
        const MAX: u64 = u32::MAX as u64;
    }
}

/// Decodes a character-string: `\DDD` (three digits, ≤ 255) and `\X` escapes; `None` when an
/// escape is malformed.
pub(crate) fn decode_string(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        if byte != b'\\' {
            out.push(byte);
            index += 1;
            continue;
        }
        let rest = &bytes[index + 1..];
        match rest.first() {
            None => return None,
            Some(next) if next.is_ascii_digit() => {
                let digits = rest.get(..3)?;
                if !digits.iter().all(u8::is_ascii_digit) {
                    return None;
                }
                let value = digits
                    .iter()
                    .fold(0u32, |acc, digit| acc * 10 + u32::from(digit - b'0'));
                out.push(u8::try_from(value).ok()?);
                index += 4;
            }
            Some(&next) => {
                out.push(next);
                index += 2;
            }
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::FieldErrors;
    use proptest::prelude::*;

    /// Words RDATA is made of, so random lines often parse and reach the round trip.
    fn token() -> impl Strategy<Value = String> {
        prop_oneof![
            (0u32..70_000).prop_map(|n| n.to_string()),
            "[0-9a-fA-F]{0,12}",
            "[A-Za-z0-9+/]{0,8}={0,2}",
            "[a-z_*]{1,6}(\\.[a-z]{1,4}){0,2}\\.?",
            "\"[ -~]{0,6}\"",
            "(mandatory|alpn|no-default-alpn|port|ipv4hint|ech|ipv6hint|dohpath|ohttp|tls-supported-groups|key0?[0-9]|key65333)(=[a-z0-9,.:]{0,8})?",
            "key[0-9]{1,2}=\"(\\\\[0-9]{3}|[a-z,]){0,6}\"",
            "[NSEW]|-?[0-9]{1,3}(\\.[0-9]{1,3})?m?",
            Just("\\#".to_string()),
            Just("@".to_string()),
            Just(".".to_string()),
        ]
    }

    proptest! {
        /// The fuzz target `fuzz/fuzz_targets/rdata.rs` as a property: no text of any type
        /// makes the reader panic, and valid data prints to text that reads back the same.
        #[test]
        fn printed_data_reads_back(
            index in 0usize..RecordType::ALL.len(),
            words in prop::collection::vec(token(), 0..9),
        ) {
            let rtype = RecordType::ALL[index];
            let origin = DomainName::parse_absolute("fuzz.example.").unwrap();
            let text = words.join(" ");
            if let Ok(rdata) = parse_rdata(rtype, &text, &origin) {
                let mut errors = FieldErrors::default();
                rdata.validate("rdata", &mut errors);
                if errors.is_empty() {
                    let printed = rdata.to_string();
                    let again = parse_rdata(rtype, &printed, &origin);
                    prop_assert_eq!(again, Ok(rdata), "{} {:?} from {:?}", rtype, printed, text);
                }
            }
        }
    }

    #[test]
    fn strings_decode_escapes() {
        assert_eq!(
            decode_string(r#"a\"b\\c\065\000"#),
            Some(b"a\"b\\cA\0".to_vec())
        );
        assert_eq!(decode_string(r"\256"), None);
        assert_eq!(decode_string(r"\12"), None);
        assert_eq!(decode_string(r"\1a3"), None);
        assert_eq!(decode_string("\\"), None);
    }
}
