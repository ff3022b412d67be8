//! `import route53 --zone ZONE FILE.json [--health-checks FILE.json] [--dry-run]`: the
//! output of `aws route53 list-resource-record-sets` (and `list-health-checks`) turned into
//! one apply document (`convert`, pure) and sent through server-side apply, so the dry run
//! prints the very diff `apply --dry-run` prints and the import is one atomic write.
//!
//! Mapping (docs/coming-from.md has the tables):
//! - simple record sets → record sets; the SOA and apex NS only when the zone is new;
//! - record sets with a `SetIdentifier` of one name and type → one GSLB record; each set's
//!   values → endpoints (`r53-...`) in the set's AWS region (latency, geoproximity; created
//!   from a built-in table of AWS region locations) or in `--default-region`;
//!   weighted → `weighted`, failover → `failover`, latency → `latency`, geolocation → `geo`
//!   (continent, country, subdivision; `*` is the default), geoproximity → `proximity`
//!   (bias b → distance scale 100 − b percent), multivalue → every endpoint, up to 8;
//!   records without a health check count as up (`unknown_as: up`), as in Route 53;
//! - `HealthCheckId` → an `http`/`https`/`tcp` check per endpoint of the set;
//! - an alias to a record of the same zone → a copy of that record.
//!
//! Everything else (aliases out of the zone, CIDR routing, traffic policies, calculated or
//! CloudWatch health checks, coordinates without an AWS region ...) is refused, every
//! offending record named, before anything is sent.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use gslb_api::apply::ApplyDocument;
use gslb_api::client::ClientError;
use gslb_api::dto::ZoneDto;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::ctl::{read_input, Ctl};

/// `gslbctl import ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum ImportCommand {
    /// Import a Route 53 hosted zone: the JSON of `aws route53 list-resource-record-sets
    /// --hosted-zone-id ID` (and of `aws route53 list-health-checks`), routing policies and
    /// health checks included, as one atomic apply; `--dry-run` prints the diff, and a file
    /// with anything gslb cannot represent is refused with every such record named.
    Route53(Route53Args),
}

/// Flags of `import route53`.
#[derive(Debug, Args)]
pub(crate) struct Route53Args {
    /// The zone (its apex); records outside it are refused.
    #[arg(long)]
    zone: String,
    /// The output of `aws route53 list-resource-record-sets` (`-` reads stdin).
    file: PathBuf,
    /// The output of `aws route53 list-health-checks`, for records with a `HealthCheckId`.
    #[arg(long, value_name = "FILE")]
    health_checks: Option<PathBuf>,
    /// The gslb region of endpoints whose record names no AWS region (weighted, failover,
    /// geolocation, multivalue); it must exist.
    #[arg(long, value_name = "REGION")]
    default_region: Option<String>,
    /// Print the diff and change nothing.
    #[arg(long)]
    dry_run: bool,
}

pub(crate) async fn run(ctl: &Ctl, command: ImportCommand) -> Result<()> {
    let ImportCommand::Route53(args) = command;
    let records: Value = parse_json(&args.file)?;
    let health_checks = match &args.health_checks {
        Some(file) => Some(parse_json(file)?),
        None => None,
    };
    let apex = crate::ctl::parse_apex(&args.zone)?.to_string();
    let zone = match ctl.client.get_zone(&apex).await {
        Ok(zone) => Some(zone),
        Err(ClientError::Api { status: 404, .. }) => None,
        Err(error) => return Err(error.into()),
    };
    let regions = ctl
        .client
        .list_regions()
        .await?
        .into_iter()
        .map(|region| region.id)
        .collect();
    let existing = Existing {
        zone,
        regions,
        default_region: args.default_region.clone(),
    };
    let document = match convert(&apex, &records, health_checks.as_ref(), &existing) {
        Ok(document) => document,
        Err(problems) => {
            for problem in &problems {
                outln!("refused: {problem}");
            }
            bail!(
                "{} cannot be imported: {} record(s) or health check(s) gslb cannot represent \
                 (listed above); nothing was changed",
                args.file.display(),
                problems.len()
            );
        }
    };
    ctl.apply_document(&document, args.dry_run, false, str::to_string)
        .await
}

fn parse_json(file: &Path) -> Result<Value> {
    let text = read_input(file)?;
    serde_json::from_str(&text).with_context(|| format!("{} is not valid JSON", file.display()))
}

