//! `CompiledRecord`: a `GslbRecord` with every id resolved to an index into `PolicyInputs`,
//! endpoints filtered to those that can answer the record's type, and each node's field path
//! precomputed, so evaluation does no lookups by name and explanations cost nothing to label.
//!
//! Compile once per plan version (records and inputs change together); evaluate per query.

use gslb_model::ip::Cidr;
use gslb_model::model::gslb_record::{
    answers_type, GeoMatch, GslbRecord, PolicyNode, UnknownAs, WhenAllDown,
};
use gslb_model::model::{DomainName, FieldErrors, LatencyMargin, RecordType};

use crate::client::Code;
use crate::policy::hash::hash_bytes;
use crate::policy::inputs::PolicyInputs;

/// The most children one node may have (evaluation tracks them in a 64-bit mask); the
/// model's write-time validation enforces the same bound.
pub const MAX_CHILDREN: usize = gslb_model::model::gslb_record::MAX_CHILDREN;

/// A record ready for `evaluate`.
#[derive(Debug, Clone, PartialEq)]
pub struct CompiledRecord {
    /// Owner name.
    pub name: DomainName,
    /// A, AAAA or CNAME.
    pub rtype: RecordType,
    /// TTL while healthy.
    pub ttl: u32,
    /// TTL while degraded.
    pub failover_ttl: Option<u32>,
    /// Most answers per response.
    pub max_answers: u8,
    /// What to do when nothing is available.
    pub when_all_down: WhenAllDown,
    /// What unknown health means.
    pub unknown_as: UnknownAs,
    /// Whether regions need a valid lease.
    pub split_brain_guard: bool,
    /// Within this margin of the lowest RTT, `latency` children count as equal.
    pub latency_margin: LatencyMargin,
    /// The tree, root first; children always come after their parent.
    pub(crate) nodes: Vec<CompiledNode>,
    /// Every endpoint the tree names that can answer the type, in tree order, once each
    /// (what `fail_open` hands out).
    pub(crate) all_endpoints: Vec<usize>,
    /// Per-record salt for hashing, so two records do not split clients identically.
    pub(crate) salt: u64,
    /// Whether evaluating reads the client's location (a geo rule on continent, country,
    /// subdivision or ASN, or a proximity node); otherwise the address alone decides, and
    /// the DNS path skips locating the client.
    pub(crate) uses_location: bool,
}

/// One node of a compiled tree.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CompiledNode {
    /// The field path of the node, e.g. `policy.failover[1]`.
    pub path: String,
    /// Regions reachable below, once each (for capacity, latency and proximity).
    pub regions: Vec<usize>,
    /// What it does.
    pub kind: NodeKind,
}

/// The compiled form of each policy kind; child references are node indexes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum NodeKind {
    /// `endpoints` or `region`: candidate endpoint indexes.
    Leaf {
        /// Endpoints that can answer the type.
        endpoints: Vec<usize>,
    },
    /// First available child.
    Failover(Vec<usize>),
    /// Weighted choice, random or consistent.
    Weighted {
        /// Consistent by client subnet instead of random.
        consistent: bool,
        /// (weight, child).
        children: Vec<(u32, usize)>,
    },
    /// By client location.
    Geo {
        /// Rules in order.
        rules: Vec<CompiledRule>,
        /// The default child.
        default: usize,
    },
    /// Lowest RTT.
    Latency(Vec<usize>),
    /// Nearest, with (child, bias factor).
    Proximity(Vec<(usize, f64)>),
    /// Shares by healthy capacity.
    Capacity(Vec<usize>),
}

/// One compiled geo rule.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CompiledRule {
    /// Any of these selects the rule.
    pub conditions: Vec<Condition>,
    /// The child it selects.
    pub node: usize,
}

/// One compiled geo condition.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Condition {
    /// Continent code.
    Continent(Code),
    /// Country code.
    Country(Code),
    /// Subdivision code.
    Subdivision(Code),
    /// Network.
    Cidr(Cidr),
    /// AS number.
    Asn(u32),
}

