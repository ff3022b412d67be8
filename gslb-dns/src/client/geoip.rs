//! `GeoIpDatabase`: a MaxMind DB (GeoIP2/GeoLite2 City, Country, ASN, or a merged file) read
//! from a path, looked up without allocation, and reloaded when the file changes.
//!
//! Reloads keep the last good database: a missing, unreadable or corrupt file leaves the
//! current reader in place and comes back as an error for the caller to report. Replace the
//! file by rename (write elsewhere, then `mv`), as MaxMind's updater does.

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use arc_swap::ArcSwapOption;
use maxminddb::Reader;
use serde::de::{Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde::Deserialize;

use crate::client::{Code, GeoFacts};

/// Why a database could not be (re)loaded.
#[derive(Debug, thiserror::Error)]
pub enum GeoIpError {
    /// The file could not be read or its metadata not stat'ed.
    #[error("geoip database {path}: cannot read: {source}")]
    Io {
        /// The configured path.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The bytes are not a MaxMind DB.
    #[error("geoip database {path}: not a valid maxmind db: {source}")]
    Invalid {
        /// The configured path.
        path: PathBuf,
        /// What the reader said.
        source: maxminddb::MaxMindDbError,
    },
}

/// What `reload_if_changed` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reload {
    /// The file looks the same as the one loaded (same size, mtime and inode).
    Unchanged,
    /// A new database is in use.
    Reloaded,
}

/// A GeoIP database that can be swapped under readers.
pub struct GeoIpDatabase {
    /// Where the file lives.
    path: PathBuf,
    /// The database in use, if one ever loaded.
    current: ArcSwapOption<Loaded>,
}

/// One loaded file.
struct Loaded {
    /// The reader over the file's bytes.
    reader: Reader<Vec<u8>>,
    /// How the file looked when read, to notice changes.
    stamp: FileStamp,
}

/// Size, modification time and inode: enough to notice a replaced or rewritten file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileStamp {
    /// Length in bytes.
    len: u64,
    /// Modification time.
    modified: Option<SystemTime>,
    /// Inode number (0 where unknown).
    inode: u64,
}

/// The result of one lookup.
#[derive(Debug, Clone, PartialEq)]
pub struct GeoIpHit {
    /// What the database says about the address (all `None` on a miss).
    pub facts: GeoFacts,
    /// The prefix length of the database network holding the address (also for a miss: the
    /// empty network around it), so every address in it gets the same facts.
    pub network_prefix: u8,
}

impl fmt::Debug for GeoIpDatabase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GeoIpDatabase")
            .field("path", &self.path)
            .field("loaded", &self.current.load().is_some())
            .finish()
    }
}

impl GeoIpDatabase {
    /// Opens the database at `path`; fails if it cannot be read or is not a MaxMind DB.
    pub fn open(path: impl Into<PathBuf>) -> Result<GeoIpDatabase, GeoIpError> {
        let database = GeoIpDatabase {
            path: path.into(),
            current: ArcSwapOption::empty(),
        };
        database.reload()?;
        Ok(database)
    }

    /// The configured path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The `database_type` from the loaded file's metadata (e.g. `GeoIP2-City`).
    pub fn database_type(&self) -> Option<String> {
        self.current
            .load()
            .as_ref()
            .map(|loaded| loaded.reader.metadata().database_type.clone())
    }

    /// Reloads when the file's size, mtime or inode changed since the last load. On any
    /// error the previous database stays in use.
    pub fn reload_if_changed(&self) -> Result<Reload, GeoIpError> {
        let stamp = self.stamp()?;
        if self
            .current
            .load()
            .as_ref()
            .is_some_and(|loaded| loaded.stamp == stamp)
        {
            return Ok(Reload::Unchanged);
        }
        self.reload()?;
        Ok(Reload::Reloaded)
    }

    /// Reads and swaps in the file unconditionally; on error the previous database stays.
    pub fn reload(&self) -> Result<(), GeoIpError> {
        let stamp = self.stamp()?;
        let bytes = std::fs::read(&self.path).map_err(|source| GeoIpError::Io {
            path: self.path.clone(),
            source,
        })?;
        let reader = Reader::from_source(bytes).map_err(|source| GeoIpError::Invalid {
            path: self.path.clone(),
            source,
        })?;
        // A header that parses over a broken tree would fail on lookups; probe once.
        reader
            .lookup(IpAddr::from([0u8; 4]))
            .and_then(|result| result.network().map(|_| ()))
            .map_err(|source| GeoIpError::Invalid {
                path: self.path.clone(),
                source,
            })?;
        self.current.store(Some(Arc::new(Loaded { reader, stamp })));
        Ok(())
    }

