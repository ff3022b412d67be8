//! Checks `[dns.geo]` and opens its MaxMind database.

use std::path::Path;
use std::sync::Arc;

use gslb_dns::client::{Code, GeoFacts, GeoIpDatabase, PrefixTable};
use gslb_model::ip::Cidr;
use toml::Spanned;

use crate::config::duration::duration;
use crate::config::node::GeoConfig;
use crate::config::problems::Problems;
use crate::config::raw::{RawGeo, RawGeoNetwork, Sp};

/// The continent codes GeoIP databases use.
const CONTINENTS: [&str; 7] = ["AF", "AN", "AS", "EU", "NA", "OC", "SA"];

/// Checks `[dns.geo]` and opens its database, every problem with its line.
pub(crate) fn geo_config(raw: &RawGeo, base: &Path, problems: &mut Problems<'_>) -> GeoConfig {
    let reload_interval = duration(&raw.reload_interval, "dns.geo.reload_interval", problems);
    if reload_interval.is_zero()
        && !problems
            .found
            .iter()
            .any(|problem| problem.field == "dns.geo.reload_interval")
    {
        problems.push(
            raw.reload_interval.span(),
            "dns.geo.reload_interval",
            "must be > 0",
        );
    }
    let mut networks = PrefixTable::default();
    let mut seen: Vec<Cidr> = Vec::new();
    for (index, network) in raw.networks.iter().enumerate() {
        let field = format!("dns.geo.networks[{index}]");
        if let Some(facts) = geo_network(network, &field, problems) {
            match network.cidr.get_ref().trim().parse::<Cidr>() {
                Ok(cidr) if seen.contains(&cidr) => problems.push(
                    network.cidr.span(),
                    format!("{field}.cidr"),
                    format!("{cidr} is listed twice"),
                ),
                Ok(cidr) => {
                    seen.push(cidr);
                    networks.insert(cidr, facts);
                }
                Err(error) => problems.push(
                    network.cidr.span(),
                    format!("{field}.cidr"),
                    error.to_string(),
                ),
            }
        }
    }
    let database = raw.mmdb.as_ref().and_then(|mmdb| {
        if mmdb.get_ref().trim().is_empty() {
            problems.push(mmdb.span(), "dns.geo.mmdb", "must not be empty");
            return None;
        }
        match GeoIpDatabase::open(base.join(mmdb.get_ref())) {
            Ok(database) => Some(Arc::new(database)),
            Err(error) => {
                problems.push(mmdb.span(), "dns.geo.mmdb", error.to_string());
                None
            }
        }
    });
    GeoConfig {
        networks,
        database,
        reload_interval,
    }
}

/// The facts of one `[[dns.geo.networks]]` entry; `None` after reporting a problem.
fn geo_network(raw: &RawGeoNetwork, field: &str, problems: &mut Problems<'_>) -> Option<GeoFacts> {
    let before = problems.found.len();
    let mut code = |entry: &Option<Sp<String>>, name: &str, valid: &dyn Fn(&str) -> bool| {
        let entry = entry.as_ref()?;
        let text = entry.get_ref().trim().to_ascii_uppercase();
        match Code::new(&text).filter(|_| valid(&text)) {
            Some(code) => Some(code),
            None => {
                problems.push(
                    entry.span(),
                    format!("{field}.{name}"),
                    format!("invalid {name} code {:?}", entry.get_ref()),
                );
                None
            }
        }
    };
    let letters = |text: &str, n: usize| {
        text.len() == n && text.bytes().all(|byte| byte.is_ascii_uppercase())
    };
    let country = code(&raw.country, "country", &|text| letters(text, 2));
    let continent = code(&raw.continent, "continent", &|text| {
        CONTINENTS.contains(&text)
    });
    let subdivision_text = raw.subdivision.as_ref().map(|entry| {
        let text = entry.get_ref().trim().to_ascii_uppercase();
        match (&country, text.contains('-')) {
            (Some(country), false) => format!("{country}-{text}"),
            _ => text,
        }
    });
    let subdivision = raw.subdivision.as_ref().and_then(|entry| {
        let text = subdivision_text.clone().unwrap_or_default();
        let valid = text.split_once('-').is_some_and(|(country_part, sub)| {
            letters(country_part, 2)
                && (1..=3).contains(&sub.len())
                && sub.bytes().all(|byte| byte.is_ascii_alphanumeric())
        });
        match Code::new(&text).filter(|_| valid) {
            Some(code) => Some(code),
            None => {
                problems.push(
                    entry.span(),
                    format!("{field}.subdivision"),
                    format!(
                        "invalid subdivision {:?} (want ISO 3166-2 such as \"DE-BY\", or \"BY\" \
                         beside country)",
                        entry.get_ref()
                    ),
                );
                None
            }
        }
    });
    let degrees = |entry: &Option<Sp<f64>>, name: &str, limit: f64, problems: &mut Problems<'_>| {
        let entry = entry.as_ref()?;
        let value = *entry.get_ref();
        if value.is_finite() && value.abs() <= limit {
            Some(value)
        } else {
            problems.push(
                entry.span(),
                format!("{field}.{name}"),
                format!("must be within ±{limit} degrees, got {value}"),
            );
            None
        }
    };
    let lat = degrees(&raw.lat, "lat", 90.0, problems);
    let lon = degrees(&raw.lon, "lon", 180.0, problems);
    let lat_lon = match (&raw.lat, &raw.lon) {
        (Some(_), None) | (None, Some(_)) => {
            let span = raw
                .lat
                .as_ref()
                .map(Spanned::span)
                .or(raw.lon.as_ref().map(Spanned::span))
                .unwrap_or(raw.cidr.span());
            let missing = if raw.lat.is_some() { "lon" } else { "lat" };
            problems.push(
                span,
                format!("{field}.{missing}"),
                "missing; give lat and lon together",
            );
            None
        }
        _ => lat.zip(lon),
    };
    let facts = GeoFacts {
        continent,
        country,
        subdivision,
        asn: raw.asn.as_ref().map(|asn| *asn.get_ref()),
        lat_lon,
    };
    if problems.found.len() > before {
        return None;
    }
    if facts.is_unknown() {
        problems.push(
            raw.cidr.span(),
            field.to_string(),
            "must give at least one of country, continent, subdivision, asn, lat and lon",
        );
        return None;
    }
    Some(facts)
}
