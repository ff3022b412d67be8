//! `Threshold`: the rise/fall state machine one vantage keeps per check. Pure: results in,
//! transitions out.
//!
//! A check starts `Unknown` (never reported). `rise` consecutive successes make it up and
//! `fall` consecutive failures make it down, from `Unknown` as from the other state, so a
//! first report needs as many agreeing attempts as a later flip and one odd result never
//! reaches the store.

/// A vantage's verdict on one check after its thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// Not enough agreeing attempts yet.
    Unknown,
    /// `rise` consecutive successes.
    Up,
    /// `fall` consecutive failures.
    Down,
}

/// A change of verdict: what the prober writes to the store at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    /// The verdict before.
    pub from: Verdict,
    /// The verdict now (never `Unknown`).
    pub to: Verdict,
}

/// Rise/fall counters of one check at one vantage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Threshold {
    /// Consecutive successes needed to turn up.
    rise: u32,
    /// Consecutive failures needed to turn down.
    fall: u32,
    /// The current verdict.
    verdict: Verdict,
    /// Current run of successes (0 while failing).
    successes: u32,
    /// Current run of failures (0 while succeeding).
    failures: u32,
}

impl Threshold {
    /// A machine with these thresholds (a 0 is read as 1), starting `Unknown`.
    pub fn new(rise: u32, fall: u32) -> Threshold {
        Threshold {
            rise: rise.max(1),
            fall: fall.max(1),
            verdict: Verdict::Unknown,
            successes: 0,
            failures: 0,
        }
    }

    /// The current verdict.
    pub fn verdict(&self) -> Verdict {
        self.verdict
    }

    /// Changes the thresholds (a check was edited), keeping the verdict and the runs.
    pub fn set_limits(&mut self, rise: u32, fall: u32) {
        self.rise = rise.max(1);
        self.fall = fall.max(1);
    }

    /// Feeds one attempt's result; returns the transition it causes, if any.
    pub fn observe(&mut self, ok: bool) -> Option<Transition> {
        let next = if ok {
            self.failures = 0;
            self.successes = self.successes.saturating_add(1);
            (self.successes >= self.rise).then_some(Verdict::Up)
        } else {
            self.successes = 0;
            self.failures = self.failures.saturating_add(1);
            (self.failures >= self.fall).then_some(Verdict::Down)
        };
        match next {
            Some(to) if to != self.verdict => {
                let from = std::mem::replace(&mut self.verdict, to);
                Some(Transition { from, to })
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `results` ("+" success, "-" failure) and returns the verdict after each one
    /// that caused a transition, as "index:U" / "index:D".
    fn check(rise: u32, fall: u32, results: &str) -> Vec<String> {
        let mut threshold = Threshold::new(rise, fall);
        results
            .chars()
            .enumerate()
            .filter_map(|(index, result)| {
                threshold.observe(result == '+').map(|transition| {
                    let to = if transition.to == Verdict::Up {
                        "U"
                    } else {
                        "D"
                    };
                    format!("{index}:{to}")
                })
            })
            .collect()
    }

    #[test]
    fn rise_and_fall_need_consecutive_results() {
        assert_eq!(check(2, 3, "++"), ["1:U"]);
        assert_eq!(check(2, 3, "+-+-+-"), Vec::<String>::new());
        assert_eq!(check(2, 3, "++--+---"), ["1:U", "7:D"]);
        assert_eq!(check(1, 1, "+-+"), ["0:U", "1:D", "2:U"]);
        assert_eq!(check(3, 2, "--+++"), ["1:D", "4:U"]);
    }

    #[test]
    fn steady_results_cause_no_transitions() {
        assert_eq!(check(2, 2, &"+".repeat(100)), ["1:U"]);
        assert_eq!(check(0, 0, "-"), ["0:D"], "zero thresholds act as one");
    }

    proptest::proptest! {
        /// Transitions alternate, never repeat a verdict, and each one follows a run of
        /// exactly enough agreeing results.
        #[test]
        fn transitions_follow_runs(rise in 1u32..5, fall in 1u32..5,
                                   results in proptest::collection::vec(proptest::bool::ANY, 0..200)) {
            let mut threshold = Threshold::new(rise, fall);
            let mut run = (false, 0u32);
            let mut last = Verdict::Unknown;
            for ok in results {
                run = if run.0 == ok { (ok, run.1 + 1) } else { (ok, 1) };
                if let Some(transition) = threshold.observe(ok) {
                    proptest::prop_assert_eq!(transition.from, last);
                    proptest::prop_assert_ne!(transition.to, last);
                    proptest::prop_assert_eq!(run.1, if ok { rise } else { fall });
                    last = transition.to;
                }
            }
        }
    }
}
