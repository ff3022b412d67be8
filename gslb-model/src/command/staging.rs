//! Staged zone imports: the checks of `StageZoneRecords`, `CommitStagedZone` and
//! `AbortStagedZone`, building the staged zone chunk by chunk, moving it in on the commit, and
//! the expiry of staging areas nobody finished.
//!
//! Work is spread over the chunks so that no single apply grows with the zone (see
//! `model::staged`): `check_stage` checks every set of a chunk on its own and the chunk's
//! order (`validate` on the leader runs only its O(1) part, `check_stage_header`: the API
//! validated the whole zone before cutting it); `prepare` appends the chunk
//! to the staging area's sets, checking the order where it meets the chunk before and
//! resuming the cross-set `ZoneWalk`. A commit checks what only the whole zone can show (the
//! last owner name, the apex's NS set, every chunk in, collisions with GSLB records by binary
//! search) and moves the staged sets into the zone without copying them.

use std::sync::Arc;

use super::collisions::check_zone_against_gslb;
use super::{field_path, Command};
use crate::model::name::DomainName;
use crate::model::record::RecordSet;
use crate::model::staged::{
    StagedImport, MAX_CHUNKS_AHEAD, MAX_STAGED_IMPORTS, STAGED_IMPORT_TTL_MS,
};
use crate::model::state::State;
use crate::model::validation::FieldErrors;
use crate::model::zone::{check_record_set, Zone};

/// The longest import id.
const MAX_IMPORT_ID_LEN: usize = 64;

/// An import id is 1 to 64 characters of `[A-Za-z0-9._-]`.
pub(super) fn check_import_id(import_id: &str, path: &str, errors: &mut FieldErrors) {
    let valid_chars = import_id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if import_id.is_empty() || import_id.len() > MAX_IMPORT_ID_LEN || !valid_chars {
        errors.push(
            path,
            format!(
                "must be 1 to {MAX_IMPORT_ID_LEN} characters of A-Z a-z 0-9 . _ -, got \
                 {import_id:?}"
            ),
        );
    }
}

/// A chunk: a valid id, the same apex as the import's earlier chunks, room for a new import,
/// a chunk number not staged yet and not too far ahead (`check_stage_header`), and every
/// record set valid on its own (`check_record_set`) and after the one before it in
/// canonical order.
pub(super) fn check_stage(
    state: &State,
    import_id: &str,
    apex: &DomainName,
    chunk: u64,
    rrsets: &[RecordSet],
    path: &str,
    errors: &mut FieldErrors,
) {
    check_stage_header(state, import_id, apex, chunk, rrsets, path, errors);
    check_stage_sets(apex, rrsets, path, errors);
}

/// What `validate` checks of a chunk on the leader before proposing it: everything but the
/// record sets themselves, O(1). The sets are checked where the chunk is applied (every
/// node, `check_stage`); the API validated the whole zone before cutting it into chunks, so
/// checking every set a third time on the leader, on a runtime worker, would only cost
/// time. A chunk whose sets are wrong is still refused, at apply, changing nothing.
pub(super) fn check_stage_header(
    state: &State,
    import_id: &str,
    apex: &DomainName,
    chunk: u64,
    rrsets: &[RecordSet],
    path: &str,
    errors: &mut FieldErrors,
) {
    check_import_id(import_id, &field_path(path, "import_id"), errors);
    let chunk_path = field_path(path, "chunk");
    match state.staged_imports.get(import_id) {
        Some(staged) if &staged.apex != apex => errors.push(
            field_path(path, "apex"),
            format!(
                "import {import_id} is for {}, got a chunk for {apex}",
                staged.apex
            ),
        ),
        Some(staged) if chunk < staged.next_chunk || staged.waiting.contains_key(&chunk) => errors
            .push(
                chunk_path,
                format!("chunk {chunk} of import {import_id} is staged already"),
            ),
        Some(staged) if chunk > staged.next_chunk + MAX_CHUNKS_AHEAD => errors.push(
            chunk_path,
            format!(
                "chunk {chunk} is more than {MAX_CHUNKS_AHEAD} ahead of chunk {}, the next \
                 one import {import_id} needs",
                staged.next_chunk
            ),
        ),
        Some(_) => {}
        None if state.staged_imports.len() >= MAX_STAGED_IMPORTS => errors.push(
            field_path(path, "import_id"),
            format!(
                "{MAX_STAGED_IMPORTS} imports are already in progress; finish or abort one \
                 (abandoned ones expire {} s after their last chunk)",
                STAGED_IMPORT_TTL_MS / 1000
            ),
        ),
        None if chunk > MAX_CHUNKS_AHEAD => errors.push(
            chunk_path,
            format!("chunk {chunk} is more than {MAX_CHUNKS_AHEAD} ahead of chunk 0"),
        ),
        None => {}
    }
    if rrsets.is_empty() {
        errors.push(
            field_path(path, "rrsets"),
            "a chunk holds at least one record set",
        );
    }
}

