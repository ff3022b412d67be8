//! DNSSEC on the wire: how signing is enabled (`DnssecEnable`, with a rollover policy
//! `DnssecPolicyRequest` whose durations are written as people write them: `90d`, `5m`) and
//! what a zone's signing looks like (`DnssecStatusDto`: its keys with their DNSKEY and DS
//! records in presentation format, what the parent should hold, the policy in seconds, the
//! rollover in progress and the next step). Private keys never appear here.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use gslb_dns::dnssec::{dnskey_presentation, ds_presentation, DigestType, DNSKEY_TTL};
use gslb_model::duration::parse_duration;
use gslb_model::model::rollover::{NextStep, Rollover};
use gslb_model::model::{DnssecKey, DnssecPolicy, DomainName, KeyState, State, ZoneKeys};

/// `POST /v1/zones/{zone}/dnssec`: start signing (or, on a signed zone, change its policy).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DnssecEnable {
    /// `ecdsap256sha256` (algorithm 13, the default) or `ed25519` (15).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<String>,
    /// Sign with a KSK and a ZSK apart instead of one combined key.
    #[serde(default)]
    pub split: bool,
    /// The rollover policy (fields left out keep their value, or the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<DnssecPolicyRequest>,
}

/// A rollover policy as written: durations like `90d`, `1h30m`, `300`; `off` clears
/// `lifetime`, `zsk_lifetime` and `max_cache_ttl`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DnssecPolicyRequest {
    /// How long a CSK (or KSK) signs before the leader rolls it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifetime: Option<String>,
    /// How long a ZSK signs before the leader rolls it (split zones).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zsk_lifetime: Option<String>,
    /// How long a change takes to reach every server (default 5m).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub propagation_delay: Option<String>,
    /// The TTL of the zone's DS at the parent (default 1d).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_ds_ttl: Option<String>,
    /// The longest any validator in front of the zone caches a record (only when every one
    /// caps it: labs and tests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_cache_ttl: Option<String>,
    /// The parent's servers (`ADDR:PORT`) asked for the new DS during a rollover.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_agents: Option<Vec<String>>,
}

impl DnssecPolicyRequest {
    /// `base` with the fields given here; errors name the field.
    pub fn merged_into(&self, mut base: DnssecPolicy) -> Result<DnssecPolicy, (String, String)> {
        let secs = |field: &str, text: &str| -> Result<u64, (String, String)> {
            parse_duration(text)
                .map(|duration| duration.as_secs())
                .map_err(|error| (format!("policy.{field}"), error.to_string()))
        };
        let optional = |field: &str, text: &str| -> Result<Option<u64>, (String, String)> {
            if text == "off" {
                Ok(None)
            } else {
                secs(field, text).map(Some)
            }
        };
        if let Some(text) = &self.lifetime {
            base.lifetime_secs = optional("lifetime", text)?;
        }
        if let Some(text) = &self.zsk_lifetime {
            base.zsk_lifetime_secs = optional("zsk_lifetime", text)?;
        }
        if let Some(text) = &self.max_cache_ttl {
            base.max_cache_ttl_secs = optional("max_cache_ttl", text)?;
        }
        if let Some(text) = &self.propagation_delay {
            base.propagation_delay_secs = secs("propagation_delay", text)?;
        }
        if let Some(text) = &self.parent_ds_ttl {
            base.parent_ds_ttl_secs = secs("parent_ds_ttl", text)?;
        }
        if let Some(agents) = &self.parent_agents {
            base.parent_agents = agents.clone();
        }
        Ok(base)
    }
}

