//! `TsigKey`: a shared secret for TSIG (RFC 8945), replicated so every DNS node can verify
//! signed requests and sign its responses, with what the key may do: RFC 2136 updates
//! (`UpdateGrant`: a zone, a name pattern, types) and zone transfers (`transfer`).
//!
//! Unlike an API token, the secret itself is stored (HMAC needs it on both sides); the API
//! shows it once, when the key is created, and never lists it.

use serde::{Deserialize, Serialize};

use crate::model::ident::prefix;
use crate::model::name::DomainName;
use crate::model::record::RecordType;
use crate::model::validation::FieldErrors;

/// The shortest secret we accept, in octets (RFC 8945 §6: at least half the hash length;
/// 16 octets is that for HMAC-MD5 and far from guessable for any).
pub const MIN_TSIG_SECRET_LEN: usize = 16;

/// The longest secret we accept, in octets (a 512-bit hash's block is 128 octets; longer
/// keys are hashed down by HMAC anyway).
pub const MAX_TSIG_SECRET_LEN: usize = 128;

/// One TSIG key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TsigKey {
    /// The key's name as it appears on the wire (the TSIG record's owner), absolute and
    /// lower-case, e.g. `acme-key.`.
    pub name: DomainName,
    /// The HMAC algorithm.
    pub algorithm: TsigAlgorithm,
    /// The secret octets; stored as base64 text.
    #[serde(with = "base64_octets")]
    pub secret: Vec<u8>,
    /// What a request signed with this key may change by RFC 2136 UPDATE; empty: nothing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub update: Vec<UpdateGrant>,
    /// Zones a request signed with this key may transfer (AXFR/IXFR).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transfer: Vec<DomainName>,
}

/// The HMAC algorithms of RFC 8945 §6 that we sign and verify with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TsigAlgorithm {
    /// HMAC-MD5 (cert-manager's default; RFC 8945 says MUST for compatibility).
    HmacMd5,
    /// HMAC-SHA1.
    HmacSha1,
    /// HMAC-SHA224.
    HmacSha224,
    /// HMAC-SHA256 (the default for new keys).
    HmacSha256,
    /// HMAC-SHA384.
    HmacSha384,
    /// HMAC-SHA512.
    HmacSha512,
}

impl TsigAlgorithm {
    /// Every algorithm, in a fixed order.
    pub const ALL: [TsigAlgorithm; 6] = [
        TsigAlgorithm::HmacMd5,
        TsigAlgorithm::HmacSha1,
        TsigAlgorithm::HmacSha224,
        TsigAlgorithm::HmacSha256,
        TsigAlgorithm::HmacSha384,
        TsigAlgorithm::HmacSha512,
    ];

    /// The name BIND's `key` block and `gslbctl --algorithm` use (`hmac-sha256`).
    pub fn as_str(self) -> &'static str {
        match self {
            TsigAlgorithm::HmacMd5 => "hmac-md5",
            TsigAlgorithm::HmacSha1 => "hmac-sha1",
            TsigAlgorithm::HmacSha224 => "hmac-sha224",
            TsigAlgorithm::HmacSha256 => "hmac-sha256",
            TsigAlgorithm::HmacSha384 => "hmac-sha384",
            TsigAlgorithm::HmacSha512 => "hmac-sha512",
        }
    }

    /// The algorithm name in the TSIG record (RFC 8945 §6), without the final dot.
    pub fn wire_name(self) -> &'static str {
        match self {
            TsigAlgorithm::HmacMd5 => "hmac-md5.sig-alg.reg.int",
            other => other.as_str(),
        }
    }

    /// The algorithm for a name as a user or a TSIG record gives it: the BIND name or the
    /// wire name, any case, with or without a final dot.
    pub fn from_name(name: &str) -> Option<TsigAlgorithm> {
        let name = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
        TsigAlgorithm::ALL
            .into_iter()
            .find(|algorithm| algorithm.as_str() == name || algorithm.wire_name() == name)
    }

    /// The MAC length in octets.
    pub fn mac_len(self) -> usize {
        match self {
            TsigAlgorithm::HmacMd5 => 16,
            TsigAlgorithm::HmacSha1 => 20,
            TsigAlgorithm::HmacSha224 => 28,
            TsigAlgorithm::HmacSha256 => 32,
            TsigAlgorithm::HmacSha384 => 48,
            TsigAlgorithm::HmacSha512 => 64,
        }
    }
}

