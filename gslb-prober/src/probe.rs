//! `Probe`: one check as a vantage runs it — the check, the address it connects to, and the
//! `fail` drill that makes it fail on purpose — and `plan_probes`, which picks from a `State`
//! the checks a vantage runs. Pure.

use std::net::IpAddr;

use gslb_model::model::{
    Check, CheckKind, CheckSubject, DrillMode, DrillStatus, EndpointTarget, State,
};

/// One check to run, with its address resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// The check as the store holds it.
    pub check: Check,
    /// Where to connect: `check.target`, else the endpoint's address. `None` for kinds that
    /// need none (`kube-local` lists its nodes).
    pub address: Option<IpAddr>,
    /// A running `fail` drill of the check's region: until its end the check fails without
    /// being run, so the region leaves DNS through the real health path (thresholds,
    /// reports, quorum, plan), and comes back through it.
    pub drill: Option<SimulatedFailure>,
}

/// A `fail` drill as a probe sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimulatedFailure {
    /// The drill id.
    pub drill: String,
    /// The region it fails.
    pub region: String,
    /// Wall time (unix millis) it ends by itself, even if no leader ever says so.
    pub until_ms: u64,
}

impl SimulatedFailure {
    /// Whether it still applies at wall time `now_ms`.
    pub fn applies_at(&self, now_ms: u64) -> bool {
        now_ms < self.until_ms
    }

    /// The error the failed attempt reports.
    pub fn error(&self) -> String {
        format!(
            "drill {}: region {} failed on purpose (fail mode)",
            self.drill, self.region
        )
    }
}

impl Probe {
    /// Whether `other` probes the same thing: same subject, kind (port, path, expectations,
    /// ...) and address. Only such an edit (interval, timeout, rise, fall, vantages, quorum, a
    /// drill) may keep the rise/fall runs; results about another target say nothing of this one.
    pub fn same_target(&self, other: &Probe) -> bool {
        self.address == other.address
            && self.check.subject == other.check.subject
            && self.check.kind == other.check.kind
    }
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
            let region = match &check.subject {
                CheckSubject::Endpoint(id) => state.endpoints.get(id).map(|e| e.region.as_str()),
                CheckSubject::Region(id) => Some(id.as_str()),
            };
            let drill = region.and_then(|region| failing_drill(state, region));
            let address = check.target.or(endpoint_address);
            if check.kind.needs_target() && address.is_none() {
                return None;
            }
            Some(Probe {
                check: check.clone(),
                address,
                drill,
            })
        })
        .collect()
}

/// The running `fail` drill of `region`, if any (at most one runs per region).
fn failing_drill(state: &State, region: &str) -> Option<SimulatedFailure> {
    state
        .drills
        .values()
        .find(|drill| {
            drill.region == region
                && drill.mode == DrillMode::Fail
                && drill.status == DrillStatus::Running
        })
        .map(|drill| SimulatedFailure {
            drill: drill.id.clone(),
            region: region.to_string(),
            until_ms: drill.planned_end,
        })
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
        let mut drilled = state.clone();
        drilled.drills.insert(
            "d1".into(),
            serde_json::from_value(json!({
                "id": "d1", "region": "eu", "mode": "fail", "started_at": 1,
                "planned_end": 9_000, "status": "running"
            }))
            .unwrap(),
        );
        let probes = plan_probes(&drilled, "eu");
        assert!(probes
            .iter()
            .all(|probe| probe.drill.as_ref().is_some_and(|sim| {
                sim.drill == "d1" && sim.region == "eu" && sim.until_ms == 9_000
            })));
        drilled.drills.get_mut("d1").unwrap().status = DrillStatus::Completed;
        assert!(plan_probes(&drilled, "eu")
            .iter()
            .all(|probe| probe.drill.is_none()));
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
