//! `ZoneSigner`: one signed zone's opened keys and its DNSKEY/CDS/CDNSKEY RRsets, and the
//! making of RRSIG RDATA for an RRset (RFC 4034 §3, RFC 4035 §2.2).
//!
//! Signature validity: inception one hour before the start of the current hour (clock skew
//! between us and resolvers), expiration `VALIDITY` after that. Both move once an hour, so
//! every answer of that hour signs the same data and the shared cache serves it; expiration
//! stays days past any TTL we hand out (TTLs are at most a day: `MAX_TTL`), so a cached
//! answer never outlives its signature. A GSLB answer whose TTL is cut to the health lease
//! left carries that cut TTL as the RRSIG's original TTL: resolvers cache it no longer.

use std::sync::Arc;

use gslb_model::{DomainName, ZoneKeys};

use crate::dnssec::cache::SignatureCache;
use crate::dnssec::keys::{ds_rdata, key_rdata, DigestType, OpenKey};
use crate::metrics::{DnsMetrics, DnssecEvent};

/// How long a signature is valid from its inception.
pub const VALIDITY_SECS: u64 = 8 * 24 * 3600;
/// The step by which signature windows move.
const WINDOW_STEP_SECS: u64 = 3600;
/// The longest TTL a signed answer carries: longer ones are cut, so no cached RRset
/// outlives its signature (a TTL may be up to 2^31 - 1 in the model).
pub const MAX_SIGNED_TTL: u32 = 2 * 24 * 3600;
/// TTL of the DNSKEY, CDS and CDNSKEY RRsets.
pub const DNSKEY_TTL: u32 = 3600;
/// DNSKEY.
pub(crate) const DNSKEY: u16 = 48;
/// CDS (RFC 7344).
pub(crate) const CDS: u16 = 59;
/// CDNSKEY (RFC 7344).
pub(crate) const CDNSKEY: u16 = 60;
/// Class IN.
const CLASS_IN: u16 = 1;

/// The validity window of signatures made at one time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window {
    /// Inception, unix seconds (32-bit serial arithmetic, RFC 4034 §3.1.5).
    pub(crate) inception: u32,
    /// Expiration, unix seconds.
    pub(crate) expiration: u32,
}

impl Window {
    /// The window of signatures made at `now_secs`.
    pub(crate) fn at(now_secs: u64) -> Window {
        let inception = (now_secs / WINDOW_STEP_SECS).saturating_sub(1) * WINDOW_STEP_SECS;
        Window {
            inception: inception as u32,
            expiration: (inception + VALIDITY_SECS) as u32,
        }
    }
}

/// A signed zone, ready to sign answers.
pub struct ZoneSigner {
    /// The apex, lower-case wire form (the RRSIG signer's name).
    apex: Vec<u8>,
    /// The opened keys, in the zone's key order, with what their state lets them sign.
    keys: Vec<SigningKey>,
    /// DNSKEY RDATA of every key of the zone in the DNSKEY RRset (published, active or
    /// retired; an unpublished key of a key-set rollover signs without being there).
    dnskeys: Vec<Vec<u8>>,
    /// CDS RDATA (SHA-256) of the entry-point keys published and not retired: what the
    /// parent should hold.
    cds: Vec<Vec<u8>>,
    /// CDNSKEY RDATA of the same keys.
    cdnskeys: Vec<Vec<u8>>,
}

/// An opened key and its role now (the state may change while the key stays).
struct SigningKey {
    /// The key.
    open: Arc<OpenKey>,
    /// It signs every RRset (an `Active` or `Unpublished` ZSK or CSK: `ZoneKeys::signs_data`).
    signs: bool,
    /// A secure entry point: it signs the DNSKEY, CDS and CDNSKEY RRsets in every state
    /// (published, active, retired, unpublished).
    entry_point: bool,
}