impl CompiledRecord {
    /// Compiles `record` against `inputs`. Errors name fields under `policy` like write-time
    /// validation does (unknown ids, endpoints of the wrong type, oversized nodes).
    pub fn compile(
        record: &GslbRecord,
        inputs: &PolicyInputs,
    ) -> Result<CompiledRecord, FieldErrors> {
        let mut compiler = Compiler {
            inputs,
            rtype: record.rtype,
            nodes: Vec::new(),
            errors: FieldErrors::default(),
        };
        compiler.node(&record.policy, "policy".to_string());
        let Compiler { nodes, errors, .. } = compiler;
        errors.into_result()?;
        let mut all_endpoints = Vec::new();
        for node in &nodes {
            if let NodeKind::Leaf { endpoints } = &node.kind {
                for endpoint in endpoints {
                    if !all_endpoints.contains(endpoint) {
                        all_endpoints.push(*endpoint);
                    }
                }
            }
        }
        let uses_location = nodes.iter().any(|node| match &node.kind {
            NodeKind::Geo { rules, .. } => rules.iter().any(|rule| {
                rule.conditions
                    .iter()
                    .any(|condition| !matches!(condition, Condition::Cidr(_)))
            }),
            NodeKind::Proximity(_) => true,
            _ => false,
        });
        let max_answers = match record.rtype {
            RecordType::CNAME => 1,
            _ => record
                .max_answers
                .clamp(1, gslb_model::model::gslb_record::MAX_ANSWERS),
        };
        Ok(CompiledRecord {
            name: record.name.clone(),
            rtype: record.rtype,
            ttl: record.ttl,
            failover_ttl: record.failover_ttl,
            max_answers,
            when_all_down: record.when_all_down.clone(),
            unknown_as: record.unknown_as,
            split_brain_guard: record.split_brain_guard,
            latency_margin: record.latency_margin,
            nodes,
            all_endpoints,
            salt: hash_bytes(&record.name.to_wire()),
            uses_location,
        })
    }

    /// The field path of node `node` (for explanations).
    pub fn node_path(&self, node: usize) -> &str {
        self.nodes.get(node).map_or("policy", |n| n.path.as_str())
    }
}

/// Builds the node arena.
struct Compiler<'a> {
    /// What ids resolve against.
    inputs: &'a PolicyInputs,
    /// The record type endpoints must answer.
    rtype: RecordType,
    /// Nodes so far.
    nodes: Vec<CompiledNode>,
    /// Faults so far.
    errors: FieldErrors,
}

