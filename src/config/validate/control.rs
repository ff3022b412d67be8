//! Checks `[control]` and its `bootstrap` voters.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;

use gslb_store::raft::{ClientTls, ClusterSecret};

use super::raft::{raft_settings, store_cache_bytes};
use super::tls::tls_settings;
use super::{check_host_port, secret_or_file};
use crate::config::duration::duration;
use crate::config::node::{ControlConfig, ControlRole};
use crate::config::problems::Problems;
use crate::config::raw::{RawBootstrap, RawControl};
use crate::config::MIN_SECRET_LEN;

/// Checks `[control]`, every problem with its line; `None` when any was found.
pub(crate) fn control(
    raw: &RawControl,
    learner_by_default: bool,
    base: &Path,
    problems: &mut Problems<'_>,
) -> Option<ControlConfig> {
    let before = problems.found.len();
    let node_id = *raw.node_id.get_ref();
    if node_id == 0 {
        problems.push(raw.node_id.span(), "control.node_id", "must be ≥ 1, got 0");
    }
    if raw.data_dir.get_ref().trim().is_empty() {
        problems.push(raw.data_dir.span(), "control.data_dir", "must not be empty");
    }
    let listen = match raw.listen.get_ref().parse::<SocketAddr>() {
        Ok(address) => Some(address),
        Err(_) => {
            problems.push(
                raw.listen.span(),
                "control.listen",
                format!(
                    "invalid socket address {:?} (want IP:PORT or [IPv6]:PORT)",
                    raw.listen.get_ref()
                ),
            );
            None
        }
    };
    let advertise = raw.advertise.as_ref().and_then(|advertise| {
        check_host_port(advertise, "control.advertise", problems).map(str::to_string)
    });
    if let (Some(listen), None) = (listen, &raw.advertise) {
        if listen.ip().is_unspecified() {
            problems.push(
                raw.listen.span(),
                "control.advertise",
                format!("required when control.listen is {listen} (peers cannot reach it)"),
            );
        }
    }
    let (cluster_secret, api_token) = credentials(raw, base, problems);
    let role = match raw
        .role
        .as_ref()
        .map(|role| (role.get_ref().as_str(), role))
    {
        None if learner_by_default => ControlRole::Learner,
        None => ControlRole::Voter,
        Some(("voter", _)) => ControlRole::Voter,
        Some(("learner", _)) => ControlRole::Learner,
        Some((other, role)) => {
            problems.push(
                role.span(),
                "control.role",
                format!("must be \"voter\" or \"learner\", got {other:?}"),
            );
            ControlRole::Voter
        }
    };
    let mut seeds = Vec::new();
    for (index, seed) in raw.seeds.iter().enumerate() {
        let field = format!("control.seeds[{index}]");
        if let Some(seed_text) = check_host_port(seed, &field, problems) {
            if seeds.iter().any(|known| known == seed_text) {
                problems.push(seed.span(), field, format!("{seed_text} is listed twice"));
            }
            seeds.push(seed_text.to_string());
        }
    }
    let own_address = listen.map(|listen| advertise.clone().unwrap_or_else(|| listen.to_string()));
    let bootstrap = raw.bootstrap.as_ref().map(|bootstrap| {
        bootstrap_voters(bootstrap, node_id, own_address.as_deref(), role, problems)
    });
    if bootstrap.is_none() && seeds.is_empty() {
        problems.push(
            raw.node_id.span(),
            "control.seeds",
            "a node without control.bootstrap needs at least one seed to join through",
        );
    }
    let raft = raft_settings(&raw.raft, problems);
    let store_cache_bytes = store_cache_bytes(&raw.raft, role, problems);
    let stale_after = duration(&raw.stale_after, "control.stale_after", problems);
    if stale_after.is_zero()
        && !problems
            .found
            .iter()
            .any(|problem| problem.field == "control.stale_after")
    {
        problems.push(raw.stale_after.span(), "control.stale_after", "must be > 0");
    }
    let (tls, peer_tls) = match &raw.tls {
        Some(tls) => tls_settings(tls, base, problems),
        None => (None, Some(ClientTls::plain())),
    };
    let limits = super::limits::control_limits(&raw.limits, problems);

    if problems.found.len() > before {
        return None;
    }
    Some(ControlConfig {
        node_id,
        data_dir: base.join(raw.data_dir.get_ref()),
        listen: listen?,
        advertise,
        cluster_secret: cluster_secret?,
        role,
        bootstrap,
        seeds,
        raft,
        store_cache_bytes,
        api_token,
        stale_after,
        metrics_open: raw.metrics_open,
        tls,
        peer_tls: peer_tls?,
        limits,
    })
}

