//! Key rollovers of a signed zone: the schedule an operator sets (`DnssecPolicy`), the
//! rollover in progress (`Rollover`), and two pure decisions over them: which step comes
//! next and from when it is safe (`next_step`), and what a step does to the keys
//! (`take_step`, which `apply` runs for `Command::DnssecRolloverStep`).
//!
//! A rollover of one key has three or four steps, each one Raft command:
//! - `publish`: the successor joins the DNSKEY RRset without signing data (a pre-published
//!   ZSK, RFC 6781 §4.1.1.1; a CSK/KSK whose DS the parent is asked for through CDS and
//!   CDNSKEY, RFC 7344, RFC 8078 — the double-DS method of RFC 7583 §3.3.2);
//! - `ds_seen` (CSK and KSK only): the parent holds the successor's DS (seen at the parent's
//!   servers, or confirmed by the operator);
//! - `activate`: the successor signs, the predecessor retires (still in the DNSKEY RRset, so
//!   signatures it made that caches still hold keep validating; out of CDS, so the parent
//!   drops its DS);
//! - `remove`: the predecessor leaves the DNSKEY RRset.
//!
//! A rollover that replaces the whole key set — a new algorithm (`algorithm`), or a CSK
//! becoming KSK + ZSK (`split`) and back (`combine`) — follows RFC 6781 §4.1.4 (the order
//! Knot and BIND use), since RFC 4035 §2.2 wants every RRset signed with each algorithm of
//! the DNSKEY RRset a validator may have cached:
//! - `presign`: the new keys sign every RRset, their DNSKEYs not published yet;
//! - `publish`: once every cached RRset carries the new signatures (the zone's largest TTL
//!   and the propagation delay), the new DNSKEYs join the RRset and CDS/CDNSKEY list the new
//!   entry point beside the old (a double DS; both sets sign everything, so either DS
//!   validates);
//! - `ds_seen`: the parent holds the new DS;
//! - `unpublish`: once every cached DS RRset holds the new DS and every cached DNSKEY RRset
//!   the new keys, the old DNSKEYs leave the RRset and CDS (the parent drops the old DS);
//!   the old keys keep signing;
//! - `remove`: once no cache holds a DNSKEY RRset with the old keys (the DNSKEY TTL and
//!   the propagation delay), the old keys and their signatures go.
//!
//! The waits between them are the RFC 7583 ones, in seconds: before `activate`, the new
//! DNSKEY RRset must have replaced every cached one (DNSKEY TTL + propagation delay) and,
//! for an entry point, every cached DS RRset must hold the new DS (parent DS TTL +
//! propagation delay after it was seen); before `remove`, every signature the predecessor
//! made must have expired from caches (the zone's largest TTL, or the DNSKEY TTL for a
//! KSK, + propagation delay). `max_cache_ttl_secs` caps every TTL in those sums, for
//! deployments (and tests) whose validators cap what they cache.
//!
//! A split zone's KSK and ZSK may roll at once (`DnssecSchedule::beside`): RFC 7583 gives
//! their timelines independently, each has its own keys and waits, and each changes the
//! DNSKEY RRset only by its own key; `next_steps` says what comes next for each, and a step
//! names its kind. A CSK or key-set rollover runs alone.
//!
//! Nothing here reads a clock: times come in as leader milliseconds.

use serde::{Deserialize, Serialize};

use crate::model::dnssec::{
    DnssecAlgorithm, DnssecKey, KeyState, ZoneKeys, FLAGS_SECURE_ENTRY_POINT,
};
use crate::model::validation::FieldErrors;

/// Default propagation delay: how long a change takes to reach every DNS node (RFC 7583
/// "Dprp"), with room for a slow secondary.
pub const DEFAULT_PROPAGATION_DELAY_SECS: u64 = 300;
/// Default TTL of the DS RRset at the parent (the root and most TLDs use a day).
pub const DEFAULT_PARENT_DS_TTL_SECS: u64 = 86_400;

/// How and when a zone's keys roll.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnssecPolicy {
    /// How long a CSK (or the KSK of a split zone) signs before the leader rolls it; none:
    /// only on demand (`gslbctl dnssec rollover`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifetime_secs: Option<u64>,
    /// The same for the ZSK of a split zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zsk_lifetime_secs: Option<u64>,
    /// How long a change takes to reach every server and secondary.
    #[serde(default = "default_propagation_delay")]
    pub propagation_delay_secs: u64,
    /// The TTL of this zone's DS RRset at the parent.
    #[serde(default = "default_parent_ds_ttl")]
    pub parent_ds_ttl_secs: u64,
    /// The longest any validator in front of the zone caches a record, when every one of
    /// them caps it (Unbound's `cache-max-ttl`); caps every TTL the waits add up. Only for
    /// deployments that control their resolvers, and tests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_cache_ttl_secs: Option<u64>,
    /// The parent's servers (`ADDR:PORT`) the leader asks for the zone's DS, to see when the
    /// parent has taken the successor's DS; none: the operator confirms it with
    /// `gslbctl dnssec rollover`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parent_agents: Vec<String>,
}

fn default_propagation_delay() -> u64 {
    DEFAULT_PROPAGATION_DELAY_SECS
}

fn default_parent_ds_ttl() -> u64 {
    DEFAULT_PARENT_DS_TTL_SECS
}

impl Default for DnssecPolicy {
    fn default() -> Self {
        DnssecPolicy {
            lifetime_secs: None,
            zsk_lifetime_secs: None,
            propagation_delay_secs: DEFAULT_PROPAGATION_DELAY_SECS,
            parent_ds_ttl_secs: DEFAULT_PARENT_DS_TTL_SECS,
            max_cache_ttl_secs: None,
            parent_agents: Vec::new(),
        }
    }
}

impl DnssecPolicy {
    /// Checks the policy's fields under `path`.
    pub fn validate(&self, path: &str, errors: &mut FieldErrors) {
        for (field, value) in [
            ("lifetime_secs", self.lifetime_secs),
            ("zsk_lifetime_secs", self.zsk_lifetime_secs),
        ] {
            if value == Some(0) {
                errors.push(format!("{path}.{field}"), "must be at least 1s".to_string());
            }
        }
        for (index, agent) in self.parent_agents.iter().enumerate() {
            if agent.parse::<std::net::SocketAddr>().is_err() {
                errors.push(
                    format!("{path}.parent_agents[{index}]"),
                    format!("{agent:?} is not ADDR:PORT"),
                );
            }
        }
    }