impl std::fmt::Display for TsigAlgorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a key may change by UPDATE in one zone: `--update ZONE[:PATTERN[:TYPE,...]]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateGrant {
    /// The zone's apex.
    pub zone: DomainName,
    /// Owner names the key may change, relative to the zone (`_acme-challenge.*`, `www`,
    /// `@` for the apex); a `*` label stands for one or more labels. `None`: every name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// Types the key may change; empty: every type.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub types: Vec<RecordType>,
}

impl UpdateGrant {
    /// True when this grant lets the key change `rtype` at `name` in its zone.
    pub fn permits(&self, name: &DomainName, rtype: RecordType) -> bool {
        if !name.is_subdomain_of(&self.zone) {
            return false;
        }
        if !self.types.is_empty() && !self.types.contains(&rtype) {
            return false;
        }
        match &self.pattern {
            None => true,
            Some(pattern) => pattern_matches(pattern, &name.relative_to(&self.zone)),
        }
    }

    /// The grant in `--update` syntax: `ZONE[:PATTERN[:TYPE,...]]`.
    pub fn to_spec(&self) -> String {
        let mut spec = self.zone.to_string();
        if self.pattern.is_some() || !self.types.is_empty() {
            spec.push(':');
            spec.push_str(self.pattern.as_deref().unwrap_or("*"));
        }
        if !self.types.is_empty() {
            spec.push(':');
            let types: Vec<String> = self.types.iter().map(ToString::to_string).collect();
            spec.push_str(&types.join(","));
        }
        spec
    }

    /// Reads `ZONE[:PATTERN[:TYPE,...]]`; a zone without a final dot is taken as absolute.
    pub fn parse_spec(spec: &str) -> Result<UpdateGrant, String> {
        let mut parts = spec.splitn(3, ':');
        let zone_text = parts.next().unwrap_or_default();
        let zone_text = if zone_text.ends_with('.') {
            zone_text.to_string()
        } else {
            format!("{zone_text}.")
        };
        let zone = DomainName::parse_absolute(&zone_text)
            .map_err(|error| format!("zone {zone_text:?}: {error}"))?;
        let pattern = parts
            .next()
            .filter(|pattern| !pattern.is_empty())
            .map(str::to_ascii_lowercase);
        let mut types = Vec::new();
        if let Some(list) = parts.next() {
            for text in list.split(',').filter(|text| !text.is_empty()) {
                let rtype = RecordType::from_mnemonic(text)
                    .ok_or_else(|| format!("unknown record type {text:?}"))?;
                types.push(rtype);
            }
        }
        let grant = UpdateGrant {
            zone,
            pattern,
            types,
        };
        let mut errors = FieldErrors::default();
        grant.validate("", &mut errors);
        errors.into_result().map_err(|errors| errors.to_string())?;
        Ok(grant)
    }

    /// Checks the pattern's labels and the types.
    fn validate(&self, path: &str, errors: &mut FieldErrors) {
        let prefix = prefix(path);
        if let Some(pattern) = &self.pattern {
            let well_formed = !pattern.is_empty()
                && pattern.split('.').all(|label| {
                    !label.is_empty()
                        && label.len() <= 63
                        && label
                            .bytes()
                            .all(|b| b.is_ascii_graphic() && !b.is_ascii_uppercase())
                });
            if !well_formed {
                errors.push(
                    format!("{prefix}pattern"),
                    format!(
                        "must be lower-case labels relative to the zone, '*' for one or more \
                         labels, '@' for the apex, got {pattern:?}"
                    ),
                );
            }
        }
        for (index, rtype) in self.types.iter().enumerate() {
            if *rtype == RecordType::SOA {
                errors.push(
                    format!("{prefix}types[{index}]"),
                    "SOA is moved by the serial policy, not by updates",
                );
            }
        }
    }
}

/// True when `relative` (a name relative to a zone, `@` for its apex) matches `pattern`,
/// label by label; a `*` label in the pattern matches one or more labels.
fn pattern_matches(pattern: &str, relative: &str) -> bool {
    fn matches(pattern: &[&str], name: &[&str]) -> bool {
        match pattern.split_first() {
            None => name.is_empty(),
            Some((&"*", rest)) => (1..=name.len()).any(|taken| matches(rest, &name[taken..])),
            Some((label, rest)) => {
                name.first().is_some_and(|first| first == label) && matches(rest, &name[1..])
            }
        }
    }
    let pattern: Vec<&str> = pattern.split('.').collect();
    let name: Vec<&str> = relative.split('.').collect();
    if relative == "@" {
        return pattern == ["@"];
    }
    matches(&pattern, &name)
}

impl TsigKey {
    /// Checks the secret's length, the grants and the transfer zones.
    pub fn validate(&self, path: &str, errors: &mut FieldErrors) {
        let prefix = prefix(path);
        if self.name.is_root() {
            errors.push(format!("{prefix}name"), "a key needs a name, got the root");
        }
        if !(MIN_TSIG_SECRET_LEN..=MAX_TSIG_SECRET_LEN).contains(&self.secret.len()) {
            errors.push(
                format!("{prefix}secret"),
                format!(
                    "must be {MIN_TSIG_SECRET_LEN} to {MAX_TSIG_SECRET_LEN} octets, got {}",
                    self.secret.len()
                ),
            );
        }
        for (index, grant) in self.update.iter().enumerate() {
            grant.validate(&format!("{prefix}update[{index}]"), errors);
        }
    }

    /// The key as a BIND `key` block, which `nsupdate -k`, `knsupdate -k`, `named` and
    /// `tsig-keygen` share: `key "NAME" { algorithm ALG; secret "BASE64"; };`.
    pub fn bind_block(&self) -> String {
        format!(
            "key \"{}\" {{\n\talgorithm {};\n\tsecret \"{}\";\n}};\n",
            self.display_name(),
            self.algorithm,
            encode_base64(&self.secret)
        )
    }

    /// The name without its final dot, as BIND and users write key names.
    pub fn display_name(&self) -> String {
        let text = self.name.to_string();
        text.strip_suffix('.').unwrap_or(&text).to_string()
    }

    /// May a request signed with this key change `rtype` at `name`?
    pub fn may_update(&self, name: &DomainName, rtype: RecordType) -> bool {
        self.update.iter().any(|grant| grant.permits(name, rtype))
    }

    /// Does any grant of this key reach into `zone`?
    pub fn may_update_zone(&self, zone: &DomainName) -> bool {
        self.update.iter().any(|grant| &grant.zone == zone)
    }
}

/// The key name for text a user gives (`acme-key`, `acme-key.`): absolute, lower-case.
pub fn parse_key_name(text: &str) -> Result<DomainName, String> {
    let absolute = if text.ends_with('.') {
        text.to_string()
    } else {
        format!("{text}.")
    };
    DomainName::parse_absolute(&absolute).map_err(|error| format!("key name {text:?}: {error}"))
}

/// Standard base64 with padding (RFC 4648 §4), as BIND key files write secrets.
pub fn encode_base64(octets: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(octets)
}

/// Reads standard base64 (padding optional, blanks ignored).
pub fn decode_base64(text: &str) -> Result<Vec<u8>, String> {
    use base64::Engine as _;
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let trimmed = compact.trim_end_matches('=');
    base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(trimmed)
        .map_err(|error| format!("not base64: {error}"))
}

/// Serde for secret octets as base64 text.
mod base64_octets {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(octets: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&super::encode_base64(octets))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(deserializer)?;
        super::decode_base64(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> DomainName {
        DomainName::parse_absolute(text).unwrap()
    }

    #[test]
    fn grants_match_zone_pattern_and_type() {
        let grant = UpdateGrant::parse_spec("acme.test:_acme-challenge.*:TXT").unwrap();
        assert_eq!(grant.to_spec(), "acme.test.:_acme-challenge.*:TXT");
        for (owner, rtype, allowed) in [
            ("_acme-challenge.www.acme.test.", RecordType::TXT, true),
            ("_acme-challenge.a.b.acme.test.", RecordType::TXT, true),
            ("_acme-challenge.acme.test.", RecordType::TXT, false),
            ("_acme-challenge.www.acme.test.", RecordType::A, false),
            ("www.acme.test.", RecordType::TXT, false),
            ("_acme-challenge.www.other.test.", RecordType::TXT, false),
        ] {
            assert_eq!(
                grant.permits(&name(owner), rtype),
                allowed,
                "{owner} {rtype}"
            );
        }
        let whole = UpdateGrant::parse_spec("acme.test").unwrap();
        assert!(whole.permits(&name("acme.test."), RecordType::MX));
        assert!(whole.permits(&name("deep.x.acme.test."), RecordType::A));
        let apex = UpdateGrant::parse_spec("acme.test:@").unwrap();
        assert!(apex.permits(&name("acme.test."), RecordType::TXT));
        assert!(!apex.permits(&name("x.acme.test."), RecordType::TXT));
        assert!(UpdateGrant::parse_spec("acme.test:x:SOA").is_err());
        assert!(UpdateGrant::parse_spec("acme.test:x:BOGUS").is_err());
        assert!(UpdateGrant::parse_spec("acme.test:a..b").is_err());
    }

    #[test]
    fn algorithms_read_bind_and_wire_names() {
        assert_eq!(
            TsigAlgorithm::from_name("HMAC-MD5.SIG-ALG.REG.INT."),
            Some(TsigAlgorithm::HmacMd5)
        );
        assert_eq!(
            TsigAlgorithm::from_name("hmac-sha256."),
            Some(TsigAlgorithm::HmacSha256)
        );
        assert_eq!(TsigAlgorithm::from_name("gss-tsig"), None);
        let json = serde_json::to_string(&TsigAlgorithm::HmacSha224).unwrap();
        assert_eq!(json, "\"hmac-sha224\"");
    }

    #[test]
    fn a_key_prints_as_a_bind_block_and_round_trips() {
        let key = TsigKey {
            name: name("acme-key."),
            algorithm: TsigAlgorithm::HmacSha256,
            secret: (0u8..32).collect(),
            update: vec![UpdateGrant::parse_spec("acme.test:_acme-challenge.*:TXT").unwrap()],
            transfer: vec![],
        };
        let block = key.bind_block();
        assert!(block.starts_with("key \"acme-key\" {\n\talgorithm hmac-sha256;"));
        assert!(block.contains(&format!("secret \"{}\";", encode_base64(&key.secret))));
        let json = serde_json::to_string(&key).unwrap();
        assert_eq!(serde_json::from_str::<TsigKey>(&json).unwrap(), key);
        let mut errors = FieldErrors::default();
        TsigKey {
            secret: vec![1; 4],
            ..key
        }
        .validate("key", &mut errors);
        assert_eq!(
            errors.to_string(),
            "key.secret: must be 16 to 128 octets, got 4"
        );
    }
}