/// Every set of a chunk valid on its own and after the one before it in canonical order.
fn check_stage_sets(apex: &DomainName, rrsets: &[RecordSet], path: &str, errors: &mut FieldErrors) {
    // A set's path is written out only for a fault: a chunk of valid sets costs no text.
    let set_path = |index: usize| field_path(path, &format!("rrsets[{index}]"));
    let mut faults = FieldErrors::default();
    for (index, set) in rrsets.iter().enumerate() {
        check_record_set(apex, set, "", &mut faults);
        if !faults.is_empty() {
            faults = FieldErrors::default();
            check_record_set(apex, set, &set_path(index), errors);
        }
        if index > 0 {
            let before = &rrsets[index - 1];
            if (&before.name, before.rtype) >= (&set.name, set.rtype) {
                errors.push(
                    set_path(index),
                    format!(
                        "{} {} comes after {} {}: a chunk's sets are in canonical order, \
                         each (name, type) once",
                        set.name, set.rtype, before.name, before.rtype
                    ),
                );
            }
        }
    }
}

/// A commit: a staging area by that id exists, is for the same zone, and the zone carries
/// only its header (the record sets are the staged ones), itself valid.
pub(super) fn check_commit(
    state: &State,
    import_id: &str,
    zone: &Zone,
    path: &str,
    errors: &mut FieldErrors,
) {
    let id_path = field_path(path, "import_id");
    check_import_id(import_id, &id_path, errors);
    let zone_path = field_path(path, "zone");
    match state.staged_imports.get(import_id) {
        None => errors.push(
            id_path,
            format!("no import {import_id} in progress (it expired or was aborted)"),
        ),
        Some(staged) if staged.apex != zone.apex => errors.push(
            field_path(&zone_path, "apex"),
            format!(
                "import {import_id} is for {}, got {}",
                staged.apex, zone.apex
            ),
        ),
        Some(_) => {}
    }
    if !zone.rrsets.is_empty() {
        errors.push(
            field_path(&zone_path, "rrsets"),
            "a staged import's commit carries no record sets: stage them as chunks",
        );
    }
    zone.validate_header(&format!("{zone_path}."), errors);
}

/// What a staging command does once `prepare` has checked it where chunks meet.
pub(super) enum Staged {
    /// The staging area `import_id` as it is with the chunk in.
    Chunk {
        /// The import.
        import_id: String,
        /// Its staging area, chunk appended (or waiting).
        staged: StagedImport,
    },
    /// The zone a commit installs, its staging area to drop.
    Commit {
        /// The import.
        import_id: String,
        /// The zone: the commit's header and the staged sets.
        zone: Zone,
    },
}

