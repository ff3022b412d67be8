//! The backup file format: one replicated `State` at one applied index, with the metadata
//! `gslb restore` checks before it rebuilds a cluster from it.
//!
//! Layout (what `gslbctl cluster snapshot --file` writes, byte for byte as the API sent it):
//!
//! ```text
//! {"format":"gslb-backup","version":1,"cluster_id":"…","applied_index":42,…}\n
//! <payload: the JSON of State, exactly `payload_bytes` long, sha256 = `payload_sha256`>
//! ```
//!
//! The header is one line of JSON; the checksum covers the payload's exact bytes, so it is
//! checked before anything is parsed, and a re-serialisation can never change it. `format`
//! tells a gslb backup from any other file; `version` is refused when newer than this build
//! knows (fields are only added within a version, so older readers skip nothing they need).
//!
//! Cluster identity: `cluster_id` is derived from the cluster secret (`cluster_id_for`), a
//! domain-separated sha256 truncated to 128 bits. Every node of a cluster shares the secret,
//! so every node (and every node config) implies the same id without any replicated field,
//! and the file never carries the secret itself.
//!
//! Invariant: pure; no clock, no I/O. The caller passes the time and writes the bytes.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::model::state::State;

/// The `format` field of every gslb backup.
pub const BACKUP_FORMAT: &str = "gslb-backup";

/// The newest format version this build writes and reads.
pub const BACKUP_VERSION: u32 = 1;

/// The metadata line of a backup file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupHeader {
    /// Always `gslb-backup`: tells a backup from any other JSON file.
    pub format: String,
    /// The format version; a reader refuses one newer than `BACKUP_VERSION`.
    pub version: u32,
    /// The identity of the cluster the state comes from (`cluster_id_for` its secret).
    pub cluster_id: String,
    /// The Raft index the state was read at (= `State::version`).
    pub applied_index: u64,
    /// When the snapshot was taken, milliseconds since the Unix epoch (the serving node's
    /// clock).
    pub created_at_ms: u64,
    /// The node that served it.
    pub node: u64,
    /// True when the leader confirmed with a quorum that no newer write existed (a
    /// linearizable read); false for a node's local state (`stale=true`).
    pub linearizable: bool,
    /// The payload's length in bytes.
    pub payload_bytes: u64,
    /// The payload's sha256, lower-case hex.
    pub payload_sha256: String,
}

/// What a caller knows when it writes a backup; `encode` adds the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupInfo {
    /// See `BackupHeader::cluster_id`.
    pub cluster_id: String,
    /// See `BackupHeader::created_at_ms`.
    pub created_at_ms: u64,
    /// See `BackupHeader::node`.
    pub node: u64,
    /// See `BackupHeader::linearizable`.
    pub linearizable: bool,
}

/// A decoded, verified backup.
#[derive(Debug, Clone)]
pub struct Backup {
    /// Its metadata.
    pub header: BackupHeader,
    /// The state, with `version` = `header.applied_index`.
    pub state: State,
}

/// Why a file is not a usable backup. Each message says what is wrong and with which value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackupError {
    /// The file is empty or has no header line.
    #[error("not a gslb backup: {0}")]
    NotABackup(String),
    /// The header line is not the JSON this version writes.
    #[error("bad backup header: {0}")]
    BadHeader(String),
    /// Written by a newer gslb.
    #[error("backup format version {found} is newer than this gslb reads (up to {supported}); restore with a newer gslb")]
    UnsupportedVersion {
        /// The file's version.
        found: u32,
        /// The newest this build reads.
        supported: u32,
    },
    /// The payload is shorter or longer than the header says (a truncated download or copy).
    #[error("backup payload is {actual} bytes, the header says {expected}: the file is truncated or was altered")]
    Length {
        /// `payload_bytes` from the header.
        expected: u64,
        /// What the file holds.
        actual: u64,
    },
    /// The payload's sha256 differs from the header's.
    #[error("backup checksum mismatch: header says sha256 {expected}, payload hashes to {actual}: the file is corrupt")]
    Checksum {
        /// `payload_sha256` from the header.
        expected: String,
        /// The payload's actual sha256.
        actual: String,
    },
    /// The checksum matches but the payload is not a `State` this build can read.
    #[error("backup payload is not a gslb state: {0}")]
    BadState(String),
}

/// The cluster identity implied by a cluster secret: the first 128 bits of
/// sha256("gslb cluster id\0" + secret), hex. It identifies without revealing the secret.
pub fn cluster_id_for(secret: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"gslb cluster id\0");
    hasher.update(secret.as_bytes());
    hex::encode(&hasher.finalize()[..16])
}

