//! Writing a whole zone, however big, without stalling Raft: the body is read as it streams
//! in and refused (413) the moment it grows past `max_request_bytes`; the zone is parsed,
//! checked against `max_zone_records` and validated on a blocking thread; a zone bigger than
//! one Raft entry of `STAGE_CHUNK_BYTES` goes through the log as several
//! `StageZoneRecords` entries of at most that size, then one small `CommitStagedZone`
//! switches it in (readers and DNS see the old zone or the whole new one).
//!
//! An import that fails after staging began (a rejected chunk, a lost leader, the client gone
//! and the request dropped) writes `AbortStagedZone` for its staging area; one that cannot
//! (the node died) leaves it to expire in `apply` (`STAGED_IMPORT_TTL_MS`).
//!
//! Invariant: nothing here parses, validates or serialises a zone on a runtime worker; the
//! Raft core and the API share those.

use gslb_model::command::{self, chunk_codec};
use gslb_model::model::{Actor, Expected, ResourceRef, Zone};
use gslb_model::Command;
use gslb_store::raft::{WriteError, WriteOutcome};

use crate::error::{body_path, ApiError};
use crate::extract::etag_of;
use crate::{request_too_large, ApiContext};

/// The most bytes of record sets one `StageZoneRecords` entry carries, in the log's compact
/// form (`chunk_codec`: ~30 bytes for `hN A 10.x.y.z`, against ~80 as JSON). openraft gives
/// one append-entries call a heartbeat interval to complete (serialising, sending, the
/// follower's parse and fsync included), or it is retried from scratch, for ever: an entry
/// must be small enough for that on a loaded machine. It is also what a small write waits
/// behind on every DNS node while an import stages (`STAGED_CHUNKS_ADMITTED` of them): with
/// 128 KiB, small writes during a 1M-record import had p99 118 ms; with 64 KiB, 91 ms, the
/// import 8.4 s instead of 7.9 (docs/perf.md). A million short records take ~490 entries.
pub const STAGE_CHUNK_BYTES: usize = 64 * 1024;

/// Chunk writes in flight at once: more than the leader admits into its log at a time
/// (`STAGED_CHUNKS_ADMITTED` in gslb-store's node), so the next chunks are already there the
/// moment earlier ones are applied and the leader never idles between rounds, while small
/// writes wait behind the admitted ones only. Chunks are numbered; one that reaches the log
/// ahead of its turn waits in the staging area for those before it.
const CHUNKS_IN_FLIGHT: usize = 6;

/// True for `PUT /v1/zones/{zone}/zonefile`, whose body read alone is bounded by the
/// request timeout (see `read_body_within`).
pub fn is_zone_file_import(method: &axum::http::Method, path: &str) -> bool {
    method == axum::http::Method::PUT
        && path.starts_with("/v1/zones/")
        && path.ends_with("/zonefile")
}

/// Reads a request body as it arrives, keeping at most `limit` bytes: 413 naming
/// `control.limits.max_request_bytes` as soon as it grows past it, 408 when it has not all
/// arrived within `timeout`.
pub async fn read_body_within(
    body: axum::body::Body,
    limit: usize,
    timeout: std::time::Duration,
) -> Result<Vec<u8>, ApiError> {
    let read = tokio::time::timeout(timeout, axum::body::to_bytes(body, limit))
        .await
        .map_err(|_| ApiError::Timeout(format!("request body not received within {timeout:?}")))?;
    match read {
        Ok(bytes) => Ok(bytes.to_vec()),
        Err(error) => {
            let over_limit = std::error::Error::source(&error)
                .is_some_and(|source| source.to_string().contains("length limit exceeded"))
                || error.to_string().contains("length limit exceeded");
            if over_limit {
                Err(request_too_large(
                    limit,
                    &format!("more than {limit} bytes"),
                ))
            } else {
                Err(ApiError::bad_request(format!(
                    "cannot read the request body: {error}"
                )))
            }
        }
    }
}

