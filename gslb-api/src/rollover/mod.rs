//! Key rollovers of signed zones as the API and the leader take them: what the next step of
//! a zone is (`next`, from `gslb_model::model::rollover` with the zone's TTLs) and the Raft
//! command that takes it (`step_command`, which generates and seals the successor for a
//! `publish`; `presign_command`, the new key set of an algorithm rollover or of a change
//! between CSK and KSK + ZSK). `POST /v1/zones/{zone}/dnssec/rollover` and the leader's schedule
//! (`scheduler`) both go through here, so an operator's step and a scheduled one are the
//! same command.
//!
//! - `scheduler`: the leader's timer taking due steps, each one Raft command.
//! - `parent`: asking the parent's servers whether they hold a key's DS.
//! - `metrics`: the rollover gauges and counters `/metrics` exports.

pub mod metrics;
pub mod parent;
pub mod scheduler;

use gslb_dns::dnssec::{generate_key, KeyEncryptionKey, DNSKEY_TTL, MAX_SIGNED_TTL};
use gslb_model::model::dnssec::{FLAGS_SECURE_ENTRY_POINT, FLAGS_ZONE_KEY};
use gslb_model::model::rollover::{
    next_steps, NextStep, Rollover, RolloverKind, RolloverStep, Ttls,
};
use gslb_model::model::{DnssecAlgorithm, DnssecSchedule, KeyState, State, ZoneKeys};
use gslb_model::{Command, DomainName};

/// The actor the leader's schedule writes as (in the audit log).
pub const SCHEDULER: &str = "system:dnssec";

/// The TTLs the waits of `apex`'s rollovers depend on: the DNSKEY TTL, and the largest TTL
/// a signed answer of the zone carries (records, GSLB answers, negative answers; signed
/// answers never carry more than `MAX_SIGNED_TTL`).
pub fn zone_ttls(state: &State, apex: &DomainName) -> Ttls {
    let zone_max = state.zones.get(apex).map_or(0, |zone| {
        let records = zone.rrsets.iter().map(|rrset| rrset.ttl);
        let gslb = state.gslb_records_in_zone(apex).map(|record| record.ttl);
        let negative = zone.soa.minimum.min(zone.soa.ttl);
        records
            .chain(gslb)
            .chain([zone.soa.ttl, negative])
            .max()
            .unwrap_or(0)
    });
    Ttls {
        dnskey: u64::from(DNSKEY_TTL),
        zone_max: u64::from(zone_max.min(MAX_SIGNED_TTL)),
    }
}

/// What comes next for `apex` (`None`: not signed): the step of the rollover started
/// first, or the next scheduled start.
pub fn next(state: &State, apex: &DomainName) -> Option<NextStep> {
    Some(
        next_all(state, apex)?
            .into_iter()
            .next()
            .unwrap_or(NextStep::OnDemand),
    )
}

/// Everything that comes next for `apex` (`None`: not signed): the next step of each
/// rollover in progress, and a scheduled start that may run beside one.
pub fn next_all(state: &State, apex: &DomainName) -> Option<Vec<NextStep>> {
    let keys = state.dnssec.get(apex)?;
    let schedule = schedule(state, apex);
    // The zone's largest TTL matters only to `remove` after `activate` and to `publish`
    // after `presign`; the scheduler asks every second and a zone may hold a million
    // records, so it is read only then.
    let needs_zone_max = [&schedule.rollover, &schedule.beside]
        .into_iter()
        .flatten()
        .any(|rollover| {
            matches!(
                rollover.last_step,
                RolloverStep::Activate | RolloverStep::Presign
            )
        });
    let ttls = if needs_zone_max {
        zone_ttls(state, apex)
    } else {
        Ttls {
            dnskey: u64::from(DNSKEY_TTL),
            zone_max: 0,
        }
    };
    Some(next_steps(keys, &schedule, ttls))
}

/// `apex`'s schedule (the default one when none was set).
pub fn schedule(state: &State, apex: &DomainName) -> DnssecSchedule {
    state
        .dnssec_schedules
        .get(apex)
        .cloned()
        .unwrap_or_default()
}

