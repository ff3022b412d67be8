//! `/v1/resolve`: what an authoritative answer for a name and type would hold, computed from
//! the replicated state with the static-zone rules (delegations, CNAME chains inside our
//! zones, wildcards, NODATA, NXDOMAIN, REFUSED outside our zones), with an explanation.
//!
//! A name that reaches a GSLB record is answered by `gslb_dns::policy::explain_record`, the
//! very evaluator DNS answers with, on the health derived now from the replicated state; its
//! `Explanation` (policy path, health votes, overrides, leases, TTL, scope) is returned as
//! `policy`.
//!
//! The client (`?client=IP[/LEN]`, taken as an ECS source) is placed the way a DNS node
//! places it (`gslb_dns::client::ClientLocator`): the replicated network table
//! (`/v1/networks`) and this node's `[dns.geo]` table, longest prefix first, then this node's
//! MaxMind DB. A node without a MaxMind DB says so in `explain`, since a DNS node with one
//! may place the client where this one cannot. There is no client-network latency table, so
//! latency uses prober RTTs only; weighted choices use a fixed entropy.

use axum::extract::{Query, State};
use axum::Json;
use gslb_model::clock::unix_millis;
use gslb_model::model::{DomainName, RecordSet, RecordType, State as StoreState, Zone};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use std::net::IpAddr;

use gslb_dns::client::{ClientFacts, ClientLocator, ClientOrigin, GeoFacts, GeoSource};
use gslb_dns::policy::{explain_record, PolicyInputs};

use crate::dto::zone::parse_apex;
use crate::dto::{RecordSetDto, RecordTypeDto};
use crate::error::ApiError;
use crate::parameter_formats::MAX_RESOLVE_NAME_TEXT;
use crate::ApiContext;

/// How many CNAMEs a chain may follow inside our zones.
const MAX_CNAME_HOPS: usize = 8;

/// `?name=&type=&client=`.
#[derive(Debug, Clone, Deserialize, Serialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ResolveQuery {
    /// The name asked (a trailing dot is added when missing).
    pub name: String,
    /// The type asked (default A).
    #[serde(rename = "type")]
    pub rtype: Option<String>,
    /// The client address or subnet (`192.0.2.7` or `192.0.2.0/24`); static records do not
    /// depend on it.
    pub client: Option<String>,
}

/// The answer an authoritative server would give.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ResolveDto {
    /// The name asked, absolute.
    pub name: String,
    /// The type asked.
    #[serde(rename = "type")]
    pub rtype: RecordTypeDto,
    /// The zone that answers, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    /// `NOERROR`, `NXDOMAIN` or `REFUSED` (NODATA is NOERROR without answers).
    pub rcode: String,
    /// The answer section, as record sets (a CNAME chain first).
    pub answers: Vec<RecordSetDto>,
    /// The authority section of a referral: the delegation's NS set (negative answers name
    /// the zone's SOA in `explain`).
    pub authority: Vec<RecordSetDto>,
    /// Why, step by step.
    pub explain: Vec<String>,
    /// The GSLB record the answer reached, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gslb: Option<String>,
    /// The policy evaluator's explanation for a GSLB record: path, health inputs with their
    /// votes, overrides, leases, TTL and ECS scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub policy: Option<serde_json::Value>,
}

/// Resolves a name from the state.
#[utoipa::path(get, path = "/v1/resolve", tag = "resolve", params(ResolveQuery),
    responses((status = 200, description = "the answer and its explanation", body = ResolveDto)))]
pub async fn resolve(
    State(context): State<ApiContext>,
    Query(query): Query<ResolveQuery>,
) -> Result<Json<ResolveDto>, ApiError> {
    if query.name.is_empty() || query.name.len() > MAX_RESOLVE_NAME_TEXT {
        let message = format!("must be 1 to {MAX_RESOLVE_NAME_TEXT} characters");
        return Err(ApiError::BadRequest {
            message: format!("name: {message}"),
            fields: one_field("name", message),
        });
    }
    let name = parse_apex(&query.name).map_err(|message| ApiError::BadRequest {
        message: format!("name {:?} is not a domain name: {message}", query.name),
        fields: one_field("name", message),
    })?;
    let rtype_text = query.rtype.as_deref().unwrap_or("A");
    let rtype = RecordTypeDto::parse(rtype_text).ok_or_else(|| ApiError::BadRequest {
        message: format!("type {rtype_text:?} is not one the zones hold"),
        fields: one_field(
            "type",
            format!("must be A, AAAA, CNAME, MX, TXT, SRV, CAA, NS or PTR, got {rtype_text:?}"),
        ),
    })?;
    let state = context.node.state();
    let mut answer = resolve_static(&state, &name, rtype.to_model());
    answer.rtype = rtype;
    let mut client_facts = None;
    if let Some(client) = &query.client {
        let (address, length) = client.split_once('/').unwrap_or((client, ""));
        let parsed: Option<std::net::IpAddr> = address.parse().ok();
        let max = if parsed.is_some_and(|ip| ip.is_ipv4()) {
            32
        } else {
            128
        };
        let length_ok = length.is_empty() || length.parse::<u8>().is_ok_and(|len| len <= max);
        if parsed.is_none() || !length_ok {
            return Err(ApiError::BadRequest {
                message: format!("client {client:?} is not IP or IP/LEN"),
                fields: one_field(
                    "client",
                    format!("must be an address or a subnet (IP/LEN), got {client:?}"),
                ),
            });
        }
        if let Some(address) = parsed {
            let prefix = if length.is_empty() {
                max
            } else {
                length.parse::<u8>().unwrap_or(max)
            };
            let locator = &context.options.locator;
            locator.follow_networks(&state.networks);
            let facts = locator.facts(address, Some((address, prefix)));
            if answer.gslb.is_some() {
                answer.explain.push(placement(client, &facts, locator));
            }
            client_facts = Some(facts);
        }
        if answer.gslb.is_none() {
            answer.explain.push(format!(
                "client {client}: static records answer every client alike (ECS scope /0)"
            ));
        }
    }
    if answer.gslb.is_some() {
        let client = client_facts
            .unwrap_or_else(|| ClientFacts::bare(IpAddr::from([0, 0, 0, 0]), 0, ClientOrigin::Ecs));
        explain_gslb(&state, &mut answer, rtype.to_model(), &client)?;
    }
    Ok(Json(answer))
}

