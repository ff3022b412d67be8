//! DNSSEC online signing: keys (generated on the leader, sealed in the state), the signature
//! cache shared by the workers and compact denial of existence. The rewriting of a DO=1
//! reply into its signed form is `crate::signed_reply`, which reads the plan too.
//!
//! - `keys`: generating, sealing and opening keys; DNSKEY RDATA, key tags, DS digests and
//!   their presentation format (what `gslbctl dnssec status` prints).
//! - `table`: `SigningTable`, a plan's signed zones (sealed, then opened by the responder's
//!   `Keyring`).
//! - `signer`: `ZoneSigner`, one zone's keys and apex key sets; RRSIG RDATA for an RRset.
//! - `cache`: `SignatureCache`, signatures keyed by exactly what they sign.
//! - `denial`: NSEC RDATA and the covering names of compact denial (RFC 9824, RFC 4470).
//!
//! Invariant: nothing here runs for a DO=0 query or an unsigned zone, except answering the
//! apex DNSKEY/CDS/CDNSKEY RRsets of a signed zone; the unsigned path is unchanged.

mod cache;
pub(crate) mod denial;
pub mod keys;
pub(crate) mod signer;
mod table;

pub use cache::SignatureCache;
pub use keys::{
    dnskey_presentation, ds_presentation, generate_key, DigestType, KeyEncryptionKey, KeyError,
};
pub(crate) use signer::{Window, CDNSKEY, CDS, DNSKEY};
pub use signer::{DNSKEY_TTL, MAX_SIGNED_TTL, VALIDITY_SECS};
pub(crate) use table::ZoneSigning;
pub use table::{Keyring, SigningTable};

/// Why the signed zones of `state` could not be signed by a node whose cluster secret is
/// `cluster_secret`: one line per zone whose keys do not open (what `/readyz` reports).
pub fn key_problems(state: &gslb_model::State, cluster_secret: &[u8]) -> Vec<String> {
    if state.dnssec.is_empty() {
        return Vec::new();
    }
    Keyring::quiet(KeyEncryptionKey::derive(cluster_secret))
        .open(&SigningTable::sealed(state))
        .problems()
}