/// The command that finishes a rollover an older gslb started (two active CSKs, both
/// signing, no schedule): removing every key but the newest, as that version's second step
/// did; `None` when the zone is not in that shape. Safe once the DNSKEY TTL has passed since
/// the second key came (`Err` with the seconds left), or when `force`d.
pub fn legacy_finish(
    state: &State,
    apex: &DomainName,
    force: bool,
    now: u64,
) -> Option<Result<Command, u64>> {
    let keys = state.dnssec.get(apex)?;
    let active = keys
        .keys
        .iter()
        .filter(|key| key.state == KeyState::Active && key.is_entry_point())
        .count();
    if active < 2 || keys.is_split() || schedule(state, apex).rollover.is_some() {
        return None;
    }
    let ready_at = keys
        .last_rollover_at
        .unwrap_or(keys.enabled_at)
        .saturating_add(u64::from(DNSKEY_TTL) * 1000);
    if now < ready_at && !force {
        return Some(Err(ready_at.saturating_sub(now).div_ceil(1000)));
    }
    let older = &keys.keys[..keys.keys.len() - 1];
    Some(Ok(Command::Batch {
        commands: older
            .iter()
            .map(|key| Command::DeleteDnssecKey {
                zone: apex.clone(),
                tag: key.tag,
            })
            .collect(),
    }))
}

/// The kind a rollover of `apex` started now rolls: `asked`, or the zone's entry point.
pub fn start_kind(state: &State, apex: &DomainName, asked: Option<RolloverKind>) -> RolloverKind {
    let split = state.dnssec.get(apex).is_some_and(|keys| keys.is_split());
    match (asked, split) {
        (Some(kind), _) => kind,
        (None, true) => RolloverKind::Ksk,
        (None, false) => RolloverKind::Csk,
    }
}

/// The command taking `step` of `apex`'s rollover at `now`; a `publish` of a `kind` key
/// carries a new successor sealed with `kek`, in the algorithm of the key it replaces.
pub fn step_command(
    state: &State,
    apex: &DomainName,
    step: RolloverStep,
    kind: RolloverKind,
    kek: &KeyEncryptionKey,
    now: u64,
) -> Result<Command, String> {
    let schedule = schedule(state, apex);
    let running = [&schedule.rollover, &schedule.beside]
        .into_iter()
        .flatten()
        .any(|rollover| rollover.kind == kind);
    let key = if step == RolloverStep::Publish && !running {
        let keys = state
            .dnssec
            .get(apex)
            .ok_or_else(|| format!("{apex} is not signed"))?;
        let algorithm = keys
            .keys
            .iter()
            .find(|key| {
                key.state == KeyState::Active && key.is_entry_point() == kind.is_entry_point()
            })
            .ok_or_else(|| format!("{apex} has no active {} to replace", kind.name()))?
            .algorithm;
        let flags = if kind.is_entry_point() {
            FLAGS_SECURE_ENTRY_POINT
        } else {
            FLAGS_ZONE_KEY
        };
        let mut successor = generate_key(apex, algorithm, flags, KeyState::Published, kek, now)
            .map_err(|error| error.to_string())?;
        // A new key whose tag another key of the zone has is made again (1 in 65536).
        while keys.key(successor.tag).is_some() {
            successor = generate_key(apex, algorithm, flags, KeyState::Published, kek, now)
                .map_err(|error| error.to_string())?;
        }
        Some(successor)
    } else {
        None
    };
    Ok(Command::DnssecRolloverStep {
        zone: apex.clone(),
        step,
        key,
        zsk: None,
        kind: Some(kind),
    })
}

/// The new key set a rollover that replaces the whole key set brings, as asked: keys of
/// `algorithm` (default: the zone's), KSK + ZSK when `split` (default: the zone's layout).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeySetWanted {
    /// The new algorithm, if asked.
    pub algorithm: Option<DnssecAlgorithm>,
    /// The new layout, if asked: KSK + ZSK (`true`) or one CSK.
    pub split: Option<bool>,
}