/// A zone ready to be written: validated, in canonical order, with its ETag on the way.
pub struct CheckedZone {
    /// The zone, sorted.
    pub zone: Zone,
    /// The ETag of the zone as written, computed on a blocking thread while the zone is
    /// staged (a second of CPU for a million records, off the import's critical path).
    pub etag: tokio::task::JoinHandle<String>,
}

impl CheckedZone {
    /// The ETag, once computed.
    pub async fn etag(etag: tokio::task::JoinHandle<String>) -> Result<String, ApiError> {
        etag.await
            .map_err(|error| ApiError::Internal(format!("zone ETag failed: {error}")))
    }
}

/// Checks `zone` against the node's record limit and validates it against the current state
/// as `PutZone` would, on a blocking thread. Faults are named as `strip` + path in the
/// request body (see `body_path`).
pub async fn check_zone(
    context: &ApiContext,
    zone: Zone,
    strip: &'static str,
) -> Result<CheckedZone, ApiError> {
    let limit = context.options.max_zone_records;
    let n_records: usize = zone.rrsets.iter().map(|set| set.rdata.len()).sum();
    if n_records > limit {
        return Err(ApiError::OverLimit {
            limit: "control.limits.max_zone_records".to_string(),
            message: format!(
                "zone {} has {n_records} records, over the limit of {limit} \
                 (control.limits.max_zone_records)",
                zone.apex
            ),
        });
    }
    let state = context.node.state();
    let started = std::time::Instant::now();
    let checked = tokio::task::spawn_blocking(move || {
        // Validated in the body's order, so faults name the body's indexes; sorted after.
        let put = Command::PutZone { zone };
        let checked = command::validate(&state, &put);
        let Command::PutZone { mut zone } = put else {
            unreachable!("built as PutZone just above")
        };
        checked.map_err(|errors| {
            ApiError::from_write(WriteError::Invalid { errors }, false, |path| {
                body_path(path, strip)
            })
        })?;
        let validated_ms = started.elapsed().as_millis() as u64;
        zone.normalize();
        tracing::info!(
            validate_ms = validated_ms,
            normalize_ms = started.elapsed().as_millis() as u64 - validated_ms,
            "import: zone checked"
        );
        // A copy of a zone shares its record sets (a persistent vector): pointers only.
        let copy = zone.clone();
        // Beside the staging, at a lower priority: other clients' writes go first.
        let etag = tokio::task::spawn_blocking(move || {
            gslb_model::background::at_low_priority("import-etag", move || {
                let started = std::time::Instant::now();
                let etag = etag_of(&crate::dto::ZoneDto::from_model(&copy));
                tracing::info!(
                    took_ms = started.elapsed().as_millis() as u64,
                    "import: ETag computed"
                );
                etag
            })
        });
        Ok(CheckedZone { zone, etag })
    })
    .await
    .map_err(|error| ApiError::Internal(format!("zone check failed: {error}")))?;
    tracing::info!(
        took_ms = started.elapsed().as_millis() as u64,
        "import: zone validated"
    );
    checked
}