/// For a staging command that passed `check` (seen through a guard): the staging area with
/// its chunk added, or the zone its commit installs, checked where the chunks meet; `None`
/// for other commands and when a check fails (faults in `errors`).
pub(super) fn prepare(
    state: &State,
    command: &Command,
    at: u64,
    errors: &mut FieldErrors,
) -> Option<Staged> {
    let before = errors.0.len();
    let staged = match command {
        Command::Guarded { command, .. } => return prepare(state, command, at, errors),
        Command::StageZoneRecords {
            import_id,
            apex,
            chunk,
            total_chunks,
            rrsets,
        } => {
            let mut staged = state
                .staged_imports
                .get(import_id)
                .cloned()
                .unwrap_or_else(|| StagedImport::new(apex.clone(), at));
            staged.expires_at = at.saturating_add(STAGED_IMPORT_TTL_MS);
            if total_chunks.is_some() {
                staged.total_chunks = *total_chunks;
            }
            staged.waiting.insert(*chunk, rrsets.clone());
            append_waiting_chunks(&mut staged, *chunk, errors);
            Staged::Chunk {
                import_id: import_id.clone(),
                staged,
            }
        }
        Command::CommitStagedZone {
            import_id,
            chunks,
            zone: header,
        } => {
            let staged = state.staged_imports.get(import_id)?;
            if staged.next_chunk != *chunks || !staged.waiting.is_empty() {
                errors.push(
                    "chunks",
                    format!(
                        "import {import_id} has chunks 0..{} in order and {} waiting; the \
                         commit names {chunks}",
                        staged.next_chunk,
                        staged.waiting.len()
                    ),
                );
                return None;
            }
            let path_of = |position: u64| format!("zone.rrsets[{position}]");
            staged
                .walk
                .clone()
                .finish(&staged.apex, &path_of, "zone.rrsets", errors);
            let mut zone = header.clone();
            zone.rrsets = staged.sets.clone();
            check_zone_against_gslb(state, &zone, "zone", errors);
            Staged::Commit {
                import_id: import_id.clone(),
                zone,
            }
        }
        _ => return None,
    };
    (errors.0.len() == before).then_some(staged)
}

/// Appends to `staged.sets` every waiting chunk whose turn has come, in order, checking
/// where each meets the sets before it and resuming the walk. Faults are reported under
/// `rrsets[i]` for sets of chunk `arrived` (the command's own), under `rrsets` for others.
fn append_waiting_chunks(staged: &mut StagedImport, arrived: u64, errors: &mut FieldErrors) {
    while let Some(chunk) = staged.waiting.remove(&staged.next_chunk) {
        let number = staged.next_chunk;
        let base = staged.sets.len() as u64;
        let path_of = |position: u64| {
            if number == arrived && position >= base {
                format!("rrsets[{}]", position - base)
            } else {
                "rrsets".to_string()
            }
        };
        if let (Some(last), Some(first)) = (staged.sets.last(), chunk.first()) {
            if (&last.name, last.rtype) >= (&first.name, first.rtype) {
                errors.push(
                    path_of(base),
                    format!(
                        "chunk {number} starts with {} {}, not after {} {} where chunk {} \
                         ended: chunks carry the zone in canonical order, each (name, type) \
                         once",
                        first.name,
                        first.rtype,
                        last.name,
                        last.rtype,
                        number.saturating_sub(1)
                    ),
                );
            }
        }
        for (offset, set) in chunk.iter().enumerate() {
            staged.walk.push(
                &staged.apex,
                base + offset as u64,
                &set.name,
                set.rtype,
                &path_of,
                errors,
            );
        }
        staged.n_records += chunk.iter().map(|set| set.rdata.len() as u64).sum::<u64>();
        staged.sets.append_as_new_lineage(chunk.iter().cloned());
        staged.next_chunk += 1;
    }
}

/// Puts a chunk's staging area (from `prepare`) in place.
pub(super) fn install_chunk(state: &mut State, import_id: String, staged: StagedImport) {
    state.staged_imports.insert(import_id, staged);
}

/// Installs a prepared zone and drops its staging area; returns whether the zone changed
/// and the serial it had before (`None` for a new zone).
pub(super) fn commit(state: &mut State, import_id: &str, zone: Zone) -> (bool, Option<u32>) {
    state.staged_imports.remove(import_id);
    let serial_before = state.zones.get(&zone.apex).map(|old| old.soa.serial);
    if state.zones.get(&zone.apex).map(|old| **old == zone) == Some(true) {
        return (false, serial_before);
    }
    state.zones.insert(zone.apex.clone(), Arc::new(zone));
    (true, serial_before)
}