impl Compiler<'_> {
    /// Compiles `node` at `path` (which includes the kind once added) and returns its index.
    fn node(&mut self, node: &PolicyNode, parent_path: String) -> usize {
        let path = format!("{parent_path}.{}", node.kind());
        let index = self.nodes.len();
        self.nodes.push(CompiledNode {
            path: path.clone(),
            regions: Vec::new(),
            kind: NodeKind::Failover(Vec::new()),
        });
        let kind = match node {
            PolicyNode::Endpoints(ids) => {
                let mut endpoints = Vec::new();
                for (position, id) in ids.iter().enumerate() {
                    let at = format!("{path}[{position}]");
                    match self.inputs.endpoint_index(id) {
                        None => self.errors.push(at, format!("unknown endpoint {id:?}")),
                        Some(endpoint) => {
                            if answers_type(&self.inputs.endpoints[endpoint].target, self.rtype) {
                                if !endpoints.contains(&endpoint) {
                                    endpoints.push(endpoint);
                                }
                            } else {
                                self.errors.push(
                                    at,
                                    format!("endpoint {id:?} cannot answer {}", self.rtype),
                                );
                            }
                        }
                    }
                }
                NodeKind::Leaf { endpoints }
            }
            PolicyNode::Region(id) => match self.inputs.region_index(id) {
                None => {
                    self.errors.push(&path, format!("unknown region {id:?}"));
                    NodeKind::Leaf {
                        endpoints: Vec::new(),
                    }
                }
                Some(region) => NodeKind::Leaf {
                    endpoints: (0..self.inputs.endpoints.len())
                        .filter(|&e| {
                            let endpoint = &self.inputs.endpoints[e];
                            endpoint.region == region && answers_type(&endpoint.target, self.rtype)
                        })
                        .collect(),
                },
            },
            PolicyNode::Failover(children) => {
                self.check_children(&path, children.len());
                NodeKind::Failover(self.children(children.iter(), &path))
            }
            PolicyNode::Latency(children) => {
                self.check_children(&path, children.len());
                NodeKind::Latency(self.children(children.iter(), &path))
            }
            PolicyNode::Capacity(children) => {
                self.check_children(&path, children.len());
                NodeKind::Capacity(self.children(children.iter(), &path))
            }
            PolicyNode::Weighted(choices) | PolicyNode::Consistent(choices) => {
                self.check_children(&path, choices.len());
                let mut children = Vec::with_capacity(choices.len());
                for (position, choice) in choices.iter().enumerate() {
                    if choice.weight == 0 {
                        self.errors
                            .push(format!("{path}[{position}].weight"), "must be > 0, got 0");
                    }
                    let child = self.node(&choice.node, format!("{path}[{position}].node"));
                    children.push((choice.weight, child));
                }
                NodeKind::Weighted {
                    consistent: matches!(node, PolicyNode::Consistent(_)),
                    children,
                }
            }
            PolicyNode::Proximity(choices) => {
                self.check_children(&path, choices.len());
                let mut children = Vec::with_capacity(choices.len());
                for (position, choice) in choices.iter().enumerate() {
                    let child = self.node(&choice.node, format!("{path}[{position}].node"));
                    children.push((child, f64::from(choice.bias_percent.max(1)) / 100.0));
                }
                NodeKind::Proximity(children)
            }
            PolicyNode::Geo(geo) => {
                let mut rules = Vec::with_capacity(geo.rules.len());
                for (position, rule) in geo.rules.iter().enumerate() {
                    let at = format!("{path}.rules[{position}]");
                    let conditions = rule
                        .matches
                        .iter()
                        .filter_map(|condition| match condition {
                            GeoMatch::Continent(code) => Code::new(code).map(Condition::Continent),
                            GeoMatch::Country(code) => Code::new(code).map(Condition::Country),
                            GeoMatch::Subdivision(code) => {
                                Code::new(code).map(Condition::Subdivision)
                            }
                            GeoMatch::Cidr(cidr) => Some(Condition::Cidr(*cidr)),
                            GeoMatch::Asn(asn) => Some(Condition::Asn(*asn)),
                        })
                        .collect();
                    let node = self.node(&rule.node, format!("{at}.node"));
                    rules.push(CompiledRule { conditions, node });
                }
                let default = self.node(&geo.default, format!("{path}.default"));
                NodeKind::Geo { rules, default }
            }
        };
        let mut regions: Vec<usize> = Vec::new();
        match &kind {
            NodeKind::Leaf { endpoints } => {
                for endpoint in endpoints {
                    let region = self.inputs.endpoints[*endpoint].region;
                    if !regions.contains(&region) {
                        regions.push(region);
                    }
                }
                if let PolicyNode::Region(id) = node {
                    if let Some(region) = self.inputs.region_index(id) {
                        if !regions.contains(&region) {
                            regions.push(region);
                        }
                    }
                }
            }
            _ => {
                for child in index + 1..self.nodes.len() {
                    for region in self.nodes[child].regions.clone() {
                        if !regions.contains(&region) {
                            regions.push(region);
                        }
                    }
                }
            }
        }
        self.nodes[index].regions = regions;
        self.nodes[index].kind = kind;
        index
    }

    /// Compiles a list of children under `path[i]`.
    fn children<'n>(
        &mut self,
        children: impl Iterator<Item = &'n PolicyNode>,
        path: &str,
    ) -> Vec<usize> {
        children
            .enumerate()
            .map(|(position, child)| self.node(child, format!("{path}[{position}]")))
            .collect()
    }

    /// Reports empty or oversized child lists.
    fn check_children(&mut self, path: &str, n_children: usize) {
        if n_children == 0 {
            self.errors
                .push(path, "must have at least one child, got none");
        } else if n_children > MAX_CHILDREN {
            self.errors.push(
                path,
                format!("must have at most {MAX_CHILDREN} children, got {n_children}"),
            );
        }
    }
}
