//! GSLB records on the wire: `GslbRecordDto` with its policy tree (`PolicyNodeDto`, one
//! key per node kind: `{"failover": [...]}`, `{"weighted": [{"weight": 3, "node": ...}]}`,
//! `{"geo": {"rules": [...], "default": ...}}`), converted by hand to the model.

use gslb_model::ip::Cidr;
use gslb_model::model::gslb_record::{
    GeoMatch, GeoPolicy, GeoRule, ProximityChoice, WeightedChoice,
};
use gslb_model::model::{
    DomainName, FieldErrors, GslbRecord, LatencyMargin, PolicyNode, UnknownAs, WhenAllDown,
};
use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{
    AdditionalProperties, ArrayBuilder, ObjectBuilder, OneOfBuilder, Schema, Type,
};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

use crate::dto::record::RecordTypeDto;

/// A name answered by policy: which endpoints a client gets depends on health, geography,
/// latency, weights and capacity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GslbRecordDto {
    /// Owner name: absolute, relative to the zone, or `@`.
    pub name: String,
    /// A, AAAA or CNAME.
    #[serde(rename = "type")]
    pub rtype: RecordTypeDto,
    /// TTL of answers, seconds.
    pub ttl: u32,
    /// TTL while the record is failing over (lower, so clients come back sooner).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failover_ttl: Option<u32>,
    /// The policy tree.
    pub policy: PolicyNodeDto,
    /// Most addresses in one answer (default 1).
    #[serde(default = "default_max_answers")]
    pub max_answers: u8,
    /// What to answer when nothing is available: `fail_open` (default), `fail_closed`, or
    /// `{"fallback": "<name>"}`.
    #[serde(default)]
    pub when_all_down: WhenAllDownDto,
    /// How a never-reported health state counts: `down` (default) or `up`.
    #[serde(default)]
    pub unknown_as: UnknownAsDto,
    /// Answer a region only while its health lease is valid (split-brain fencing).
    #[serde(default)]
    pub split_brain_guard: bool,
    /// How much lower a `latency` child's RTT must be to take traffic from one listed before
    /// it: the larger of `percent` of the lowest RTT (default 20) and `micros` (default 1000).
    #[serde(default)]
    pub latency_margin: LatencyMarginDto,
}

/// The switching margin of `latency` choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LatencyMarginDto {
    /// Percent of the lowest RTT, 0..=1000 (default 20).
    #[serde(default = "default_margin_percent")]
    #[schema(maximum = 1000)]
    pub percent: u16,
    /// Microseconds, 0..=10000000 (default 1000).
    #[serde(default = "default_margin_micros")]
    #[schema(maximum = 10_000_000)]
    pub micros: u32,
}

fn default_margin_percent() -> u16 {
    LatencyMargin::default().percent
}

fn default_margin_micros() -> u32 {
    LatencyMargin::default().micros
}

impl Default for LatencyMarginDto {
    fn default() -> Self {
        let margin = LatencyMargin::default();
        LatencyMarginDto {
            percent: margin.percent,
            micros: margin.micros,
        }
    }
}

fn default_max_answers() -> u8 {
    1
}

fn default_bias_percent() -> u32 {
    100
}

/// What a record answers when nothing is available.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum WhenAllDownDto {
    /// Answer every endpoint the tree names.
    #[default]
    FailOpen,
    /// Answer nothing (NODATA).
    FailClosed,
    /// A CNAME to this absolute name.
    Fallback(String),
}

/// How a never-reported health state counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UnknownAsDto {
    /// As healthy.
    Up,
    /// As down.
    #[default]
    Down,
}

/// One node of a policy tree. Its schema is written by hand (`impl ToSchema` below): the
/// derive recurses forever on a type that contains itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum PolicyNodeDto {
    /// These endpoints (by id).
    Endpoints(Vec<String>),
    /// Every endpoint of this region.
    Region(String),
    /// The first available child.
    Failover(Vec<PolicyNodeDto>),
    /// Random by weight.
    Weighted(Vec<WeightedChoiceDto>),
    /// By weight, sticky per client subnet.
    Consistent(Vec<WeightedChoiceDto>),
    /// By the client's place.
    Geo(GeoPolicyDto),
    /// Lowest measured RTT.
    Latency(Vec<PolicyNodeDto>),
    /// Nearest by great-circle distance, scaled by bias.
    Proximity(Vec<ProximityChoiceDto>),
    /// Weights proportional to healthy capacity.
    Capacity(Vec<PolicyNodeDto>),
}

