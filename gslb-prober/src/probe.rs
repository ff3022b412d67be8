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
