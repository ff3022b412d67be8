//! The formats of path and query parameters in the OpenAPI document: what each one accepts,
//! spelled as the pattern, format or range the handlers enforce, so a client (or a fuzzer)
//! that follows the document never gets a 400 for a well-formed value.
//!
//! The routes declare their parameters as plain strings (utoipa's `params(...)`); this pass
//! sets each one's schema by where it appears, in one table, so `{zone}` reads the same in
//! every route that has it. A parameter not in the table keeps its declared schema. Unsigned
//! integers get the maximum of their type (`bound_unsigned_integers`).

use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa::openapi::schema::{AnyOfBuilder, KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{OpenApi as OpenApiDoc, RefOr, Schema};

/// One DNS label as the API documents it: letters, digits, `-` and `_` (the handlers take
/// more, escapes included; this is the portable subset).
const LABEL: &str = "[A-Za-z0-9_-]{1,63}";

/// Record types the static-record routes take, by mnemonic (`TYPEnnn` besides).
const RECORD_TYPES: &str =
    "A|AAAA|CNAME|MX|TXT|SRV|CAA|NS|PTR|MB|MG|MR|SSHFP|TLSA|SMIMEA|HINFO|SPF|\
                            NAPTR|DS|CDS|DNSKEY|CDNSKEY|DNAME|LOC|URI|RP|CERT|OPENPGPKEY|EUI48|\
                            EUI64|SVCB|HTTPS";

/// `TYPEnnn` (RFC 3597) for every code but 0 and SOA (6), without leading zeros.
const GENERIC_TYPE: &str = "TYPE(?:[1-57-9]|[1-9][0-9]{1,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|\
                            65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])";

/// Record types of GSLB records.
const GSLB_TYPES: &str = "A|AAAA|CNAME";

/// The longest name in presentation form (255 octets on the wire).
const MAX_NAME_TEXT: usize = 253;
/// The longest text `/v1/resolve` reads as a name: 255 octets, each as a 4-character escape.
pub const MAX_RESOLVE_NAME_TEXT: usize = 1020;

/// An absolute domain name; the trailing dot is optional.
fn domain_pattern() -> String {
    format!("^(?:{LABEL}\\.)*{LABEL}\\.?$")
}

/// An absolute name in presentation form as the API prints it (`next` of a zone page):
/// printable ASCII, with `\DDD` and `\X` escapes; the trailing dot optional, `.` the root.
fn presentation_pattern() -> String {
    let token = r"(?:[!-\-/-\[\]-~]|\\(?:[01][0-9]{2}|2[0-4][0-9]|25[0-5])|\\[!-/:-~])";
    format!("^(?:\\.|(?:{token}{{1,63}}\\.)*{token}{{1,63}}\\.?)$")
}

/// An owner name relative to its zone: `@`, a wildcard, or labels (absolute with a dot).
fn owner_body() -> String {
    format!("@|\\*|(?:\\*\\.)?(?:{LABEL}\\.)*{LABEL}\\.?")
}

/// The record types `types` (alternatives) and, when `generic`, `TYPEnnn`.
fn type_body(types: &str, generic: bool) -> String {
    let types: String = types.chars().filter(|c| !c.is_whitespace()).collect();
    if generic {
        format!("{types}|{GENERIC_TYPE}")
    } else {
        types
    }
}

/// A string schema with `pattern` and at most `max` characters.
fn patterned(pattern: String, max: usize, description: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
        .max_length(Some(max))
        .description(Some(description))
        .into()
}

/// A string schema of a known `format`.
fn formatted(format: KnownFormat) -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(format)))
        .into()
}

/// A number path segment the handler parses as `u64`: decimal digits, at most 19 of them
/// (every such number fits). A string with a pattern rather than an integer, because JSON
/// Schema counts `1338.0` as an integer and a client generated from the document may send
/// it so, while a path segment is text and the server reads only digits.
fn unsigned_64(description: &str) -> RefOr<Schema> {
    patterned("^[0-9]{1,19}$".to_string(), 19, description)
}

