//! Staged zone imports: the checks of `StageZoneRecords`, `CommitStagedZone` and
//! `AbortStagedZone`, assembling the staged chunks into the zone a commit installs, and the
//! expiry of staging areas nobody finished.
//!
//! Checks of a chunk are cheap (names inside the apex, at most `MAX_STAGED_IMPORTS` open
//! imports); the whole zone is validated once, when the commit assembles it, with the very
//! rules `PutZone` uses. `validate` on the leader runs only the cheap part: the API has
//! validated the parsed zone before staging it, and `apply` checks again what the commit meets.

use std::sync::Arc;

use super::collisions::check_zone_against_gslb;
use super::{field_path, Command};
use crate::model::name::DomainName;
use crate::model::record::RecordSet;
use crate::model::staged::{StagedImport, MAX_STAGED_IMPORTS, STAGED_IMPORT_TTL_MS};
use crate::model::state::State;
use crate::model::validation::FieldErrors;
use crate::model::zone::Zone;

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
/// and every record set named inside the apex with at least one record.
pub(super) fn check_stage(
    state: &State,
    import_id: &str,
    apex: &DomainName,
    rrsets: &[RecordSet],
    path: &str,
    errors: &mut FieldErrors,
) {
    check_import_id(import_id, &field_path(path, "import_id"), errors);
    match state.staged_imports.get(import_id) {
        Some(staged) if &staged.apex != apex => errors.push(
            field_path(path, "apex"),
            format!(
                "import {import_id} is for {}, got a chunk for {apex}",
                staged.apex
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
        None => {}
    }
    for (index, set) in rrsets.iter().enumerate() {
        if !set.name.is_subdomain_of(apex) {
            errors.push(
                field_path(path, &format!("rrsets[{index}].name")),
                format!("{} is not inside the zone {apex}", set.name),
            );
        }
        if set.rdata.is_empty() {
            errors.push(
                field_path(path, &format!("rrsets[{index}].rdata")),
                "a record set needs at least one record",
            );
        }
    }
}

/// A commit: a staging area by that id exists and is for the same zone.
pub(super) fn check_commit(
    state: &State,
    import_id: &str,
    zone: &Zone,
    path: &str,
    errors: &mut FieldErrors,
) {
    let id_path = field_path(path, "import_id");
    check_import_id(import_id, &id_path, errors);
    match state.staged_imports.get(import_id) {
        None => errors.push(
            id_path,
            format!("no import {import_id} in progress (it expired or was aborted)"),
        ),
        Some(staged) if staged.apex != zone.apex => errors.push(
            field_path(path, "zone.apex"),
            format!(
                "import {import_id} is for {}, got {}",
                staged.apex, zone.apex
            ),
        ),
        Some(_) => {}
    }
}

/// The commit `command` stands for (seen through a guard), if it is one.
fn commit_of(command: &Command) -> Option<(&str, &Zone)> {
    match command {
        Command::CommitStagedZone { import_id, zone } => Some((import_id, zone)),
        Command::Guarded { command, .. } => commit_of(command),
        _ => None,
    }
}

/// For a commit that passed `check`: the whole zone it installs (its header plus every staged
/// set, sorted), validated as `PutZone` validates. `None` for other commands or when the zone
/// is invalid (faults in `errors`, under `zone`).
pub(super) fn assemble(
    state: &State,
    command: &Command,
    errors: &mut FieldErrors,
) -> Option<(String, Zone)> {
    let (import_id, header) = commit_of(command)?;
    let staged = state.staged_imports.get(import_id)?;
    let mut zone = header.clone();
    zone.rrsets.extend(staged.rrsets().cloned());
    zone.normalize();
    let before = errors.0.len();
    zone.validate("zone", errors);
    check_zone_against_gslb(state, &zone, "zone", errors);
    (errors.0.len() == before).then(|| (import_id.to_string(), zone))
}

/// Installs an assembled zone and drops its staging area; returns whether the zone changed
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

/// Adds a chunk to its staging area (opening it, sharing the chunk's sets) and moves its
/// expiry.
pub(super) fn stage(
    state: &mut State,
    import_id: &str,
    apex: &DomainName,
    rrsets: &Arc<Vec<RecordSet>>,
    at: u64,
) {
    let staged = state
        .staged_imports
        .entry(import_id.to_string())
        .or_insert_with(|| StagedImport {
            apex: apex.clone(),
            started_at: at,
            expires_at: 0,
            chunks: Vec::new(),
        });
    staged.expires_at = at.saturating_add(STAGED_IMPORT_TTL_MS);
    staged.chunks.push(rrsets.clone());
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

    /// `count` A record sets `h<first>…` in example.com.
    fn hosts(first: usize, count: usize) -> Vec<RecordSet> {
        (first..first + count)
            .map(|n| RecordSet {
                name: name(&format!("h{n}.example.com.")),
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

    fn stage(import_id: &str, rrsets: Vec<RecordSet>) -> Command {
        Command::StageZoneRecords {
            import_id: import_id.to_string(),
            apex: name("example.com."),
            rrsets: Arc::new(rrsets),
        }
    }

    fn commit(import_id: &str) -> Command {
        let mut header = zone();
        header.soa.serial = 7;
        Command::CommitStagedZone {
            import_id: import_id.to_string(),
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

    #[test]
    fn staged_chunks_are_invisible_until_the_commit_switches_them_in_whole() {
        let (mut state, results) = run(vec![Command::PutZone { zone: zone() }]);
        assert!(results[0].is_ok());
        let change_before = state.last_change;
        let audit_before = state.audit.len();
        step(&mut state, stage("i1", hosts(0, 100)), 10_000).unwrap();
        step(&mut state, stage("i1", hosts(100, 100)), 11_000).unwrap();
        let served = &state.zones[&name("example.com.")];
        assert_eq!(served.rrsets.len(), 1, "nothing staged is served yet");
        assert_eq!(
            state.last_change, change_before,
            "staging recompiles nothing"
        );
        assert_eq!(state.audit.len(), audit_before, "chunks are not audited");
        assert_eq!(state.staged_imports["i1"].n_records(), 200);

        step(&mut state, commit("i1"), 12_000).unwrap();
        let served = &state.zones[&name("example.com.")];
        assert_eq!(served.rrsets.len(), 201, "NS plus every staged set");
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
        let mut clash = hosts(0, 1);
        clash.push(RecordSet {
            name: name("h0.example.com."),
            rtype: RecordType::CNAME,
            ttl: 300,
            rdata: vec![RData::CNAME(name("example.com."))],
        });
        step(&mut state, stage("bad", clash), 10_000).unwrap();
        let before = state.clone();
        let error = step(&mut state, commit("bad"), 11_000).unwrap_err();
        assert!(error[0].contains("zone.rrsets"), "{error:?}");
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
        let error = step(&mut state, commit("bad"), 13_000).unwrap_err();
        assert!(error[0].contains("no import bad in progress"), "{error:?}");
    }

    #[test]
    fn an_abandoned_staging_area_expires_on_a_later_entry() {
        let (mut state, _) = run(vec![Command::PutZone { zone: zone() }]);
        step(&mut state, stage("dead", hosts(0, 10)), 10_000).unwrap();
        step(
            &mut state,
            stage("live", hosts(0, 10)),
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
    fn chunks_are_checked_cheaply_and_imports_are_bounded() {
        let (mut state, _) = run(vec![Command::PutZone { zone: zone() }]);
        let mut outside = hosts(0, 1);
        outside[0].name = name("h0.example.org.");
        let error = step(&mut state, stage("x", outside), 10_000).unwrap_err();
        assert!(error[0].contains("rrsets[0].name"), "{error:?}");
        let error = step(&mut state, stage("bad id!", hosts(0, 1)), 10_000).unwrap_err();
        assert!(error[0].contains("import_id"), "{error:?}");
        for n in 0..MAX_STAGED_IMPORTS {
            step(&mut state, stage(&format!("i{n}"), hosts(0, 1)), 10_000).unwrap();
        }
        let error = step(&mut state, stage("one-more", hosts(0, 1)), 10_000).unwrap_err();
        assert!(error[0].contains("already in progress"), "{error:?}");
        let batch = Command::Batch {
            commands: vec![stage("i0", hosts(1, 1))],
        };
        let error = step(&mut state, batch, 10_000).unwrap_err();
        assert!(error[0].contains("cannot be part of a batch"), "{error:?}");
    }

    /// Copying a state with a big staging area copies pointers to the chunks, not the sets.
    #[test]
    fn a_state_copy_shares_staged_chunks_and_zones() {
        let (mut state, _) = run(vec![Command::PutZone { zone: zone() }]);
        step(&mut state, stage("i1", hosts(0, 1000)), 10_000).unwrap();
        let copy = state.clone();
        assert!(Arc::ptr_eq(
            &copy.staged_imports["i1"].chunks[0],
            &state.staged_imports["i1"].chunks[0]
        ));
        let apex = name("example.com.");
        assert!(Arc::ptr_eq(&copy.zones[&apex], &state.zones[&apex]));
    }
}
