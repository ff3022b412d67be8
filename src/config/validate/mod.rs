//! `RawConfig::validate`: every section checked, every problem reported at once with its
//! line. One file per section; the helpers shared by sections live here.

mod control;
mod dns;
mod geo;
mod limits;
mod listeners;
mod prober;
mod raft;
mod tls;

use std::net::SocketAddr;
use std::ops::Range;
use std::path::Path;
use std::time::Duration;

use gslb_dns::net::ListenerConfig;
use gslb_dns::ResponderOptions;
use gslb_model::DomainName;

use super::node::{GeoConfig, NodeConfig, ZoneSource};
use super::problems::{line_of, ConfigError, Problems};
use super::raw::{RawConfig, RawZone, Sp};
use control::control;
use prober::prober_settings;

impl RawConfig {
    /// Checks every field, reporting all problems at once; `text` is the file's content
    /// (for line numbers) and `path` its location (for messages and relative paths).
    pub fn validate(self, text: &str, path: &Path) -> Result<NodeConfig, ConfigError> {
        let mut problems = Problems::new(path, text);
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();

        let level = self.log.level.get_ref().trim().to_string();
        if let Err(reason) = check_log_filter(&level) {
            problems.push(
                self.log.level.span(),
                "log.level",
                format!("invalid level or filter {level:?}: {reason}"),
            );
        }
        let log_filter = format!("{level},hickory_server=warn,hickory_proto=warn");

        let serves_dns = self.dns.is_some();
        let serve_before_sync = self.dns.as_ref().is_some_and(|dns| dns.serve_before_sync);
        let (listeners, responder, geo) = match &self.dns {
            None => {
                if self.control.is_none() && self.prober.is_none() {
                    problems.push_at(
                        None,
                        "dns",
                        "no role configured; add a [dns] or a [control] section",
                    );
                }
                let geo = GeoConfig {
                    reload_interval: Duration::from_secs(60),
                    ..GeoConfig::default()
                };
                (ListenerConfig::default(), ResponderOptions::default(), geo)
            }
            Some(dns) => dns::dns_section(dns, &base, &mut problems),
        };
        let slow_path = self
            .dns
            .as_ref()
            .map(|dns| dns::slow_path_section(dns, &mut problems))
            .unwrap_or_default();
        let zones = zone_sources(&self.zones, &base, text, &mut problems);

        let control = self.control.as_ref().and_then(|raw| {
            // A prober is a learner by default too, unless it creates the cluster.
            let learner_by_default =
                serves_dns || (self.prober.is_some() && raw.bootstrap.is_none());
            control(raw, learner_by_default, &base, &mut problems)
        });
        if let (Some(raw), Some(control)) = (&self.control, &control) {
            let http = control.listen;
            let taken = serves_dns
                && http.port() != 0
                && (listeners.listen.contains(&http)
                    || listeners
                        .proxy
                        .as_ref()
                        .is_some_and(|proxy| proxy.listen.contains(&http)));
            if taken {
                problems.push(
                    raw.listen.span(),
                    "control.listen",
                    format!("{http} is also a dns listener (tcp)"),
                );
            }
        }
        if let (Some(raw), Some(first)) = (&self.control, self.zones.first()) {
            if raw.bootstrap.is_none() {
                problems.push(
                    first.file.span(),
                    "zones",
                    "with [control], zone files are imported only by the bootstrap node \
                     (control.bootstrap); import them through the API instead",
                );
            }
        }

        listeners::check_overlaps(&self, &mut problems);

        let prober = self
            .prober
            .as_ref()
            .and_then(|raw| prober_settings(raw, self.control.is_some(), &base, &mut problems));

        if !problems.found.is_empty() {
            return Err(problems.into_error());
        }
        Ok(NodeConfig {
            path: path.to_path_buf(),
            log_format: self.log.format,
            log_filter,
            listeners,
            responder,
            geo,
            dns: serves_dns,
            serve_before_sync,
            slow_path,
            zones,
            control,
            prober,
        })
    }
}