impl KeySetWanted {
    /// True when the in-progress rollover `rollover` of the zone with `keys` brings what is
    /// asked (so asking again takes its next step).
    pub fn matches(&self, keys: &ZoneKeys, rollover: &Rollover) -> bool {
        let Some(new) = keys.key(rollover.new) else {
            return false;
        };
        rollover.kind.replaces_key_set()
            && self
                .algorithm
                .is_none_or(|algorithm| new.algorithm == algorithm)
            && self
                .split
                .is_none_or(|split| rollover.new_zsk.is_some() == split)
    }
}

/// The `presign` that starts replacing `apex`'s keys with the set `wanted`, generated now
/// and sealed with `kek`; `Err` says why not (the model refuses a set like the current).
pub fn presign_command(
    state: &State,
    apex: &DomainName,
    wanted: KeySetWanted,
    kek: &KeyEncryptionKey,
    now: u64,
) -> Result<Command, String> {
    let keys = state
        .dnssec
        .get(apex)
        .ok_or_else(|| format!("{apex} is not signed"))?;
    let current = keys
        .keys
        .iter()
        .find(|key| key.is_entry_point())
        .ok_or_else(|| format!("{apex} has no CSK or KSK"))?;
    let algorithm = wanted.algorithm.unwrap_or(current.algorithm);
    let split = wanted.split.unwrap_or(keys.is_split());
    let new_key = |flags: u16, taken: &[u16]| loop {
        let key = generate_key(apex, algorithm, flags, KeyState::Unpublished, kek, now)
            .map_err(|error| error.to_string())?;
        // A new key whose tag another key has is made again (1 in 65536).
        if keys.key(key.tag).is_none() && !taken.contains(&key.tag) {
            return Ok::<_, String>(key);
        }
    };
    let key = new_key(FLAGS_SECURE_ENTRY_POINT, &[])?;
    let zsk = if split {
        Some(new_key(FLAGS_ZONE_KEY, &[key.tag])?)
    } else {
        None
    };
    Ok(Command::DnssecRolloverStep {
        zone: apex.clone(),
        step: RolloverStep::Presign,
        key: Some(key),
        zsk,
        kind: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use gslb_model::model::{DnssecAlgorithm, DnssecKey, ZoneKeys};

    fn csk(tag: u16) -> DnssecKey {
        DnssecKey {
            tag,
            algorithm: DnssecAlgorithm::EcdsaP256Sha256,
            flags: FLAGS_SECURE_ENTRY_POINT,
            state: KeyState::Active,
            public_key: "00".repeat(64),
            sealed_private_key: "00".repeat(40),
            created_at: 0,
        }
    }

    /// Two active CSKs left by the older manual rollover: finished by removing the older,
    /// after the DNSKEY TTL unless forced; a zone in any other shape is not touched.
    #[test]
    fn a_rollover_an_older_version_started_is_finished() {
        let apex = DomainName::parse_absolute("example.test.").unwrap();
        let mut state = State::default();
        state.dnssec.insert(
            apex.clone(),
            ZoneKeys {
                keys: vec![csk(1), csk(2)],
                enabled_at: 0,
                last_rollover_at: Some(1_000),
                incoming: Vec::new(),
            },
        );
        assert_eq!(legacy_finish(&state, &apex, false, 2_000), Some(Err(3599)));
        let Some(Ok(Command::Batch { commands })) = legacy_finish(&state, &apex, true, 2_000)
        else {
            panic!("forced: the older key goes");
        };
        assert_eq!(
            commands,
            [Command::DeleteDnssecKey {
                zone: apex.clone(),
                tag: 1
            }]
        );
        assert!(legacy_finish(&state, &apex, false, 3_601_000).is_some_and(|done| done.is_ok()));
        state.dnssec.get_mut(&apex).unwrap().keys.pop();
        assert_eq!(legacy_finish(&state, &apex, true, 2_000), None);
    }
}