/// `POST /v1/zones/{zone}/dnssec/rollover`: the next rollover step.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DnssecRollover {
    /// Take the step before its waits have passed (resolvers that cached the old DNSKEY
    /// or DS set may fail to validate until they expire).
    #[serde(default)]
    pub force: bool,
    /// Which key to roll: `csk`, `ksk` or `zsk` (default: the CSK, or the KSK of a split
    /// zone). In a split zone the KSK or ZSK may start beside the other's rollover; with
    /// both in progress it says whose next step to take.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Replace the whole key set with keys of this algorithm (`ecdsap256sha256` or
    /// `ed25519`): an algorithm rollover (RFC 6781 §4.1.4). With no rollover in progress it
    /// starts one (`presign`); during one toward this algorithm, it takes the next step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<String>,
    /// Replace the whole key set with a KSK and a ZSK (`true`) or one CSK (`false`), as
    /// an algorithm rollover does, so no validator sees a gap; absent: keep the layout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<bool>,
}

/// A zone's rollover policy, durations in seconds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DnssecPolicyDto {
    /// CSK/KSK lifetime (absent: rolled on demand only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifetime_secs: Option<u64>,
    /// ZSK lifetime (absent: on demand only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zsk_lifetime_secs: Option<u64>,
    /// Propagation delay.
    pub propagation_delay_secs: u64,
    /// DS TTL at the parent.
    pub parent_ds_ttl_secs: u64,
    /// Cap on cached TTLs the waits assume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_cache_ttl_secs: Option<u64>,
    /// Parent servers asked for the new DS.
    pub parent_agents: Vec<String>,
}

/// The rollover in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RolloverDto {
    /// `csk`, `ksk`, `zsk`, or for a rollover of the whole key set `algorithm`, `split`
    /// (CSK to KSK + ZSK) or `combine` (KSK + ZSK to CSK).
    pub kind: String,
    /// The predecessor's tag (of a key-set rollover: the old CSK or KSK).
    pub old: u16,
    /// The successor's tag (of a key-set rollover: the new CSK or KSK).
    pub new: u16,
    /// A key-set rollover's old ZSK.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_zsk: Option<u16>,
    /// A key-set rollover's new ZSK.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_zsk: Option<u16>,
    /// The last step taken: `presign`, `publish`, `ds_seen`, `activate` or `unpublish`.
    pub last_step: String,
    /// Leader time (unix millis) of its `publish` (before that, of its `presign`).
    pub started_at: u64,
    /// Leader time (unix millis) of the last step.
    pub step_at: u64,
}

/// What comes next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NextStepDto {
    /// `csk`, `ksk`, `zsk`, `algorithm`, `split` or `combine`.
    pub kind: String,
    /// `publish`, `ds_seen`, `activate`, `unpublish` or `remove`.
    pub step: String,
    /// Leader time (unix millis) from which it is safe (a scheduled `publish`: due);
    /// absent while waiting for the parent's DS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<u64>,
    /// True while the new key waits for its DS at the parent.
    pub awaiting_parent: bool,
}

/// One key of a signed zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DnssecKeyDto {
    /// Key tag.
    pub tag: u16,
    /// Algorithm name (`ecdsap256sha256`, `ed25519`).
    pub algorithm: String,
    /// Algorithm number (13, 15).
    pub algorithm_number: u8,
    /// DNSKEY flags (257: CSK/KSK, 256: ZSK).
    pub flags: u16,
    /// `csk`, `ksk` or `zsk`.
    pub role: String,
    /// `published`, `active`, `retired`, or `unpublished` (signing outside the DNSKEY
    /// RRset, during a key-set rollover).
    pub state: String,
    /// Leader time (unix millis) it was generated.
    pub created_at: u64,
    /// Its DNSKEY record in presentation format.
    pub dnskey: String,
    /// Its DS records (SHA-256, SHA-384) in presentation format, for a secure entry point.
    pub ds: Vec<String>,
}