/// A weighted child.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WeightedChoiceDto {
    /// Its weight.
    pub weight: u32,
    /// The child.
    pub node: PolicyNodeDto,
}

/// Geo rules and a default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GeoPolicyDto {
    /// The first rule that matches the client decides.
    pub rules: Vec<GeoRuleDto>,
    /// When none matches.
    pub default: Box<PolicyNodeDto>,
}

/// One geo rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GeoRuleDto {
    /// Any of these matches.
    #[serde(rename = "match")]
    pub matches: Vec<GeoMatchDto>,
    /// The child for matching clients.
    pub node: PolicyNodeDto,
}

/// What a geo rule matches on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum GeoMatchDto {
    /// Continent code (`EU`).
    Continent(String),
    /// Country code (`DE`).
    Country(String),
    /// Subdivision code (`DE-BE`).
    Subdivision(String),
    /// A client subnet (`192.0.2.0/24`).
    Cidr(String),
    /// An AS number.
    Asn(u32),
}

/// A child with a distance bias.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProximityChoiceDto {
    /// The child.
    pub node: PolicyNodeDto,
    /// Distance scale in percent (default 100; lower attracts).
    #[serde(default = "default_bias_percent")]
    pub bias_percent: u32,
}

impl PolicyNodeDto {
    /// Converts to the model, reporting bad CIDRs under `path`.
    pub fn to_model(&self, path: &str, errors: &mut FieldErrors) -> PolicyNode {
        let children = |nodes: &[PolicyNodeDto], kind: &str, errors: &mut FieldErrors| {
            nodes
                .iter()
                .enumerate()
                .map(|(index, node)| node.to_model(&format!("{path}.{kind}[{index}]"), errors))
                .collect::<Vec<_>>()
        };
        let weighted = |choices: &[WeightedChoiceDto], kind: &str, errors: &mut FieldErrors| {
            choices
                .iter()
                .enumerate()
                .map(|(index, choice)| WeightedChoice {
                    weight: choice.weight,
                    node: choice
                        .node
                        .to_model(&format!("{path}.{kind}[{index}].node"), errors),
                })
                .collect::<Vec<_>>()
        };
        match self {
            PolicyNodeDto::Endpoints(ids) => PolicyNode::Endpoints(ids.clone()),
            PolicyNodeDto::Region(id) => PolicyNode::Region(id.clone()),
            PolicyNodeDto::Failover(nodes) => {
                PolicyNode::Failover(children(nodes, "failover", errors))
            }
            PolicyNodeDto::Latency(nodes) => {
                PolicyNode::Latency(children(nodes, "latency", errors))
            }
            PolicyNodeDto::Capacity(nodes) => {
                PolicyNode::Capacity(children(nodes, "capacity", errors))
            }
            PolicyNodeDto::Weighted(choices) => {
                PolicyNode::Weighted(weighted(choices, "weighted", errors))
            }
            PolicyNodeDto::Consistent(choices) => {
                PolicyNode::Consistent(weighted(choices, "consistent", errors))
            }
            PolicyNodeDto::Proximity(choices) => PolicyNode::Proximity(
                choices
                    .iter()
                    .enumerate()
                    .map(|(index, choice)| ProximityChoice {
                        node: choice
                            .node
                            .to_model(&format!("{path}.proximity[{index}].node"), errors),
                        bias_percent: choice.bias_percent,
                    })
                    .collect(),
            ),
            PolicyNodeDto::Geo(geo) => PolicyNode::Geo(GeoPolicy {
                rules: geo
                    .rules
                    .iter()
                    .enumerate()
                    .map(|(index, rule)| {
                        let rule_path = format!("{path}.geo.rules[{index}]");
                        GeoRule {
                            matches: rule
                                .matches
                                .iter()
                                .enumerate()
                                .filter_map(|(match_index, matcher)| {
                                    matcher.to_model(
                                        &format!("{rule_path}.match[{match_index}]"),
                                        errors,
                                    )
                                })
                                .collect(),
                            node: rule.node.to_model(&format!("{rule_path}.node"), errors),
                        }
                    })
                    .collect(),
                default: Box::new(geo.default.to_model(&format!("{path}.geo.default"), errors)),
            }),
        }
    }

