//! Zones on the wire: `ZoneDto` (the whole zone with its record sets), `SoaDto` with
//! defaults for the timers, and `ZoneSummary` for lists.

use gslb_model::model::transfer::{parse_key_name, parse_notify_target};
use gslb_model::model::{
    DomainName, FieldErrors, SerialPolicy, Soa, TransferPeer, Zone, ZoneTransfer,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::dto::record::RecordSetDto;

/// A zone: its SOA, default TTL and every static record set (the apex NS set included).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ZoneDto {
    /// The apex, e.g. `svc.example.com.` (a trailing dot is added when missing).
    pub apex: String,
    /// The start of authority.
    pub soa: SoaDto,
    /// TTL of records given without one, seconds (default 300).
    #[serde(default = "default_ttl")]
    pub default_ttl: u32,
    /// The record sets; names may be relative to the apex.
    #[serde(default)]
    pub records: Vec<RecordSetDto>,
    /// How the SOA serial moves on every committed change to the zone (default `increment`).
    /// A serial written explicitly (here or by a zone import) is kept when it is newer in RFC
    /// 1982 terms than the zone's current one.
    #[serde(default)]
    pub serial_policy: SerialPolicyDto,
    /// Who may AXFR/IXFR the zone and which secondaries get NOTIFY. Absent in a `PUT` or a
    /// zone import: the zone keeps its settings; absent in an apply document: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer: Option<ZoneTransferDto>,
}

/// A zone's transfer settings (`/v1/zones/{zone}/transfer`, `gslbctl zone transfer`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ZoneTransferDto {
    /// Who may AXFR/IXFR: `key:NAME` (a TSIG key) or a source network (`192.0.2.0/24`,
    /// or a bare address). Anyone else is REFUSED.
    #[serde(default)]
    pub allow: Vec<String>,
    /// Secondaries notified (RFC 1996) on every serial change: `ADDR` (port 53) or
    /// `ADDR:PORT` (`[V6]:PORT`).
    #[serde(default)]
    pub notify: Vec<String>,
    /// GSLB names left out of transfers (relative to the apex, or absolute). Others are
    /// transferred as the answer a client of unknown location gets at that moment.
    #[serde(default)]
    pub omit_gslb: Vec<String>,
    /// The TSIG key (`gslbctl tsig create`) NOTIFY messages are signed with, for
    /// secondaries that accept only signed NOTIFY; absent: unsigned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_key: Option<String>,
}

impl ZoneTransferDto {
    /// Converts to the model, naming every bad entry under `path` (e.g. `transfer.`).
    pub fn to_model(&self, apex: &DomainName, path: &str) -> Result<ZoneTransfer, FieldErrors> {
        let mut errors = FieldErrors::default();
        let mut transfer = ZoneTransfer::default();
        for (index, text) in self.allow.iter().enumerate() {
            match text.parse::<TransferPeer>() {
                Ok(peer) => transfer.allow.push(peer),
                Err(message) => errors.push(format!("{path}allow[{index}]"), message),
            }
        }
        for (index, text) in self.notify.iter().enumerate() {
            match parse_notify_target(text) {
                Ok(target) => transfer.notify.push(target),
                Err(message) => errors.push(format!("{path}notify[{index}]"), message),
            }
        }
        for (index, text) in self.omit_gslb.iter().enumerate() {
            match DomainName::parse_relative_to(text, apex) {
                Ok(name) => transfer.omit_gslb.push(name),
                Err(error) => errors.push(format!("{path}omit_gslb[{index}]"), error.to_string()),
            }
        }
        if let Some(key) = &self.notify_key {
            match parse_key_name(key) {
                Ok(name) => transfer.notify_key = Some(name),
                Err(message) => errors.push(format!("{path}notify_key"), message),
            }
        }
        errors.into_result().map(|()| transfer)
    }

    /// The DTO of model settings.
    pub fn from_model(transfer: &ZoneTransfer) -> ZoneTransferDto {
        ZoneTransferDto {
            allow: transfer.allow.iter().map(ToString::to_string).collect(),
            notify: transfer.notify.iter().map(ToString::to_string).collect(),
            omit_gslb: transfer.omit_gslb.iter().map(ToString::to_string).collect(),
            notify_key: transfer.notify_key.clone(),
        }
    }
}

/// How a zone's SOA serial moves on each committed change.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SerialPolicyDto {
    /// One more than the serial before.
    #[default]
    Increment,
    /// Seconds since the Unix epoch, or one more when that is not newer.
    Unixtime,
    /// `YYYYMMDDnn` of the change's UTC day.
    Dateserial,
}

impl SerialPolicyDto {
    fn to_model(self) -> SerialPolicy {
        match self {
            SerialPolicyDto::Increment => SerialPolicy::Increment,
            SerialPolicyDto::Unixtime => SerialPolicy::Unixtime,
            SerialPolicyDto::Dateserial => SerialPolicy::Dateserial,
        }
    }

    fn from_model(policy: SerialPolicy) -> Self {
        match policy {
            SerialPolicy::Increment => SerialPolicyDto::Increment,
            SerialPolicy::Unixtime => SerialPolicyDto::Unixtime,
            SerialPolicy::Dateserial => SerialPolicyDto::Dateserial,
        }
    }
}