/// Fills `answer` for the GSLB record it reached, with the DNS evaluator's explanation.
fn explain_gslb(
    state: &StoreState,
    answer: &mut ResolveDto,
    rtype: RecordType,
    client: &ClientFacts,
) -> Result<(), ApiError> {
    let Some(name) = answer
        .gslb
        .as_deref()
        .and_then(|name| DomainName::parse_absolute(name).ok())
    else {
        return Ok(());
    };
    let Some(record) = state
        .gslb_record(&name, rtype)
        .or_else(|| state.gslb_record(&name, RecordType::CNAME))
    else {
        return Ok(());
    };
    let now = unix_millis();
    let view = state.health_view(now);
    let inputs = PolicyInputs::from_state(state, &view, None)
        .map_err(|error| ApiError::Internal(format!("policy inputs: {error}")))?;
    let (_decision, explanation) = explain_record(record, &inputs, client, now, 0)
        .map_err(|errors| ApiError::Internal(format!("gslb record {name}: {errors}")))?;
    if !explanation.answers.is_empty() {
        answer.answers.push(RecordSetDto {
            name: name.to_string(),
            rtype: RecordTypeDto::from_model(record.rtype).unwrap_or(RecordTypeDto::A),
            ttl: Some(explanation.ttl),
            data: explanation
                .answers
                .iter()
                .map(|line| line.target.clone())
                .collect(),
        });
    }
    answer.explain.push(format!(
        "policy answered {} endpoint(s) with TTL {} and ECS scope /{}",
        explanation.answers.len(),
        explanation.ttl,
        explanation.scope
    ));
    answer.policy = serde_json::to_value(&explanation).ok();
    Ok(())
}

/// One `explain` line saying where the client was placed and by what.
fn placement(client: &str, facts: &ClientFacts, locator: &ClientLocator) -> String {
    let cell = format!(
        "{}/{}",
        gslb_model::ip::mask(facts.addr, facts.geo_prefix),
        facts.geo_prefix
    );
    match facts.geo_source {
        GeoSource::Network => format!(
            "client {client}: {} by the replicated network table (/v1/networks), alike for {cell}",
            describe(&facts.geo)
        ),
        GeoSource::Table => format!(
            "client {client}: {} by this node's [dns.geo] networks, alike for {cell}",
            describe(&facts.geo)
        ),
        GeoSource::GeoIp => format!(
            "client {client}: {} by the GeoIP database, alike for {cell}",
            describe(&facts.geo)
        ),
        GeoSource::Unknown if locator.has_geoip() => format!(
            "client {client}: location unknown (no network table entry, not in the GeoIP \
             database): geo rules take their default"
        ),
        GeoSource::Unknown => format!(
            "client {client}: location unknown (no network table entry) and this node has no \
             GeoIP database (MaxMind DB), so geo rules take their default here; a DNS node \
             with one may place the client"
        ),
    }
}

/// `continent EU, country DE, subdivision DE-BY, AS64500` (what is known).
fn describe(geo: &GeoFacts) -> String {
    let mut parts = Vec::new();
    if let Some(code) = geo.continent {
        parts.push(format!("continent {code}"));
    }
    if let Some(code) = geo.country {
        parts.push(format!("country {code}"));
    }
    if let Some(code) = geo.subdivision {
        parts.push(format!("subdivision {code}"));
    }
    if let Some(asn) = geo.asn {
        parts.push(format!("AS{asn}"));
    }
    if let Some((lat, lon)) = geo.lat_lon {
        parts.push(format!("at {lat:.3},{lon:.3}"));
    }
    format!("placed in {}", parts.join(", "))
}

