//! `get`, `create` and `delete` of every resource kind: one listing, one file of items, or
//! one item by name.

use std::path::Path;

use anyhow::{anyhow, bail, Result};
use gslb_api::dto::{EndpointDto, RecordSetDto, RegionDto, ZoneDto};
use gslb_model::model::DomainName;

use crate::ctl::{parse_apex, parse_one_or_many, read_input, Ctl};
use crate::print::*;
use crate::Kind;

impl Ctl {
    pub(crate) async fn get(
        &self,
        kind: Kind,
        name: Option<String>,
        zone: Option<String>,
        rtype: Option<String>,
    ) -> Result<()> {
        let client = &self.client;
        match (kind, name) {
            (Kind::Zones, None) => {
                let zones = client.list_zones().await?;
                self.show(&zones, || zone_table(&zones))
            }
            (Kind::Zones, Some(apex)) => {
                let zone = client.get_zone(&apex).await?;
                self.show(&zone, || {
                    outln!(
                        "zone {}  serial {}  default ttl {}  soa {} {}",
                        zone.apex,
                        zone.soa.serial,
                        zone.default_ttl,
                        zone.soa.mname,
                        zone.soa.rname
                    );
                    record_table(&zone.records);
                })
            }
            (Kind::Records, name) => {
                let zone = zone.ok_or_else(|| anyhow!("get records needs --zone ZONE"))?;
                let mut records = client.list_records(&zone).await?;
                if let Some(name) = name {
                    let apex = parse_apex(&zone)?;
                    let owner = DomainName::parse_relative_to(&name, &apex)
                        .map_err(|error| anyhow!("bad name {name:?}: {error}"))?
                        .to_string();
                    records.retain(|set| {
                        set.name == owner
                            && rtype
                                .as_deref()
                                .is_none_or(|t| set.rtype.to_string().eq_ignore_ascii_case(t))
                    });
                    if records.is_empty() {
                        bail!(
                            "no record set {owner} {} in {zone}",
                            rtype.unwrap_or_default()
                        );
                    }
                }
                self.show(&records, || record_table(&records))
            }
            (Kind::Regions, name) => {
                let mut regions = client.list_regions().await?;
                keep_only_id(&mut regions, name, |region| &region.id, "region")?;
                self.show(&regions, || region_table(&regions))
            }
            (Kind::Endpoints, name) => {
                let mut endpoints = client.list_endpoints().await?;
                keep_only_id(&mut endpoints, name, |endpoint| &endpoint.id, "endpoint")?;
                self.show(&endpoints, || endpoint_table(&endpoints))
            }
            (Kind::Tokens, name) => {
                let mut tokens = client.list_tokens().await?;
                keep_only_id(&mut tokens, name, |token| &token.id, "token")?;
                self.show(&tokens, || token_table(&tokens))
            }
            (Kind::GslbRecords, name) => {
                let zone = zone.ok_or_else(|| anyhow!("get gslb-records needs --zone ZONE"))?;
                let mut records = client.list_gslb_records(&zone).await?;
                if let Some(name) = name {
                    let apex = parse_apex(&zone)?;
                    let owner = DomainName::parse_relative_to(&name, &apex)
                        .map_err(|error| anyhow!("bad name {name:?}: {error}"))?
                        .to_string();
                    records.retain(|record| {
                        record.name == owner
                            && rtype
                                .as_deref()
                                .is_none_or(|t| record.rtype.to_string().eq_ignore_ascii_case(t))
                    });
                    if records.is_empty() {
                        bail!("no gslb record {owner} in {zone}");
                    }
                }
                self.show(&records, || gslb_record_table(&records))
            }
            (Kind::Checks, name) => {
                let mut checks = client.list_checks().await?;
                keep_only_id(&mut checks, name, |check| &check.id, "check")?;
                self.show(&checks, || check_table(&checks))
            }
            (Kind::Overrides, name) => {
                let mut rules = client.list_overrides().await?;
                keep_only_id(&mut rules, name, |rule| &rule.id, "override")?;
                self.show(&rules, || override_table(&rules))
            }
            (Kind::Networks, name) => {
                let mut networks = client.list_networks().await?;
                let name = name.map(|cidr| canonical_cidr(&cidr)).transpose()?;
                keep_only_id(&mut networks, name, |network| &network.cidr, "network")?;
                self.show(&networks, || network_table(&networks))
            }
            (Kind::Drills, name) => {
                let mut drills = client.list_drills().await?;
                keep_only_id(&mut drills, name, |drill| &drill.id, "drill")?;
                self.show(&drills, || drill_table(&drills))
            }
            (Kind::Audit, _) => {
                let entries = client.audit().await?;
                self.show(&entries, || audit_table(&entries))
            }
        }
    }