/// `IP` or `IP/LEN`, IPv4 or IPv6.
fn client_schema() -> RefOr<Schema> {
    let octet = "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])";
    let v4_subnet = format!("^(?:{octet}\\.){{3}}{octet}/(?:3[0-2]|[12]?[0-9])$");
    let group = "[0-9A-Fa-f]{1,4}";
    let v6_subnet = format!("^(?:{group}:){{7}}{group}/(?:12[0-8]|1[01][0-9]|[1-9]?[0-9])$");
    let v6_zero_subnet = "^::/(?:12[0-8]|1[01][0-9]|[1-9]?[0-9])$".to_string();
    AnyOfBuilder::new()
        .item(formatted(KnownFormat::Ipv4))
        .item(formatted(KnownFormat::Ipv6))
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(v4_subnet)),
        )
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(v6_subnet)),
        )
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(v6_zero_subnet)),
        )
        .description(Some(
            "an address or a subnet: 192.0.2.7, 192.0.2.0/24, 2001:db8::1",
        ))
        .into()
}

/// `since`: an RFC 3339 instant or a duration back from now.
fn since_schema() -> RefOr<Schema> {
    AnyOfBuilder::new()
        .item(formatted(KnownFormat::DateTime))
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some("^[0-9]{1,9}(?:ms|s|m|h|d|w)$")),
        )
        .description(Some(
            "an RFC 3339 instant (2026-12-07T03:12:00Z) or a duration back from now (90s, 1h)",
        ))
        .into()
}

/// The schema of the parameter `name` (in `location`) of the route `path`, when the table
/// knows it.
fn schema_for(path: &str, location: &ParameterIn, name: &str) -> Option<RefOr<Schema>> {
    let domain = || {
        patterned(
            domain_pattern(),
            MAX_NAME_TEXT,
            "a domain name (trailing dot optional)",
        )
    };
    let gslb = path.starts_with("/v1/zones/{zone}/gslb-records");
    let types = if gslb {
        type_body(GSLB_TYPES, false)
    } else {
        type_body(RECORD_TYPES, true)
    };
    match (location, name) {
        (ParameterIn::Path, "zone") => Some(domain()),
        (ParameterIn::Path, "name") if path.starts_with("/v1/zones/{zone}/") => Some(patterned(
            format!("^(?:{})$", owner_body()),
            MAX_NAME_TEXT,
            "the owner name, relative to the zone, `@` or absolute",
        )),
        (ParameterIn::Path, "type") => {
            Some(patterned(format!("^(?:{types})$"), 10, "the record type"))
        }
        (ParameterIn::Query, "after") if path == "/v1/zones" => Some(patterned(
            presentation_pattern(),
            MAX_NAME_TEXT,
            "an apex as the previous page's `next` gave it (presentation form)",
        )),
        (ParameterIn::Path, "id") if path.starts_with("/v1/cluster/learners/") => {
            Some(unsigned_64("the learner's node id"))
        }
        (ParameterIn::Path, "version") => Some(unsigned_64("a state version")),
        (ParameterIn::Query, "after") if path == "/v1/audit" => Some(patterned(
            "^[0-9]{1,19}$".to_string(),
            19,
            "a version number (the `next` of the previous page)",
        )),
        (ParameterIn::Query, "after") if path.starts_with("/v1/zones/{zone}/") => Some(patterned(
            format!("^(?:{}) (?:{types})$", owner_body()),
            MAX_NAME_TEXT + 11,
            "`<name> <TYPE>` (the `next` of the previous page)",
        )),
        // Unicode names are converted to their A-label (IDNA) like every name that enters
        // the API, which no pattern can say: any text up to the longest presentation form
        // (every octet a `\DDD` escape); the server answers 400 for what is no name.
        (ParameterIn::Query, "name") if path == "/v1/resolve" => Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(MAX_RESOLVE_NAME_TEXT))
                .description(Some(
                    "the name asked; Unicode is converted to its A-label (IDNA)",
                ))
                .into(),
        ),
        (ParameterIn::Query, "type") if path == "/v1/resolve" => Some(patterned(
            format!("^(?:{})$", type_body(RECORD_TYPES, true)),
            10,
            "the type asked (default A)",
        )),
        (ParameterIn::Query, "client") if path == "/v1/resolve" => Some(client_schema()),
        (ParameterIn::Query, "since") if path == "/v1/events" => Some(since_schema()),
        _ => None,
    }
}