/// The SOA fields; the timers have RFC 1912 style defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SoaDto {
    /// Primary name server (may be relative to the apex).
    pub mname: String,
    /// Responsible mailbox in name form, e.g. `hostmaster` (may be relative).
    pub rname: String,
    /// Serial number (default 1).
    #[serde(default = "default_serial")]
    pub serial: u32,
    /// Refresh, seconds (default 3600).
    #[serde(default = "default_refresh")]
    pub refresh: u32,
    /// Retry, seconds (default 600).
    #[serde(default = "default_retry")]
    pub retry: u32,
    /// Expire, seconds (default 1209600).
    #[serde(default = "default_expire")]
    pub expire: u32,
    /// Negative-caching TTL, seconds (default 300).
    #[serde(default = "default_ttl")]
    pub minimum: u32,
    /// TTL of the SOA record, seconds (default 3600).
    #[serde(default = "default_refresh")]
    pub ttl: u32,
}

fn default_ttl() -> u32 {
    300
}
fn default_serial() -> u32 {
    1
}
fn default_refresh() -> u32 {
    3600
}
fn default_retry() -> u32 {
    600
}
fn default_expire() -> u32 {
    1_209_600
}

/// One line of the zone list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ZoneSummary {
    /// The apex.
    pub apex: String,
    /// The SOA serial.
    pub serial: u32,
    /// How many record sets the zone holds.
    pub record_sets: usize,
}

/// Parses a zone name given in a path or body: absolute, or made absolute by adding the dot.
pub fn parse_apex(text: &str) -> Result<DomainName, String> {
    if text.is_empty() {
        return Err("empty name (the root is \".\")".to_string());
    }
    let absolute = if text.ends_with('.') {
        text.to_string()
    } else {
        format!("{text}.")
    };
    DomainName::parse_absolute(&absolute).map_err(|error| error.to_string())
}

impl ZoneDto {
    /// Converts to the model, reporting every fault under `path` (`""` at the top of a body).
    /// Record sets keep their order, so the store's `rrsets[i]` is this DTO's `records[i]`.
    pub fn to_model(&self, path: &str) -> Result<Zone, FieldErrors> {
        let prefix = if path.is_empty() {
            String::new()
        } else {
            format!("{path}.")
        };
        let mut errors = FieldErrors::default();
        let apex = match parse_apex(&self.apex) {
            Ok(apex) => apex,
            Err(message) => {
                errors.push(format!("{prefix}apex"), message);
                return Err(errors);
            }
        };
        let mut name = |field: &str, value: &str| match DomainName::parse_relative_to(value, &apex)
        {
            Ok(name) => Some(name),
            Err(error) => {
                errors.push(format!("{prefix}soa.{field}"), error.to_string());
                None
            }
        };
        let mname = name("mname", &self.soa.mname);
        let rname = name("rname", &self.soa.rname);
        let mut rrsets = Vec::with_capacity(self.records.len());
        for (index, record) in self.records.iter().enumerate() {
            if let Some(set) = record.to_model(
                &apex,
                self.default_ttl,
                &format!("{prefix}records[{index}]"),
                &mut errors,
            ) {
                rrsets.push(set);
            }
        }
        let (Some(mname), Some(rname)) = (mname, rname) else {
            return Err(errors);
        };
        let transfer = match &self.transfer {
            Some(transfer) => match transfer.to_model(&apex, &format!("{prefix}transfer.")) {
                Ok(transfer) => transfer,
                Err(more) => {
                    errors.0.extend(more.0);
                    ZoneTransfer::default()
                }
            },
            None => ZoneTransfer::default(),
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Zone {
            transfer,
            serial_policy: self.serial_policy.to_model(),
            apex,
            soa: Soa {
                mname,
                rname,
                serial: self.soa.serial,
                refresh: self.soa.refresh,
                retry: self.soa.retry,
                expire: self.soa.expire,
                minimum: self.soa.minimum,
                ttl: self.soa.ttl,
            },
            default_ttl: self.default_ttl,
            rrsets: rrsets.into(),
        })
    }

    /// The DTO of a model zone, with absolute names.
    pub fn from_model(zone: &Zone) -> ZoneDto {
        ZoneDto {
            apex: zone.apex.to_string(),
            soa: SoaDto {
                mname: zone.soa.mname.to_string(),
                rname: zone.soa.rname.to_string(),
                serial: zone.soa.serial,
                refresh: zone.soa.refresh,
                retry: zone.soa.retry,
                expire: zone.soa.expire,
                minimum: zone.soa.minimum,
                ttl: zone.soa.ttl,
            },
            default_ttl: zone.default_ttl,
            records: zone
                .rrsets
                .iter()
                .filter_map(RecordSetDto::from_model)
                .collect(),
            serial_policy: SerialPolicyDto::from_model(zone.serial_policy),
            transfer: (!zone.transfer.is_empty())
                .then(|| ZoneTransferDto::from_model(&zone.transfer)),
        }
    }
}

impl ZoneSummary {
    /// The summary of a model zone.
    pub fn from_model(zone: &Zone) -> ZoneSummary {
        ZoneSummary {
            apex: zone.apex.to_string(),
            serial: zone.soa.serial,
            record_sets: zone.rrsets.len(),
        }
    }
}