    /// `ttl_secs` as the waits count it (capped by `max_cache_ttl_secs`).
    fn cached(&self, ttl_secs: u64) -> u64 {
        self.max_cache_ttl_secs
            .map_or(ttl_secs, |cap| ttl_secs.min(cap))
    }
}

/// Which key a rollover replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RolloverKind {
    /// The combined signing key of an unsplit zone (double-DS through CDS).
    Csk,
    /// The key-signing key of a split zone (double-DS through CDS).
    Ksk,
    /// The zone-signing key of a split zone (pre-publish).
    Zsk,
    /// The whole key set, for one of another algorithm (RFC 6781 §4.1.4).
    Algorithm,
    /// A CSK for a KSK and a ZSK of the same algorithm (as an algorithm rollover).
    Split,
    /// A KSK and a ZSK for one CSK of the same algorithm (as an algorithm rollover).
    Combine,
}

impl RolloverKind {
    /// `csk`, `ksk` or `zsk`.
    pub fn name(self) -> &'static str {
        match self {
            RolloverKind::Csk => "csk",
            RolloverKind::Ksk => "ksk",
            RolloverKind::Zsk => "zsk",
            RolloverKind::Algorithm => "algorithm",
            RolloverKind::Split => "split",
            RolloverKind::Combine => "combine",
        }
    }

    /// True for the kinds whose DS is at the parent.
    pub fn is_entry_point(self) -> bool {
        self != RolloverKind::Zsk
    }

    /// True for the kinds that replace the whole key set (`presign` ... `remove`).
    pub fn replaces_key_set(self) -> bool {
        matches!(
            self,
            RolloverKind::Algorithm | RolloverKind::Split | RolloverKind::Combine
        )
    }

    /// The step that follows `last` in a rollover of this kind.
    fn step_after(self, last: RolloverStep) -> RolloverStep {
        match (last, self.replaces_key_set(), self.is_entry_point()) {
            (RolloverStep::Presign, _, _) => RolloverStep::Publish,
            (RolloverStep::Publish, _, true) => RolloverStep::DsSeen,
            (RolloverStep::Publish, _, false) => RolloverStep::Activate,
            (RolloverStep::DsSeen, true, _) => RolloverStep::Unpublish,
            (RolloverStep::DsSeen, false, _) => RolloverStep::Activate,
            (RolloverStep::Activate | RolloverStep::Unpublish, _, _) => RolloverStep::Remove,
            (RolloverStep::Remove, _, _) => RolloverStep::Publish,
        }
    }
}

/// One step of a rollover (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RolloverStep {
    /// The new key set signs, unpublished (a key-set rollover's first step).
    Presign,
    /// The successor is published.
    Publish,
    /// The parent holds the successor's DS.
    DsSeen,
    /// The successor signs; the predecessor retired.
    Activate,
    /// The old key set leaves the DNSKEY RRset and CDS, still signing (key-set rollovers).
    Unpublish,
    /// The predecessor is gone.
    Remove,
}

impl RolloverStep {
    /// Every step, in order (metrics list them all).
    pub const ALL: [RolloverStep; 6] = [
        RolloverStep::Presign,
        RolloverStep::Publish,
        RolloverStep::DsSeen,
        RolloverStep::Activate,
        RolloverStep::Unpublish,
        RolloverStep::Remove,
    ];

    /// `presign`, `publish`, `ds_seen`, `activate`, `unpublish` or `remove`.
    pub fn name(self) -> &'static str {
        match self {
            RolloverStep::Presign => "presign",
            RolloverStep::Publish => "publish",
            RolloverStep::DsSeen => "ds_seen",
            RolloverStep::Activate => "activate",
            RolloverStep::Unpublish => "unpublish",
            RolloverStep::Remove => "remove",
        }
    }
}

impl std::str::FromStr for RolloverKind {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "csk" => Ok(RolloverKind::Csk),
            "ksk" => Ok(RolloverKind::Ksk),
            "zsk" => Ok(RolloverKind::Zsk),
            _ => Err(format!(
                "unknown key kind {text:?} (csk, ksk or zsk; a new algorithm or key layout \
                 is asked for with algorithm and split)"
            )),
        }
    }
}

/// A rollover in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rollover {
    /// Which key rolls.
    pub kind: RolloverKind,
    /// The predecessor's tag (of a key-set rollover: the old CSK or KSK).
    pub old: u16,
    /// The successor's tag (of a key-set rollover: the new CSK or KSK).
    pub new: u16,
    /// A key-set rollover's old ZSK, if the old set had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_zsk: Option<u16>,
    /// A key-set rollover's new ZSK, if the new set has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_zsk: Option<u16>,
    /// The last step taken.
    pub last_step: RolloverStep,
    /// Leader time (unix millis) of `publish` (before it, of `presign`).
    pub started_at: u64,
    /// Leader time (unix millis) of the last step.
    pub step_at: u64,
}

/// A signed zone's rollover policy and progress (`State::dnssec_schedules`; absent: the
/// default policy, nothing in progress).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnssecSchedule {
    /// The policy.
    #[serde(default)]
    pub policy: DnssecPolicy,
    /// The rollover in progress, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollover: Option<Rollover>,
    /// A second rollover running beside `rollover`: in a split zone the KSK and the ZSK
    /// roll at once when both are due (their keys, RRsets touched and waits are apart);
    /// it takes `rollover`'s place when that one ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beside: Option<Rollover>,
    /// Rollover steps taken since signing was enabled (what `/metrics` counts).
    #[serde(default)]
    pub steps_taken: u64,
}

/// The TTLs the waits depend on, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ttls {
    /// TTL of the DNSKEY RRset.
    pub dnskey: u64,
    /// The largest TTL of any signed answer of the zone (negative answers included).
    pub zone_max: u64,
}

