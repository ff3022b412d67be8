//! `Probe`: one check as a vantage runs it — the check and the address it connects to —
//! and `plan_probes`, which picks from a `State` the checks a vantage runs. Pure.

use std::net::IpAddr;

use gslb_store::model::{Check, CheckKind, CheckSubject, EndpointTarget, State};

/// One check to run, with its address resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// The check as the store holds it.
    pub check: Check,
    /// Where to connect: `check.target`, else the endpoint's address. `None` for kinds that
    /// need none (`kube-local` lists its nodes).
    pub address: Option<IpAddr>,
}

/// The checks `vantage` runs in `state`, with addresses resolved: every check whose
/// `vantages` is empty or names it, except `external` checks (pushed, never probed) and
/// checks whose address cannot be found (validation prevents those; an endpoint edited to a
/// CNAME afterwards is skipped).
pub fn plan_probes(state: &State, vantage: &str) -> Vec<Probe> {
    state
        .checks
        .values()
        .filter(|check| !matches!(check.kind, CheckKind::External(_)))
        .filter(|check| check.vantages.is_empty() || check.vantages.contains(vantage))
        .filter_map(|check| {
            let endpoint_address = match &check.subject {
                CheckSubject::Endpoint(id) => match state.endpoints.get(id)?.target {
                    EndpointTarget::Address(address) => Some(address),
                    EndpointTarget::Cname(_) => None,
                },
                CheckSubject::Region(_) => None,
            };
            let address = check.target.or(endpoint_address);
            if check.kind.needs_target() && address.is_none() {
                return None;
            }
            Some(Probe {
                check: check.clone(),
                address,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Which checks a vantage runs, and where they connect.
    #[test]
    fn a_vantage_runs_its_checks_with_resolved_addresses() {
        let state: State = serde_json::from_value(json!({
            "version": 1, "zones": {},
            "regions": {
                "eu": {"id": "eu", "location": {"lat_micro": 0, "lon_micro": 0,
                                                 "country": "DE", "continent": "EU"}}
            },
            "endpoints": {
                "web": {"id": "web", "region": "eu", "weight": 1, "admin": "enabled",
                        "target": {"kind": "address", "value": "192.0.2.1"}},
                "alias": {"id": "alias", "region": "eu", "weight": 1, "admin": "enabled",
                          "target": {"kind": "cname", "value": "lb.example.net."}}
            },
            "checks": {
                "web-tcp": {"id": "web-tcp", "subject": {"kind": "endpoint", "id": "web"},
                            "kind": {"type": "tcp", "port": 443}},
                "web-other": {"id": "web-other", "subject": {"kind": "endpoint", "id": "web"},
                              "target": "198.51.100.7", "vantages": ["us"],
                              "kind": {"type": "tcp", "port": 443}},
                "alias-tcp": {"id": "alias-tcp", "subject": {"kind": "endpoint", "id": "alias"},
                              "kind": {"type": "tcp", "port": 443}},
                "web-ext": {"id": "web-ext", "subject": {"kind": "endpoint", "id": "web"},
                            "kind": {"type": "external", "ttl_ms": 5000}},
                "eu-kube": {"id": "eu-kube", "subject": {"kind": "region", "id": "eu"},
                            "kind": {"type": "kube-local", "nodes": ["192.0.2.9"], "port": 31000}}
            }
        }))
        .unwrap();
        let planned = |vantage| -> Vec<(String, Option<IpAddr>)> {
            plan_probes(&state, vantage)
                .into_iter()
                .map(|probe| (probe.check.id, probe.address))
                .collect()
        };
        let web: IpAddr = "192.0.2.1".parse().unwrap();
        let other: IpAddr = "198.51.100.7".parse().unwrap();
        assert_eq!(
            planned("eu"),
            [
                ("eu-kube".to_string(), None),
                ("web-tcp".to_string(), Some(web))
            ]
        );
        assert_eq!(
            planned("us"),
            [
                ("eu-kube".to_string(), None),
                ("web-other".to_string(), Some(other)),
                ("web-tcp".to_string(), Some(web))
            ]
        );
    }
}
