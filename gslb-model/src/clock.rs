//! The wall clock as unix milliseconds: the one place outside tests that turns
//! `SystemTime::now()` into the millisecond stamps commands, health reports and tokens carry.
//!
//! Invariant: nothing under `command` calls it; `apply` takes time from the command (stamped
//! by the leader with this clock), so replaying the log gives the same state on every node.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch on this machine (0 for a clock set before 1970, which no
/// real clock reports).
pub fn unix_millis() -> u64 {
    // The one sanctioned wall-clock read in gslb-model (clippy.toml bans it elsewhere): it is
    // called by the IO shells to stamp commands, never from `apply`.
    #[allow(clippy::disallowed_methods)]
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_is_past_2020_and_moves_forward() {
        let first = unix_millis();
        assert!(first > 1_577_836_800_000, "{first}");
        assert!(unix_millis() >= first);
    }
}