/// Writes a checked zone: one `PutZone` when it fits one chunk, else staged chunks and a
/// commit; `guard` (If-Match / If-None-Match) holds on the final write.
pub async fn write_zone(
    context: &ApiContext,
    actor: Actor,
    zone: Zone,
    guard: Option<(ResourceRef, Expected)>,
    strip: &'static str,
) -> Result<WriteOutcome, ApiError> {
    let started = std::time::Instant::now();
    let (header, chunks) = tokio::task::spawn_blocking(move || split_into_chunks(zone))
        .await
        .map_err(|error| ApiError::Internal(format!("zone split failed: {error}")))?;
    tracing::info!(
        took_ms = started.elapsed().as_millis() as u64,
        chunks = chunks.len(),
        "import: split into chunks"
    );
    if chunks.len() <= 1 {
        let mut zone = header;
        zone.rrsets = chunks.into_iter().flatten().collect();
        return context
            .write_if(guard, Command::PutZone { zone }, actor, false, strip)
            .await;
    }
    let import_id = new_import_id()?;
    let mut staging = StagingArea {
        context: context.clone(),
        import_id: import_id.clone(),
        actor: actor.clone(),
        open: true,
    };
    let n_chunks = chunks.len();
    tracing::info!(zone = %header.apex, import = %import_id, chunks = n_chunks, "import: staging");
    let mut in_flight = tokio::task::JoinSet::new();
    for (number, rrsets) in chunks.into_iter().enumerate() {
        if in_flight.len() >= CHUNKS_IN_FLIGHT {
            if let Err(error) = joined_chunk(in_flight.join_next().await) {
                // The abort (the staging guard's) must come after every chunk still in
                // flight, or a late chunk would open the staging area again.
                while in_flight.join_next().await.is_some() {}
                return Err(error);
            }
        }
        let chunk = Command::StageZoneRecords {
            import_id: import_id.clone(),
            apex: header.apex.clone(),
            chunk: number as u64,
            total_chunks: Some(n_chunks as u64),
            rrsets: std::sync::Arc::new(rrsets),
        };
        let node = context.node.clone();
        let actor = actor.clone();
        in_flight.spawn(async move { node.write(chunk, actor).await });
    }
    let mut failed = None;
    while let Some(joined) = in_flight.join_next().await {
        if let Err(error) = joined_chunk(Some(joined)) {
            failed.get_or_insert(error);
        }
    }
    if let Some(error) = failed {
        return Err(error);
    }
    tracing::info!(
        took_ms = started.elapsed().as_millis() as u64,
        chunks = n_chunks,
        "import: every chunk staged"
    );
    let commit = Command::CommitStagedZone {
        import_id: import_id.clone(),
        chunks: n_chunks as u64,
        zone: header,
    };
    let outcome = context.write_if(guard, commit, actor, false, strip).await?;
    staging.open = false;
    tracing::info!(
        import = %import_id,
        version = outcome.version,
        chunks = n_chunks,
        took_ms = started.elapsed().as_millis() as u64,
        "import: committed"
    );
    Ok(outcome)
}

/// The outcome of one chunk write as the API answers it.
fn joined_chunk(
    joined: Option<Result<Result<WriteOutcome, WriteError>, tokio::task::JoinError>>,
) -> Result<(), ApiError> {
    match joined {
        None | Some(Ok(Ok(_))) => Ok(()),
        Some(Ok(Err(error))) => Err(ApiError::from_write(error, false, |path| {
            body_path(path, "")
        })),
        Some(Err(error)) => Err(ApiError::Internal(format!("a chunk write failed: {error}"))),
    }
}

/// Splits `zone` (normalized: the chunks must carry its sets in canonical order) into its
/// header (no record sets) and chunks whose record sets take at most `STAGE_CHUNK_BYTES` in
/// the log's compact form (`chunk_codec`; a single bigger set makes a chunk of its own).
fn split_into_chunks(mut zone: Zone) -> (Zone, Vec<Vec<gslb_model::model::RecordSet>>) {
    zone.normalize();
    let rrsets = std::mem::take(&mut zone.rrsets);
    let mut chunks = Vec::new();
    let mut current = Vec::new();
    let mut current_bytes = 0usize;
    for set in rrsets {
        let size = chunk_codec::set_body_len(&set, &zone.apex);
        if !current.is_empty()
            && chunk_codec::chunk_json_len(current_bytes + size) > STAGE_CHUNK_BYTES
        {
            chunks.push(std::mem::take(&mut current));
            current_bytes = 0;
        }
        current_bytes += size;
        current.push(set);
    }
    if !current.is_empty() {
        chunks.push(current);
    }
    (zone, chunks)
}