/// A zone's signing status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DnssecStatusDto {
    /// The zone's apex.
    pub zone: String,
    /// True when the zone is signed.
    pub signed: bool,
    /// Its keys, oldest first.
    pub keys: Vec<DnssecKeyDto>,
    /// The DNSKEY RRset in presentation format.
    pub dnskey: Vec<String>,
    /// The DS records the parent should hold (both digest types of every entry-point key
    /// not retired), in presentation format; the zone also publishes them as CDS.
    pub ds: Vec<String>,
    /// Leader time (unix millis) signing was enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled_at: Option<u64>,
    /// Leader time (unix millis) of the last rollover step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_rollover_at: Option<u64>,
    /// What the next rollover step is, in words.
    pub next_rollover: String,
    /// The next rollover step (absent: rollovers on demand only, none in progress).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_step: Option<NextStepDto>,
    /// The rollover in progress (the one started first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollover: Option<RolloverDto>,
    /// A second rollover running beside `rollover` (a split zone's KSK and ZSK at once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollover_beside: Option<RolloverDto>,
    /// Every next step: one per rollover in progress, and a scheduled start that may run
    /// beside one (`next_step` is the first).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub next_steps: Vec<NextStepDto>,
    /// The rollover policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<DnssecPolicyDto>,
    /// The state version this status was read at (after a write: the version it produced,
    /// or later), for waiting until every DNS node serves it.
    pub version: u64,
}

impl DnssecStatusDto {
    /// The status of `zone` in `state`.
    pub fn from_state(state: &State, zone: &DomainName) -> DnssecStatusDto {
        let keys = state.dnssec.get(zone);
        let mut status = DnssecStatusDto::from_model(zone, keys, state.version);
        if keys.is_none() {
            return status;
        }
        let schedule = crate::rollover::schedule(state, zone);
        let next = crate::rollover::next_all(state, zone).unwrap_or_default();
        status.policy = Some(policy_dto(&schedule.policy));
        status.rollover = schedule.rollover.as_ref().map(rollover_dto);
        status.rollover_beside = schedule.beside.as_ref().map(rollover_dto);
        status.next_steps = next
            .iter()
            .filter_map(|next| next_step_dto(*next))
            .collect();
        status.next_step = status.next_steps.first().cloned();
        status.next_rollover = match next.as_slice() {
            [] => next_in_words(zone, &schedule, None),
            steps => steps
                .iter()
                .map(|next| next_in_words(zone, &schedule, Some(*next)))
                .collect::<Vec<_>>()
                .join("; beside it: "),
        };
        status
    }

    /// The status of `zone` with `keys` (`None`: unsigned), without policy or schedule.
    fn from_model(zone: &DomainName, keys: Option<&ZoneKeys>, version: u64) -> DnssecStatusDto {
        let Some(keys) = keys else {
            return DnssecStatusDto {
                zone: zone.to_string(),
                signed: false,
                keys: Vec::new(),
                dnskey: Vec::new(),
                ds: Vec::new(),
                enabled_at: None,
                last_rollover_at: None,
                next_rollover: "none: the zone is not signed".to_string(),
                next_step: None,
                rollover: None,
                rollover_beside: None,
                next_steps: Vec::new(),
                policy: None,
                version,
            };
        };
        let dtos: Vec<DnssecKeyDto> = keys
            .keys
            .iter()
            .map(|key| key_dto(zone, keys, key))
            .collect();
        let ds = keys
            .keys
            .iter()
            .filter(|key| key.belongs_at_parent())
            .flat_map(|key| ds_records(zone, key))
            .collect();
        DnssecStatusDto {
            zone: zone.to_string(),
            signed: true,
            dnskey: keys
                .keys
                .iter()
                .zip(&dtos)
                .filter(|(key, _)| key.is_published())
                .map(|(_, dto)| dto.dnskey.clone())
                .collect(),
            keys: dtos,
            ds,
            enabled_at: Some(keys.enabled_at),
            last_rollover_at: keys.last_rollover_at,
            next_rollover: String::new(),
            next_step: None,
            rollover: None,
            rollover_beside: None,
            next_steps: Vec::new(),
            policy: None,
            version,
        }
    }
}

/// A next step as the status shows it (`None`: on demand only).
fn next_step_dto(next: NextStep) -> Option<NextStepDto> {
    match next {
        NextStep::At { kind, step, at } => Some(NextStepDto {
            kind: kind.name().to_string(),
            step: step.name().to_string(),
            at: Some(at),
            awaiting_parent: false,
        }),
        NextStep::AwaitingParent { kind, .. } => Some(NextStepDto {
            kind: kind.name().to_string(),
            step: "ds_seen".to_string(),
            at: None,
            awaiting_parent: true,
        }),
        NextStep::OnDemand => None,
    }
}