fn one_field(path: &str, message: String) -> gslb_model::model::FieldErrors {
    let mut fields = gslb_model::model::FieldErrors::default();
    fields.push(path, message);
    fields
}

/// The static-zone answer for `name`/`rtype` in `state`.
pub fn resolve_static(state: &StoreState, name: &DomainName, rtype: RecordType) -> ResolveDto {
    let mut out = ResolveDto {
        name: name.to_string(),
        rtype: RecordTypeDto::from_model(rtype).unwrap_or(RecordTypeDto::A),
        zone: None,
        rcode: "NOERROR".to_string(),
        answers: Vec::new(),
        authority: Vec::new(),
        explain: Vec::new(),
        gslb: None,
        policy: None,
    };
    let mut current = name.clone();
    for hop in 0..=MAX_CNAME_HOPS {
        let Some(zone) = state.zone_for(&current) else {
            if hop == 0 {
                out.rcode = "REFUSED".to_string();
                out.explain
                    .push(format!("{current} is in none of our zones: REFUSED"));
            } else {
                out.explain.push(format!(
                    "{current} is outside our zones: the resolver follows it"
                ));
            }
            return out;
        };
        if hop == 0 {
            out.zone = Some(zone.apex.to_string());
            out.explain.push(format!("zone {} answers", zone.apex));
        }
        if let Some(cut) = delegation(zone, &current) {
            out.authority.extend(RecordSetDto::from_model(cut));
            out.explain
                .push(format!("{current} is delegated at {}: referral", cut.name));
            return out;
        }
        if let Some(record) = state
            .gslb_record(&current, rtype)
            .or_else(|| state.gslb_record(&current, RecordType::CNAME))
        {
            out.explain.push(format!(
                "{current} {} is a GSLB record: its answer depends on health and the client",
                record.rtype
            ));
            out.gslb = Some(current.to_string());
            return out;
        }
        if let Some(set) = zone.rrset(&current, rtype) {
            out.answers.extend(RecordSetDto::from_model(set));
            out.explain
                .push(format!("{current} {rtype}: {} record(s)", set.rdata.len()));
            return out;
        }
        if let Some(alias) = zone.rrset(&current, RecordType::CNAME) {
            out.answers.extend(RecordSetDto::from_model(alias));
            let Some(gslb_model::model::RData::CNAME(target)) = alias.rdata.first() else {
                return out;
            };
            out.explain
                .push(format!("{current} is an alias of {target}"));
            current = target.clone();
            continue;
        }
        if exists(zone, &current) {
            out.explain
                .push(format!("{current} exists without {rtype} data: NODATA"));
            return negative(out, zone);
        }
        if let Some(wildcard) = wildcard_for(zone, &current, rtype) {
            let mut synthesized = wildcard.clone();
            synthesized.name = current.clone();
            out.answers.extend(RecordSetDto::from_model(&synthesized));
            out.explain
                .push(format!("{current} matches the wildcard {}", wildcard.name));
            return out;
        }
        if hop == 0 {
            out.rcode = "NXDOMAIN".to_string();
        }
        out.explain
            .push(format!("{current} does not exist: NXDOMAIN"));
        return negative(out, zone);
    }
    out.explain.push(format!(
        "more than {MAX_CNAME_HOPS} CNAMEs: the chain stops"
    ));
    out
}

/// Names the zone's SOA and negative TTL in `explain` for a negative answer.
fn negative(mut out: ResolveDto, zone: &Zone) -> ResolveDto {
    out.explain.push(format!(
        "authority: {} SOA {} {} {} (negative TTL {})",
        zone.apex,
        zone.soa.mname,
        zone.soa.rname,
        zone.soa.serial,
        zone.soa.negative_ttl()
    ));
    out
}

/// The NS set of a delegation at or above `name` (below the apex), if any.
fn delegation<'a>(zone: &'a Zone, name: &DomainName) -> Option<&'a RecordSet> {
    let mut candidate = Some(name.clone());
    while let Some(current) = candidate {
        if current == zone.apex {
            return None;
        }
        if let Some(set) = zone.rrset(&current, RecordType::NS) {
            return Some(set);
        }
        candidate = current.parent();
    }
    None
}

/// True when `name` owns data or is an empty non-terminal.
fn exists(zone: &Zone, name: &DomainName) -> bool {
    zone.rrsets.iter().any(|set| set.name.is_subdomain_of(name))
}

/// The wildcard set that covers `name` (RFC 4592: `*.` the closest encloser), if any.
fn wildcard_for<'a>(zone: &'a Zone, name: &DomainName, rtype: RecordType) -> Option<&'a RecordSet> {
    let mut encloser = name.parent();
    while let Some(current) = encloser {
        if exists(zone, &current) || current == zone.apex {
            let wildcard = current.prepend_label(b"*").ok()?;
            return zone
                .rrset(&wildcard, rtype)
                .or_else(|| zone.rrset(&wildcard, RecordType::CNAME));
        }
        if !current.is_subdomain_of(&zone.apex) {
            return None;
        }
        encloser = current.parent();
    }
    None
}