    /// The DTO of a model node.
    pub fn from_model(node: &PolicyNode) -> PolicyNodeDto {
        let children = |nodes: &[PolicyNode]| nodes.iter().map(PolicyNodeDto::from_model).collect();
        let weighted = |choices: &[WeightedChoice]| {
            choices
                .iter()
                .map(|choice| WeightedChoiceDto {
                    weight: choice.weight,
                    node: PolicyNodeDto::from_model(&choice.node),
                })
                .collect()
        };
        match node {
            PolicyNode::Endpoints(ids) => PolicyNodeDto::Endpoints(ids.clone()),
            PolicyNode::Region(id) => PolicyNodeDto::Region(id.clone()),
            PolicyNode::Failover(nodes) => PolicyNodeDto::Failover(children(nodes)),
            PolicyNode::Latency(nodes) => PolicyNodeDto::Latency(children(nodes)),
            PolicyNode::Capacity(nodes) => PolicyNodeDto::Capacity(children(nodes)),
            PolicyNode::Weighted(choices) => PolicyNodeDto::Weighted(weighted(choices)),
            PolicyNode::Consistent(choices) => PolicyNodeDto::Consistent(weighted(choices)),
            PolicyNode::Proximity(choices) => PolicyNodeDto::Proximity(
                choices
                    .iter()
                    .map(|choice| ProximityChoiceDto {
                        node: PolicyNodeDto::from_model(&choice.node),
                        bias_percent: choice.bias_percent,
                    })
                    .collect(),
            ),
            PolicyNode::Geo(geo) => PolicyNodeDto::Geo(GeoPolicyDto {
                rules: geo
                    .rules
                    .iter()
                    .map(|rule| GeoRuleDto {
                        matches: rule.matches.iter().map(GeoMatchDto::from_model).collect(),
                        node: PolicyNodeDto::from_model(&rule.node),
                    })
                    .collect(),
                default: Box::new(PolicyNodeDto::from_model(&geo.default)),
            }),
        }
    }
}

impl GeoMatchDto {
    fn to_model(&self, path: &str, errors: &mut FieldErrors) -> Option<GeoMatch> {
        Some(match self {
            GeoMatchDto::Continent(code) => GeoMatch::Continent(code.clone()),
            GeoMatchDto::Country(code) => GeoMatch::Country(code.clone()),
            GeoMatchDto::Subdivision(code) => GeoMatch::Subdivision(code.clone()),
            GeoMatchDto::Asn(asn) => GeoMatch::Asn(*asn),
            GeoMatchDto::Cidr(text) => match text.parse::<Cidr>() {
                Ok(cidr) => GeoMatch::Cidr(cidr),
                Err(error) => {
                    errors.push(format!("{path}.cidr"), error.to_string());
                    return None;
                }
            },
        })
    }

    fn from_model(matcher: &GeoMatch) -> GeoMatchDto {
        match matcher {
            GeoMatch::Continent(code) => GeoMatchDto::Continent(code.clone()),
            GeoMatch::Country(code) => GeoMatchDto::Country(code.clone()),
            GeoMatch::Subdivision(code) => GeoMatchDto::Subdivision(code.clone()),
            GeoMatch::Cidr(cidr) => GeoMatchDto::Cidr(cidr.to_string()),
            GeoMatch::Asn(asn) => GeoMatchDto::Asn(*asn),
        }
    }
}

impl GslbRecordDto {
    /// Converts to the model inside zone `apex`.
    pub fn to_model(&self, apex: &DomainName, path: &str) -> Result<GslbRecord, FieldErrors> {
        let prefix = if path.is_empty() {
            String::new()
        } else {
            format!("{path}.")
        };
        let mut errors = FieldErrors::default();
        let name = DomainName::parse_relative_to(&self.name, apex)
            .map_err(|error| errors.push(format!("{prefix}name"), error.to_string()))
            .ok();
        let when_all_down = match &self.when_all_down {
            WhenAllDownDto::FailOpen => Some(WhenAllDown::FailOpen),
            WhenAllDownDto::FailClosed => Some(WhenAllDown::FailClosed),
            WhenAllDownDto::Fallback(target) => DomainName::parse_absolute(target)
                .map(WhenAllDown::Fallback)
                .map_err(|error| {
                    errors.push(format!("{prefix}when_all_down.fallback"), error.to_string())
                })
                .ok(),
        };
        let policy = self
            .policy
            .to_model(&format!("{prefix}policy"), &mut errors);
        let (Some(name), Some(when_all_down)) = (name, when_all_down) else {
            return Err(errors);
        };
        errors.into_result()?;
        Ok(GslbRecord {
            latency_margin: LatencyMargin {
                percent: self.latency_margin.percent,
                micros: self.latency_margin.micros,
            },
            name,
            rtype: self.rtype.to_model(),
            ttl: self.ttl,
            failover_ttl: self.failover_ttl,
            policy,
            max_answers: self.max_answers,
            when_all_down,
            unknown_as: match self.unknown_as {
                UnknownAsDto::Up => UnknownAs::Up,
                UnknownAsDto::Down => UnknownAs::Down,
            },
            split_brain_guard: self.split_brain_guard,
        })
    }