/// The policy in seconds.
fn policy_dto(policy: &DnssecPolicy) -> DnssecPolicyDto {
    DnssecPolicyDto {
        lifetime_secs: policy.lifetime_secs,
        zsk_lifetime_secs: policy.zsk_lifetime_secs,
        propagation_delay_secs: policy.propagation_delay_secs,
        parent_ds_ttl_secs: policy.parent_ds_ttl_secs,
        max_cache_ttl_secs: policy.max_cache_ttl_secs,
        parent_agents: policy.parent_agents.clone(),
    }
}

/// The rollover in progress.
fn rollover_dto(rollover: &Rollover) -> RolloverDto {
    RolloverDto {
        kind: rollover.kind.name().to_string(),
        old: rollover.old,
        new: rollover.new,
        old_zsk: rollover.old_zsk,
        new_zsk: rollover.new_zsk,
        last_step: rollover.last_step.name().to_string(),
        started_at: rollover.started_at,
        step_at: rollover.step_at,
    }
}

/// The next step in words, with the command that takes it by hand.
fn next_in_words(
    zone: &DomainName,
    schedule: &gslb_model::model::DnssecSchedule,
    next: Option<NextStep>,
) -> String {
    let unix = |at: u64| format!("unix {}", at / 1000);
    let running = next.and_then(|next| match next {
        NextStep::At { kind, .. } | NextStep::AwaitingParent { kind, .. } => {
            [&schedule.rollover, &schedule.beside]
                .into_iter()
                .flatten()
                .find(|rollover| rollover.kind == kind)
        }
        NextStep::OnDemand => None,
    });
    match (next, running) {
        (Some(NextStep::AwaitingParent { kind, new }), _)
            if schedule.policy.parent_agents.is_empty() =>
        {
            format!(
                "{} rollover waits for the parent: put the DS of key {new} at the parent (or let \
             it read CDS), then confirm with `gslbctl dnssec rollover {zone}`",
                kind.name()
            )
        }
        (Some(NextStep::AwaitingParent { kind, new }), _) => format!(
            "{} rollover waits for the parent: the leader asks {} for the DS of key {new}",
            kind.name(),
            schedule.policy.parent_agents.join(", ")
        ),
        (Some(NextStep::At { kind, step, at }), None) => format!(
            "scheduled: {} rollover ({}) at {}",
            kind.name(),
            step.name(),
            unix(at)
        ),
        (Some(NextStep::At { kind, step, at }), Some(_)) => format!(
            "in progress: {} rollover, {} safe from {}",
            kind.name(),
            step.name(),
            unix(at)
        ),
        _ => format!(
            "on demand: `gslbctl dnssec rollover {zone}` starts a rollover (no lifetime set)"
        ),
    }
}

/// The DS records (SHA-256 then SHA-384) of `key`.
fn ds_records(zone: &DomainName, key: &DnssecKey) -> Vec<String> {
    [DigestType::Sha256, DigestType::Sha384]
        .into_iter()
        .map(|digest| ds_presentation(zone, key, digest))
        .collect()
}

/// One key's DTO.
fn key_dto(zone: &DomainName, keys: &ZoneKeys, key: &DnssecKey) -> DnssecKeyDto {
    DnssecKeyDto {
        tag: key.tag,
        algorithm: key.algorithm.name().to_string(),
        algorithm_number: key.algorithm.number(),
        flags: key.flags,
        role: keys.role(key).to_string(),
        state: match key.state {
            KeyState::Published => "published",
            KeyState::Active => "active",
            KeyState::Retired => "retired",
            KeyState::Unpublished => "unpublished",
        }
        .to_string(),
        created_at: key.created_at,
        dnskey: dnskey_presentation(zone, key, DNSKEY_TTL),
        ds: if key.is_entry_point() {
            ds_records(zone, key)
        } else {
            Vec::new()
        },
    }
}
