//! ExternalDNS's webhook wire format (provider/webhook in kubernetes-sigs/external-dns): the
//! media type, `Endpoint` with its `providerSpecific` list, the `Changes` of `POST /records`
//! and the domain filter `GET /` answers.
//!
//! Go decodes JSON keys case-insensitively, so older ExternalDNS releases that send
//! `plan.Changes` without JSON tags (`Create`, `UpdateOld`, ...) are read too.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The media type of every webhook request and answer.
pub const MEDIA_TYPE: &str = "application/external.dns.webhook+json;version=1";

/// One DNS name with its targets, as ExternalDNS plans it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Endpoint {
    /// The name, without a trailing dot (`www.example.com`).
    #[serde(default, alias = "DNSName")]
    pub dns_name: String,
    /// Addresses, names or texts, by record type.
    #[serde(default, alias = "Targets")]
    pub targets: Vec<String>,
    /// `A`, `AAAA`, `CNAME`, `TXT`, ...
    #[serde(default, alias = "RecordType")]
    pub record_type: String,
    /// Tells apart endpoints of one name and type that are answered by policy (one per
    /// region or weight); empty for a plain record.
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        alias = "SetIdentifier"
    )]
    pub set_identifier: String,
    /// TTL in seconds; 0: not configured (the zone's default).
    #[serde(
        rename = "recordTTL",
        default,
        skip_serializing_if = "is_zero",
        alias = "RecordTTL"
    )]
    pub record_ttl: i64,
    /// ExternalDNS's own labels (owner, resource); kept by its TXT registry, not by us.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty", alias = "Labels")]
    pub labels: BTreeMap<String, String>,
    /// Provider-specific settings; ours are `webhook/gslb-*` (from the annotations
    /// `external-dns.alpha.kubernetes.io/webhook-gslb-*`) or `webhook-gslb-*`.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        alias = "ProviderSpecific"
    )]
    pub provider_specific: Vec<ProviderSpecificProperty>,
}

fn is_zero(value: &i64) -> bool {
    *value == 0
}

/// One provider-specific setting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderSpecificProperty {
    /// Its name.
    #[serde(alias = "Name")]
    pub name: String,
    /// Its value.
    #[serde(default, alias = "Value")]
    pub value: String,
}

/// The body of `POST /records`: what to create, replace (old and new side by side) and
/// delete.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Changes {
    /// Endpoints to create.
    #[serde(default, alias = "Create")]
    pub create: Option<Vec<Endpoint>>,
    /// Endpoints as they are before an update.
    #[serde(default, alias = "UpdateOld")]
    pub update_old: Option<Vec<Endpoint>>,
    /// Endpoints as they are after an update.
    #[serde(default, alias = "UpdateNew")]
    pub update_new: Option<Vec<Endpoint>>,
    /// Endpoints to delete.
    #[serde(default, alias = "Delete")]
    pub delete: Option<Vec<Endpoint>>,
}

impl Changes {
    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        [
            &self.create,
            &self.update_old,
            &self.update_new,
            &self.delete,
        ]
        .iter()
        .all(|list| list.as_ref().is_none_or(Vec::is_empty))
    }
}

/// The domain filter `GET /` answers, in the shape ExternalDNS's `DomainFilter` marshals
/// (a `filters` key would be read as an empty filter that matches every domain).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DomainFilter {
    /// Names inside one of these domains are managed (empty: every name).
    pub include: Vec<String>,
    /// Names inside one of these are not.
    pub exclude: Vec<String>,
    /// A regular expression of managed names (unused: empty).
    pub regex_include: String,
    /// A regular expression of names left alone (unused: empty).
    pub regex_exclude: String,
}

impl DomainFilter {
    /// Whether `name` (with or without its trailing dot, any case) is managed.
    pub fn matches(&self, name: &str) -> bool {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        let inside = |domain: &String| {
            let domain = domain.trim_end_matches('.').to_ascii_lowercase();
            domain.is_empty() || name == domain || name.ends_with(&format!(".{domain}"))
        };
        (self.include.is_empty() || self.include.iter().any(inside))
            && !self.exclude.iter().any(inside)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The documented JSON of an endpoint and of a change set decode, in both spellings.
    #[test]
    fn documented_shapes_decode() {
        let changes: Changes = serde_json::from_str(
            r#"{"create":[{"dnsName":"www.example.com","targets":["192.0.2.1"],
                "recordType":"A","setIdentifier":"eu","recordTTL":60,
                "labels":{"owner":"default"},
                "providerSpecific":[{"name":"webhook/gslb-region","value":"eu-west"}]}],
                "updateOld":[],"updateNew":null}"#,
        )
        .unwrap();
        let create = changes.create.unwrap();
        assert_eq!(create[0].dns_name, "www.example.com");
        assert_eq!(create[0].record_ttl, 60);
        assert_eq!(create[0].provider_specific[0].value, "eu-west");
        let old: Changes = serde_json::from_str(
            r#"{"Create":null,"UpdateOld":null,"UpdateNew":null,
                "Delete":[{"dnsName":"a.example.com","targets":["x"],"recordType":"TXT"}]}"#,
        )
        .unwrap();
        assert_eq!(old.delete.unwrap()[0].record_type, "TXT");
    }

    /// The negotiation answer has exactly ExternalDNS's keys.
    #[test]
    fn domain_filter_has_the_wire_keys() {
        let json = serde_json::to_string(&DomainFilter::default()).unwrap();
        assert_eq!(
            json,
            r#"{"include":[],"exclude":[],"regexInclude":"","regexExclude":""}"#
        );
        let filter = DomainFilter {
            include: vec!["example.com".into()],
            exclude: vec!["internal.example.com".into()],
            ..DomainFilter::default()
        };
        assert!(filter.matches("www.example.com"));
        assert!(filter.matches("EXAMPLE.com."));
        assert!(!filter.matches("badexample.com"));
        assert!(!filter.matches("db.internal.example.com"));
    }
}
