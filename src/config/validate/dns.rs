//! Checks `[dns]`: listeners, TCP limits, PROXY, CHAOS and region.

use std::net::SocketAddr;
use std::path::Path;

use gslb_dns::net::{ListenerConfig, ProxyListenerConfig, TcpLimits, TrustedProxies};
use gslb_dns::slow::SlowPathSettings;
use gslb_dns::ResponderOptions;
use gslb_model::ip::Cidr;
use gslb_model::model::ident::validate_id;
use gslb_model::FieldErrors;

use super::geo::geo_config;
use crate::config::duration::duration;
use crate::config::node::GeoConfig;
use crate::config::problems::Problems;
use crate::config::raw::{RawDns, RawTcp, Sp};

/// Checks `[dns]`: its listeners (with PROXY), answering options and `[dns.geo]`.
pub(crate) fn dns_section(
    dns: &RawDns,
    base: &Path,
    problems: &mut Problems<'_>,
) -> (ListenerConfig, ResponderOptions, GeoConfig) {
    let mut listeners = ListenerConfig::default();
    let mut responder = ResponderOptions::default();
    listeners.listen = addresses(&dns.listen, "dns.listen", problems);
    if dns.listen.is_empty() {
        problems.push_at(None, "dns.listen", "must name at least one address");
    }
    listeners.udp_workers = *dns.udp_workers.get_ref();
    if listeners.udp_workers > 1024 {
        problems.push(
            dns.udp_workers.span(),
            "dns.udp_workers",
            format!("must be ≤ 1024, got {}", listeners.udp_workers),
        );
    }
    listeners.udp_batch = *dns.udp_batch.get_ref();
    if !(1..=1024).contains(&listeners.udp_batch) {
        problems.push(
            dns.udp_batch.span(),
            "dns.udp_batch",
            format!("must be in 1..=1024, got {}", listeners.udp_batch),
        );
    }
    listeners.socket_buffer_bytes = *dns.socket_buffer_bytes.get_ref();
    let payload = *dns.max_udp_payload.get_ref();
    if !(512..=4096).contains(&payload) {
        problems.push(
            dns.max_udp_payload.span(),
            "dns.max_udp_payload",
            format!("must be in 512..=4096, got {payload}"),
        );
    }
    responder.max_udp_payload = payload;
    match (dns.rrl.validate(), dns.cookies.validate()) {
        (Ok(rrl), Ok(cookies)) => (responder.rrl, responder.cookies) = (rrl, cookies),
        (rrl, cookies) => rrl
            .err()
            .into_iter()
            .flatten()
            .chain(cookies.err())
            .for_each(|(field, message)| problems.push_at(None, field, message)),
    }
    listeners.drain_timeout = duration(&dns.drain_timeout, "dns.drain_timeout", problems);
    listeners.tcp = tcp_limits(&dns.tcp, problems);
    if let Some(proxy) = &dns.proxy {
        let listen = addresses(&proxy.listen, "dns.proxy.listen", problems);
        if proxy.listen.is_empty() {
            problems.push_at(None, "dns.proxy.listen", "must name at least one address");
        }
        let mut trusted = Vec::new();
        for (index, entry) in proxy.trusted.iter().enumerate() {
            match Cidr::parse_host_or_network(entry.get_ref()) {
                Ok(cidr) => trusted.push(cidr),
                Err(error) => problems.push(
                    entry.span(),
                    format!("dns.proxy.trusted[{index}]"),
                    error.to_string(),
                ),
            }
        }
        for address in &listen {
            if address.port() != 0 && listeners.listen.contains(address) {
                problems.push_at(
                    None,
                    "dns.proxy.listen",
                    format!("{address} is also in dns.listen"),
                );
            }
        }
        listeners.proxy = Some(ProxyListenerConfig {
            listen,
            trusted: TrustedProxies(trusted),
        });
    }
    responder.version_bind = dns.chaos.enabled.then(|| dns.chaos.version.clone());
    responder.id_server = dns.chaos.id.clone().filter(|_| dns.chaos.enabled);
    if let Some(region) = &dns.region {
        let mut errors = FieldErrors::default();
        validate_id("dns.region", region.get_ref(), &mut errors);
        for error in errors.0 {
            problems.push(region.span(), "dns.region", error.message);
        }
        responder.vantage = Some(region.get_ref().clone());
    }
    if let Some(catalog) = &dns.catalog_zone {
        let text = catalog.get_ref();
        let absolute = if text.ends_with('.') {
            text.clone()
        } else {
            format!("{text}.")
        };
        match gslb_model::DomainName::parse_absolute(&absolute) {
            Ok(name) if !name.is_root() => responder.catalog_zone = Some(name),
            Ok(_) => problems.push(catalog.span(), "dns.catalog_zone", "cannot be the root"),
            Err(error) => problems.push(catalog.span(), "dns.catalog_zone", error.to_string()),
        }
    }
    let geo = geo_config(&dns.geo, base, problems);
    (listeners, responder, geo)
}