/// What comes next for a signed zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextStep {
    /// Nothing until an operator asks (no lifetime set).
    OnDemand,
    /// `step` of a `kind` rollover, safe from `at` (leader unix millis).
    At {
        /// The key that rolls.
        kind: RolloverKind,
        /// The step.
        step: RolloverStep,
        /// From when it is safe (and, for a scheduled `publish`, due).
        at: u64,
    },
    /// A CSK/KSK rollover waits for the parent to hold the DS of key `new`.
    AwaitingParent {
        /// The key that rolls.
        kind: RolloverKind,
        /// The successor's tag.
        new: u16,
    },
}

/// What comes next for the zone with `keys` and `schedule`: the step of `rollover` (the
/// one started first) when one is in progress, else the next scheduled start.
pub fn next_step(keys: &ZoneKeys, schedule: &DnssecSchedule, ttls: Ttls) -> NextStep {
    next_steps(keys, schedule, ttls)
        .into_iter()
        .next()
        .unwrap_or(NextStep::OnDemand)
}

/// Everything that comes next for the zone: the next step of each rollover in progress
/// (`rollover` first, then `beside`), and a scheduled start of a KSK or ZSK rollover that
/// may run beside the one in progress (or, with none in progress, the next start).
pub fn next_steps(keys: &ZoneKeys, schedule: &DnssecSchedule, ttls: Ttls) -> Vec<NextStep> {
    let policy = &schedule.policy;
    let Some(first) = &schedule.rollover else {
        return vec![scheduled_start(keys, policy, None)];
    };
    let mut steps = vec![rollover_step(first, policy, ttls)];
    match &schedule.beside {
        Some(second) => steps.push(rollover_step(second, policy, ttls)),
        None => {
            if let Some(other) = partner(first.kind) {
                let start = scheduled_start(keys, policy, Some(other));
                if start != NextStep::OnDemand {
                    steps.push(start);
                }
            }
        }
    }
    steps
}

/// The kind that may roll beside a rollover of `kind`: a split zone's ZSK beside its KSK
/// and the other way round; nothing beside a CSK or a key-set rollover.
pub fn partner(kind: RolloverKind) -> Option<RolloverKind> {
    match kind {
        RolloverKind::Ksk => Some(RolloverKind::Zsk),
        RolloverKind::Zsk => Some(RolloverKind::Ksk),
        _ => None,
    }
}

/// The next step of `rollover` and from when it is safe.
fn rollover_step(rollover: &Rollover, policy: &DnssecPolicy, ttls: Ttls) -> NextStep {
    let delay = policy.propagation_delay_secs;
    let after = |from: u64, secs: u64| from.saturating_add(secs.saturating_mul(1000));
    let kind = rollover.kind;
    match rollover.last_step {
        // Every cached RRset (the DNSKEY RRset too) carries the new signatures.
        RolloverStep::Presign => NextStep::At {
            kind,
            step: RolloverStep::Publish,
            at: after(
                rollover.step_at,
                policy.cached(ttls.zone_max.max(ttls.dnskey)) + delay,
            ),
        },
        RolloverStep::Publish if kind.is_entry_point() => NextStep::AwaitingParent {
            kind,
            new: rollover.new,
        },
        RolloverStep::Publish | RolloverStep::DsSeen => {
            let keys_cached = after(rollover.started_at, policy.cached(ttls.dnskey) + delay);
            let ds_cached = if kind.is_entry_point() {
                after(
                    rollover.step_at,
                    policy.cached(policy.parent_ds_ttl_secs) + delay,
                )
            } else {
                0
            };
            NextStep::At {
                kind,
                step: kind.step_after(rollover.last_step),
                at: keys_cached.max(ds_cached),
            }
        }
        // No cache holds a DNSKEY RRset with the old keys any more.
        RolloverStep::Unpublish => NextStep::At {
            kind,
            step: RolloverStep::Remove,
            at: after(rollover.step_at, policy.cached(ttls.dnskey) + delay),
        },
        RolloverStep::Activate => {
            let signatures = match kind {
                RolloverKind::Zsk => ttls.zone_max,
                RolloverKind::Ksk => ttls.dnskey,
                _ => ttls.zone_max.max(ttls.dnskey),
            };
            NextStep::At {
                kind,
                step: RolloverStep::Remove,
                at: after(rollover.step_at, policy.cached(signatures) + delay),
            }
        }
        // `take_step` clears the rollover on `remove`.
        RolloverStep::Remove => NextStep::OnDemand,
    }
}

/// The next scheduled `publish`, the earlier of the ZSK's and the entry point's (`only`:
/// of that kind only).
fn scheduled_start(keys: &ZoneKeys, policy: &DnssecPolicy, only: Option<RolloverKind>) -> NextStep {
    let split = keys.is_split();
    let mut due: Vec<(u64, RolloverKind)> = Vec::new();
    let newest_active = |entry_point: bool| {
        keys.keys
            .iter()
            .filter(|key| key.state == KeyState::Active && key.is_entry_point() == entry_point)
            .map(|key| key.created_at)
            .max()
    };
    if let (true, Some(lifetime), Some(created)) =
        (split, policy.zsk_lifetime_secs, newest_active(false))
    {
        due.push((
            created.saturating_add(lifetime.saturating_mul(1000)),
            RolloverKind::Zsk,
        ));
    }
    if let (Some(lifetime), Some(created)) = (policy.lifetime_secs, newest_active(true)) {
        let kind = if split {
            RolloverKind::Ksk
        } else {
            RolloverKind::Csk
        };
        due.push((created.saturating_add(lifetime.saturating_mul(1000)), kind));
    }
    match due
        .into_iter()
        .filter(|(_, kind)| only.is_none_or(|only| only == *kind))
        .min_by_key(|(at, kind)| (*at, *kind == RolloverKind::Zsk))
    {
        Some((at, kind)) => NextStep::At {
            kind,
            step: RolloverStep::Publish,
            at,
        },
        None => NextStep::OnDemand,
    }
}

/// The kind a new key with `flags` would roll in the zone with `keys`.
pub fn kind_of(keys: &ZoneKeys, flags: u16) -> RolloverKind {
    match (flags == FLAGS_SECURE_ENTRY_POINT, keys.is_split()) {
        (false, _) => RolloverKind::Zsk,
        (true, true) => RolloverKind::Ksk,
        (true, false) => RolloverKind::Csk,
    }
}