    /// What the database says about `addr`; `None` when no database ever loaded.
    pub fn lookup(&self, addr: IpAddr) -> Option<GeoIpHit> {
        let guard = self.current.load();
        let loaded = guard.as_ref()?;
        let result = loaded.reader.lookup(addr).ok()?;
        let network_prefix = result.network().map(|net| net.prefix()).unwrap_or(0);
        let facts = match result.decode::<MmdbRecord<'_>>() {
            Ok(Some(record)) => record.facts(),
            // A record we cannot decode tells us nothing; treat it as a miss.
            Ok(None) | Err(_) => GeoFacts::default(),
        };
        Some(GeoIpHit {
            facts,
            network_prefix,
        })
    }

    /// Stats the file.
    fn stamp(&self) -> Result<FileStamp, GeoIpError> {
        let metadata = std::fs::metadata(&self.path).map_err(|source| GeoIpError::Io {
            path: self.path.clone(),
            source,
        })?;
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(&metadata);
        #[cfg(not(unix))]
        let inode = 0;
        Ok(FileStamp {
            len: metadata.len(),
            modified: metadata.modified().ok(),
            inode,
        })
    }
}

/// Polls `database` every `interval` and reloads it when the file changed, reporting each
/// failure (the last good database stays in use) until `shutdown` is cancelled.
pub async fn run_geoip_reloader(
    database: Arc<GeoIpDatabase>,
    interval: std::time::Duration,
    shutdown: tokio_util::sync::CancellationToken,
) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = ticker.tick() => {}
        }
        let database = Arc::clone(&database);
        let outcome = tokio::task::spawn_blocking(move || database.reload_if_changed()).await;
        match outcome {
            Ok(Ok(Reload::Reloaded)) => tracing::info!("geoip database reloaded"),
            Ok(Ok(Reload::Unchanged)) => {}
            Ok(Err(error)) => {
                tracing::warn!(%error, "geoip reload failed; keeping the last good database")
            }
            Err(error) => tracing::warn!(%error, "geoip reload task failed"),
        }
    }
}

/// The fields we read from a record, borrowed from the database (no allocation). Works for
/// City, Country, Enterprise, ASN and merged layouts: absent fields are `None`.
#[derive(Deserialize, Default)]
struct MmdbRecord<'a> {
    /// `continent.code`.
    #[serde(borrow, default)]
    continent: Option<CodeOnly<'a>>,
    /// `country.iso_code`.
    #[serde(borrow, default)]
    country: Option<IsoOnly<'a>>,
    /// `subdivisions[0].iso_code` (the largest subdivision).
    #[serde(borrow, default)]
    subdivisions: FirstSubdivision<'a>,
    /// `location.latitude` / `longitude`.
    #[serde(default)]
    location: Option<LatLon>,
    /// ASN databases keep the number at the top level.
    #[serde(default)]
    autonomous_system_number: Option<u32>,
    /// Enterprise databases keep it under `traits`.
    #[serde(default)]
    traits: Option<Traits>,
}

/// `{ "code": .. }`.
#[derive(Deserialize)]
struct CodeOnly<'a> {
    /// The code.
    #[serde(borrow, default)]
    code: Option<&'a str>,
}

/// `{ "iso_code": .. }`.
#[derive(Deserialize)]
struct IsoOnly<'a> {
    /// The code.
    #[serde(borrow, default)]
    iso_code: Option<&'a str>,
}

/// `{ "latitude": .., "longitude": .. }`.
#[derive(Deserialize)]
struct LatLon {
    /// Degrees north.
    #[serde(default)]
    latitude: Option<f64>,
    /// Degrees east.
    #[serde(default)]
    longitude: Option<f64>,
}

/// `{ "autonomous_system_number": .. }`.
#[derive(Deserialize)]
struct Traits {
    /// The ASN.
    #[serde(default)]
    autonomous_system_number: Option<u32>,
}

/// The first element of `subdivisions`, the rest skipped without allocating.
#[derive(Default)]
struct FirstSubdivision<'a>(Option<&'a str>);

impl<'de: 'a, 'a> Deserialize<'de> for FirstSubdivision<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct First<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for First<'a> {
            type Value = FirstSubdivision<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of subdivisions")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let first = seq
                    .next_element::<IsoOnly<'de>>()?
                    .and_then(|sub| sub.iso_code);
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(FirstSubdivision(first))
            }
        }
        deserializer.deserialize_seq(First(std::marker::PhantomData))
    }
}

impl MmdbRecord<'_> {
    /// The facts this record gives.
    fn facts(&self) -> GeoFacts {
        let country = self
            .country
            .as_ref()
            .and_then(|c| c.iso_code)
            .and_then(Code::new);
        let subdivision = match (country, self.subdivisions.0) {
            (Some(country), Some(sub)) => Code::joined(country.as_str(), sub),
            _ => None,
        };
        let lat_lon = self
            .location
            .as_ref()
            .and_then(|l| Some((l.latitude?, l.longitude?)));
        GeoFacts {
            continent: self
                .continent
                .as_ref()
                .and_then(|c| c.code)
                .and_then(Code::new),
            country,
            subdivision,
            asn: self.autonomous_system_number.or(self
                .traits
                .as_ref()
                .and_then(|t| t.autonomous_system_number)),
            lat_lon,
        }
    }
}