/// `dns.tsig_fudge` and `dns.update_insync_timeout`: how the slow path (TSIG, RFC 2136)
/// behaves.
pub(crate) fn slow_path_section(dns: &RawDns, problems: &mut Problems<'_>) -> SlowPathSettings {
    let tsig_fudge = *dns.tsig_fudge.get_ref();
    if tsig_fudge == 0 {
        problems.push(
            dns.tsig_fudge.span(),
            "dns.tsig_fudge",
            "must be at least 1 second, got 0",
        );
    }
    SlowPathSettings {
        tsig_fudge,
        update_insync_timeout: duration(
            &dns.update_insync_timeout,
            "dns.update_insync_timeout",
            problems,
        ),
        ..SlowPathSettings::default()
    }
}

/// Parses socket addresses, reporting bad and repeated ones as `field[index]`.
fn addresses(entries: &[Sp<String>], field: &str, problems: &mut Problems<'_>) -> Vec<SocketAddr> {
    let mut parsed = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        match entry.get_ref().parse::<SocketAddr>() {
            Ok(address) => {
                if parsed.contains(&address) {
                    problems.push(
                        entry.span(),
                        format!("{field}[{index}]"),
                        format!("{address} is listed twice"),
                    );
                }
                parsed.push(address);
            }
            Err(_) => problems.push(
                entry.span(),
                format!("{field}[{index}]"),
                format!(
                    "invalid socket address {:?} (want IP:PORT or [IPv6]:PORT)",
                    entry.get_ref()
                ),
            ),
        }
    }
    parsed
}

/// Checks `[dns.tcp]`.
fn tcp_limits(raw: &RawTcp, problems: &mut Problems<'_>) -> TcpLimits {
    let limits = TcpLimits {
        idle_timeout: duration(&raw.idle_timeout, "dns.tcp.idle_timeout", problems),
        max_connections: *raw.max_connections.get_ref(),
        max_connections_per_source: *raw.max_connections_per_source.get_ref(),
        message_timeout: duration(&raw.message_timeout, "dns.tcp.message_timeout", problems),
        max_queries_per_connection: *raw.max_queries_per_connection.get_ref(),
        max_connection_time: duration(
            &raw.max_connection_time,
            "dns.tcp.max_connection_time",
            problems,
        ),
    };
    if limits.max_connections == 0 {
        problems.push(
            raw.max_connections.span(),
            "dns.tcp.max_connections",
            "must be > 0, got 0",
        );
    }
    if limits.max_connections_per_source == 0 {
        problems.push(
            raw.max_connections_per_source.span(),
            "dns.tcp.max_connections_per_source",
            "must be > 0, got 0",
        );
    }
    if limits.max_queries_per_connection == 0 {
        problems.push(
            raw.max_queries_per_connection.span(),
            "dns.tcp.max_queries_per_connection",
            "must be > 0, got 0",
        );
    }
    for (value, field, span) in [
        (
            limits.idle_timeout,
            "dns.tcp.idle_timeout",
            raw.idle_timeout.span(),
        ),
        (
            limits.max_connection_time,
            "dns.tcp.max_connection_time",
            raw.max_connection_time.span(),
        ),
        (
            limits.message_timeout,
            "dns.tcp.message_timeout",
            raw.message_timeout.span(),
        ),
    ] {
        if value.is_zero() && !problems.found.iter().any(|problem| problem.field == field) {
            problems.push(span, field, "must be > 0");
        }
    }
    limits
}
