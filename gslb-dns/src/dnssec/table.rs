//! `SigningTable`: the signed zones of one plan, first as the state holds them (keys sealed),
//! then opened by the responder's `Keyring` when the plan is installed; and `Keyring`, the
//! node's key-encryption key with the keys it already opened, so a new plan (every health
//! change makes one) does not open the same keys again.
//!
//! A zone whose key does not open (another cluster secret, damaged data) is `Broken`: its
//! DO=1 queries get SERVFAIL and the node reports it (`Responder::dnssec_problems`, the log).
//! Why not answer unsigned: the parent's DS says the zone is signed, so an unsigned answer
//! is bogus to every validator (RFC 4035 §5.5) and would be cached as such; SERVFAIL is what
//! a validating resolver would give its client anyway, and it retries another server,
//! which may hold a working key. DO=0 queries are answered unsigned as before: a client that
//! does not validate loses nothing.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use gslb_model::{DomainName, State, ZoneKeys};
use parking_lot::Mutex;

use crate::dnssec::keys::{KeyEncryptionKey, KeyError, OpenKey};
use crate::dnssec::signer::ZoneSigner;

/// One signed zone as a plan holds it.
#[derive(Debug, Clone)]
pub(crate) enum ZoneSigning {
    /// Keys opened: answers are signed.
    Ready(Arc<ZoneSigner>),
    /// A key did not open: DO=1 queries get SERVFAIL.
    Broken(KeyError),
}

/// The signed zones of one plan.
#[derive(Debug, Clone, Default)]
pub struct SigningTable {
    /// The keys as the state holds them, by apex.
    sealed: BTreeMap<DomainName, ZoneKeys>,
    /// The zones after opening, by apex in wire form; empty until `open`.
    zones: HashMap<Box<[u8]>, ZoneSigning>,
    /// True once opened by a keyring.
    opened: bool,
}

impl SigningTable {
    /// The signed zones of `state` that exist, keys still sealed.
    pub fn sealed(state: &State) -> SigningTable {
        SigningTable {
            sealed: state
                .dnssec
                .iter()
                .filter(|(apex, _)| state.zones.contains_key(*apex))
                .map(|(apex, keys)| (apex.clone(), keys.clone()))
                .collect(),
            zones: HashMap::new(),
            opened: false,
        }
    }

    /// True when no zone is signed.
    pub fn is_empty(&self) -> bool {
        self.sealed.is_empty()
    }

    /// True when the zone of `apex` is signed (whether or not its keys opened here).
    pub fn is_signed(&self, apex: &DomainName) -> bool {
        self.sealed.contains_key(apex)
    }

    /// True when there are keys to open still.
    pub fn needs_opening(&self) -> bool {
        !self.opened && !self.sealed.is_empty()
    }

    /// How the zone of `apex` (wire form) is signed, if it is.
    pub(crate) fn zone(&self, apex: &[u8]) -> Option<&ZoneSigning> {
        if self.zones.is_empty() {
            return None;
        }
        self.zones.get(apex)
    }

    /// What keeps zones from being signed: one line per broken zone.
    pub fn problems(&self) -> Vec<String> {
        let mut problems: Vec<String> = self
            .zones
            .values()
            .filter_map(|zone| match zone {
                ZoneSigning::Broken(error) => Some(error.to_string()),
                ZoneSigning::Ready(_) => None,
            })
            .collect();
        problems.sort();
        problems
    }
}

/// The node's key-encryption key and the keys it has opened.
#[derive(Debug, Default)]
pub struct Keyring {
    /// Derived from the cluster secret; `None` on a node without `[control]`.
    kek: Option<KeyEncryptionKey>,
    /// Opened keys by their sealed form: the same sealed key opens once.
    opened: Mutex<HashMap<String, Arc<OpenKey>>>,
    /// Log each zone whose keys do not open (a serving node); a readiness check does not.
    log_problems: bool,
}

impl std::fmt::Debug for OpenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenKey").field("tag", &self.tag).finish()
    }
}

impl Keyring {
    /// A keyring opening keys with `kek`.
    pub fn new(kek: KeyEncryptionKey) -> Keyring {
        Keyring {
            kek: Some(kek),
            opened: Mutex::new(HashMap::new()),
            log_problems: true,
        }
    }

    /// A keyring that only checks: it logs nothing (`dnssec::key_problems`).
    pub fn quiet(kek: KeyEncryptionKey) -> Keyring {
        Keyring {
            log_problems: false,
            ..Keyring::new(kek)
        }
    }

    /// `table` with its zones opened. Keys opened before are reused; keys no longer in the
    /// table are forgotten.
    pub fn open(&self, table: &SigningTable) -> SigningTable {
        let mut opened = self.opened.lock();
        let mut kept: HashMap<String, Arc<OpenKey>> = HashMap::new();
        let mut zones = HashMap::new();
        for (apex, keys) in &table.sealed {
            let signing = self.open_zone(apex, keys, &opened, &mut kept);
            if let (ZoneSigning::Broken(error), true) = (&signing, self.log_problems) {
                tracing::error!(zone = %apex, %error, "DNSSEC signing stopped for this zone");
            }
            zones.insert(apex.to_wire().into_boxed_slice(), signing);
        }
        *opened = kept;
        SigningTable {
            sealed: table.sealed.clone(),
            zones,
            opened: true,
        }
    }

    /// Opens every key of one zone.
    fn open_zone(
        &self,
        apex: &DomainName,
        keys: &ZoneKeys,
        opened: &HashMap<String, Arc<OpenKey>>,
        kept: &mut HashMap<String, Arc<OpenKey>>,
    ) -> ZoneSigning {
        let Some(kek) = &self.kek else {
            return ZoneSigning::Broken(KeyError::NoKeyEncryptionKey);
        };
        let mut open_keys = Vec::with_capacity(keys.keys.len());
        for key in &keys.keys {
            let open = match opened.get(&key.sealed_private_key) {
                Some(open) => Arc::clone(open),
                None => match OpenKey::open(apex, key, kek) {
                    Ok(open) => Arc::new(open),
                    Err(error) => return ZoneSigning::Broken(error),
                },
            };
            kept.insert(key.sealed_private_key.clone(), Arc::clone(&open));
            open_keys.push(open);
        }
        ZoneSigning::Ready(Arc::new(ZoneSigner::new(apex, keys, open_keys)))
    }
}