/// Checks `control.bootstrap.voters`: ids, addresses, this node's own entry (which must be
/// `own_address`, its advertised address) and that only a voter bootstraps.
fn bootstrap_voters(
    bootstrap: &RawBootstrap,
    node_id: u64,
    own_address: Option<&str>,
    role: ControlRole,
    problems: &mut Problems<'_>,
) -> BTreeMap<u64, String> {
    let span = bootstrap.voters.span();
    let mut voters = BTreeMap::new();
    for (key, address) in bootstrap.voters.get_ref() {
        let field = format!("control.bootstrap.voters.{key}");
        let id = match key.parse::<u64>() {
            Ok(id) if id > 0 => Some(id),
            _ => {
                problems.push(
                    address.span(),
                    field.clone(),
                    format!("node id must be a number ≥ 1, got {key:?}"),
                );
                None
            }
        };
        let Some(address_text) = check_host_port(address, &field, problems) else {
            continue;
        };
        if id.is_some_and(|id| id != node_id) && address_text.ends_with(":0") {
            problems.push(
                address.span(),
                field,
                format!("{address_text}: port 0 is allowed only in this node's own entry"),
            );
            continue;
        }
        if let Some((other, _)) = voters
            .iter()
            .find(|(_, known): &(&u64, &String)| known.as_str() == address_text)
        {
            problems.push(
                address.span(),
                field,
                format!("{address_text} is listed twice (also voter {other})"),
            );
        } else if let Some(id) = id {
            voters.insert(id, address_text.to_string());
        }
    }
    if voters.is_empty() && !bootstrap.voters.get_ref().is_empty() {
        // Every entry was reported above.
    } else if !voters.contains_key(&node_id) {
        problems.push(
            span.clone(),
            "control.bootstrap.voters",
            format!("must include this node (control.node_id = {node_id})"),
        );
    } else if let (Some(own), Some(expected)) = (voters.get(&node_id), own_address) {
        if own != expected {
            problems.push(
                span.clone(),
                format!("control.bootstrap.voters.{node_id}"),
                format!(
                    "this node's own entry {own} differs from its advertised address {expected}"
                ),
            );
        }
    }
    if role == ControlRole::Learner {
        problems.push(
            span,
            "control.bootstrap",
            "only a voter can bootstrap the cluster (control.role = \"learner\")",
        );
    }
    voters
}

/// The cluster secret and the initial admin token, inline or from their files, each at
/// least `MIN_SECRET_LEN` characters; `None` for a missing or refused one (reported).
fn credentials(
    raw: &RawControl,
    base: &Path,
    problems: &mut Problems<'_>,
) -> (Option<ClusterSecret>, Option<String>) {
    let secret = secret_or_file(
        &raw.cluster_secret,
        &raw.cluster_secret_file,
        "control.cluster_secret",
        base,
        problems,
    );
    let cluster_secret = secret.and_then(|(secret, span)| match ClusterSecret::new(secret) {
        Ok(secret) => Some(secret),
        Err(error) => {
            let message = error.to_string();
            let message = message
                .strip_prefix("cluster_secret: ")
                .unwrap_or(&message)
                .to_string();
            problems.push(span, "control.cluster_secret", message);
            None
        }
    });
    if raw.cluster_secret.is_none() && raw.cluster_secret_file.is_none() {
        problems.push(
            raw.node_id.span(),
            "control.cluster_secret",
            "missing; set cluster_secret or cluster_secret_file",
        );
    }
    let api_token = if raw.api_token.is_some() || raw.api_token_file.is_some() {
        secret_or_file(
            &raw.api_token,
            &raw.api_token_file,
            "control.api_token",
            base,
            problems,
        )
        .and_then(|(token, span)| {
            let length = token.chars().count();
            if token.is_empty() || token.chars().any(char::is_whitespace) {
                problems.push(
                    span,
                    "control.api_token",
                    "must be non-empty without whitespace",
                );
                None
            } else if length < MIN_SECRET_LEN {
                problems.push(
                    span,
                    "control.api_token",
                    format!("must be at least {MIN_SECRET_LEN} characters, got {length}"),
                );
                None
            } else {
                Some(token)
            }
        })
    } else {
        None
    };
    (cluster_secret, api_token)
}
