//! `Causes`: which operator and lease conditions took part in one decision (an override in
//! force on a judged region or endpoint, a guarded region whose lease lapsed or never came),
//! recorded by `CauseTracer` while the ordinary evaluator runs. The DNS path counts them in
//! its metrics; a bit set in a `u8`, so recording costs a branch and never allocates.

use crate::policy::explain::{Reason, Tracer, Verdict};

/// A set of conditions that shaped one decision.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Causes(u8);

/// One condition that can shape a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// An operator override (`drain`, `force_down`, `force_up`) on a judged region or
    /// endpoint decided its verdict.
    Override = 0,
    /// A judged region of a `split_brain_guard` record had a lease that ran out.
    LeaseExpired = 1,
    /// A judged region of a `split_brain_guard` record never had a lease.
    NoLease = 2,
}

impl Cause {
    /// Every cause, in the order of their metric slots.
    pub const ALL: [Cause; 3] = [Cause::Override, Cause::LeaseExpired, Cause::NoLease];

    /// The label an operator sees.
    pub fn name(self) -> &'static str {
        match self {
            Cause::Override => "override",
            Cause::LeaseExpired => "lease_expired",
            Cause::NoLease => "no_lease",
        }
    }
}

impl Causes {
    /// Adds `cause`.
    pub fn insert(&mut self, cause: Cause) {
        self.0 |= 1 << cause as u8;
    }

    /// Whether `cause` is in the set.
    pub fn contains(self, cause: Cause) -> bool {
        self.0 & (1 << cause as u8) != 0
    }

    /// True when no condition took part.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// The tracer the DNS path evaluates with: ignores notes (their messages are never built)
/// and keeps only the causes among endpoint verdicts.
#[derive(Debug, Clone, Copy, Default)]
pub struct CauseTracer {
    /// What was seen so far.
    pub causes: Causes,
}

impl Tracer for CauseTracer {
    #[inline(always)]
    fn note(&mut self, _node: usize, _message: impl FnOnce() -> String) {}

    #[inline(always)]
    fn endpoint(&mut self, _endpoint: usize, verdict: Verdict) {
        match verdict.reason {
            Reason::EndpointOverride(_) | Reason::RegionOverride(_) => {
                self.causes.insert(Cause::Override)
            }
            Reason::LeaseExpired(_) => self.causes.insert(Cause::LeaseExpired),
            Reason::NoLease => self.causes.insert(Cause::NoLease),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Inserted causes are found, others are not.
    #[test]
    fn a_cause_set_holds_what_was_inserted() {
        let mut causes = Causes::default();
        assert!(causes.is_empty());
        causes.insert(Cause::LeaseExpired);
        assert!(causes.contains(Cause::LeaseExpired));
        assert!(!causes.contains(Cause::Override));
        assert!(!causes.contains(Cause::NoLease));
        assert!(!causes.is_empty());
    }
}