/// What the import needs to know about the target.
pub(crate) struct Existing {
    /// The zone, when it exists (its SOA and apex NS are kept).
    pub zone: Option<ZoneDto>,
    /// Ids of the regions that exist.
    pub regions: BTreeSet<String>,
    /// `--default-region`.
    pub default_region: Option<String>,
}

/// Record set fields this import understands; any other is refused by name.
const KNOWN_FIELDS: [&str; 14] = [
    "Name",
    "Type",
    "TTL",
    "ResourceRecords",
    "SetIdentifier",
    "Weight",
    "Region",
    "GeoLocation",
    "GeoProximityLocation",
    "Failover",
    "MultiValueAnswer",
    "AliasTarget",
    "HealthCheckId",
    "TrafficPolicyInstanceId",
];

/// AWS regions and where they are: (id, lat, lon, country, continent).
const AWS_REGIONS: [(&str, f64, f64, &str, &str); 29] = [
    ("us-east-1", 38.9, -77.4, "US", "NA"),
    ("us-east-2", 40.0, -83.0, "US", "NA"),
    ("us-west-1", 37.4, -121.9, "US", "NA"),
    ("us-west-2", 45.8, -119.7, "US", "NA"),
    ("ca-central-1", 45.5, -73.6, "CA", "NA"),
    ("ca-west-1", 51.0, -114.1, "CA", "NA"),
    ("mx-central-1", 20.6, -100.4, "MX", "NA"),
    ("sa-east-1", -23.5, -46.6, "BR", "SA"),
    ("eu-west-1", 53.3, -6.3, "IE", "EU"),
    ("eu-west-2", 51.5, -0.1, "GB", "EU"),
    ("eu-west-3", 48.9, 2.4, "FR", "EU"),
    ("eu-central-1", 50.1, 8.7, "DE", "EU"),
    ("eu-central-2", 47.4, 8.5, "CH", "EU"),
    ("eu-north-1", 59.3, 18.1, "SE", "EU"),
    ("eu-south-1", 45.5, 9.2, "IT", "EU"),
    ("eu-south-2", 41.6, -0.9, "ES", "EU"),
    ("ap-northeast-1", 35.7, 139.7, "JP", "AS"),
    ("ap-northeast-2", 37.6, 127.0, "KR", "AS"),
    ("ap-northeast-3", 34.7, 135.5, "JP", "AS"),
    ("ap-southeast-1", 1.35, 103.8, "SG", "AS"),
    ("ap-southeast-2", -33.9, 151.2, "AU", "OC"),
    ("ap-southeast-3", -6.2, 106.8, "ID", "AS"),
    ("ap-south-1", 19.1, 72.9, "IN", "AS"),
    ("ap-south-2", 17.4, 78.5, "IN", "AS"),
    ("ap-east-1", 22.3, 114.2, "HK", "AS"),
    ("me-south-1", 26.1, 50.6, "BH", "AS"),
    ("me-central-1", 25.2, 55.3, "AE", "AS"),
    ("il-central-1", 32.1, 34.8, "IL", "AS"),
    ("af-south-1", -33.9, 18.4, "ZA", "AF"),
];

/// How one set of a routed name is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Routing {
    Weighted,
    Failover,
    Latency,
    Geolocation,
    Geoproximity,
    Multivalue,
}

/// One record set of a routed name, converted.
struct RoutedSet {
    label: String,
    routing: Routing,
    record: Map<String, Value>,
    ids: Vec<String>,
    ttl: u32,
}

