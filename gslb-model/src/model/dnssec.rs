//! `ZoneKeys` and `DnssecKey`: a signed zone's keys as replicated state.
//!
//! Keys are generated on the leader (the API handler that proposes the command), so a command
//! carries the whole key: the public part in DNSKEY form and the private part sealed with the
//! cluster's key-encryption key (AEAD; only nodes that hold the cluster secret can open it).
//! Nothing here is random or cryptographic: the model only stores, checks and moves keys
//! through their states; `gslb-dns::dnssec` seals, opens and signs.
//!
//! Invariant: the private key is only ever stored sealed; the API never returns this type.

use serde::{Deserialize, Serialize};

use crate::model::validation::FieldErrors;

/// The DNSKEY flags of a zone key that is also a secure entry point (KSK or CSK): 257.
pub const FLAGS_SECURE_ENTRY_POINT: u16 = 257;
/// The DNSKEY flags of a zone-signing key only: 256.
pub const FLAGS_ZONE_KEY: u16 = 256;

/// The signing algorithms gslb generates keys for (IANA DNSSEC algorithm numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DnssecAlgorithm {
    /// ECDSA P-256 with SHA-256, algorithm 13 (RFC 6605): the default, as the root and most
    /// TLDs recommend for new keys (RFC 8624 "MUST").
    #[serde(rename = "ecdsap256sha256")]
    EcdsaP256Sha256,
    /// Ed25519, algorithm 15 (RFC 8080).
    Ed25519,
}

impl DnssecAlgorithm {
    /// The IANA number written in DNSKEY, RRSIG and DS.
    pub fn number(self) -> u8 {
        match self {
            DnssecAlgorithm::EcdsaP256Sha256 => 13,
            DnssecAlgorithm::Ed25519 => 15,
        }
    }

    /// The name operators type (`ecdsap256sha256`, `ed25519`).
    pub fn name(self) -> &'static str {
        match self {
            DnssecAlgorithm::EcdsaP256Sha256 => "ecdsap256sha256",
            DnssecAlgorithm::Ed25519 => "ed25519",
        }
    }

    /// The public key length in DNSKEY form.
    pub fn public_key_len(self) -> usize {
        match self {
            DnssecAlgorithm::EcdsaP256Sha256 => 64,
            DnssecAlgorithm::Ed25519 => 32,
        }
    }
}

impl std::str::FromStr for DnssecAlgorithm {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.to_ascii_lowercase().as_str() {
            "ecdsap256sha256" | "13" => Ok(DnssecAlgorithm::EcdsaP256Sha256),
            "ed25519" | "15" => Ok(DnssecAlgorithm::Ed25519),
            _ => Err(format!(
                "unknown algorithm {text:?} (ecdsap256sha256 or ed25519)"
            )),
        }
    }
}

/// Where a key stands in its life (RFC 7583 terms, simplified).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyState {
    /// In the DNSKEY RRset (and its DS may be at the parent), not signing yet: a
    /// pre-published successor.
    Published,
    /// In the DNSKEY RRset and signing.
    Active,
    /// In the DNSKEY RRset still, no longer signing: its signatures age out of caches.
    Retired,
    /// Signing like an active key, but not in the DNSKEY RRset (nor in CDS): during a
    /// rollover that replaces the whole key set (a new algorithm, or CSK <-> KSK + ZSK,
    /// RFC 6781 §4.1.4), the incoming keys before their DNSKEY is published, and the
    /// outgoing ones after theirs was withdrawn. Either way every RRset a cache may hold
    /// carries a signature of each algorithm any cached DNSKEY RRset has (RFC 4035 §2.2).
    Unpublished,
}

/// One key of a signed zone.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnssecKey {
    /// The key tag (RFC 4034 Appendix B) of its DNSKEY: how operators and RRSIGs name it.
    pub tag: u16,
    /// Its algorithm.
    pub algorithm: DnssecAlgorithm,
    /// DNSKEY flags: 257 for a CSK or KSK, 256 for a ZSK.
    pub flags: u16,
    /// Its state.
    pub state: KeyState,
    /// The public key as DNSKEY carries it, hex.
    pub public_key: String,
    /// The private key (PKCS#8), sealed with the cluster's key-encryption key, hex:
    /// nonce then ciphertext with its tag.
    pub sealed_private_key: String,
    /// Leader time (unix millis) it was generated.
    pub created_at: u64,
}

