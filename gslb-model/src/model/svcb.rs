//! SvcParams of SVCB and HTTPS records (RFC 9460): the keys, their presentation format
//! (`alpn=h2,h3 port=8443 ipv4hint=192.0.2.1`) and their wire values.
//!
//! A parameter is kept as its key number and the octets of its wire value, so every key,
//! known or not (`key65333=...`), is stored, answered and compared the same way; this module
//! turns the known keys' values into presentation format and back, and checks the rules of
//! RFC 9460 §2.2 and §8 (keys in strictly increasing order, no duplicates, `mandatory` lists
//! only present keys and never itself, value shapes per key).

use std::fmt::{self, Write as _};
use std::net::{Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

use crate::model::base64_text as base64;

/// One SvcParam: a key and its wire value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SvcParam {
    /// The SvcParamKey (0 mandatory, 1 alpn, 2 no-default-alpn, 3 port, 4 ipv4hint, 5 ech,
    /// 6 ipv6hint, 7 dohpath, others by number).
    pub key: u16,
    /// The SvcParamValue octets as on the wire.
    pub value: Vec<u8>,
}

/// The key names RFC 9460 §14.3.2, RFC 9461 and RFC 9540 register; others are `keyNNNNN`.
const KEY_NAMES: [(u16, &str); 9] = [
    (0, "mandatory"),
    (1, "alpn"),
    (2, "no-default-alpn"),
    (3, "port"),
    (4, "ipv4hint"),
    (5, "ech"),
    (6, "ipv6hint"),
    (7, "dohpath"),
    (8, "ohttp"),
];

/// The presentation name of a key.
pub fn key_name(key: u16) -> String {
    KEY_NAMES
        .iter()
        .find(|(code, _)| *code == key)
        .map_or_else(|| format!("key{key}"), |(_, name)| (*name).to_string())
}

/// The key for a presentation name (`alpn`, `key65333`); key 65535 is reserved.
pub fn key_from_name(name: &str) -> Result<u16, String> {
    if let Some((code, _)) = KEY_NAMES.iter().find(|(_, known)| *known == name) {
        return Ok(*code);
    }
    let digits = name
        .strip_prefix("key")
        .filter(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| format!("unknown SvcParamKey {name:?}"))?;
    if digits.len() > 1 && digits.starts_with('0') {
        return Err(format!("SvcParamKey {name:?} has a leading zero"));
    }
    match digits.parse::<u16>() {
        Ok(65535) | Err(_) => Err(format!("SvcParamKey {name:?} is out of range (0-65534)")),
        Ok(key) => Ok(key),
    }
}

/// Parses one `key=value` (value already decoded from its character-string form, `None`
/// for a bare key) into a parameter.
pub fn parse_param(key_text: &str, value: Option<&[u8]>) -> Result<SvcParam, String> {
    let key = key_from_name(key_text)?;
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
                keys.push(key_from_name(&name)?);
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
        7 => {
            needs_value()?;
            wire = value.unwrap_or_default().to_vec();
        }
        _ => wire = value.unwrap_or_default().to_vec(),
    }
    Ok(SvcParam { key, value: wire })
}

/// Checks a whole parameter list (sorted by key): no duplicates, `mandatory` consistent,
/// each known key's wire value well formed.
pub fn check_params(params: &[SvcParam]) -> Result<(), String> {
    for pair in params.windows(2) {
        if pair[0].key >= pair[1].key {
            return Err(format!(
                "SvcParamKey {} is given twice or out of order",
                key_name(pair[1].key)
            ));
        }
    }
    for param in params {
        let length = param.value.len();
        let bad = match param.key {
            0 => length == 0 || !length.is_multiple_of(2),
            1 => length == 0 || split_alpn(&param.value).is_none(),
            2 | 8 => length != 0,
            3 => length != 2,
            4 => length == 0 || !length.is_multiple_of(4),
            6 => length == 0 || !length.is_multiple_of(16),
            5 | 7 => length == 0,
            _ => false,
        };
        if bad {
            return Err(format!("malformed {} value", key_name(param.key)));
        }
        if param.value.len() > usize::from(u16::MAX) {
            return Err(format!("{} value too long", key_name(param.key)));
        }
    }
    if let Some(mandatory) = params.iter().find(|param| param.key == 0) {
        for chunk in mandatory.value.chunks(2) {
            let key = u16::from_be_bytes([chunk[0], *chunk.get(1).unwrap_or(&0)]);
            if key == 0 {
                return Err("mandatory must not list itself".to_string());
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
        return Err("no-default-alpn needs alpn (RFC 9460 §7.1.1)".to_string());
    }
    Ok(())
}

/// Writes one parameter in presentation format (`alpn=h2,h3`, `no-default-alpn`).
pub fn write_param(f: &mut fmt::Formatter<'_>, param: &SvcParam) -> fmt::Result {
    let name = key_name(param.key);
    let value = &param.value;
    match param.key {
        2 | 8 if value.is_empty() => f.write_str(&name),
        0 if value.len().is_multiple_of(2) => {
            let names: Vec<String> = value
                .chunks(2)
                .map(|chunk| key_name(u16::from_be_bytes([chunk[0], chunk[1]])))
                .collect();
            write!(f, "{name}={}", names.join(","))
        }
        1 => match split_alpn(value) {
            Some(ids) => {
                let mut text = String::new();
                for (index, id) in ids.iter().enumerate() {
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
            None => write_opaque(f, &name, value),
        },
        3 if value.len() == 2 => {
            write!(f, "{name}={}", u16::from_be_bytes([value[0], value[1]]))
        }
        4 if !value.is_empty() && value.len().is_multiple_of(4) => {
            let items: Vec<String> = value
                .chunks(4)
                .map(|chunk| Ipv4Addr::new(chunk[0], chunk[1], chunk[2], chunk[3]).to_string())
                .collect();
            write!(f, "{name}={}", items.join(","))
        }
        5 => write!(f, "{name}={}", base64::encode(value)),
        6 if !value.is_empty() && value.len().is_multiple_of(16) => {
            let items: Vec<String> = value
                .chunks(16)
                .map(|chunk| {
                    let octets: [u8; 16] = chunk.try_into().unwrap_or([0; 16]);
                    Ipv6Addr::from(octets).to_string()
                })
                .collect();
            write!(f, "{name}={}", items.join(","))
        }
        _ => write_opaque(f, &name, value),
    }
}

/// `name="octets"` with character-string escapes; `name` alone for an empty value.
fn write_opaque(f: &mut fmt::Formatter<'_>, name: &str, value: &[u8]) -> fmt::Result {
    if value.is_empty() {
        return f.write_str(name);
    }
    write!(f, "{name}=\"")?;
    for &byte in value {
        match byte {
            b'"' | b'\\' => write!(f, "\\{}", byte as char)?,
            0x20..=0x7e => write!(f, "{}", byte as char)?,
            _ => write!(f, "\\{byte:03}")?,
        }
    }
    f.write_str("\"")
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