    /// The DTO of a model record (absolute names).
    pub fn from_model(record: &GslbRecord) -> Option<GslbRecordDto> {
        Some(GslbRecordDto {
            name: record.name.to_string(),
            rtype: RecordTypeDto::from_model(record.rtype)?,
            ttl: record.ttl,
            failover_ttl: record.failover_ttl,
            policy: PolicyNodeDto::from_model(&record.policy),
            max_answers: record.max_answers,
            when_all_down: match &record.when_all_down {
                WhenAllDown::FailOpen => WhenAllDownDto::FailOpen,
                WhenAllDown::FailClosed => WhenAllDownDto::FailClosed,
                WhenAllDown::Fallback(target) => WhenAllDownDto::Fallback(target.to_string()),
            },
            unknown_as: match record.unknown_as {
                UnknownAs::Up => UnknownAsDto::Up,
                UnknownAs::Down => UnknownAsDto::Down,
            },
            split_brain_guard: record.split_brain_guard,
            latency_margin: LatencyMarginDto {
                percent: record.latency_margin.percent,
                micros: record.latency_margin.micros,
            },
        })
    }
}

impl PartialSchema for PolicyNodeDto {
    fn schema() -> RefOr<Schema> {
        let node = || RefOr::Ref(Ref::from_schema_name("PolicyNodeDto"));
        let array_of =
            |item: RefOr<Schema>| -> RefOr<Schema> { ArrayBuilder::new().items(item).into() };
        let string = || -> RefOr<Schema> { ObjectBuilder::new().schema_type(Type::String).into() };
        let variants: [(&str, &str, RefOr<Schema>); 9] = [
            ("endpoints", "these endpoints (by id)", array_of(string())),
            ("region", "every endpoint of this region", string()),
            ("failover", "the first available child", array_of(node())),
            (
                "weighted",
                "random by weight",
                array_of(RefOr::Ref(Ref::from_schema_name("WeightedChoiceDto"))),
            ),
            (
                "consistent",
                "by weight, sticky per client subnet",
                array_of(RefOr::Ref(Ref::from_schema_name("WeightedChoiceDto"))),
            ),
            (
                "geo",
                "by the client's place",
                RefOr::Ref(Ref::from_schema_name("GeoPolicyDto")),
            ),
            ("latency", "lowest measured RTT", array_of(node())),
            (
                "proximity",
                "nearest by distance, scaled by bias",
                array_of(RefOr::Ref(Ref::from_schema_name("ProximityChoiceDto"))),
            ),
            ("capacity", "weights by healthy capacity", array_of(node())),
        ];
        let mut one_of = OneOfBuilder::new().description(Some(
            "One node of a policy tree: an object with exactly one key.",
        ));
        for (key, description, value) in variants {
            one_of = one_of.item(
                ObjectBuilder::new()
                    .schema_type(Type::Object)
                    .description(Some(description))
                    .property(key, value)
                    .required(key)
                    .additional_properties(Some(AdditionalProperties::FreeForm(false))),
            );
        }
        one_of.into()
    }
}

impl ToSchema for PolicyNodeDto {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("PolicyNodeDto")
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        // The types the tree refers to, each once; their own derives only refer back.
        for (name, schema) in [
            ("WeightedChoiceDto", WeightedChoiceDto::schema()),
            ("GeoPolicyDto", GeoPolicyDto::schema()),
            ("GeoRuleDto", GeoRuleDto::schema()),
            ("GeoMatchDto", GeoMatchDto::schema()),
            ("ProximityChoiceDto", ProximityChoiceDto::schema()),
        ] {
            if !schemas.iter().any(|(known, _)| known == name) {
                schemas.push((name.to_string(), schema));
            }
        }
    }
}