/// Converts the Route 53 JSON into one apply document for zone `apex`, or every problem.
pub(crate) fn convert(
    apex: &str,
    records: &Value,
    health_checks: Option<&Value>,
    existing: &Existing,
) -> Result<ApplyDocument, Vec<String>> {
    let list = records
        .get("ResourceRecordSets")
        .or(Some(records))
        .and_then(Value::as_array)
        .ok_or_else(|| {
            vec!["the file holds no ResourceRecordSets list (aws route53 list-resource-record-sets output)".to_string()]
        })?;
    let checks_by_id: BTreeMap<String, Value> = health_checks
        .and_then(|hc| hc.get("HealthChecks").or(Some(hc)))
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|check| Some((check.get("Id")?.as_str()?.to_string(), check.clone())))
                .collect()
        })
        .unwrap_or_default();
    let mut found = Found {
        apex,
        existing,
        checks_by_id,
        health_checks_given: health_checks.is_some(),
        problems: Vec::new(),
        soa: None,
        apex_ns: None,
        statics: Vec::new(),
        routed: BTreeMap::new(),
        aliases: Vec::new(),
        endpoints: Vec::new(),
        checks: Vec::new(),
        new_regions: BTreeMap::new(),
    };
    for (index, record) in list.iter().enumerate() {
        match record.as_object() {
            Some(record) => found.read_set(record),
            None => found
                .problems
                .push(format!("ResourceRecordSets[{index}]: not an object")),
        }
    }
    let gslb_records = found.gslb_records_with_aliases();
    found.document(gslb_records)
}

/// What the record sets of one file amount to while they are read, with every problem met.
struct Found<'a> {
    apex: &'a str,
    existing: &'a Existing,
    checks_by_id: BTreeMap<String, Value>,
    health_checks_given: bool,
    problems: Vec<String>,
    soa: Option<String>,
    apex_ns: Option<(u32, Vec<String>)>,
    statics: Vec<Value>,
    routed: BTreeMap<(String, String), Vec<RoutedSet>>,
    /// (label, name, type, target) of each alias within the zone.
    aliases: Vec<(String, String, String, String)>,
    endpoints: Vec<Value>,
    checks: Vec<Value>,
    new_regions: BTreeMap<String, Value>,
}

