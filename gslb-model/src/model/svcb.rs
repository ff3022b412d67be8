//! SvcParams of SVCB and HTTPS records (RFC 9460): the keys, their presentation format
//! (`alpn=h2,h3 port=8443 ipv4hint=192.0.2.1`) and their wire values.
//!
//! A parameter is kept as its key number and the octets of its wire value, so every key,
//! known or not (`key65333=...`), is stored, answered and compared the same way; this module
//! turns the known keys' values into presentation format and back, and checks the rules of
//! RFC 9460 §2.2 and §8 (keys in strictly increasing order, no duplicates, `mandatory` lists
//! only present keys, each once, and never itself, value shapes per key).
//!
//! A key written `keyNNNNN` takes its value as the octets of the wire value (RFC 9460 §2.1),
//! known key or not, as BIND and Knot read it: `key1="\002h2"` is `alpn=h2`, and `key1="h2"`
//! is refused as a malformed alpn value. This is what tools print for keys they do not know
//! (Knot 3.2 and BIND 9.18 print `key9="\000\029\000\023"` for `tls-supported-groups=29,23`),
//! so their zone files read back as the same records (NSD 4.6 and PowerDNS read the value
//! as the named key's presentation text instead: `key1=h2` is `alpn=h2` there, an error
//! here that says to write `alpn=h2`). Leading zeros (`key0997`) are accepted,
//! as Knot, NSD and PowerDNS accept them, and printed without.

use std::fmt::{self, Write as _};
use std::net::{Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

use crate::model::base64_text as base64;

/// One SvcParam: a key and its wire value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SvcParam {
    /// The SvcParamKey (0 mandatory, 1 alpn, 2 no-default-alpn, 3 port, 4 ipv4hint, 5 ech,
    /// 6 ipv6hint, 7 dohpath, 8 ohttp, 9 tls-supported-groups, others by number).
    pub key: u16,
    /// The SvcParamValue octets as on the wire.
    pub value: Vec<u8>,
}

/// The key names RFC 9460 §14.3.2, RFC 9461 (dohpath), RFC 9540 (ohttp) and
/// draft-ietf-tls-key-share-prediction (tls-supported-groups) register; others are
/// `keyNNNNN`.
const KEY_NAMES: [(u16, &str); 10] = [
    (0, "mandatory"),
    (1, "alpn"),
    (2, "no-default-alpn"),
    (3, "port"),
    (4, "ipv4hint"),
    (5, "ech"),
    (6, "ipv6hint"),
    (7, "dohpath"),
    (8, "ohttp"),
    (9, "tls-supported-groups"),
];

/// The presentation name of a key.
pub fn key_name(key: u16) -> String {
    KEY_NAMES
        .iter()
        .find(|(code, _)| *code == key)
        .map_or_else(|| format!("key{key}"), |(_, name)| (*name).to_string())
}

/// A key as written in presentation format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WrittenKey {
    /// The key number.
    pub key: u16,
    /// True when written `keyNNNNN`: the value is then the wire value's octets.
    pub generic: bool,
}

/// The key for a presentation name (`alpn`, `key65333`, `key1`); key 65535 is reserved.
pub fn key_from_name(name: &str) -> Result<WrittenKey, String> {
    if let Some((code, _)) = KEY_NAMES.iter().find(|(_, known)| *known == name) {
        return Ok(WrittenKey {
            key: *code,
            generic: false,
        });
    }
    let digits = name
        .strip_prefix("key")
        .filter(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| format!("unknown SvcParamKey {name:?}"))?;
    match digits.trim_start_matches('0').parse::<u16>() {
        Ok(65535) => Err(format!(
            "SvcParamKey {name:?} is reserved (\"Invalid key\", RFC 9460 §14.3.2)"
        )),
        Ok(key) => Ok(WrittenKey { key, generic: true }),
        // Only zeros: key 0, mandatory.
        Err(_) if digits.bytes().all(|b| b == b'0') => Ok(WrittenKey {
            key: 0,
            generic: true,
        }),
        Err(_) => Err(format!("SvcParamKey {name:?} is out of range (0-65534)")),
    }
}