/// The sha256 of `bytes`, lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The sha256 of `parts` one after another, lower-case hex: a checksum of a body written
/// in pieces without joining them into one copy first.
pub fn sha256_hex_of_parts(parts: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    hex::encode(hasher.finalize())
}

/// Writes `state` (at its `version`) as a backup file's bytes.
pub fn encode(info: &BackupInfo, state: &State) -> Result<Vec<u8>, BackupError> {
    let payload =
        serde_json::to_vec(state).map_err(|error| BackupError::BadState(error.to_string()))?;
    let header = BackupHeader {
        format: BACKUP_FORMAT.to_string(),
        version: BACKUP_VERSION,
        cluster_id: info.cluster_id.clone(),
        applied_index: state.version,
        created_at_ms: info.created_at_ms,
        node: info.node,
        linearizable: info.linearizable,
        payload_bytes: payload.len() as u64,
        payload_sha256: sha256_hex(&payload),
    };
    let mut bytes =
        serde_json::to_vec(&header).map_err(|error| BackupError::BadHeader(error.to_string()))?;
    bytes.push(b'\n');
    bytes.extend_from_slice(&payload);
    Ok(bytes)
}

/// Reads and verifies a backup file's bytes: format, version, length and checksum, then the
/// state. Never panics on any input.
pub fn decode(bytes: &[u8]) -> Result<Backup, BackupError> {
    if bytes.is_empty() {
        return Err(BackupError::NotABackup("the file is empty".to_string()));
    }
    let Some(newline) = bytes.iter().position(|&byte| byte == b'\n') else {
        return Err(BackupError::NotABackup(
            "no header line (no newline in the file)".to_string(),
        ));
    };
    let header_value: serde_json::Value = serde_json::from_slice(&bytes[..newline])
        .map_err(|error| BackupError::NotABackup(format!("the first line is not JSON: {error}")))?;
    match header_value
        .get("format")
        .and_then(|format| format.as_str())
    {
        Some(BACKUP_FORMAT) => {}
        Some(other) => {
            return Err(BackupError::NotABackup(format!(
                "format is {other:?}, expected {BACKUP_FORMAT:?}"
            )))
        }
        None => {
            return Err(BackupError::NotABackup(format!(
                "the header has no \"format\": {BACKUP_FORMAT:?}"
            )))
        }
    }
    if let Some(found) = header_value
        .get("version")
        .and_then(|version| version.as_u64())
    {
        if found > u64::from(BACKUP_VERSION) {
            return Err(BackupError::UnsupportedVersion {
                found: u32::try_from(found).unwrap_or(u32::MAX),
                supported: BACKUP_VERSION,
            });
        }
    }
    let header: BackupHeader = serde_json::from_value(header_value)
        .map_err(|error| BackupError::BadHeader(error.to_string()))?;
    if header.version == 0 {
        return Err(BackupError::BadHeader(
            "version: must be ≥ 1, got 0".to_string(),
        ));
    }
    let payload = &bytes[newline + 1..];
    if payload.len() as u64 != header.payload_bytes {
        return Err(BackupError::Length {
            expected: header.payload_bytes,
            actual: payload.len() as u64,
        });
    }
    let actual = sha256_hex(payload);
    if actual != header.payload_sha256.to_ascii_lowercase() {
        return Err(BackupError::Checksum {
            expected: header.payload_sha256,
            actual,
        });
    }
    let mut state: State = serde_json::from_slice(payload)
        .map_err(|error| BackupError::BadState(error.to_string()))?;
    state.version = header.applied_index;
    Ok(Backup { header, state })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Member;

    fn info() -> BackupInfo {
        BackupInfo {
            cluster_id: cluster_id_for("a-long-shared-cluster-secret"),
            created_at_ms: 1_700_000_000_000,
            node: 1,
            linearizable: true,
        }
    }

    fn sample_state() -> State {
        let mut state = State {
            version: 42,
            ..State::default()
        };
        state.members.insert(
            7,
            Member {
                id: 7,
                addr: "10.0.0.7:8053".to_string(),
                dns_addr: None,
                region: Some("eu-west".to_string()),
                raft_role: crate::model::RaftRole::Learner,
                roles: Default::default(),
                applied_index: 40,
                reported_at: 0,
            },
        );
        state
    }

    /// Splits encoded bytes into the header (as JSON) and the payload.
    fn split(bytes: &[u8]) -> (serde_json::Value, Vec<u8>) {
        let newline = bytes.iter().position(|&byte| byte == b'\n').unwrap();
        (
            serde_json::from_slice(&bytes[..newline]).unwrap(),
            bytes[newline + 1..].to_vec(),
        )
    }

    fn join(header: &serde_json::Value, payload: &[u8]) -> Vec<u8> {
        let mut bytes = serde_json::to_vec(header).unwrap();
        bytes.push(b'\n');
        bytes.extend_from_slice(payload);
        bytes
    }

    /// A backup decodes to the state it was made from, with its index and metadata.
    #[test]
    fn round_trip_keeps_state_and_metadata() {
        let state = sample_state();
        let bytes = encode(&info(), &state).unwrap();
        let backup = decode(&bytes).unwrap();
        assert_eq!(backup.state, state);
        assert_eq!(backup.header.applied_index, 42);
        assert_eq!(backup.header.version, BACKUP_VERSION);
        assert_eq!(backup.header.cluster_id, info().cluster_id);
        assert!(backup.header.linearizable);
        let (_, payload) = split(&bytes);
        assert_eq!(backup.header.payload_sha256, sha256_hex(&payload));
    }

    /// One flipped payload byte is caught by the checksum, naming both digests.
    #[test]
    fn a_flipped_byte_fails_the_checksum() {
        let bytes = encode(&info(), &sample_state()).unwrap();
        let (header, mut payload) = split(&bytes);
        let middle = payload.len() / 2;
        payload[middle] ^= 0x01;
        let error = decode(&join(&header, &payload)).unwrap_err();
        let BackupError::Checksum { expected, actual } = &error else {
            panic!("expected a checksum error, got {error}");
        };
        assert_eq!(expected, header["payload_sha256"].as_str().unwrap());
        assert_eq!(actual, &sha256_hex(&payload));
        assert!(error.to_string().contains("checksum mismatch"), "{error}");
    }

    /// A truncated file is refused for its length before any parsing.
    #[test]
    fn a_truncated_file_is_refused_with_both_lengths() {
        let bytes = encode(&info(), &sample_state()).unwrap();
        let cut = &bytes[..bytes.len() - 10];
        let error = decode(cut).unwrap_err();
        assert!(
            matches!(error, BackupError::Length { expected, actual } if expected == actual + 10),
            "{error}"
        );
    }

    /// A newer format version is refused, saying which versions are involved.
    #[test]
    fn a_newer_version_is_refused() {
        let bytes = encode(&info(), &sample_state()).unwrap();
        let (mut header, payload) = split(&bytes);
        header["version"] = serde_json::json!(BACKUP_VERSION + 1);
        let error = decode(&join(&header, &payload)).unwrap_err();
        assert_eq!(
            error,
            BackupError::UnsupportedVersion {
                found: BACKUP_VERSION + 1,
                supported: BACKUP_VERSION
            }
        );
        header["version"] = serde_json::json!(0);
        assert!(matches!(
            decode(&join(&header, &payload)),
            Err(BackupError::BadHeader(_))
        ));
    }

    /// Files that are not backups are told apart from corrupt backups.
    #[test]
    fn other_files_are_not_backups() {
        for (bytes, expect) in [
            (&b""[..], "empty"),
            (&b"no newline at all"[..], "no header line"),
            (&b"garbage\n{}"[..], "not JSON"),
            (&b"{\"format\":\"tar\"}\n"[..], "\"tar\""),
            (&b"{\"version\":1}\n"[..], "no \"format\""),
        ] {
            let error = decode(bytes).unwrap_err();
            assert!(matches!(error, BackupError::NotABackup(_)), "{error}");
            assert!(error.to_string().contains(expect), "{error} lacks {expect}");
        }
        let missing = b"{\"format\":\"gslb-backup\",\"version\":1}\n";
        let error = decode(missing).unwrap_err();
        assert!(matches!(error, BackupError::BadHeader(_)), "{error}");
    }

    /// A payload whose checksum matches but which is not a state is refused as such.
    #[test]
    fn a_well_summed_payload_must_still_be_a_state() {
        let bytes = encode(&info(), &sample_state()).unwrap();
        let (mut header, _) = split(&bytes);
        let payload = b"{\"zones\": 12}".to_vec();
        header["payload_bytes"] = serde_json::json!(payload.len());
        header["payload_sha256"] = serde_json::json!(sha256_hex(&payload));
        let error = decode(&join(&header, &payload)).unwrap_err();
        assert!(matches!(error, BackupError::BadState(_)), "{error}");
    }

    /// The cluster id is stable per secret, differs between secrets, and hides the secret.
    #[test]
    fn cluster_id_is_derived_from_the_secret() {
        let secret = "a-long-shared-cluster-secret";
        assert_eq!(cluster_id_for(secret), cluster_id_for(secret));
        assert_ne!(
            cluster_id_for(secret),
            cluster_id_for("another-cluster-secret!")
        );
        assert_eq!(cluster_id_for(secret).len(), 32);
        assert!(!cluster_id_for(secret).contains(secret));
    }
}