impl Found<'_> {
    /// Reads one record set: a problem, the SOA, the apex NS, an alias, a static set or a
    /// routed one.
    fn read_set(&mut self, record: &Map<String, Value>) {
        let apex = self.apex;
        let text = |field: &str| record.get(field).and_then(Value::as_str).unwrap_or("");
        let name = absolute(&unescape(text("Name")).to_ascii_lowercase());
        let rtype = text("Type").to_string();
        let set_identifier = text("SetIdentifier").to_string();
        let label = if set_identifier.is_empty() {
            format!("{name} {rtype}")
        } else {
            format!("{name} {rtype} [{set_identifier}]")
        };
        if !(name == apex || name.ends_with(&format!(".{apex}"))) {
            self.problems.push(format!("{label}: outside zone {apex}"));
            return;
        }
        let unknown: Vec<&String> = record
            .keys()
            .filter(|key| !KNOWN_FIELDS.contains(&key.as_str()))
            .collect();
        if !unknown.is_empty() {
            let what = if record.contains_key("CidrRoutingConfig") {
                "IP-based (CIDR collection) routing has no gslb equivalent yet; "
            } else {
                ""
            };
            self.problems
                .push(format!("{label}: {what}unsupported field(s) {unknown:?}"));
            return;
        }
        if record.contains_key("TrafficPolicyInstanceId") {
            self.problems.push(format!(
                "{label}: created by a traffic policy; export the policy's records instead"
            ));
            return;
        }
        let ttl = record.get("TTL").and_then(Value::as_u64).unwrap_or(300) as u32;
        let values: Vec<String> = record
            .get("ResourceRecords")
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(|value| value.get("Value").and_then(Value::as_str))
                    .map(|value| absolute_names(&rtype, value))
                    .collect()
            })
            .unwrap_or_default();
        if let Some(alias) = record.get("AliasTarget") {
            self.read_alias(label, name, rtype, &set_identifier, alias);
            return;
        }
        if rtype == "SOA" {
            self.soa = values.first().cloned();
            return;
        }
        if rtype == "NS" && name == apex {
            self.apex_ns = Some((ttl, values));
            return;
        }
        if set_identifier.is_empty() {
            if record.contains_key("HealthCheckId") {
                self.problems.push(format!(
                    "{label}: a health check on a simple record has no effect in Route 53 and \
                     no gslb equivalent"
                ));
                return;
            }
            self.statics.push(
                json!({"zone": apex, "name": name, "type": rtype, "ttl": ttl,
                                "data": values}),
            );
            return;
        }
        let set = SetOf {
            label,
            name,
            rtype,
            set_identifier,
            ttl,
            values,
        };
        self.read_routed_set(set, record);
    }

    /// An alias: kept when it points within the zone and has no routing policy.
    fn read_alias(
        &mut self,
        label: String,
        name: String,
        rtype: String,
        set_identifier: &str,
        alias: &Value,
    ) {
        let apex = self.apex;
        let target = absolute(
            &unescape(alias.get("DNSName").and_then(Value::as_str).unwrap_or(""))
                .to_ascii_lowercase(),
        );
        if !set_identifier.is_empty() {
            self.problems.push(format!(
                "{label}: an alias with a routing policy has no gslb equivalent; route the \
                 target record instead"
            ));
        } else if !(target == apex || target.ends_with(&format!(".{apex}"))) {
            self.problems.push(format!(
                "{label}: alias to {target} outside the zone (a load balancer, CloudFront, \
                 S3 ...) has no gslb equivalent; use a CNAME or the target's addresses"
            ));
        } else {
            self.aliases.push((label, name, rtype, target));
        }
    }

    /// A set with a `SetIdentifier`: its values become endpoints (with checks) in its region,
    /// and the set joins the others of its name and type.
    fn read_routed_set(&mut self, set: SetOf, record: &Map<String, Value>) {
        let SetOf {
            label,
            name,
            rtype,
            set_identifier,
            ttl,
            values,
        } = set;
        let routing = if record.contains_key("Weight") {
            Routing::Weighted
        } else if record.contains_key("Failover") {
            Routing::Failover
        } else if record.contains_key("Region") {
            Routing::Latency
        } else if record.contains_key("GeoLocation") {
            Routing::Geolocation
        } else if record.contains_key("GeoProximityLocation") {
            Routing::Geoproximity
        } else if record.get("MultiValueAnswer") == Some(&Value::Bool(true)) {
            Routing::Multivalue
        } else {
            self.problems
                .push(format!("{label}: a SetIdentifier without a routing policy"));
            return;
        };
        if !["A", "AAAA", "CNAME"].contains(&rtype.as_str()) {
            self.problems.push(format!(
                "{label}: a routing policy on {rtype}; gslb routes only A, AAAA and CNAME"
            ));
            return;
        }
        let Some(region) = self.region_of(&label, routing, record) else {
            return;
        };
        let health_check = match record.get("HealthCheckId").and_then(Value::as_str) {
            None => None,
            Some(id) => match self.checks_by_id.get(id) {
                Some(check) => Some(check.clone()),
                None => {
                    self.problems.push(format!(
                        "{label}: health check {id} is not in --health-checks{}",
                        if self.health_checks_given {
                            ""
                        } else {
                            " (not given)"
                        }
                    ));
                    None
                }
            },
        };
        let base = endpoint_base(&name, &rtype, &set_identifier);
        let mut ids = Vec::new();
        for (value_index, value) in values.iter().enumerate() {
            let id = format!("{base}-{value_index}");
            let mut endpoint = json!({"id": id, "region": region,
                "labels": {"route53.set-identifier": set_identifier}});
            if rtype == "CNAME" {
                endpoint["cname"] = json!(value);
            } else {
                endpoint["address"] = json!(value);
            }
            if let Some(weight) = record.get("Weight").and_then(Value::as_u64) {
                endpoint["weight"] = json!(weight);
            }
            if let Some(check) = &health_check {
                match convert_check(check, &id, value, &rtype) {
                    Ok(check) => self.checks.push(check),
                    Err(problem) => self.problems.push(format!("{label}: {problem}")),
                }
            }
            self.endpoints.push(endpoint);
            ids.push(id);
        }
        self.routed
            .entry((name, rtype))
            .or_default()
            .push(RoutedSet {
                label,
                routing,
                record: record.clone(),
                ids,
                ttl,
            });
    }

    /// The gslb region of a routed set's endpoints: its AWS region (created from the table
    /// when new) or `--default-region`. A missing region is reported and the set still
    /// converted (`Some("")`), so the same run names the set's other problems too; `None`
    /// when the set cannot be converted at all.
    fn region_of(
        &mut self,
        label: &str,
        routing: Routing,
        record: &Map<String, Value>,
    ) -> Option<String> {
        let aws_region = match routing {
            Routing::Latency => Some(
                record
                    .get("Region")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
            ),
            Routing::Geoproximity => {
                let location = &record["GeoProximityLocation"];
                match location.get("AWSRegion").and_then(Value::as_str) {
                    Some(region) => Some(region.to_string()),
                    None => {
                        self.problems.push(format!(
                            "{label}: geoproximity by Coordinates or LocalZoneGroup; gslb needs \
                             an AWSRegion (or a gslb region at those coordinates)"
                        ));
                        return None;
                    }
                }
            }
            _ => None,
        };
        let existing = self.existing;
        Some(match aws_region {
            Some(region) if existing.regions.contains(&region) => region,
            Some(region) => match AWS_REGIONS.iter().find(|(id, ..)| *id == region) {
                Some((id, lat, lon, country, continent)) => {
                    self.new_regions.insert(
                        id.to_string(),
                        json!({"id": id, "location": {"lat": lat, "lon": lon,
                               "country": country, "continent": continent}}),
                    );
                    region
                }
                None => {
                    self.problems
                        .push(format!("{label}: unknown AWS region {region:?}"));
                    String::new()
                }
            },
            None => match &existing.default_region {
                Some(region) if existing.regions.contains(region) => region.clone(),
                Some(region) => {
                    self.problems.push(format!(
                        "{label}: --default-region {region:?} does not exist in gslb"
                    ));
                    String::new()
                }
                None => {
                    self.problems.push(format!(
                        "{label}: needs a gslb region for its endpoints; pass --default-region"
                    ));
                    String::new()
                }
            },
        })
    }

    /// One GSLB record per routed name and type, then each alias as a copy of its target
    /// (a static set or a GSLB record of the file).
    fn gslb_records_with_aliases(&mut self) -> Vec<Value> {
        let mut gslb_records: Vec<Value> = Vec::new();
        for ((name, rtype), sets) in &self.routed {
            match routed_record(self.apex, name, rtype, sets) {
                Ok(record) => gslb_records.push(record),
                Err(found) => self.problems.extend(found),
            }
        }
        for (label, name, rtype, target) in std::mem::take(&mut self.aliases) {
            let same =
                |record: &&Value| record["name"] == json!(target) && record["type"] == json!(rtype);
            let static_target = self.statics.iter().find(same).cloned();
            let gslb_target = gslb_records.iter().find(same).cloned();
            if let Some(mut copy) = static_target {
                copy["name"] = json!(name);
                self.statics.push(copy);
            } else if let Some(mut copy) = gslb_target {
                copy["name"] = json!(name);
                gslb_records.push(copy);
            } else {
                self.problems.push(format!(
                    "{label}: alias target {target} {rtype} is not a record of the file"
                ));
            }
        }
        gslb_records
    }

    /// The apply document, or every problem found: the zone itself (from the SOA) only when
    /// it does not exist yet.
    fn document(mut self, gslb_records: Vec<Value>) -> Result<ApplyDocument, Vec<String>> {
        let apex = self.apex;
        if self.existing.zone.is_none() && self.soa.is_none() {
            self.problems.push(format!(
                "zone {apex} does not exist in gslb and the file has no SOA to create it from"
            ));
        }
        if !self.problems.is_empty() {
            return Err(self.problems);
        }
        let mut document = json!({
            "regions": self.new_regions.into_values().collect::<Vec<_>>(),
            "endpoints": self.endpoints,
            "checks": self.checks,
            "gslb_records": gslb_records,
        });
        match (&self.existing.zone, self.soa) {
            (None, Some(soa)) => {
                let fields: Vec<&str> = soa.split_whitespace().collect();
                let number = |index: usize| fields.get(index).and_then(|f| f.parse::<u64>().ok());
                let (Some(serial), Some(refresh), Some(retry), Some(expire), Some(minimum)) =
                    (number(2), number(3), number(4), number(5), number(6))
                else {
                    return Err(vec![format!("{apex} SOA: cannot read {soa:?}")]);
                };
                let mut records: Vec<Value> = self
                    .statics
                    .into_iter()
                    .map(|mut record| {
                        record.as_object_mut().map(|fields| fields.remove("zone"));
                        record
                    })
                    .collect();
                if let Some((ttl, values)) = self.apex_ns {
                    records.push(json!({"name": apex, "type": "NS", "ttl": ttl, "data": values}));
                }
                document["zones"] = json!([{
                    "apex": apex,
                    "soa": {"mname": absolute(fields[0]), "rname": absolute(fields[1]),
                            "serial": serial, "refresh": refresh, "retry": retry,
                            "expire": expire, "minimum": minimum},
                    "default_ttl": 300,
                    "records": records,
                }]);
            }
            _ => document["records"] = Value::Array(self.statics),
        }
        serde_json::from_value(document).map_err(|error| vec![format!("internal: {error}")])
    }
}