/// Parses one `key=value` (value already decoded from its character-string form, `None`
/// for a bare key) into a parameter.
pub fn parse_param(key_text: &str, value: Option<&[u8]>) -> Result<SvcParam, String> {
    let WrittenKey { key, generic } = key_from_name(key_text)?;
    if generic {
        let wire = value.unwrap_or_default().to_vec();
        if let Some(problem) = value_problem(key, &wire) {
            let name = key_name(key);
            if name.starts_with("key") {
                return Err(format!("{key_text} value must be {problem}"));
            }
            return Err(format!(
                "{key_text} is {name}, and in keyNNNNN form its value is {name}'s wire \
                 format (RFC 9460 §2.1): {} is not a valid one (it must be {problem}); \
                 write {name}=... to give it in presentation format",
                quoted(&wire)
            ));
        }
        return Ok(SvcParam { key, value: wire });
    }
    let text = || {
        std::str::from_utf8(value.unwrap_or_default())
            .map_err(|_| format!("{key_text} value is not text"))
    };
    let needs_value = || match value {
        Some(bytes) if !bytes.is_empty() => Ok(()),
        _ => Err(format!("{key_text} needs a value")),
    };
    let mut wire = Vec::new();
    match key {
        0 => {
            needs_value()?;
            let mut keys = Vec::new();
            for item in split_list(value.unwrap_or_default())? {
                let name = String::from_utf8(item).map_err(|_| "mandatory: bad key".to_string())?;
                let listed = key_from_name(&name)?.key;
                if keys.contains(&listed) {
                    return Err(format!(
                        "mandatory lists {} twice (RFC 9460 §8)",
                        key_name(listed)
                    ));
                }
                keys.push(listed);
            }
            keys.sort_unstable();
            for key in keys {
                wire.extend_from_slice(&key.to_be_bytes());
            }
        }
        1 => {
            needs_value()?;
            for item in split_list(value.unwrap_or_default())? {
                if item.is_empty() || item.len() > 255 {
                    return Err("alpn: each protocol id must be 1-255 octets".to_string());
                }
                wire.push(item.len() as u8);
                wire.extend_from_slice(&item);
            }
        }
        2 | 8 => {
            if value.is_some_and(|bytes| !bytes.is_empty()) {
                return Err(format!("{key_text} takes no value"));
            }
        }
        3 => {
            needs_value()?;
            let port = text()?
                .parse::<u16>()
                .map_err(|_| format!("port must be 0-65535, got {:?}", text().unwrap_or("")))?;
            wire.extend_from_slice(&port.to_be_bytes());
        }
        4 => {
            needs_value()?;
            for item in text()?.split(',') {
                let address: Ipv4Addr = item
                    .parse()
                    .map_err(|_| format!("ipv4hint: bad IPv4 address {item:?}"))?;
                wire.extend_from_slice(&address.octets());
            }
        }
        5 => {
            needs_value()?;
            wire = base64::decode(text()?).map_err(|error| format!("ech: {error}"))?;
        }
        6 => {
            needs_value()?;
            for item in text()?.split(',') {
                let address: Ipv6Addr = item
                    .parse()
                    .map_err(|_| format!("ipv6hint: bad IPv6 address {item:?}"))?;
                wire.extend_from_slice(&address.octets());
            }
        }
        9 => {
            needs_value()?;
            for item in text()?.split(',') {
                let group = (!item.is_empty() && item.bytes().all(|b| b.is_ascii_digit()))
                    .then(|| item.parse::<u16>().ok())
                    .flatten()
                    .ok_or_else(|| {
                        format!(
                            "tls-supported-groups: each group must be a number 0-65535, got \
                             {item:?}"
                        )
                    })?;
                wire.extend_from_slice(&group.to_be_bytes());
            }
        }
        // dohpath (7) is a URI template: its text is its wire value.
        _ => {
            if key == 7 {
                needs_value()?;
            }
            wire = value.unwrap_or_default().to_vec();
        }
    }
    Ok(SvcParam { key, value: wire })
}