/// Checks `[[zones]]` entries and resolves their paths against `base`.
fn zone_sources(
    raw: &[RawZone],
    base: &Path,
    text: &str,
    problems: &mut Problems<'_>,
) -> Vec<ZoneSource> {
    let mut zones = Vec::new();
    for (index, zone) in raw.iter().enumerate() {
        let field = format!("zones[{index}]");
        let file_text = zone.file.get_ref();
        if file_text.trim().is_empty() {
            problems.push(
                zone.file.span(),
                format!("{field}.file"),
                "must not be empty",
            );
        }
        let origin = zone.origin.as_ref().and_then(|origin| {
            let text = origin.get_ref();
            let absolute = if text.ends_with('.') {
                text.clone()
            } else {
                format!("{text}.")
            };
            match DomainName::parse_absolute(&absolute) {
                Ok(name) => Some(name),
                Err(error) => {
                    problems.push(
                        origin.span(),
                        format!("{field}.origin"),
                        format!("invalid name {text:?}: {error}"),
                    );
                    None
                }
            }
        });
        zones.push(ZoneSource {
            file: base.join(file_text),
            origin,
            default_ttl: zone.default_ttl,
            line: Some(line_of(text, zone.file.span().start)),
        });
    }
    zones
}

/// Checks a `host:port` value (a name or an address, numeric port); returns it trimmed.
pub(crate) fn check_host_port<'a>(
    entry: &'a Sp<String>,
    field: &str,
    problems: &mut Problems<'_>,
) -> Option<&'a str> {
    let text = entry.get_ref().trim();
    let valid = text.parse::<SocketAddr>().is_ok()
        || text.rsplit_once(':').is_some_and(|(host, port)| {
            !host.is_empty() && !host.contains(['/', ' ', '[', ']']) && port.parse::<u16>().is_ok()
        });
    if valid {
        Some(text)
    } else {
        problems.push(
            entry.span(),
            field,
            format!("invalid address {:?} (want HOST:PORT)", entry.get_ref()),
        );
        None
    }
}

/// The value of `inline` or the content of `file` (trimmed), never both; with the span to
/// blame.
pub(crate) fn secret_or_file(
    inline: &Option<Sp<String>>,
    file: &Option<Sp<String>>,
    field: &str,
    base: &Path,
    problems: &mut Problems<'_>,
) -> Option<(String, Range<usize>)> {
    match (inline, file) {
        (Some(inline), Some(_)) => {
            problems.push(
                inline.span(),
                field,
                format!("set either {field} or {field}_file, not both"),
            );
            None
        }
        (Some(inline), None) => Some((inline.get_ref().clone(), inline.span())),
        (None, Some(file)) => {
            let path = base.join(file.get_ref());
            match std::fs::read_to_string(&path) {
                Ok(text) => Some((text.trim().to_string(), file.span())),
                Err(error) => {
                    problems.push(
                        file.span(),
                        format!("{field}_file"),
                        format!("cannot read {}: {error}", path.display()),
                    );
                    None
                }
            }
        }
        (None, None) => None,
    }
}

/// Accepts a level (`info`) or comma-separated `target=level` directives; tracing's own
/// parser takes any bare word as a target, which would hide a misspelt level.
fn check_log_filter(filter: &str) -> Result<(), String> {
    const LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];
    for directive in filter.split(',').map(str::trim) {
        let level = directive
            .rsplit_once('=')
            .map_or(directive, |(_, level)| level);
        if !LEVELS.contains(&level.to_ascii_lowercase().as_str()) {
            return Err(format!("{level:?} is not one of {}", LEVELS.join(", ")));
        }
    }
    tracing_subscriber::EnvFilter::try_new(filter)
        .map(drop)
        .map_err(|error| error.to_string())
}