impl std::fmt::Debug for DnssecKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DnssecKey")
            .field("tag", &self.tag)
            .field("algorithm", &self.algorithm)
            .field("flags", &self.flags)
            .field("state", &self.state)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

impl DnssecKey {
    /// True when the key signs (RRsets get an RRSIG by it).
    pub fn signs(&self) -> bool {
        matches!(self.state, KeyState::Active | KeyState::Unpublished)
    }

    /// True when the key is in the DNSKEY RRset.
    pub fn is_published(&self) -> bool {
        self.state != KeyState::Unpublished
    }

    /// True when the parent should hold its DS (CDS and CDNSKEY list it): an entry point
    /// that is published and not retired.
    pub fn belongs_at_parent(&self) -> bool {
        self.is_entry_point() && matches!(self.state, KeyState::Published | KeyState::Active)
    }

    /// True when it is a secure entry point (its DS belongs at the parent).
    pub fn is_entry_point(&self) -> bool {
        self.flags == FLAGS_SECURE_ENTRY_POINT
    }

    /// Checks the fields a command carries, under `path`.
    pub fn validate(&self, path: &str, errors: &mut FieldErrors) {
        if self.flags != FLAGS_SECURE_ENTRY_POINT && self.flags != FLAGS_ZONE_KEY {
            errors.push(
                format!("{path}.flags"),
                format!("must be 256 or 257, got {}", self.flags),
            );
        }
        match hex::decode(&self.public_key) {
            Ok(bytes) if bytes.len() == self.algorithm.public_key_len() => {}
            Ok(bytes) => errors.push(
                format!("{path}.public_key"),
                format!(
                    "must be {} octets for {}, got {}",
                    self.algorithm.public_key_len(),
                    self.algorithm.name(),
                    bytes.len()
                ),
            ),
            Err(_) => errors.push(format!("{path}.public_key"), "must be hex".to_string()),
        }
        if hex::decode(&self.sealed_private_key).map_or(true, |bytes| bytes.len() < 28) {
            errors.push(
                format!("{path}.sealed_private_key"),
                "must be a sealed key in hex".to_string(),
            );
        }
    }
}

/// The keys of one signed zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneKeys {
    /// The keys, oldest first.
    pub keys: Vec<DnssecKey>,
    /// Leader time (unix millis) signing was enabled.
    pub enabled_at: u64,
    /// Leader time (unix millis) of the last rollover step, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_rollover_at: Option<u64>,
    /// During a rollover that replaces the whole key set: the tags of the incoming keys.
    /// Each set signs as a zone of its own layout (a CSK of one set signs data even while
    /// the other set has a ZSK).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub incoming: Vec<u16>,
}

impl ZoneKeys {
    /// The keys that sign.
    pub fn signing(&self) -> impl Iterator<Item = &DnssecKey> {
        self.keys.iter().filter(|key| key.signs())
    }

    /// The key with `tag`, if any.
    pub fn key(&self, tag: u16) -> Option<&DnssecKey> {
        self.keys.iter().find(|key| key.tag == tag)
    }

    /// True when the zone has KSK and ZSK apart (some key of its current set is a ZSK,
    /// flags 256); while a new key set comes in, the outgoing set is the current one.
    pub fn is_split(&self) -> bool {
        self.keys
            .iter()
            .any(|key| !key.is_entry_point() && !self.incoming.contains(&key.tag))
    }

    /// True when `key` is a combined signing key: an entry point with no ZSK in its set.
    pub fn is_combined(&self, key: &DnssecKey) -> bool {
        let incoming = self.incoming.contains(&key.tag);
        key.is_entry_point()
            && !self.keys.iter().any(|other| {
                !other.is_entry_point() && self.incoming.contains(&other.tag) == incoming
            })
    }

    /// `csk`, `ksk` or `zsk`: what `key` is in its set.
    pub fn role(&self, key: &DnssecKey) -> &'static str {
        match (key.is_entry_point(), self.is_combined(key)) {
            (false, _) => "zsk",
            (true, false) => "ksk",
            (true, true) => "csk",
        }
    }

    /// True when `key` signs the zone's data: an active (or unpublished) ZSK, or such a
    /// CSK. Every entry-point key (CSK or KSK, in any state) signs the DNSKEY RRset besides.
    pub fn signs_data(&self, key: &DnssecKey) -> bool {
        key.signs() && (!key.is_entry_point() || self.is_combined(key))
    }
}