/// What is wrong with `value` as the wire value of `key` (RFC 9460 §7, RFC 9461 §5,
/// RFC 9540 §4), or `None` when it is well formed; keys without a registered format take
/// any octets.
fn value_problem(key: u16, value: &[u8]) -> Option<&'static str> {
    let length = value.len();
    match key {
        0 if length == 0 || !length.is_multiple_of(2) => Some("a list of 2-octet keys"),
        1 if length == 0 || split_alpn(value).is_none() => {
            Some("length-prefixed protocol ids of 1-255 octets")
        }
        2 | 8 if length != 0 => Some("an empty value"),
        3 if length != 2 => Some("a 2-octet port"),
        4 if length == 0 || !length.is_multiple_of(4) => Some("4-octet IPv4 addresses"),
        6 if length == 0 || !length.is_multiple_of(16) => Some("16-octet IPv6 addresses"),
        5 | 7 if length == 0 => Some("a value that is not empty"),
        9 if length == 0 || !length.is_multiple_of(2) => Some("a list of 2-octet groups"),
        _ if length > usize::from(u16::MAX) => Some("at most 65535 octets"),
        _ => None,
    }
}

/// Checks a whole parameter list as it goes on the wire: keys strictly increasing (so no
/// duplicates), each known key's value well formed, `mandatory` listing present keys in
/// increasing order, never itself, and `alpn` beside `no-default-alpn`.
pub fn check_params(params: &[SvcParam]) -> Result<(), String> {
    for pair in params.windows(2) {
        if pair[0].key >= pair[1].key {
            return Err(format!(
                "SvcParamKey {} is given twice or out of order (keys must be in strictly \
                 increasing order, RFC 9460 §2.2)",
                key_name(pair[1].key)
            ));
        }
    }
    for param in params {
        if let Some(problem) = value_problem(param.key, &param.value) {
            return Err(format!(
                "malformed {} value {} (must be {problem})",
                key_name(param.key),
                quoted(&param.value)
            ));
        }
    }
    if let Some(mandatory) = params.iter().find(|param| param.key == 0) {
        let listed: Vec<u16> = mandatory
            .value
            .chunks_exact(2)
            .map(|chunk| u16::from_be_bytes([chunk[0], chunk[1]]))
            .collect();
        for (index, &key) in listed.iter().enumerate() {
            if key == 0 {
                return Err("mandatory must not list itself (RFC 9460 §8)".to_string());
            }
            if index > 0 && listed[index - 1] >= key {
                return Err(format!(
                    "mandatory lists {} twice or out of order (RFC 9460 §8)",
                    key_name(key)
                ));
            }
            if !params.iter().any(|param| param.key == key) {
                return Err(format!(
                    "mandatory lists {}, which is not present",
                    key_name(key)
                ));
            }
        }
    }
    if params.iter().any(|param| param.key == 2) && !params.iter().any(|param| param.key == 1) {
        return Err(
            "no-default-alpn needs alpn: without it the RR is not self-consistent and clients \
             ignore it (RFC 9460 §7.1.1, §2.4.3)"
                .to_string(),
        );
    }
    Ok(())
}

/// Writes one parameter in presentation format (`alpn=h2,h3`, `no-default-alpn`); a known
/// key whose value is malformed (never stored: `check_params` refuses it) is written as
/// `keyNNNNN="octets"`, which reads back to the same octets.
pub fn write_param(f: &mut fmt::Formatter<'_>, param: &SvcParam) -> fmt::Result {
    let value = &param.value;
    if value_problem(param.key, value).is_some() {
        return write_opaque(f, &format!("key{}", param.key), value);
    }
    let name = key_name(param.key);
    match param.key {
        0 => {
            let names: Vec<String> = value
                .chunks_exact(2)
                .map(|chunk| key_name(u16::from_be_bytes([chunk[0], chunk[1]])))
                .collect();
            write!(f, "{name}={}", names.join(","))
        }
        1 => {
            let mut text = String::new();
            for (index, id) in split_alpn(value).unwrap_or_default().iter().enumerate() {
                if index > 0 {
                    text.push(',');
                }
                for &byte in *id {
                    match byte {
                        b',' => text.push_str("\\\\,"),
                        b'\\' => text.push_str("\\\\\\\\"),
                        b'"' => text.push_str("\\\""),
                        0x21..=0x7e => text.push(byte as char),
                        _ => {
                            let _ = write!(text, "\\{byte:03}");
                        }
                    }
                }
            }
            write!(f, "{name}={text}")
        }
        2 | 8 => f.write_str(&name),
        3 => write!(f, "{name}={}", u16::from_be_bytes([value[0], value[1]])),
        4 => {
            let items: Vec<String> = value
                .chunks_exact(4)
                .map(|chunk| Ipv4Addr::new(chunk[0], chunk[1], chunk[2], chunk[3]).to_string())
                .collect();
            write!(f, "{name}={}", items.join(","))
        }
        5 => write!(f, "{name}={}", base64::encode(value)),
        6 => {
            let items: Vec<String> = value
                .chunks_exact(16)
                .map(|chunk| {
                    let octets: [u8; 16] = chunk.try_into().unwrap_or([0; 16]);
                    Ipv6Addr::from(octets).to_string()
                })
                .collect();
            write!(f, "{name}={}", items.join(","))
        }
        9 => {
            let groups: Vec<String> = value
                .chunks_exact(2)
                .map(|chunk| u16::from_be_bytes([chunk[0], chunk[1]]).to_string())
                .collect();
            write!(f, "{name}={}", groups.join(","))
        }
        _ => write_opaque(f, &name, value),
    }
}