/// A fresh import id: `imp-` and 16 random hex digits.
fn new_import_id() -> Result<String, ApiError> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes)
        .map_err(|error| ApiError::Internal(format!("no randomness for an import id: {error}")))?;
    Ok(format!("imp-{}", hex::encode(bytes)))
}

/// A staging area this request opened: aborted when the request ends before its commit
/// (an error, or the request dropped because the client went away or it timed out).
struct StagingArea {
    /// Where to write the abort.
    context: ApiContext,
    /// The staging area.
    import_id: String,
    /// Who imports.
    actor: Actor,
    /// Still to abort when dropped.
    open: bool,
}

impl Drop for StagingArea {
    fn drop(&mut self) {
        if !self.open {
            return;
        }
        let context = self.context.clone();
        let import_id = self.import_id.clone();
        let actor = self.actor.clone();
        tracing::warn!(import = %import_id, "import: cut off before its commit; aborting");
        // The request's own task is going away: the abort runs on its own.
        tokio::spawn(async move {
            let abort = Command::AbortStagedZone {
                import_id: import_id.clone(),
            };
            if let Err(error) = context.node.write(abort, actor).await {
                tracing::warn!(
                    import = %import_id,
                    "import: abort failed ({error}); the staging area expires by itself"
                );
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gslb_model::model::{DomainName, RData, RecordSet, RecordType, Soa};

    fn zone_of(n_sets: usize) -> Zone {
        let apex: DomainName = "big.test.".parse().unwrap();
        Zone {
            apex: apex.clone(),
            soa: Soa {
                mname: "ns1.big.test.".parse().unwrap(),
                rname: "hostmaster.big.test.".parse().unwrap(),
                serial: 1,
                refresh: 3600,
                retry: 600,
                expire: 86400,
                minimum: 300,
                ttl: 3600,
            },
            default_ttl: 300,
            transfer: Default::default(),
            rrsets: (0..n_sets)
                .map(|n| RecordSet {
                    name: format!("h{n}.big.test.").parse().unwrap(),
                    rtype: RecordType::A,
                    ttl: 300,
                    rdata: vec![RData::A(std::net::Ipv4Addr::new(10, 0, 0, 1))],
                })
                .collect(),
            serial_policy: Default::default(),
        }
    }

    #[test]
    fn a_big_zone_splits_into_bounded_chunks_keeping_every_set_in_canonical_order() {
        let mut zone = zone_of(50_000);
        // The chunks carry the sets in canonical order (`h10` before `h2`).
        zone.normalize();
        let names: Vec<_> = zone.rrsets.iter().map(|set| set.name.clone()).collect();
        let (header, chunks) = split_into_chunks(zone);
        assert!(header.rrsets.is_empty());
        assert!(chunks.len() > 1, "{} chunks", chunks.len());
        for (number, chunk) in chunks.iter().enumerate() {
            let command = Command::StageZoneRecords {
                import_id: "imp-0123456789abcdef".to_string(),
                apex: header.apex.clone(),
                chunk: number as u64,
                total_chunks: Some(chunks.len() as u64),
                rrsets: std::sync::Arc::new(chunk.clone()),
            };
            let bytes = serde_json::to_vec(&command).unwrap().len();
            assert!(
                bytes <= STAGE_CHUNK_BYTES + 1024,
                "a chunk of {bytes} bytes"
            );
            if number + 1 < chunks.len() {
                assert!(
                    bytes > STAGE_CHUNK_BYTES / 2,
                    "a chunk of only {bytes} bytes"
                );
            }
        }
        let rejoined: Vec<_> = chunks.into_iter().flatten().map(|set| set.name).collect();
        assert_eq!(rejoined, names);
    }

    #[test]
    fn a_small_zone_is_one_chunk() {
        let (_, chunks) = split_into_chunks(zone_of(10));
        assert_eq!(chunks.len(), 1);
    }
}
