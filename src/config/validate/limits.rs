//! `[control.limits]`: the caps and timeouts of the control HTTP listener and the throttle
//! of failed logins, each key optional with the defaults of `gslb_api`.

use std::time::Duration;

use crate::config::duration::duration;
use crate::config::node::ControlLimits;
use crate::config::problems::Problems;
use crate::config::raw::{RawLimits, Sp};

/// Checks `[control.limits]`: durations parse and are > 0, counts are > 0, and the idle
/// timeout exceeds the request timeout (a slow request is not cut as idle).
pub(super) fn control_limits(raw: &RawLimits, problems: &mut Problems<'_>) -> ControlLimits {
    let defaults = gslb_api::ApiOptions::default();
    let mut listener = defaults.listener;
    let mut positive_duration = |entry: &Option<Sp<String>>, field: &str, target: &mut Duration| {
        if let Some(entry) = entry {
            let value = duration(entry, field, problems);
            if value.is_zero() {
                problems.push(entry.span(), field, "must be > 0");
            }
            *target = value;
        }
    };
    positive_duration(
        &raw.header_read_timeout,
        "control.limits.header_read_timeout",
        &mut listener.header_read_timeout,
    );
    positive_duration(
        &raw.idle_timeout,
        "control.limits.idle_timeout",
        &mut listener.idle_timeout,
    );
    if let Some(entry) = &raw.idle_timeout {
        if listener.idle_timeout <= defaults.request_timeout && !listener.idle_timeout.is_zero() {
            problems.push(
                entry.span(),
                "control.limits.idle_timeout",
                format!(
                    "must exceed the request timeout of {:?}, got {:?}",
                    defaults.request_timeout, listener.idle_timeout
                ),
            );
        }
    }
    fn count<T: Copy + Default + PartialEq>(
        entry: &Option<Sp<T>>,
        field: &str,
        problems: &mut Problems<'_>,
        target: &mut T,
    ) {
        if let Some(entry) = entry {
            if *entry.get_ref() == T::default() {
                problems.push(entry.span(), field, "must be > 0, got 0");
            }
            *target = *entry.get_ref();
        }
    }
    count(
        &raw.max_connections,
        "control.limits.max_connections",
        problems,
        &mut listener.max_connections,
    );
    count(
        &raw.max_connections_per_source,
        "control.limits.max_connections_per_source",
        problems,
        &mut listener.max_connections_per_source,
    );
    let mut limits = ControlLimits {
        listener,
        max_request_bytes: defaults.max_request_bytes,
        max_zone_records: defaults.max_zone_records,
        auth_failure_burst: defaults.auth_failure_burst,
        auth_failures_per_minute: defaults.auth_failures_per_minute,
    };
    if let (Some(_), Some(older)) = (&raw.max_request_bytes, &raw.max_body_bytes) {
        problems.push(
            older.span(),
            "control.limits.max_body_bytes",
            "is the older name of max_request_bytes; set only max_request_bytes",
        );
    }
    count(
        &raw.max_body_bytes,
        "control.limits.max_body_bytes",
        problems,
        &mut limits.max_request_bytes,
    );
    count(
        &raw.max_request_bytes,
        "control.limits.max_request_bytes",
        problems,
        &mut limits.max_request_bytes,
    );
    count(
        &raw.max_zone_records,
        "control.limits.max_zone_records",
        problems,
        &mut limits.max_zone_records,
    );
    count(
        &raw.auth_failure_burst,
        "control.limits.auth_failure_burst",
        problems,
        &mut limits.auth_failure_burst,
    );
    count(
        &raw.auth_failures_per_minute,
        "control.limits.auth_failures_per_minute",
        problems,
        &mut limits.auth_failures_per_minute,
    );
    limits
}