/// The octets as a quoted character-string, for messages.
fn quoted(value: &[u8]) -> String {
    struct Quoted<'a>(&'a [u8]);
    impl fmt::Display for Quoted<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write_escaped(f, self.0)
        }
    }
    format!("\"{}\"", Quoted(value))
}

/// `name="octets"` with character-string escapes; `name` alone for an empty value.
fn write_opaque(f: &mut fmt::Formatter<'_>, name: &str, value: &[u8]) -> fmt::Result {
    if value.is_empty() {
        return f.write_str(name);
    }
    write!(f, "{name}=\"")?;
    write_escaped(f, value)?;
    f.write_str("\"")
}

/// The octets with `"` and `\` escaped and bytes outside printable ASCII as `\DDD`.
fn write_escaped(f: &mut fmt::Formatter<'_>, value: &[u8]) -> fmt::Result {
    for &byte in value {
        match byte {
            b'"' | b'\\' => write!(f, "\\{}", byte as char)?,
            0x20..=0x7e => write!(f, "{}", byte as char)?,
            _ => write!(f, "\\{byte:03}")?,
        }
    }
    Ok(())
}

/// The alpn ids of a wire value, or `None` when the lengths do not add up.
fn split_alpn(value: &[u8]) -> Option<Vec<&[u8]>> {
    let mut ids = Vec::new();
    let mut pos = 0;
    while pos < value.len() {
        let length = usize::from(value[pos]);
        let id = value.get(pos + 1..pos + 1 + length)?;
        if id.is_empty() {
            return None;
        }
        ids.push(id);
        pos += 1 + length;
    }
    Some(ids)
}

