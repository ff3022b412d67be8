//! `ZoneWalk`: the rules of a zone that cross record sets (a CNAME beside other data, the
//! apex's NS set and no CNAME there, DS only at a delegation, nothing below a DNAME, only glue
//! below a delegation), checked as the sets go by once in canonical (owner, type) order.
//!
//! `Zone::validate` walks a whole zone with it. A staged import walks each chunk as it is
//! staged and keeps the walk between chunks (it is small and serializable, so it lives in the
//! state beside the staged sets): the commit then only finishes the last owner name and
//! checks the apex, instead of walking a million sets in one apply.
//!
//! Invariant: the errors of a walk depend only on the sets pushed, in order, not on how they
//! were cut into pushes; each cross-set error is reported once, when the owner name it
//! concerns is complete (the next name arrives, or `finish`).

use serde::{Deserialize, Serialize};

use crate::model::name::DomainName;
use crate::model::record::RecordType;
use crate::model::validation::FieldErrors;

/// The state of a walk over a zone's sets in canonical order (see the module doc).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneWalk {
    /// The owner name whose sets are arriving (`None` before the first set).
    name: Option<DomainName>,
    /// Its sets so far, as (position in the walk's numbering, type), in arrival order.
    run: Vec<(u64, RecordType)>,
    /// Whether the apex has been seen with an NS set.
    apex_has_ns: bool,
    /// The topmost delegation above the names now arriving, if any.
    topmost_cut: Option<DomainName>,
    /// The DNAME owner whose subtree the names now arriving lie in, if any.
    below_dname: Option<DomainName>,
}

impl ZoneWalk {
    /// Takes the set at `position` (numbered by the caller, reported through `path_of`) owned
    /// by `name` of type `rtype`; the sets must come in canonical order. Errors of the name
    /// before it, when this one starts a new name, go to `errors`.
    pub fn push(
        &mut self,
        apex: &DomainName,
        position: u64,
        name: &DomainName,
        rtype: RecordType,
        path_of: &dyn Fn(u64) -> String,
        errors: &mut FieldErrors,
    ) {
        if self.name.as_ref() != Some(name) {
            self.close_name(apex, path_of, errors);
            self.name = Some(name.clone());
        }
        self.run.push((position, rtype));
    }

    /// Ends the walk: checks the last name and that the apex has an NS set (reported under
    /// `sets_path`, the path of the whole sequence of sets).
    pub fn finish(
        &mut self,
        apex: &DomainName,
        path_of: &dyn Fn(u64) -> String,
        sets_path: &str,
        errors: &mut FieldErrors,
    ) {
        self.close_name(apex, path_of, errors);
        if !self.apex_has_ns {
            errors.push(sets_path, format!("the apex {apex} needs an NS record set"));
        }
    }

    /// The distinct types of the current name, ascending (the run arrives in type order).
    fn types(&self) -> Vec<RecordType> {
        let mut types: Vec<RecordType> = self.run.iter().map(|&(_, rtype)| rtype).collect();
        types.dedup();
        types
    }

    fn has(&self, rtype: RecordType) -> bool {
        self.run.iter().any(|&(_, other)| other == rtype)
    }

    /// The path to blame for a cross-set error at the current name: its `preferred` set when
    /// it has one, else its first type's; the last of a repeated one, so a zone-file reader
    /// can map it to a line.
    fn blame(&self, preferred: Option<RecordType>, path_of: &dyn Fn(u64) -> String) -> String {
        let rtype = preferred
            .filter(|rtype| self.has(*rtype))
            .unwrap_or(self.run[0].1);
        let position = self
            .run
            .iter()
            .rev()
            .find(|&&(_, other)| other == rtype)
            .map_or(self.run[0].0, |&(position, _)| position);
        path_of(position)
    }

    /// Checks the current name, now complete, and forgets its sets.
    fn close_name(
        &mut self,
        apex: &DomainName,
        path_of: &dyn Fn(u64) -> String,
        errors: &mut FieldErrors,
    ) {
        let Some(name) = self.name.take() else {
            return;
        };
        let types = self.types();
        let has_cname = self.has(RecordType::CNAME);
        if has_cname && types.len() > 1 {
            errors.push(
                self.blame(Some(RecordType::CNAME), path_of),
                format!("{name} has a CNAME and other data ({})", join_types(&types)),
            );
        }
        let at_apex = &name == apex;
        if at_apex {
            self.apex_has_ns = self.has(RecordType::NS);
            if has_cname {
                errors.push(
                    self.blame(Some(RecordType::CNAME), path_of),
                    format!("the apex {name} cannot be a CNAME"),
                );
            }
        }
        // A name's descendants follow it in canonical order, so the topmost delegation (and
        // the DNAME) above a name is the one the walk is still inside.
        if self
            .topmost_cut
            .as_ref()
            .is_some_and(|cut| !name.is_subdomain_of(cut))
        {
            self.topmost_cut = None;
        }
        let delegation = !at_apex && types.contains(&RecordType::NS);
        // A DS at the apex is the parent's copy some zone files carry; served as data, as NSD
        // and Knot do.
        if !delegation && !at_apex && types.contains(&RecordType::DS) {
            errors.push(
                self.blame(Some(RecordType::DS), path_of),
                format!(
                    "{name} DS: a DS belongs at a delegation (beside an NS set below the apex) \
                     or the apex, held by the parent (RFC 4035 §2.4)"
                ),
            );
        }
        // A DNAME redirects its whole subtree: nothing may live below it (RFC 6672 §2.3).
        if self
            .below_dname
            .as_ref()
            .is_some_and(|owner| !name.is_subdomain_of(owner))
        {
            self.below_dname = None;
        }
        if let Some(owner) = &self.below_dname {
            errors.push(
                self.blame(None, path_of),
                format!(
                    "{name} lies below the DNAME at {owner}; a DNAME's subtree holds no data \
                     (RFC 6672 §2.3)"
                ),
            );
        } else if types.contains(&RecordType::DNAME) {
            self.below_dname = Some(name.clone());
        }
        // Below a delegation only glue (A/AAAA) is allowed; anything else would be occluded.
        if let Some(cut) = &self.topmost_cut {
            if types
                .iter()
                .any(|t| !matches!(t, RecordType::A | RecordType::AAAA))
            {
                errors.push(
                    self.blame(None, path_of),
                    format!(
                        "{name} lies below the delegation {cut}; only glue (A/AAAA) may be there"
                    ),
                );
            }
        }
        if delegation {
            if types.iter().any(|t| {
                !matches!(
                    t,
                    RecordType::NS | RecordType::DS | RecordType::A | RecordType::AAAA
                )
            }) {
                errors.push(
                    self.blame(None, path_of),
                    format!(
                        "{name} is a delegation; only NS, DS and glue may be there ({})",
                        join_types(&types)
                    ),
                );
            }
            if self.topmost_cut.is_none() {
                self.topmost_cut = Some(name);
            }
        }
        self.run.clear();
    }
}

/// `A, NS, …` for a message.
pub(crate) fn join_types(types: &[RecordType]) -> String {
    types
        .iter()
        .map(|t| t.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