/// Sets the schema of every parameter the table knows (see the module doc).
pub fn document_parameter_formats(doc: &mut OpenApiDoc) {
    for (path, item) in doc.paths.paths.iter_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            for parameter in operation.parameters.iter_mut().flatten() {
                set_format(path, parameter);
            }
        }
    }
}

fn set_format(path: &str, parameter: &mut Parameter) {
    if let Some(schema) = schema_for(path, &parameter.parameter_in, &parameter.name) {
        parameter.schema = Some(schema);
    }
}

/// Gives every unsigned integer (`format: uint8` ... `uint64`, as utoipa writes Rust's
/// unsigned types) the maximum its type holds, unless the field declares a smaller one: the
/// document then bounds every integer the server parses, and no reader takes `uint32` for
/// the signed `int32` range.
pub fn bound_unsigned_integers(doc: &mut OpenApiDoc) {
    let Ok(mut value) = serde_json::to_value(&*doc) else {
        return;
    };
    bound_integers_in(&mut value);
    if let Ok(bounded) = serde_json::from_value(value) {
        *doc = bounded;
    }
}

fn bound_integers_in(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(members) => {
            // utoipa 5 spells its unsigned formats `u-int32`; the usual name is `uint32`.
            let format = members
                .get("format")
                .and_then(serde_json::Value::as_str)
                .map(|format| format.replace("u-int", "uint"));
            let limit = match format.as_deref() {
                Some("uint8") => Some(u64::from(u8::MAX)),
                Some("uint16") => Some(u64::from(u16::MAX)),
                Some("uint32") => Some(u64::from(u32::MAX)),
                Some("uint64") => Some(u64::MAX),
                _ => None,
            };
            if let (Some(limit), Some(format)) = (limit, format) {
                members.insert("format".to_string(), serde_json::Value::from(format));
                members
                    .entry("maximum")
                    .or_insert_with(|| serde_json::Value::from(limit));
            }
            members.values_mut().for_each(bound_integers_in);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(bound_integers_in),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parameter_schema(path: &str, method: &str, name: &str) -> serde_json::Value {
        let doc = serde_json::to_value(crate::openapi()).expect("the document serializes");
        let parameters = doc["paths"][path][method]["parameters"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        parameters
            .into_iter()
            .find(|parameter| parameter["name"] == name)
            .map(|parameter| parameter["schema"].clone())
            .unwrap_or_else(|| panic!("{method} {path} has no parameter {name}"))
    }

    #[test]
    fn zone_names_and_types_in_paths_carry_their_patterns() {
        let zone = parameter_schema("/v1/zones/{zone}", "get", "zone");
        assert_eq!(zone["pattern"], domain_pattern());
        assert_eq!(zone["maxLength"], 253);
        let rtype = parameter_schema("/v1/zones/{zone}/gslb-records/{name}/{type}", "get", "type");
        assert_eq!(rtype["pattern"], "^(?:A|AAAA|CNAME)$");
        let static_type = parameter_schema("/v1/zones/{zone}/records/{name}/{type}", "get", "type");
        let pattern = static_type["pattern"].as_str().unwrap_or_default();
        assert!(pattern.contains("|HTTPS|TYPE("), "{pattern}");
    }

    #[test]
    fn unsigned_fields_are_bounded_by_their_type() {
        let doc = serde_json::to_value(crate::openapi()).expect("the document serializes");
        let region = &doc["components"]["schemas"]["RegionDto"]["properties"];
        assert_eq!(region["min_healthy"]["format"], "uint32");
        assert_eq!(region["min_healthy"]["maximum"], u64::from(u32::MAX));
    }

    #[test]
    fn the_resolve_client_is_an_address_or_a_subnet() {
        let client = parameter_schema("/v1/resolve", "get", "client");
        let kinds = client["anyOf"].as_array().map(Vec::len);
        assert_eq!(kinds, Some(5), "{client}");
    }
}