/// Splits a decoded value-list at commas; `\,` and `\\` (left by the character-string
/// decoding of `\\,` and `\\\\`) stand for a comma and a backslash (RFC 9460 Appendix A.1).
fn split_list(value: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let mut items = vec![Vec::new()];
    let mut bytes = value.iter();
    while let Some(&byte) = bytes.next() {
        match byte {
            b'\\' => match bytes.next() {
                Some(&escaped) => items.last_mut().map_or((), |item| item.push(escaped)),
                None => return Err("value list ends with a backslash".to_string()),
            },
            b',' => items.push(Vec::new()),
            _ => items.last_mut().map_or((), |item| item.push(byte)),
        }
    }
    if items.iter().any(Vec::is_empty) {
        return Err("value list has an empty item".to_string());
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use crate::model::{DomainName, RecordType};
    use crate::zonefile::parse_rdata;

    /// Reads SVCB data and checks what it prints (canonical form), or the error it gives.
    fn check(text: &str, wanted: &str) {
        let origin = DomainName::parse_absolute("example.org.").unwrap();
        match parse_rdata(RecordType::SVCB, text, &origin) {
            Ok(rdata) => {
                let printed = rdata.to_string();
                assert_eq!(printed, wanted, "{text}");
                let again = parse_rdata(RecordType::SVCB, &printed, &origin).unwrap();
                assert_eq!(again, rdata, "{printed} does not read back");
            }
            Err(error) => assert!(error.contains(wanted), "{text}: {error}"),
        }
    }

    /// Every registered key in presentation format, printed in key order as Knot prints
    /// them (and PowerDNS's `svcb-servicemode` test expects for keys 7-9).
    #[test]
    fn named_keys_print_in_canonical_order() {
        check(
            r#"5 . port="8004" alpn=h2 no-default-alpn dohpath=/dns-query{?dns} ohttp tls-supported-groups=29,23"#,
            r#"5 . alpn=h2 no-default-alpn port=8004 dohpath="/dns-query{?dns}" ohttp tls-supported-groups=29,23"#,
        );
        check(
            r#"16 foo.example.net. mandatory=alpn alpn=f\\\\oo\\,bar,h2 no-default-alpn key65333="ex1""#,
            r#"16 foo.example.net. mandatory=alpn alpn=f\\\\oo\\,bar,h2 no-default-alpn key65333="ex1""#,
        );
        check(
            "1 . ipv6hint=2001:db8::1,::ffff:1.2.3.4 mandatory=port,ipv6hint port=1 ech=AQID \
             ipv4hint=192.0.2.1,192.0.2.2",
            "1 . mandatory=port,ipv6hint port=1 ipv4hint=192.0.2.1,192.0.2.2 ech=AQID \
             ipv6hint=2001:db8::1,::ffff:1.2.3.4",
        );
        check(
            "1 . tls-supported-groups=4588,29,23",
            "1 . tls-supported-groups=4588,29,23",
        );
        check("1 . ohttp=\"\"", "1 . ohttp");
    }

    /// `keyNNNNN` values are wire octets (RFC 9460 §2.1), known key or not: the same
    /// octets Knot and BIND store for them; known keys print by name.
    #[test]
    fn generic_keys_take_wire_values() {
        check(
            r#"1 . key1="\002h2" key3="\000\053" key8 key9="\000\029\000\023" key7="/q{?dns}""#,
            r#"1 . alpn=h2 port=53 dohpath="/q{?dns}" ohttp tls-supported-groups=29,23"#,
        );
        check(
            r#"1 . key0="\000\003" key3="\000\001""#,
            "1 . mandatory=port port=1",
        );
        // "53" is two octets: port 13619, as BIND reads it.
        check("1 . key3=53", "1 . port=13619");
        check(
            r#"6 . key00997="quoted" key0998=foo key999=bar"#,
            r#"6 . key997="quoted" key998="foo" key999="bar""#,
        );
        check(
            r#"1 . key65534="a\"b\\c\255 d" key12="x,y" key13="\092\044" key10 key11="""#,
            r#"1 . key10 key11 key12="x,y" key13="\\," key65534="a\"b\\c\255 d""#,
        );
    }

    /// What Knot and BIND refuse, and more: each error names the key and the rule.
    #[test]
    fn wrong_params_are_refused_with_the_reason() {
        for (text, wanted) in [
            ("1 . key65535", "is reserved (\"Invalid key\""),
            ("1 . key65535=x", "is reserved"),
            ("1 . key1234567", "out of range"),
            (
                "1 . key1=\"h2\"",
                "key1 is alpn, and in keyNNNNN form its value is alpn's wire",
            ),
            ("1 . key8=x", "key8 is ohttp"),
            ("1 . key9=\"\\000\"", "2-octet groups"),
            ("1 . key00000", "mandatory's wire"),
            ("1 . port=1 key3=\"\\000\\002\"", "port is given twice"),
            ("1 . alpn=h2 alpn=h3", "alpn is given twice"),
            ("1 . mandatory=mandatory", "must not list itself"),
            (
                "1 . mandatory=port,port port=1",
                "mandatory lists port twice",
            ),
            (
                "1 . mandatory=port",
                "mandatory lists port, which is not present",
            ),
            (
                "1 . tls-supported-groups=",
                "tls-supported-groups needs a value",
            ),
            (
                "1 . tls-supported-groups",
                "tls-supported-groups needs a value",
            ),
            (
                "1 . tls-supported-groups=foo,bar",
                "each group must be a number",
            ),
            ("1 . tls-supported-groups=29,,23", "got \"\""),
            ("1 . tls-supported-groups=65536", "0-65535"),
            ("1 . ohttp=x", "ohttp takes no value"),
            ("1 . no-default-alpn=x", "takes no value"),
            ("1 . dohpath", "dohpath needs a value"),
            ("1 . no-default-alpn", "no-default-alpn needs alpn"),
            ("1 . fancy=1", "unknown SvcParamKey \"fancy\""),
        ] {
            check(text, wanted);
        }
    }
}