/// Takes `step` at leader time `at` on a zone's `keys` and `schedule` (`new_keys`: the
/// successor for a `publish` that starts a rollover, the new key set for a `presign`;
/// `kind`: which rollover the step is of, needed only when two run); returns why the step
/// does not follow from where the rollovers stand, if it does not.
pub fn take_step(
    keys: &mut ZoneKeys,
    schedule: &mut DnssecSchedule,
    step: RolloverStep,
    new_keys: &[DnssecKey],
    kind: Option<RolloverKind>,
    at: u64,
) -> Result<(), String> {
    let Some(first) = &schedule.rollover else {
        return match (step, new_keys) {
            (RolloverStep::Publish, [key]) => {
                schedule.rollover = Some(publish(keys, key, at)?);
                schedule.steps_taken += 1;
                Ok(())
            }
            (RolloverStep::Publish, _) => Err("publish needs the one successor key".to_string()),
            (RolloverStep::Presign, _) => presign(keys, schedule, new_keys, at),
            _ => Err(format!("no rollover in progress to {}", step.name())),
        };
    };
    if let (RolloverStep::Publish, [key]) = (step, new_keys) {
        // A rollover starting beside the one in progress.
        let starting = kind_of(keys, key.flags);
        if schedule.beside.is_some() || partner(first.kind) != Some(starting) {
            return Err(format!(
                "a {} rollover is in progress (at {}): a {} rollover cannot start beside it",
                first.kind.name(),
                first.last_step.name(),
                starting.name()
            ));
        }
        schedule.beside = Some(publish(keys, key, at)?);
        schedule.steps_taken += 1;
        return Ok(());
    }
    let in_beside = match (kind, &schedule.beside) {
        (None, None) => false,
        (None, Some(_)) => {
            return Err(format!(
                "two rollovers are in progress: say which kind {} is of",
                step.name()
            ))
        }
        (Some(kind), _) if first.kind == kind => false,
        (Some(kind), Some(beside)) if beside.kind == kind => true,
        (Some(kind), _) => return Err(format!("no {} rollover in progress", kind.name())),
    };
    let slot = if in_beside {
        &mut schedule.beside
    } else {
        &mut schedule.rollover
    };
    let rollover = slot.as_mut().expect("chosen above");
    let expected = rollover.kind.step_after(rollover.last_step);
    if step != expected {
        return Err(format!(
            "the {} rollover to key {} is at {}: the next step is {}, not {}",
            rollover.kind.name(),
            rollover.new,
            rollover.last_step.name(),
            expected.name(),
            step.name()
        ));
    }
    if !new_keys.is_empty() {
        return Err(format!("{} takes no key", step.name()));
    }
    let old = [Some(rollover.old), rollover.old_zsk];
    let new = [Some(rollover.new), rollover.new_zsk];
    match step {
        RolloverStep::DsSeen => {}
        RolloverStep::Publish => {
            for tag in new.into_iter().flatten() {
                set_state(keys, tag, KeyState::Active)?;
            }
            rollover.started_at = at;
        }
        RolloverStep::Activate => {
            set_state(keys, rollover.new, KeyState::Active)?;
            set_state(keys, rollover.old, KeyState::Retired)?;
        }
        RolloverStep::Unpublish => {
            for tag in old.into_iter().flatten() {
                set_state(keys, tag, KeyState::Unpublished)?;
            }
        }
        RolloverStep::Remove => {
            keys.keys.retain(|key| !old.contains(&Some(key.tag)));
            keys.incoming.clear();
        }
        RolloverStep::Presign => unreachable!("presign starts a rollover"),
    }
    rollover.last_step = step;
    rollover.step_at = at;
    if step == RolloverStep::Remove {
        *slot = None;
        if schedule.rollover.is_none() {
            schedule.rollover = schedule.beside.take();
        }
    }
    schedule.steps_taken += 1;
    keys.last_rollover_at = Some(at);
    Ok(())
}

/// `presign`: `new_keys` (a CSK, or a KSK and a ZSK, of one algorithm) start signing the
/// zone unpublished, to replace its whole key set (another algorithm or another layout).
fn presign(
    keys: &mut ZoneKeys,
    schedule: &mut DnssecSchedule,
    new_keys: &[DnssecKey],
    at: u64,
) -> Result<(), String> {
    let (new, new_zsk) = key_set(new_keys)
        .ok_or("a new key set is a CSK, or a KSK and a ZSK, of one algorithm, each unpublished")?;
    if new_keys
        .iter()
        .any(|key| key.state != KeyState::Unpublished)
    {
        return Err("a new key set starts unpublished".to_string());
    }
    if keys.keys.iter().any(|key| key.state != KeyState::Active) {
        return Err(
            "every key of the zone must be active to replace them (a rollover's \
             leftovers are still there)"
                .to_string(),
        );
    }
    let (old, old_zsk) = key_set(&keys.keys)
        .ok_or("the zone's keys are not one CSK, or one KSK and one ZSK, of one algorithm")?;
    let (old_split, new_split) = (old_zsk.is_some(), new_zsk.is_some());
    let kind = match (old.algorithm != new.algorithm, old_split, new_split) {
        (true, _, _) => RolloverKind::Algorithm,
        (false, false, true) => RolloverKind::Split,
        (false, true, false) => RolloverKind::Combine,
        (false, _, _) => {
            return Err(format!(
                "the zone signs with {} {} already: roll the {} instead",
                old.algorithm.name(),
                if old_split { "KSK and ZSK" } else { "CSK" },
                if old_split { "KSK or ZSK" } else { "CSK" },
            ))
        }
    };
    let mut tags: Vec<u16> = new_keys.iter().map(|key| key.tag).collect();
    tags.sort_unstable();
    tags.dedup();
    if tags.len() != new_keys.len() || tags.iter().any(|tag| keys.key(*tag).is_some()) {
        return Err("the new keys' tags must differ from each other and the zone's".to_string());
    }
    schedule.rollover = Some(Rollover {
        kind,
        old: old.tag,
        new: new.tag,
        old_zsk: old_zsk.map(|key| key.tag),
        new_zsk: new_zsk.map(|key| key.tag),
        last_step: RolloverStep::Presign,
        started_at: at,
        step_at: at,
    });
    keys.incoming = tags;
    keys.keys.extend(new_keys.iter().cloned());
    schedule.steps_taken += 1;
    keys.last_rollover_at = Some(at);
    Ok(())
}