/// A record set with a `SetIdentifier`, as read.
struct SetOf {
    label: String,
    name: String,
    rtype: String,
    set_identifier: String,
    ttl: u32,
    values: Vec<String>,
}

/// The GSLB record of one routed name and type.
fn routed_record(
    apex: &str,
    name: &str,
    rtype: &str,
    sets: &[RoutedSet],
) -> Result<Value, Vec<String>> {
    let mut problems = Vec::new();
    let routing = sets[0].routing;
    for set in sets {
        if set.routing != routing {
            problems.push(format!(
                "{}: mixes {:?} with {:?} routing of {}",
                set.label, set.routing, routing, sets[0].label
            ));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let node = |set: &RoutedSet| json!({"endpoints": set.ids});
    let mut max_answers = sets.iter().map(|set| set.ids.len()).max().unwrap_or(1);
    let policy = match routing {
        Routing::Weighted => {
            let all_zero = sets
                .iter()
                .all(|set| set.record.get("Weight").and_then(Value::as_u64) == Some(0));
            json!({"weighted": sets.iter().map(|set| json!({
                "weight": if all_zero { 1 } else { set.record["Weight"].as_u64().unwrap_or(0) },
                "node": node(set)})).collect::<Vec<_>>()})
        }
        Routing::Failover => {
            let role = |wanted: &str| {
                sets.iter()
                    .find(|set| set.record.get("Failover").and_then(Value::as_str) == Some(wanted))
            };
            match (role("PRIMARY"), role("SECONDARY")) {
                (Some(primary), secondary) => {
                    let mut order = vec![node(primary)];
                    order.extend(secondary.map(node));
                    json!({"failover": order})
                }
                (None, _) => {
                    return Err(vec![format!(
                        "{name} {rtype}: failover without a PRIMARY record"
                    )])
                }
            }
        }
        Routing::Latency => json!({"latency": sets.iter().map(node).collect::<Vec<_>>()}),
        Routing::Geoproximity => json!({"proximity": sets.iter().map(|set| {
            let bias = set.record["GeoProximityLocation"].get("Bias")
                .and_then(Value::as_i64).unwrap_or(0);
            json!({"node": node(set), "bias_percent": (100 - bias).clamp(1, 199)})
        }).collect::<Vec<_>>()}),
        Routing::Multivalue => {
            let ids: Vec<&String> = sets.iter().flat_map(|set| &set.ids).collect();
            max_answers = ids.len().min(8);
            json!({"endpoints": ids})
        }
        Routing::Geolocation => {
            let mut rules = Vec::new();
            let mut default = None;
            for set in sets {
                let location = &set.record["GeoLocation"];
                let field = |key: &str| location.get(key).and_then(Value::as_str);
                let matched = match (
                    field("ContinentCode"),
                    field("CountryCode"),
                    field("SubdivisionCode"),
                ) {
                    (_, Some("*"), _) => {
                        default = Some(node(set));
                        continue;
                    }
                    (_, Some(country), Some(subdivision)) => {
                        json!({"subdivision": format!("{country}-{subdivision}")})
                    }
                    (_, Some(country), None) => json!({"country": country}),
                    (Some(continent), None, _) => json!({"continent": continent}),
                    _ => {
                        problems.push(format!("{}: GeoLocation names no place", set.label));
                        continue;
                    }
                };
                rules.push((
                    specificity(&matched),
                    json!({"match": [matched], "node": node(set)}),
                ));
            }
            // Route 53 answers the most specific match: subdivision, then country, then
            // continent; gslb takes the first rule that matches.
            rules.sort_by_key(|(rank, _)| *rank);
            let Some(default) = default else {
                problems.push(format!(
                    "{name} {rtype}: geolocation without a default (CountryCode \"*\") record; \
                     gslb answers every client, so add one"
                ));
                return Err(problems);
            };
            json!({"geo": {"rules": rules.into_iter().map(|(_, rule)| rule)
                .collect::<Vec<_>>(), "default": default}})
        }
    };
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(json!({
        "zone": apex, "name": name, "type": rtype,
        "ttl": sets.iter().map(|set| set.ttl).min().unwrap_or(60),
        "policy": policy,
        "max_answers": max_answers.clamp(1, 255),
        "unknown_as": "up",
    }))
}

/// 0 for a subdivision match, 1 for a country, 2 for a continent.
fn specificity(matched: &Value) -> u8 {
    if matched.get("subdivision").is_some() {
        0
    } else if matched.get("country").is_some() {
        1
    } else {
        2
    }
}

/// A Route 53 health check as the gslb check of endpoint `endpoint_id` (address `value`).
fn convert_check(
    check: &Value,
    endpoint_id: &str,
    value: &str,
    rtype: &str,
) -> Result<Value, String> {
    let id = check.get("Id").and_then(Value::as_str).unwrap_or("?");
    let config = check
        .get("HealthCheckConfig")
        .cloned()
        .unwrap_or(Value::Null);
    let field = |key: &str| config.get(key).and_then(Value::as_str);
    let kind = field("Type").unwrap_or("");
    for refused in ["Inverted", "Disabled"] {
        if config.get(refused) == Some(&Value::Bool(true)) {
            return Err(format!(
                "health check {id} is {refused}; gslb has no equivalent"
            ));
        }
    }
    let port = config.get("Port").and_then(Value::as_u64);
    let kind_json = match kind {
        "HTTP" | "HTTPS" | "HTTP_STR_MATCH" | "HTTPS_STR_MATCH" => {
            let mut http = json!({"type": if kind.starts_with("HTTPS") { "https" } else { "http" },
                                  "path": field("ResourcePath").unwrap_or("/")});
            if let Some(port) = port {
                http["port"] = json!(port);
            }
            if let Some(host) = field("FullyQualifiedDomainName") {
                http["host"] = json!(host);
            }
            if kind.ends_with("STR_MATCH") {
                http["body_contains"] = json!(field("SearchString").unwrap_or(""));
            }
            http
        }
        "TCP" => json!({"type": "tcp", "port": port.unwrap_or(80)}),
        other => {
            return Err(format!(
                "health check {id} of type {other} (calculated, CloudWatch and recovery-control \
                 checks) has no gslb equivalent"
            ))
        }
    };
    let mut out = json!({
        "id": format!("{endpoint_id}-hc"),
        "endpoint": endpoint_id,
        "interval_ms": config.get("RequestInterval").and_then(Value::as_u64).unwrap_or(30) * 1000,
        "rise": config.get("FailureThreshold").and_then(Value::as_u64).unwrap_or(3),
        "fall": config.get("FailureThreshold").and_then(Value::as_u64).unwrap_or(3),
    });
    match field("IPAddress") {
        Some(address) if address != value => out["target"] = json!(address),
        Some(_) => {}
        None if rtype == "CNAME" => {
            return Err(format!(
                "health check {id} probes a name ({}); gslb checks probe addresses",
                field("FullyQualifiedDomainName").unwrap_or("?")
            ))
        }
        None => {}
    }
    out["kind"] = kind_json;
    Ok(out)
}

/// `r53-<8 hex>-<set identifier slug>`: a stable endpoint id base.
fn endpoint_base(name: &str, rtype: &str, set_identifier: &str) -> String {
    let digest = Sha256::digest(format!("{name} {rtype} {set_identifier}").as_bytes());
    let slug: String = set_identifier
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(40)
        .collect();
    format!(
        "r53-{}-{}",
        &hex::encode(digest)[..8],
        slug.trim_matches('-')
    )
}

/// Names in a value made absolute (Route 53 writes them with or without the final dot; gslb
/// reads a name without it as relative to the zone).
fn absolute_names(rtype: &str, value: &str) -> String {
    match rtype {
        "CNAME" | "NS" | "PTR" => absolute(value),
        "MX" | "SRV" => match value.rsplit_once(' ') {
            Some((head, name)) => format!("{head} {}", absolute(name)),
            None => value.to_string(),
        },
        _ => value.to_string(),
    }
}

fn absolute(name: &str) -> String {
    if name.ends_with('.') {
        name.to_string()
    } else {
        format!("{name}.")
    }
}

/// Route 53's octal escapes in names (`\052` for `*`) decoded.
fn unescape(name: &str) -> String {
    let mut out = String::new();
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            let digits: String = chars.clone().take(3).collect();
            if digits.len() == 3 && digits.chars().all(|d| ('0'..='7').contains(&d)) {
                if let Ok(code) = u8::from_str_radix(&digits, 8) {
                    out.push(char::from(code));
                    for _ in 0..3 {
                        chars.next();
                    }
                    continue;
                }
            }
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Value {
        let path = format!(
            "{}/tests/fixtures/route53/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
    }

    fn existing() -> Existing {
        Existing {
            zone: None,
            regions: ["home".to_string()].into(),
            default_region: Some("home".to_string()),
        }
    }

    /// Every supported routing policy of the documented shapes converts, each to its policy.
    #[test]
    fn supported_file_converts_to_one_document() {
        let document = convert(
            "example.com.",
            &fixture("records.json"),
            Some(&fixture("health-checks.json")),
            &existing(),
        )
        .unwrap_or_else(|problems| panic!("{problems:#?}"));
        let json = serde_json::to_value(&document).unwrap();
        let policy = |name: &str| {
            document
                .gslb_records
                .iter()
                .find(|record| record.record.name == name)
                .map(|record| serde_json::to_value(&record.record.policy).unwrap())
                .unwrap_or_else(|| panic!("no gslb record {name}: {json:#}"))
        };
        assert!(policy("www.example.com.").get("weighted").is_some());
        assert!(policy("api.example.com.").get("failover").is_some());
        assert!(policy("lat.example.com.").get("latency").is_some());
        let geo = policy("geo.example.com.");
        assert_eq!(geo["geo"]["rules"][0]["match"][0]["subdivision"], "US-CA");
        assert_eq!(geo["geo"]["rules"][1]["match"][0]["country"], "DE");
        assert_eq!(geo["geo"]["rules"][2]["match"][0]["continent"], "EU");
        assert_eq!(
            policy("near.example.com.")["proximity"][0]["bias_percent"],
            75
        );
        assert!(policy("multi.example.com.").get("endpoints").is_some());
        // The alias at the apex copies the weighted record.
        assert!(policy("example.com.").get("weighted").is_some());
        let zone = &json["zones"][0];
        assert_eq!(zone["soa"]["mname"], "ns-1.awsdns-01.org.");
        assert!(json["regions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == "us-east-1"));
        assert_eq!(document.checks.len(), 2, "{:#}", json["checks"]);
        assert_eq!(json["checks"][0]["kind"]["type"], "http");
        assert_eq!(json["checks"][0]["kind"]["path"], "/healthz");
        assert!(zone["records"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == "*.example.com." && r["type"] == "CNAME"));
    }

    /// A file with unsupported features is refused with every offending record named.
    #[test]
    fn unsupported_records_are_all_named() {
        let problems = convert(
            "example.com.",
            &fixture("unsupported.json"),
            Some(&fixture("health-checks.json")),
            &existing(),
        )
        .unwrap_err();
        let text = problems.join("\n");
        for needle in [
            "elb.example.com. A: alias to my-lb-1234.us-east-1.elb.amazonaws.com. outside the zone",
            "cidr.example.com. A [office]: IP-based (CIDR collection) routing",
            "calc.example.com. A [one]: health check 0000calc of type CALCULATED",
            "coords.example.com. A [here]: geoproximity by Coordinates",
            "nodefault.example.com. A: geolocation without a default",
            "txt.example.com. TXT [a]: a routing policy on TXT",
        ] {
            assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
        }
        assert_eq!(problems.len(), 6, "{text}");
        // Without a region for them, the sets' own problems are still named.
        let without_region = Existing {
            default_region: None,
            ..existing()
        };
        let problems = convert(
            "example.com.",
            &fixture("unsupported.json"),
            Some(&fixture("health-checks.json")),
            &without_region,
        )
        .unwrap_err()
        .join("\n");
        assert!(problems.contains("calc.example.com. A [one]: needs a gslb region"));
        assert!(problems.contains("calc.example.com. A [one]: health check 0000calc"));
        assert!(problems.contains("nodefault.example.com. A: geolocation without a default"));
    }

    #[test]
    fn octal_escapes_decode() {
        assert_eq!(unescape("\\052.example.com."), "*.example.com.");
        assert_eq!(unescape("a\\\\b"), "a\\\\b");
    }
}