    pub(crate) async fn create(&self, kind: Kind, file: &Path, zone: Option<String>) -> Result<()> {
        let text = read_input(file)?;
        let client = &self.client;
        match kind {
            Kind::Zones => {
                for zone in parse_one_or_many::<ZoneDto>(&text, file)? {
                    let result = client.put_zone(&zone).await?;
                    self.written(&format!("zone {}", zone.apex), result).await?;
                }
            }
            Kind::Records => {
                let zone = zone.ok_or_else(|| anyhow!("create records needs --zone ZONE"))?;
                for record in parse_one_or_many::<RecordSetDto>(&text, file)? {
                    let result = client.put_record(&zone, &record).await?;
                    self.written(
                        &format!("record {} {} in {zone}", record.name, record.rtype),
                        result,
                    )
                    .await?;
                }
            }
            Kind::Regions => {
                for region in parse_one_or_many::<RegionDto>(&text, file)? {
                    let result = client.put_region(&region).await?;
                    self.written(&format!("region {}", region.id), result)
                        .await?;
                }
            }
            Kind::Endpoints => {
                for endpoint in parse_one_or_many::<EndpointDto>(&text, file)? {
                    let result = client.put_endpoint(&endpoint).await?;
                    self.written(&format!("endpoint {}", endpoint.id), result)
                        .await?;
                }
            }
            Kind::GslbRecords => {
                let zone = zone.ok_or_else(|| anyhow!("create gslb-records needs --zone ZONE"))?;
                for record in parse_one_or_many::<gslb_api::dto::GslbRecordDto>(&text, file)? {
                    let result = client.put_gslb_record(&zone, &record).await?;
                    self.written(
                        &format!("gslb record {} {} in {zone}", record.name, record.rtype),
                        result,
                    )
                    .await?;
                }
            }
            Kind::Checks => {
                for check in parse_one_or_many::<gslb_api::dto::CheckDto>(&text, file)? {
                    let result = client.put_check(&check).await?;
                    self.written(&format!("check {}", check.id), result).await?;
                }
            }
            Kind::Overrides => {
                for rule in parse_one_or_many::<gslb_api::dto::OverrideDto>(&text, file)? {
                    let result = client.put_override(&rule).await?;
                    self.written(&format!("override {}", rule.id), result)
                        .await?;
                }
            }
            Kind::Networks => {
                for network in parse_one_or_many::<gslb_api::dto::NetworkDto>(&text, file)? {
                    let result = client.put_network(&network).await?;
                    self.written(&format!("network {}", network.cidr), result)
                        .await?;
                }
            }
            Kind::Drills => bail!("drills are started by the drill runner, not created here"),
            Kind::Tokens => bail!("create tokens with: gslbctl token create ID --scope SCOPE"),
            Kind::Audit => bail!("the audit log is written by the server, not created"),
        }
        Ok(())
    }

    pub(crate) async fn delete(
        &self,
        kind: Kind,
        name: &str,
        zone: Option<String>,
        rtype: Option<String>,
    ) -> Result<()> {
        let client = &self.client;
        let (what, result) = match kind {
            Kind::Zones => (format!("zone {name}"), client.delete_zone(name).await?),
            Kind::Records => {
                let zone = zone.ok_or_else(|| anyhow!("delete records needs --zone ZONE"))?;
                let rtype = rtype.ok_or_else(|| anyhow!("delete records needs --type TYPE"))?;
                (
                    format!("record {name} {rtype} in {zone}"),
                    client.delete_record(&zone, name, &rtype).await?,
                )
            }
            Kind::Regions => (format!("region {name}"), client.delete_region(name).await?),
            Kind::Endpoints => (
                format!("endpoint {name}"),
                client.delete_endpoint(name).await?,
            ),
            Kind::Tokens => (format!("token {name}"), client.delete_token(name).await?),
            Kind::Checks => (format!("check {name}"), client.delete_check(name).await?),
            Kind::GslbRecords => {
                let zone = zone.ok_or_else(|| anyhow!("delete gslb-records needs --zone ZONE"))?;
                let rtype =
                    rtype.ok_or_else(|| anyhow!("delete gslb-records needs --type TYPE"))?;
                (
                    format!("gslb record {name} {rtype} in {zone}"),
                    client.delete_gslb_record(&zone, name, &rtype).await?,
                )
            }
            Kind::Overrides => (
                format!("override {name}"),
                client.delete_override(name).await?,
            ),
            Kind::Networks => {
                let cidr = canonical_cidr(name)?;
                (
                    format!("network {cidr}"),
                    client.delete_network(&cidr).await?,
                )
            }
            Kind::Drills => bail!("drills cannot be deleted"),
            Kind::Audit => bail!("the audit log cannot be deleted"),
        };
        self.written(&format!("{what} deleted"), result).await
    }
}

/// With `id`, keeps only the item with that id, or fails naming the `kind`.
pub(crate) fn keep_only_id<T>(
    items: &mut Vec<T>,
    id: Option<String>,
    id_of: impl Fn(&T) -> &String,
    kind: &str,
) -> Result<()> {
    if let Some(id) = id {
        items.retain(|item| *id_of(item) == id);
        if items.is_empty() {
            bail!("no {kind} {id:?}");
        }
    }
    Ok(())
}

/// `text` as the canonical CIDR the server keys networks by.
pub(crate) fn canonical_cidr(text: &str) -> Result<String> {
    gslb_api::dto::network::parse_cidr(text)
        .map(|cidr| cidr.to_string())
        .map_err(|message| anyhow!("bad network {text:?}: {message}"))
}