/// `keys` as a key set: its entry point and its ZSK, if it is one CSK, or one KSK and one
/// ZSK, all of one algorithm.
fn key_set(keys: &[DnssecKey]) -> Option<(&DnssecKey, Option<&DnssecKey>)> {
    let entry_points: Vec<&DnssecKey> = keys.iter().filter(|key| key.is_entry_point()).collect();
    let zsks: Vec<&DnssecKey> = keys.iter().filter(|key| !key.is_entry_point()).collect();
    let algorithms: std::collections::BTreeSet<DnssecAlgorithm> =
        keys.iter().map(|key| key.algorithm).collect();
    match (entry_points.as_slice(), zsks.as_slice(), algorithms.len()) {
        ([entry_point], [], 1) => Some((*entry_point, None)),
        ([entry_point], [zsk], 1) => Some((*entry_point, Some(*zsk))),
        _ => None,
    }
}

/// `publish`: `key` joins the zone as the successor of the active key of its kind.
fn publish(keys: &mut ZoneKeys, key: &DnssecKey, at: u64) -> Result<Rollover, String> {
    if key.state != KeyState::Published {
        return Err("a successor starts published".to_string());
    }
    let kind = kind_of(keys, key.flags);
    if kind == RolloverKind::Zsk && !keys.is_split() {
        return Err("the zone has one combined key: it has no ZSK to roll".to_string());
    }
    let mut predecessors = keys.keys.iter().filter(|other| {
        other.state == KeyState::Active && other.is_entry_point() == kind.is_entry_point()
    });
    let (Some(old), None) = (predecessors.next(), predecessors.next()) else {
        return Err(format!(
            "a {} rollover needs exactly one active {} to replace",
            kind.name(),
            kind.name()
        ));
    };
    if old.algorithm != key.algorithm {
        return Err(format!(
            "the successor must keep the algorithm {} (a new algorithm rolls the whole \
             key set: presign)",
            old.algorithm.name()
        ));
    }
    if keys.key(key.tag).is_some() {
        return Err(format!("the zone has a key with tag {} already", key.tag));
    }
    let rollover = Rollover {
        kind,
        old: old.tag,
        new: key.tag,
        old_zsk: None,
        new_zsk: None,
        last_step: RolloverStep::Publish,
        started_at: at,
        step_at: at,
    };
    keys.keys.push(key.clone());
    keys.last_rollover_at = Some(at);
    Ok(rollover)
}