impl std::fmt::Debug for ZoneSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZoneSigner")
            .field(
                "keys",
                &self.keys.iter().map(|key| key.open.tag).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl ZoneSigner {
    /// The signer of `zone` with `keys` opened as `opened` (same order).
    pub(crate) fn new(zone: &DomainName, keys: &ZoneKeys, opened: Vec<Arc<OpenKey>>) -> ZoneSigner {
        let parent_keys = keys.keys.iter().filter(|key| key.belongs_at_parent());
        ZoneSigner {
            apex: zone.to_wire(),
            keys: keys
                .keys
                .iter()
                .zip(opened)
                .map(|(key, open)| SigningKey {
                    open,
                    signs: keys.signs_data(key),
                    entry_point: key.is_entry_point(),
                })
                .collect(),
            dnskeys: keys
                .keys
                .iter()
                .filter(|key| key.is_published())
                .map(key_rdata)
                .collect(),
            cds: parent_keys
                .clone()
                .map(|key| ds_rdata(zone, key, DigestType::Sha256))
                .collect(),
            cdnskeys: parent_keys.map(key_rdata).collect(),
        }
    }

    /// The RDATA of the apex RRset of `rtype` (DNSKEY, CDS, CDNSKEY) this signer publishes.
    pub(crate) fn key_set(&self, rtype: u16) -> Option<&[Vec<u8>]> {
        match rtype {
            DNSKEY => Some(&self.dnskeys),
            CDS if !self.cds.is_empty() => Some(&self.cds),
            CDNSKEY if !self.cdnskeys.is_empty() => Some(&self.cdnskeys),
            _ => None,
        }
    }

    /// The apex types this signer adds to the zone's own (for NSEC bitmaps).
    pub(crate) fn apex_types(&self) -> impl Iterator<Item = u16> + '_ {
        [DNSKEY, CDS, CDNSKEY]
            .into_iter()
            .filter(|rtype| self.key_set(*rtype).is_some())
    }

    /// Appends one RRSIG RDATA per signing key over the RRset `owner`/`rtype`/`ttl` with
    /// `rdatas`, to `out` (each as `(rdata)`); `labels` is the RRSIG labels field (fewer
    /// than the owner's for a wildcard expansion). The DNSKEY, CDS and CDNSKEY RRsets are also
    /// signed by every entry-point key (a KSK that does not sign the rest).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn sign_rrset(
        &self,
        cache: &SignatureCache,
        (metrics, shard): (&DnsMetrics, usize),
        owner: &[u8],
        labels: u8,
        rtype: u16,
        ttl: u32,
        rdatas: &mut Vec<&[u8]>,
        window: Window,
        out: &mut Vec<Vec<u8>>,
    ) {
        rdatas.sort_unstable();
        rdatas.dedup();
        let signed_owner = signed_owner(owner, labels);
        for key in &self.keys {
            // RFC 7344 §4.1: CDS and CDNSKEY are signed by a key the parent's DS vouches for.
            let entry_point_set = matches!(rtype, DNSKEY | CDS | CDNSKEY);
            if !(key.signs || (entry_point_set && key.entry_point)) {
                continue;
            }
            let mut rrsig = Vec::with_capacity(18 + self.apex.len() + 64);
            rrsig.extend_from_slice(&rtype.to_be_bytes());
            rrsig.push(key.open.algorithm);
            rrsig.push(labels);
            rrsig.extend_from_slice(&ttl.to_be_bytes());
            rrsig.extend_from_slice(&window.expiration.to_be_bytes());
            rrsig.extend_from_slice(&window.inception.to_be_bytes());
            rrsig.extend_from_slice(&key.open.tag.to_be_bytes());
            rrsig.extend_from_slice(&self.apex);
            let mut signed = rrsig.clone();
            for rdata in rdatas.iter() {
                signed.extend_from_slice(&signed_owner);
                signed.extend_from_slice(&rtype.to_be_bytes());
                signed.extend_from_slice(&CLASS_IN.to_be_bytes());
                signed.extend_from_slice(&ttl.to_be_bytes());
                signed.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
                signed.extend_from_slice(rdata);
            }
            cache.append_or_make(&signed, &mut rrsig, || {
                metrics.count_dnssec(shard, DnssecEvent::SignatureMade);
                key.open.sign(&signed)
            });
            out.push(rrsig);
        }
    }
}

/// The owner as signed: the name itself, or for a wildcard expansion (`labels` fewer than
/// the owner's) `*.` and its last `labels` labels (RFC 4035 §5.3.2).
fn signed_owner(owner: &[u8], labels: u8) -> Vec<u8> {
    let owner_labels = label_count(owner);
    if usize::from(labels) >= owner_labels {
        return owner.to_vec();
    }
    let mut pos = 0;
    for _ in 0..owner_labels - usize::from(labels) {
        pos += 1 + owner[pos] as usize;
    }
    let mut wildcard = vec![1, b'*'];
    wildcard.extend_from_slice(&owner[pos..]);
    wildcard
}

/// Labels of a wire name, the root not counted.
pub(crate) fn label_count(name: &[u8]) -> usize {
    let mut pos = 0;
    let mut labels = 0;
    while pos < name.len() && name[pos] != 0 {
        pos += 1 + name[pos] as usize;
        labels += 1;
    }
    labels
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_move_hourly_and_outlast_any_ttl() {
        let window = Window::at(1_800_000_000);
        assert_eq!(Window::at(1_800_000_000 + 10), window);
        assert!(u64::from(window.inception) <= 1_800_000_000 - 3600);
        assert!(
            u64::from(window.expiration)
                >= 1_800_000_000 + 5 * 24 * 3600 + u64::from(MAX_SIGNED_TTL)
        );
    }

    #[test]
    fn wildcard_owner_is_signed_as_the_wildcard() {
        let owner = gslb_model::DomainName::parse_absolute("a.b.example.")
            .unwrap()
            .to_wire();
        let wildcard = gslb_model::DomainName::parse_absolute("*.b.example.")
            .unwrap()
            .to_wire();
        assert_eq!(signed_owner(&owner, 2), wildcard);
        assert_eq!(signed_owner(&owner, 3), owner);
    }
}