/// Drops every staging area whose expiry is at or before `at` (leader time of the entry being
/// applied), so an import whose client died leaves nothing behind.
pub(super) fn expire(state: &mut State, at: u64) {
    if state.staged_imports.is_empty() {
        return;
    }
    state
        .staged_imports
        .retain(|_, staged| staged.expires_at > at);
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::command::test_support::*;
    use crate::command::{apply, StampedCommand};
    use crate::model::record::{RData, RecordType};

    /// `count` A record sets `h<first>…` (zero-padded, so canonical order is number order)
    /// in example.com.
    fn hosts(first: usize, count: usize) -> Vec<RecordSet> {
        (first..first + count)
            .map(|n| RecordSet {
                name: name(&format!("h{n:05}.example.com.")),
                rtype: RecordType::A,
                ttl: 300,
                rdata: vec![RData::A(Ipv4Addr::new(
                    10,
                    0,
                    (n / 256) as u8,
                    (n % 256) as u8,
                ))],
            })
            .collect()
    }

    /// The apex NS set of `zone()`.
    fn apex_ns() -> RecordSet {
        zone().rrsets[0].clone()
    }

    fn set(owner: &str, rdata: RData) -> RecordSet {
        RecordSet {
            name: name(owner),
            rtype: rdata.record_type(),
            ttl: 300,
            rdata: vec![rdata],
        }
    }

    fn stage(import_id: &str, chunk: u64, rrsets: Vec<RecordSet>) -> Command {
        Command::StageZoneRecords {
            import_id: import_id.to_string(),
            apex: name("example.com."),
            chunk,
            total_chunks: None,
            rrsets: Arc::new(rrsets),
        }
    }

    fn commit(import_id: &str, chunks: u64) -> Command {
        let mut header = zone();
        header.soa.serial = 7;
        header.rrsets = Default::default();
        Command::CommitStagedZone {
            import_id: import_id.to_string(),
            chunks,
            zone: header,
        }
    }

    /// Applies `command` at leader time `at` with the next index.
    fn step(state: &mut State, command: Command, at: u64) -> Result<(), Vec<String>> {
        let index = state.version + 1;
        let stamped = StampedCommand {
            at,
            actor: importer(),
            command,
        };
        apply(state, &stamped, index)
            .map(|_| ())
            .map_err(|error| vec![error.to_string()])
    }

    fn importer() -> crate::model::audit::Actor {
        crate::model::audit::Actor::new("importer")
    }

    /// Stages `chunks` (numbered in order) as import `id` at time 10 000 and commits them;
    /// the error of the first step that fails.
    fn import(state: &mut State, id: &str, chunks: Vec<Vec<RecordSet>>) -> Result<(), Vec<String>> {
        let n = chunks.len() as u64;
        for (number, chunk) in chunks.into_iter().enumerate() {
            step(state, stage(id, number as u64, chunk), 10_000)?;
        }
        step(state, commit(id, n), 11_000)
    }

    /// Chunks that say how many there are make the staging complete once every one is in,
    /// in order (a chunk waiting for an earlier one does not count); without the count a
    /// staging never says so.
    #[test]
    fn a_staging_is_complete_once_every_counted_chunk_is_in() {
        let (mut state, _) = run(vec![Command::PutZone { zone: zone() }]);
        let counted = |chunk: u64, rrsets: Vec<RecordSet>| match stage("i1", chunk, rrsets) {
            Command::StageZoneRecords {
                import_id,
                apex,
                chunk,
                rrsets,
                ..
            } => Command::StageZoneRecords {
                import_id,
                apex,
                chunk,
                total_chunks: Some(3),
                rrsets,
            },
            _ => unreachable!(),
        };
        let mut first = vec![apex_ns()];
        first.extend(hosts(0, 10));
        step(&mut state, counted(0, first.clone()), 10_000).unwrap();
        step(&mut state, counted(2, hosts(20, 10)), 10_000).unwrap();
        assert!(!state.staged_imports["i1"].is_complete(), "chunk 1 missing");
        step(&mut state, counted(1, hosts(10, 10)), 10_000).unwrap();
        let staged = &state.staged_imports["i1"];
        assert_eq!(staged.total_chunks, Some(3));
        assert!(staged.is_complete(), "0, 1 and 2 are in");

        step(&mut state, stage("i2", 0, first), 10_000).unwrap();
        assert!(!state.staged_imports["i2"].is_complete(), "no count given");
    }

    #[test]
    fn staged_chunks_are_invisible_until_the_commit_moves_them_in_whole() {
        let (mut state, results) = run(vec![Command::PutZone { zone: zone() }]);
        assert!(results[0].is_ok());
        let change_before = state.last_change;
        let audit_before = state.audit.len();
        let mut first = vec![apex_ns()];
        first.extend(hosts(0, 100));
        // Chunk 1 reaches the log before chunk 0 and waits for it.
        step(&mut state, stage("i1", 1, hosts(100, 100)), 10_000).unwrap();
        assert_eq!(state.staged_imports["i1"].n_rrsets(), 0, "chunk 1 waits");
        step(&mut state, stage("i1", 0, first), 11_000).unwrap();
        let served = &state.zones[&name("example.com.")];
        assert_eq!(served.rrsets.len(), 1, "nothing staged is served yet");
        assert_eq!(
            state.last_change, change_before,
            "staging recompiles nothing"
        );
        assert_eq!(state.audit.len(), audit_before, "chunks are not audited");
        let staged = &state.staged_imports["i1"];
        assert_eq!((staged.n_records, staged.next_chunk), (201, 2));
        assert!(staged.waiting.is_empty());
        assert!(staged.sets.is_sorted(), "built in canonical order");

        let staged_sets = staged.sets.clone();
        step(&mut state, commit("i1", 2), 12_000).unwrap();
        let served = &state.zones[&name("example.com.")];
        assert_eq!(served.rrsets.len(), 201, "NS plus every staged set");
        assert!(
            served.rrsets.shares_storage_with(&staged_sets),
            "the commit moves the staged sets in, it does not rebuild them"
        );
        assert_eq!(served.soa.serial, 7, "the import's newer serial is kept");
        assert!(state.staged_imports.is_empty(), "the staging area is gone");
        assert_eq!(state.last_change, state.version);
        assert!(state
            .audit
            .back()
            .unwrap()
            .summary
            .starts_with("commit_staged_zone"));
    }

    #[test]
    fn an_invalid_staged_zone_changes_nothing_and_an_abort_drops_it() {
        let (mut state, _) = run(vec![Command::PutZone { zone: zone() }]);
        // The last name's CNAME beside an A set shows only at the commit.
        let clash = vec![
            apex_ns(),
            set("h0.example.com.", RData::A(Ipv4Addr::new(10, 0, 0, 1))),
            set("h0.example.com.", RData::CNAME(name("example.com."))),
        ];
        step(&mut state, stage("bad", 0, clash), 10_000).unwrap();
        let before = state.clone();
        let error = step(&mut state, commit("bad", 1), 11_000).unwrap_err();
        assert!(error[0].contains("zone.rrsets[2]"), "{error:?}");
        assert!(error[0].contains("a CNAME and other data"), "{error:?}");
        assert_eq!(state, before, "a rejected commit changes nothing");
        step(
            &mut state,
            Command::AbortStagedZone {
                import_id: "bad".into(),
            },
            12_000,
        )
        .unwrap();
        assert!(state.staged_imports.is_empty());
        assert_eq!(state.zones[&name("example.com.")].rrsets.len(), 1);
        let error = step(&mut state, commit("bad", 1), 13_000).unwrap_err();
        assert!(error[0].contains("no import bad in progress"), "{error:?}");
    }

    #[test]
    fn rules_across_chunks_are_checked_when_the_chunk_that_completes_them_is_staged() {
        let (mut state, _) = run(vec![Command::PutZone { zone: zone() }]);
        let a = |owner: &str| set(owner, RData::A(Ipv4Addr::new(10, 0, 0, 1)));
        // h0's A ends chunk 0; its CNAME starts chunk 1.
        step(
            &mut state,
            stage("x", 0, vec![apex_ns(), a("h0.example.com.")]),
            10_000,
        )
        .unwrap();
        let cname = set("h0.example.com.", RData::CNAME(name("example.com.")));
        let error = step(
            &mut state,
            stage("x", 1, vec![cname, a("h1.example.com.")]),
            10_000,
        )
        .unwrap_err();
        assert!(error[0].contains("rrsets[0]"), "{error:?}");
        assert!(
            error[0].contains("h0.example.com. has a CNAME"),
            "{error:?}"
        );
        assert_eq!(state.staged_imports["x"].next_chunk, 1, "chunk 1 not taken");

        // A delegation in chunk 0 occludes a TXT in chunk 1.
        let ns = set("sub.example.com.", RData::NS(name("ns.elsewhere.net.")));
        step(&mut state, stage("y", 0, vec![apex_ns(), ns]), 10_000).unwrap();
        let txt = set("a.sub.example.com.", RData::TXT(vec!["hidden".into()]));
        let error = step(&mut state, stage("y", 1, vec![txt]), 10_000)
            .and_then(|()| step(&mut state, commit("y", 2), 11_000))
            .unwrap_err();
        assert!(
            error[0].contains("below the delegation sub.example.com."),
            "{error:?}"
        );

        // Chunks that overlap, a chunk out of order inside, one staged twice, one missing.
        let error = step(
            &mut state,
            stage("z", 0, vec![apex_ns(), a("m.example.com.")]),
            10_000,
        )
        .and_then(|()| step(&mut state, stage("z", 1, vec![a("c.example.com.")]), 10_000))
        .unwrap_err();
        assert!(error[0].contains("not after m.example.com. A"), "{error:?}");
        let error = step(
            &mut state,
            stage("z", 1, vec![a("y.example.com."), a("x.example.com.")]),
            10_000,
        )
        .unwrap_err();
        assert!(
            error[0].contains("rrsets[1]: x.example.com. A comes after"),
            "{error:?}"
        );
        let error = step(&mut state, stage("z", 0, vec![apex_ns()]), 10_000).unwrap_err();
        assert!(
            error[0].contains("chunk 0 of import z is staged already"),
            "{error:?}"
        );
        step(
            &mut state,
            stage("z", 2, vec![a("zz.example.com.")]),
            10_000,
        )
        .unwrap();
        let error = step(&mut state, commit("z", 3), 11_000).unwrap_err();
        assert!(error[0].contains("1 waiting"), "{error:?}");
        let error = step(
            &mut state,
            stage("z", 1 + MAX_CHUNKS_AHEAD + 1, hosts(0, 1)),
            10_000,
        )
        .unwrap_err();
        assert!(error[0].contains("ahead of chunk 1"), "{error:?}");
    }

    /// However a zone is cut into chunks, staging and committing it finds a fault exactly
    /// when validating it whole does.
    #[test]
    fn staging_in_chunks_agrees_with_validating_the_zone_whole() {
        let a = |owner: &str| set(owner, RData::A(Ipv4Addr::new(10, 0, 0, 1)));
        let ns = |owner: &str| set(owner, RData::NS(name("ns.elsewhere.net.")));
        let txt = |owner: &str| set(owner, RData::TXT(vec!["t".into()]));
        let dname = |owner: &str| set(owner, RData::DNAME(name("elsewhere.net.")));
        let cname = |owner: &str| set(owner, RData::CNAME(name("elsewhere.net.")));
        let zones: Vec<Vec<RecordSet>> = vec![
            vec![apex_ns(), a("a.example.com."), txt("b.example.com.")],
            vec![a("a.example.com."), txt("b.example.com.")],
            vec![
                apex_ns(),
                ns("d.example.com."),
                a("ns.d.example.com."),
                a("z.example.com."),
            ],
            vec![apex_ns(), ns("d.example.com."), txt("x.d.example.com.")],
            vec![apex_ns(), dname("d.example.com."), a("x.d.example.com.")],
            vec![apex_ns(), dname("d.example.com."), a("e.example.com.")],
            vec![apex_ns(), a("c.example.com."), cname("c.example.com.")],
            vec![apex_ns(), cname("c.example.com."), a("d.example.com.")],
            vec![
                apex_ns(),
                set("d.example.com.", RData::DS(ds())),
                a("e.example.com."),
            ],
        ];
        for (index, sets) in zones.into_iter().enumerate() {
            let mut whole = zone();
            whole.rrsets = sets.clone().into();
            let mut errors = FieldErrors::default();
            whole.validate("zone", &mut errors);
            let valid = errors.is_empty();
            for cut in 1..sets.len() {
                let (mut state, _) = run(vec![]);
                let chunks = vec![sets[..cut].to_vec(), sets[cut..].to_vec()];
                let staged = import(&mut state, "cut", chunks);
                assert_eq!(
                    staged.is_ok(),
                    valid,
                    "zone {index} cut at {cut}: {staged:?} against {errors:?}"
                );
            }
        }
    }

    fn ds() -> crate::model::record::DsData {
        crate::model::record::DsData {
            key_tag: 12345,
            algorithm: 13,
            digest_type: 2,
            digest: vec![0x49; 32],
        }
    }

    #[test]
    fn an_abandoned_staging_area_expires_on_a_later_entry() {
        let (mut state, _) = run(vec![Command::PutZone { zone: zone() }]);
        step(&mut state, stage("dead", 0, hosts(0, 10)), 10_000).unwrap();
        step(
            &mut state,
            stage("live", 0, hosts(0, 10)),
            10_000 + STAGED_IMPORT_TTL_MS - 1,
        )
        .unwrap();
        assert_eq!(state.staged_imports.len(), 2);
        step(
            &mut state,
            Command::RecordRefusal {
                reason: "any later entry".into(),
            },
            10_000 + STAGED_IMPORT_TTL_MS,
        )
        .unwrap();
        assert!(!state.staged_imports.contains_key("dead"), "expired");
        assert!(
            state.staged_imports.contains_key("live"),
            "touched recently"
        );
    }

    #[test]
    fn chunks_are_checked_on_their_own_and_imports_are_bounded() {
        let (mut state, _) = run(vec![Command::PutZone { zone: zone() }]);
        let mut outside = hosts(0, 1);
        outside[0].name = name("h0.example.org.");
        let error = step(&mut state, stage("x", 0, outside), 10_000).unwrap_err();
        assert!(error[0].contains("rrsets[0].name"), "{error:?}");
        let mut bad_ttl = hosts(0, 2);
        bad_ttl[1].ttl = u32::MAX;
        let error = step(&mut state, stage("x", 0, bad_ttl), 10_000).unwrap_err();
        assert!(error[0].contains("rrsets[1].ttl"), "{error:?}");
        let error = step(&mut state, stage("bad id!", 0, hosts(0, 1)), 10_000).unwrap_err();
        assert!(error[0].contains("import_id"), "{error:?}");
        for n in 0..MAX_STAGED_IMPORTS {
            step(&mut state, stage(&format!("i{n}"), 0, hosts(0, 1)), 10_000).unwrap();
        }
        let error = step(&mut state, stage("one-more", 0, hosts(0, 1)), 10_000).unwrap_err();
        assert!(error[0].contains("already in progress"), "{error:?}");
        let batch = Command::Batch {
            commands: vec![stage("i0", 1, hosts(1, 1))],
        };
        let error = step(&mut state, batch, 10_000).unwrap_err();
        assert!(error[0].contains("cannot be part of a batch"), "{error:?}");
        let mut with_sets = commit("i0", 1);
        if let Command::CommitStagedZone { zone: header, .. } = &mut with_sets {
            header.rrsets = vec![apex_ns()].into();
        }
        let error = step(&mut state, with_sets, 10_000).unwrap_err();
        assert!(error[0].contains("carries no record sets"), "{error:?}");
    }

    /// Copying a state with a big staging area copies pointers, not the staged sets.
    #[test]
    fn a_state_copy_shares_staged_sets_and_zones() {
        let (mut state, _) = run(vec![Command::PutZone { zone: zone() }]);
        step(&mut state, stage("i1", 0, hosts(0, 1000)), 10_000).unwrap();
        let copy = state.clone();
        assert!(copy.staged_imports["i1"]
            .sets
            .shares_storage_with(&state.staged_imports["i1"].sets));
        let apex = name("example.com.");
        assert!(Arc::ptr_eq(&copy.zones[&apex], &state.zones[&apex]));
    }
}