/// Sets the state of key `tag`.
fn set_state(keys: &mut ZoneKeys, tag: u16, state: KeyState) -> Result<(), String> {
    let key = keys
        .keys
        .iter_mut()
        .find(|key| key.tag == tag)
        .ok_or_else(|| format!("key {tag} is gone"))?;
    key.state = state;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::dnssec::{DnssecAlgorithm, FLAGS_ZONE_KEY};

    fn key(tag: u16, flags: u16, state: KeyState, created_at: u64) -> DnssecKey {
        DnssecKey {
            tag,
            algorithm: DnssecAlgorithm::EcdsaP256Sha256,
            flags,
            state,
            public_key: "00".repeat(64),
            sealed_private_key: "00".repeat(40),
            created_at,
        }
    }

    fn zone(keys: Vec<DnssecKey>) -> ZoneKeys {
        ZoneKeys {
            keys,
            enabled_at: 0,
            last_rollover_at: None,
            incoming: Vec::new(),
        }
    }

    /// Takes `step`, which carries no key, of the one rollover in progress at `at`.
    fn step(
        keys: &mut ZoneKeys,
        schedule: &mut DnssecSchedule,
        step: RolloverStep,
        at: u64,
    ) -> Result<(), String> {
        take_step(keys, schedule, step, &[], None, at)
    }

    /// Takes `step`, which carries no key, of the rollover of `kind` at `at`.
    fn step_of(
        keys: &mut ZoneKeys,
        schedule: &mut DnssecSchedule,
        step: RolloverStep,
        kind: RolloverKind,
        at: u64,
    ) -> Result<(), String> {
        take_step(keys, schedule, step, &[], Some(kind), at)
    }

    const TTLS: Ttls = Ttls {
        dnskey: 3600,
        zone_max: 300,
    };

    /// The next step is `step` of a `kind` rollover, due at `at`.
    #[track_caller]
    fn assert_next_at(
        keys: &ZoneKeys,
        schedule: &DnssecSchedule,
        kind: RolloverKind,
        step: RolloverStep,
        at: u64,
    ) {
        assert_eq!(
            next_step(keys, schedule, TTLS),
            NextStep::At { kind, step, at }
        );
    }

    fn policy() -> DnssecPolicy {
        DnssecPolicy {
            lifetime_secs: Some(1000),
            zsk_lifetime_secs: Some(100),
            propagation_delay_secs: 10,
            parent_ds_ttl_secs: 600,
            ..DnssecPolicy::default()
        }
    }

    /// A CSK rollover goes publish, ds_seen, activate, remove, each safe only after the
    /// RFC 7583 waits, and signing never lacks a key the caches trust.
    #[test]
    fn csk_rollover_walks_every_step_with_its_waits() {
        let mut keys = zone(vec![key(1, FLAGS_SECURE_ENTRY_POINT, KeyState::Active, 0)]);
        let mut schedule = DnssecSchedule {
            policy: policy(),
            ..DnssecSchedule::default()
        };
        assert_next_at(
            &keys,
            &schedule,
            RolloverKind::Csk,
            RolloverStep::Publish,
            1_000_000,
        );
        let successor = key(2, FLAGS_SECURE_ENTRY_POINT, KeyState::Published, 1_000_000);
        take_step(
            &mut keys,
            &mut schedule,
            RolloverStep::Publish,
            std::slice::from_ref(&successor),
            None,
            1_000_000,
        )
        .unwrap();
        assert_eq!(
            next_step(&keys, &schedule, TTLS),
            NextStep::AwaitingParent {
                kind: RolloverKind::Csk,
                new: 2
            }
        );
        assert!(
            step(&mut keys, &mut schedule, RolloverStep::Activate, 1).is_err(),
            "no activation before the parent holds the DS"
        );
        step(&mut keys, &mut schedule, RolloverStep::DsSeen, 2_000_000).unwrap();
        // DNSKEY cached: 1_000_000 + 3610 s; DS cached: 2_000_000 + 610 s.
        assert_next_at(
            &keys,
            &schedule,
            RolloverKind::Csk,
            RolloverStep::Activate,
            4_610_000,
        );
        step(&mut keys, &mut schedule, RolloverStep::Activate, 4_610_000).unwrap();
        assert_eq!(keys.key(2).unwrap().state, KeyState::Active);
        assert_eq!(keys.key(1).unwrap().state, KeyState::Retired);
        assert!(keys.signs_data(keys.key(2).unwrap()));
        assert!(!keys.signs_data(keys.key(1).unwrap()));
        assert_next_at(
            &keys,
            &schedule,
            RolloverKind::Csk,
            RolloverStep::Remove,
            4_610_000 + 3_610_000,
        );
        step(&mut keys, &mut schedule, RolloverStep::Remove, 8_220_000).unwrap();
        assert_eq!(keys.keys.len(), 1);
        assert_eq!(keys.keys[0].tag, 2);
        assert_eq!(schedule.rollover, None);
        assert_eq!(schedule.steps_taken, 4);
        // The next one is due a lifetime after the successor was made.
        assert_next_at(
            &keys,
            &schedule,
            RolloverKind::Csk,
            RolloverStep::Publish,
            2_000_000,
        );
    }

    /// A split zone: the KSK signs only the DNSKEY RRset; the ZSK pre-publish rollover
    /// needs no parent and waits the DNSKEY TTL, then the zone's largest TTL.
    #[test]
    fn zsk_prepublish_rollover_in_a_split_zone() {
        let mut keys = zone(vec![
            key(1, FLAGS_SECURE_ENTRY_POINT, KeyState::Active, 0),
            key(2, FLAGS_ZONE_KEY, KeyState::Active, 0),
        ]);
        assert!(
            !keys.signs_data(keys.key(1).unwrap()),
            "a KSK signs only DNSKEY"
        );
        assert!(keys.signs_data(keys.key(2).unwrap()));
        let mut schedule = DnssecSchedule {
            policy: DnssecPolicy {
                max_cache_ttl_secs: Some(60),
                ..policy()
            },
            ..DnssecSchedule::default()
        };
        assert_next_at(
            &keys,
            &schedule,
            RolloverKind::Zsk,
            RolloverStep::Publish,
            100_000,
        );
        let successor = key(3, FLAGS_ZONE_KEY, KeyState::Published, 100_000);
        take_step(
            &mut keys,
            &mut schedule,
            RolloverStep::Publish,
            std::slice::from_ref(&successor),
            None,
            100_000,
        )
        .unwrap();
        assert!(!keys.signs_data(keys.key(3).unwrap()), "pre-published");
        // Capped: 60 s of DNSKEY TTL + 10 s.
        assert_next_at(
            &keys,
            &schedule,
            RolloverKind::Zsk,
            RolloverStep::Activate,
            170_000,
        );
        assert!(step(&mut keys, &mut schedule, RolloverStep::DsSeen, 1).is_err());
        step(&mut keys, &mut schedule, RolloverStep::Activate, 170_000).unwrap();
        assert_next_at(
            &keys,
            &schedule,
            RolloverKind::Zsk,
            RolloverStep::Remove,
            240_000,
        );
        step(&mut keys, &mut schedule, RolloverStep::Remove, 240_000).unwrap();
        let tags: Vec<u16> = keys.keys.iter().map(|key| key.tag).collect();
        assert_eq!(tags, [1, 3]);
        assert_eq!(kind_of(&keys, FLAGS_SECURE_ENTRY_POINT), RolloverKind::Ksk);
    }

    /// An unpublished key of `algorithm` for a key-set rollover.
    fn incoming(tag: u16, flags: u16, algorithm: DnssecAlgorithm) -> DnssecKey {
        DnssecKey {
            algorithm,
            public_key: "00".repeat(algorithm.public_key_len()),
            ..key(tag, flags, KeyState::Unpublished, 7)
        }
    }

    /// Takes the steps after `presign` of a key-set rollover in order, each at the time
    /// `next_step` says it is safe (`ds_seen` 1 s after `publish`); returns the times.
    fn finish_key_set_rollover(keys: &mut ZoneKeys, schedule: &mut DnssecSchedule) -> Vec<u64> {
        let mut times = Vec::new();
        while let Some(rollover) = schedule.rollover.clone() {
            let (step, at) = match next_step(keys, schedule, TTLS) {
                NextStep::At { step, at, kind } => {
                    assert_eq!(kind, rollover.kind);
                    (step, at)
                }
                NextStep::AwaitingParent { new, .. } => {
                    assert_eq!(new, rollover.new);
                    (RolloverStep::DsSeen, rollover.step_at + 1_000)
                }
                NextStep::OnDemand => panic!("a rollover in progress has a next step"),
            };
            take_step(keys, schedule, step, &[], None, at).unwrap();
            times.push(at);
        }
        times
    }

    /// An algorithm rollover (RFC 6781 §4.1.4): the new key signs before its DNSKEY is
    /// published, the old one leaves the DNSKEY RRset and CDS before its signatures stop,
    /// and each step waits for what caches may hold.
    #[test]
    fn algorithm_rollover_signs_before_publishing_and_unpublishes_before_unsigning() {
        let mut keys = zone(vec![key(1, FLAGS_SECURE_ENTRY_POINT, KeyState::Active, 0)]);
        let mut schedule = DnssecSchedule {
            policy: policy(),
            ..DnssecSchedule::default()
        };
        let new = incoming(2, FLAGS_SECURE_ENTRY_POINT, DnssecAlgorithm::Ed25519);
        assert!(
            take_step(
                &mut keys,
                &mut schedule,
                RolloverStep::Publish,
                &[new.clone(), new.clone()],
                None,
                0
            )
            .is_err(),
            "a one-key rollover takes one key"
        );
        take_step(
            &mut keys,
            &mut schedule,
            RolloverStep::Presign,
            std::slice::from_ref(&new),
            None,
            1_000,
        )
        .unwrap();
        let rollover = schedule.rollover.clone().unwrap();
        assert_eq!(
            (rollover.kind, rollover.old, rollover.new),
            (RolloverKind::Algorithm, 1, 2)
        );
        let (old_key, new_key) = (keys.key(1).unwrap(), keys.key(2).unwrap());
        assert!(keys.signs_data(old_key) && keys.signs_data(new_key));
        assert!(!new_key.is_published() && !new_key.belongs_at_parent());
        assert!(
            step(&mut keys, &mut schedule, RolloverStep::Activate, 2).is_err(),
            "a key-set rollover has no activate"
        );
        // Every cached RRset must carry the new signatures: DNSKEY TTL (the larger) + 10 s.
        assert_next_at(
            &keys,
            &schedule,
            RolloverKind::Algorithm,
            RolloverStep::Publish,
            3_611_000,
        );
        step(&mut keys, &mut schedule, RolloverStep::Publish, 3_611_000).unwrap();
        let new_key = keys.key(2).unwrap();
        assert!(new_key.is_published() && new_key.belongs_at_parent());
        assert!(keys.key(1).unwrap().belongs_at_parent(), "a double DS");
        step(&mut keys, &mut schedule, RolloverStep::DsSeen, 3_700_000).unwrap();
        // The new DNSKEY RRset cached (3_611_000 + 3610 s) is later than the DS (+610 s).
        assert_next_at(
            &keys,
            &schedule,
            RolloverKind::Algorithm,
            RolloverStep::Unpublish,
            7_221_000,
        );
        step(&mut keys, &mut schedule, RolloverStep::Unpublish, 7_221_000).unwrap();
        let old_key = keys.key(1).unwrap();
        assert_eq!(old_key.state, KeyState::Unpublished);
        assert!(
            keys.signs_data(old_key),
            "its signatures stay a DNSKEY TTL longer"
        );
        assert!(!old_key.is_published() && !old_key.belongs_at_parent());
        assert_next_at(
            &keys,
            &schedule,
            RolloverKind::Algorithm,
            RolloverStep::Remove,
            10_831_000,
        );
        step(&mut keys, &mut schedule, RolloverStep::Remove, 10_831_000).unwrap();
        assert_eq!(keys.keys.len(), 1);
        assert_eq!(keys.keys[0].algorithm, DnssecAlgorithm::Ed25519);
        assert_eq!(keys.keys[0].state, KeyState::Active);
        assert!(keys.incoming.is_empty() && schedule.rollover.is_none());
        assert_eq!(schedule.steps_taken, 5);
    }

    /// CSK -> KSK + ZSK and back, as key-set rollovers: while both sets sign, each signs as
    /// a zone of its own layout (the old CSK signs data beside the new KSK and ZSK).
    #[test]
    fn csk_splits_into_ksk_and_zsk_and_combines_back() {
        let algorithm = DnssecAlgorithm::EcdsaP256Sha256;
        let mut keys = zone(vec![key(1, FLAGS_SECURE_ENTRY_POINT, KeyState::Active, 0)]);
        let mut schedule = DnssecSchedule {
            policy: policy(),
            ..DnssecSchedule::default()
        };
        let new_set = [
            incoming(2, FLAGS_SECURE_ENTRY_POINT, algorithm),
            incoming(3, FLAGS_ZONE_KEY, algorithm),
        ];
        take_step(
            &mut keys,
            &mut schedule,
            RolloverStep::Presign,
            &new_set,
            None,
            0,
        )
        .unwrap();
        assert_eq!(
            schedule.rollover.as_ref().unwrap().kind,
            RolloverKind::Split
        );
        assert_eq!(schedule.rollover.as_ref().unwrap().new_zsk, Some(3));
        let roles: Vec<(&str, bool)> = keys
            .keys
            .iter()
            .map(|key| (keys.role(key), keys.signs_data(key)))
            .collect();
        assert_eq!(roles, [("csk", true), ("ksk", false), ("zsk", true)]);
        assert!(!keys.is_split(), "the current set is the old CSK");
        assert_eq!(finish_key_set_rollover(&mut keys, &mut schedule).len(), 4);
        let tags: Vec<u16> = keys.keys.iter().map(|key| key.tag).collect();
        assert_eq!(tags, [2, 3]);
        assert!(keys.is_split());

        take_step(
            &mut keys,
            &mut schedule,
            RolloverStep::Presign,
            &[incoming(4, FLAGS_SECURE_ENTRY_POINT, algorithm)],
            None,
            20_000_000,
        )
        .unwrap();
        assert_eq!(
            schedule.rollover.as_ref().unwrap().kind,
            RolloverKind::Combine
        );
        assert_eq!(schedule.rollover.as_ref().unwrap().old_zsk, Some(3));
        let roles: Vec<(&str, bool)> = keys
            .keys
            .iter()
            .map(|key| (keys.role(key), keys.signs_data(key)))
            .collect();
        assert_eq!(roles, [("ksk", false), ("zsk", true), ("csk", true)]);
        finish_key_set_rollover(&mut keys, &mut schedule);
        assert_eq!(keys.keys.len(), 1);
        assert_eq!(keys.role(&keys.keys[0]), "csk");
        assert_eq!(schedule.steps_taken, 10);
    }

    #[test]
    fn a_key_set_rollover_must_change_something_and_starts_alone() {
        let algorithm = DnssecAlgorithm::EcdsaP256Sha256;
        let mut keys = zone(vec![key(1, FLAGS_SECURE_ENTRY_POINT, KeyState::Active, 0)]);
        let mut schedule = DnssecSchedule::default();
        let error = take_step(
            &mut keys,
            &mut schedule,
            RolloverStep::Presign,
            &[incoming(2, FLAGS_SECURE_ENTRY_POINT, algorithm)],
            None,
            0,
        )
        .unwrap_err();
        assert!(error.contains("roll the CSK instead"), "{error}");
        let mixed = [
            incoming(2, FLAGS_SECURE_ENTRY_POINT, DnssecAlgorithm::Ed25519),
            incoming(3, FLAGS_ZONE_KEY, algorithm),
        ];
        assert!(take_step(
            &mut keys,
            &mut schedule,
            RolloverStep::Presign,
            &mixed,
            None,
            0
        )
        .is_err());
        let successor = key(2, FLAGS_SECURE_ENTRY_POINT, KeyState::Published, 0);
        take_step(
            &mut keys,
            &mut schedule,
            RolloverStep::Publish,
            std::slice::from_ref(&successor),
            None,
            0,
        )
        .unwrap();
        let error = take_step(
            &mut keys,
            &mut schedule,
            RolloverStep::Presign,
            &[incoming(
                3,
                FLAGS_SECURE_ENTRY_POINT,
                DnssecAlgorithm::Ed25519,
            )],
            None,
            0,
        )
        .unwrap_err();
        assert!(error.contains("next step is ds_seen"), "{error}");
    }

    /// A split zone whose KSK and ZSK are due together rolls both at once: the ZSK starts
    /// beside the KSK waiting for its DS, each step names its rollover, and the one still
    /// running takes the first place when the other ends.
    #[test]
    fn ksk_and_zsk_roll_at_once() {
        let mut keys = zone(vec![
            key(1, FLAGS_SECURE_ENTRY_POINT, KeyState::Active, 0),
            key(2, FLAGS_ZONE_KEY, KeyState::Active, 0),
        ]);
        let mut schedule = DnssecSchedule {
            policy: DnssecPolicy {
                zsk_lifetime_secs: Some(1000),
                ..policy()
            },
            ..DnssecSchedule::default()
        };
        let ksk = NextStep::At {
            kind: RolloverKind::Ksk,
            step: RolloverStep::Publish,
            at: 1_000_000,
        };
        assert_eq!(
            next_steps(&keys, &schedule, TTLS),
            [ksk],
            "a tie: the KSK first"
        );
        let new_ksk = key(3, FLAGS_SECURE_ENTRY_POINT, KeyState::Published, 1_000_000);
        take_step(
            &mut keys,
            &mut schedule,
            RolloverStep::Publish,
            std::slice::from_ref(&new_ksk),
            None,
            1_000_000,
        )
        .unwrap();
        let zsk_start = NextStep::At {
            kind: RolloverKind::Zsk,
            step: RolloverStep::Publish,
            at: 1_000_000,
        };
        assert_eq!(
            next_steps(&keys, &schedule, TTLS),
            [
                NextStep::AwaitingParent {
                    kind: RolloverKind::Ksk,
                    new: 3
                },
                zsk_start
            ]
        );
        let new_zsk = key(4, FLAGS_ZONE_KEY, KeyState::Published, 1_000_000);
        take_step(
            &mut keys,
            &mut schedule,
            RolloverStep::Publish,
            std::slice::from_ref(&new_zsk),
            None,
            1_000_000,
        )
        .unwrap();
        assert_eq!(schedule.beside.as_ref().unwrap().kind, RolloverKind::Zsk);
        let another = key(5, FLAGS_ZONE_KEY, KeyState::Published, 1_000_000);
        assert!(take_step(
            &mut keys,
            &mut schedule,
            RolloverStep::Publish,
            std::slice::from_ref(&another),
            None,
            1
        )
        .is_err());
        let error = step(&mut keys, &mut schedule, RolloverStep::Activate, 1).unwrap_err();
        assert!(error.contains("say which kind"), "{error}");
        // The ZSK activates while the KSK still waits for the parent.
        step_of(
            &mut keys,
            &mut schedule,
            RolloverStep::Activate,
            RolloverKind::Zsk,
            4_610_000,
        )
        .unwrap();
        assert!(keys.signs_data(keys.key(4).unwrap()));
        assert!(!keys.signs_data(keys.key(2).unwrap()));
        assert!(!keys.signs_data(keys.key(3).unwrap()), "a KSK, published");
        for (step, kind, at) in [
            (RolloverStep::DsSeen, RolloverKind::Ksk, 5_000_000),
            (RolloverStep::Activate, RolloverKind::Ksk, 6_000_000),
            (RolloverStep::Remove, RolloverKind::Ksk, 10_000_000),
        ] {
            step_of(&mut keys, &mut schedule, step, kind, at).unwrap();
        }
        let rollover = schedule.rollover.as_ref().unwrap();
        assert_eq!(rollover.kind, RolloverKind::Zsk, "the ZSK's moved up");
        assert!(schedule.beside.is_none());
        step(&mut keys, &mut schedule, RolloverStep::Remove, 11_000_000).unwrap();
        let tags: Vec<u16> = keys.keys.iter().map(|key| key.tag).collect();
        assert_eq!(tags, [3, 4]);
        assert_eq!(schedule.steps_taken, 7);
    }

    #[test]
    fn refusals_say_why() {
        let mut keys = zone(vec![key(1, FLAGS_SECURE_ENTRY_POINT, KeyState::Active, 0)]);
        let mut schedule = DnssecSchedule::default();
        assert_eq!(next_step(&keys, &schedule, TTLS), NextStep::OnDemand);
        let zsk = key(2, FLAGS_ZONE_KEY, KeyState::Published, 0);
        let error = take_step(
            &mut keys,
            &mut schedule,
            RolloverStep::Publish,
            std::slice::from_ref(&zsk),
            None,
            0,
        )
        .unwrap_err();
        assert!(error.contains("no ZSK"), "{error}");
        let active = key(3, FLAGS_SECURE_ENTRY_POINT, KeyState::Active, 0);
        assert!(take_step(
            &mut keys,
            &mut schedule,
            RolloverStep::Publish,
            std::slice::from_ref(&active),
            None,
            0
        )
        .is_err());
        let error = step(&mut keys, &mut schedule, RolloverStep::Remove, 0).unwrap_err();
        assert!(error.contains("no rollover in progress"), "{error}");
        assert_eq!(keys.keys.len(), 1);
        assert_eq!(schedule.steps_taken, 0);
    }
}
