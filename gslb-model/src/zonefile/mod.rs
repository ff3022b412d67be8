//! RFC 1035 master-file import into the model, and the export that reads back the same.
//!
//! Layout:
//! - `lexer`: comments, quotes, escapes, parentheses and line numbers → logical lines.
//! - `parser`: directives and records → a `Zone`, every problem with its line.
//! - `rdata`: the one RDATA presentation reader, for zone files and the API (`parse_rdata`).
//! - `export`: a `Zone` → master-file text that `parse_zone` turns back into the same `Zone`.
//!
//! Import is all-or-nothing: any problem (syntax, an unsupported type or class, or a zone
//! rule from `Zone::validate`) yields a `ZoneFileError` listing every problem found as
//! `file:line: message`, and no zone.
//!
//! Supported: `$ORIGIN`, `$TTL` (with BIND units such as `1h30m`), relative names and `@`,
//! owner inheritance, optional TTL and class (IN only) in either order, parentheses, quoted
//! strings with `\"`, `\\` and `\DDD`, comments, CRLF; every type of `RecordType::ALL` in its
//! own presentation format (SVCB/HTTPS SvcParams, LOC, base64 keys, ...), and any type in
//! RFC 3597 generic form (`TYPEnnn \# len hex`). Refused with a named error: `$INCLUDE`,
//! `$GENERATE`, other classes, the types `generic_refusal` names, TTLs above 2^31 - 1.
//!
//! Invariant: no input text makes the import panic (proptest here, `fuzz/fuzz_targets/zone_file.rs`).

mod export;
mod fields;
mod lexer;
mod parser;
mod rdata;

use std::fmt;

use crate::model::{DomainName, Zone};

pub use export::export_zone;
pub use rdata::parse_rdata;

/// Parses a whole master file into a validated, normalized `Zone`.
///
/// - `file_name` only labels the errors (`file_name:line: message`).
/// - `origin` is the zone apex; without it the file must start with `$ORIGIN`, whose name
///   then becomes the apex. Later `$ORIGIN` lines change how relative names complete, never
///   the apex.
/// - `default_ttl` acts like a `$TTL` line at the top of the file: it is the TTL of records
///   written without one until the file's own `$TTL`, and the zone's `default_ttl` when the
///   file has no `$TTL`. Without either, records without a TTL take the last TTL written
///   (RFC 1035 §5.1), else the SOA MINIMUM, and the zone's `default_ttl` is the SOA MINIMUM.
///
/// The SOA goes to `zone.soa` (its TTL in `soa.ttl`); every other record joins the
/// `RecordSet` of its owner and type, which must share one TTL (RFC 2181 §5.2).
pub fn parse_zone(
    text: &str,
    file_name: &str,
    origin: Option<&DomainName>,
    default_ttl: Option<u32>,
) -> Result<Zone, ZoneFileError> {
    parse_zone_with_warnings(text, file_name, origin, default_ttl).map(|(zone, _)| zone)
}

/// `parse_zone`, also returning what was accepted but changed on the way, in line order:
/// identical records in one set are merged into one (as BIND, NSD and Knot do), each repeat
/// named with its line and the line it repeats.
pub fn parse_zone_with_warnings(
    text: &str,
    file_name: &str,
    origin: Option<&DomainName>,
    default_ttl: Option<u32>,
) -> Result<(Zone, Vec<ZoneFileProblem>), ZoneFileError> {
    let located = |problems: Vec<(usize, String)>| -> Vec<ZoneFileProblem> {
        problems
            .into_iter()
            .map(|(line, message)| ZoneFileProblem {
                file_name: file_name.to_string(),
                line,
                message,
            })
            .collect()
    };
    match parser::parse(text, origin, default_ttl) {
        Ok((zone, warnings)) => Ok((zone, located(warnings))),
        Err(problems) => Err(ZoneFileError {
            problems: located(problems),
        }),
    }
}

/// Everything wrong with one master file; never empty.
///
/// Displays one problem per line, in line order: `zones/example.zone:12: bad IPv4 address
/// "10.0.0.300"`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ZoneFileError {
    /// Every problem found, sorted by line; at least one.
    pub problems: Vec<ZoneFileProblem>,
}

impl fmt::Display for ZoneFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, problem) in self.problems.iter().enumerate() {
            if index > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

/// One problem in a master file, at one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneFileProblem {
    /// The file name given to `parse_zone`, so the message stands on its own.
    pub file_name: String,
    /// The 1-based line; for a zone rule, the line of the first record of the set at fault.
    pub line: usize,
    /// Lowercase, without a trailing period, naming the value at fault.
    pub message: String,
}

impl fmt::Display for ZoneFileProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file_name, self.line, self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RecordType;

    /// The SOA and apex NS every `check` body is appended to.
    const HEAD: &str = "$ORIGIN example.com.\n\
        @ 3600 IN SOA ns1 hostmaster 1 7200 900 1209600 300\n\
        @ 3600 IN NS ns1\n";

    /// Parses `HEAD` + `body` and compares the records other than the SOA and the apex NS,
    /// each as `owner ttl TYPE data` with absolute names.
    fn check(body: &str, expected: &[&str]) {
        let text = format!("{HEAD}{body}");
        let zone = match parse_zone(&text, "t.zone", None, None) {
            Ok(zone) => zone,
            Err(error) => panic!("{body:?} did not parse:\n{error}"),
        };
        let got: Vec<String> = zone
            .rrsets
            .iter()
            .filter(|set| !(set.name == zone.apex && set.rtype == RecordType::NS))
            .flat_map(|set| {
                set.rdata
                    .iter()
                    .map(move |rdata| format!("{} {} {} {}", set.name, set.ttl, set.rtype, rdata))
            })
            .collect();
        assert_eq!(got, expected, "records of {body:?}");
    }

    /// Parses `text` (a whole file) and compares every problem, `t.zone:line: message`.
    fn check_error(text: &str, expected: &[&str]) {
        let problems: Vec<String> = match parse_zone(text, "t.zone", None, None) {
            Ok(zone) => panic!("{text:?} parsed as {zone:?}"),
            Err(error) => error.problems.iter().map(|p| p.to_string()).collect(),
        };
        assert_eq!(problems, expected, "problems of {text:?}");
    }

    #[test]
    fn relative_absolute_and_at_names() {
        check(
            "www 60 IN CNAME @\nmail.example.com. 60 IN A 192.0.2.1\n",
            &[
                "mail.example.com. 60 A 192.0.2.1",
                "www.example.com. 60 CNAME example.com.",
            ],
        );
    }

    #[test]
    fn ttl_and_class_are_optional_and_in_either_order() {
        check(
            "$TTL 1h\na A 192.0.2.1\nb IN 60 A 192.0.2.2\nc 1d30m in A 192.0.2.3\nd in A 192.0.2.4\n",
            &[
                "a.example.com. 3600 A 192.0.2.1",
                "b.example.com. 60 A 192.0.2.2",
                "c.example.com. 88200 A 192.0.2.3",
                "d.example.com. 3600 A 192.0.2.4",
            ],
        );
    }

    #[test]
    fn without_ttl_directive_the_last_ttl_then_the_soa_minimum_apply() {
        let zone = parse_zone(
            "$ORIGIN example.com.\n@ SOA ns1 hostmaster 1 2 3 4 5\n NS ns1\na 60 A 192.0.2.1\nb A 192.0.2.2\n",
            "t.zone",
            None,
            None,
        )
        .unwrap();
        assert_eq!(zone.soa.ttl, 5);
        assert_eq!(zone.default_ttl, 5);
        let ttls: Vec<u32> = zone.rrsets.iter().map(|set| set.ttl).collect();
        assert_eq!(ttls, [5, 60, 60]);
    }

    #[test]
    fn the_default_ttl_argument_acts_as_a_leading_ttl_directive() {
        let origin: DomainName = "example.com.".parse().unwrap();
        let zone = parse_zone(
            "@ SOA ns1 hostmaster 1 2 3 4 5\n NS ns1\n",
            "t.zone",
            Some(&origin),
            Some(120),
        )
        .unwrap();
        assert_eq!(
            (zone.soa.ttl, zone.default_ttl, zone.rrsets[0].ttl),
            (120, 120, 120)
        );
    }

    #[test]
    fn owner_is_inherited_from_the_line_before() {
        check(
            "www 60 A 192.0.2.1\n    60 A 192.0.2.2\n\t60 TXT x\n",
            &[
                "www.example.com. 60 A 192.0.2.1",
                "www.example.com. 60 A 192.0.2.2",
                "www.example.com. 60 TXT \"x\"",
            ],
        );
    }

    #[test]
    fn origin_changes_how_relative_names_complete() {
        check(
            "$ORIGIN sub\nwww 60 A 192.0.2.1\n$ORIGIN example.com.\nx 60 PTR www.sub\n",
            &[
                "www.sub.example.com. 60 A 192.0.2.1",
                "x.example.com. 60 PTR www.sub.example.com.",
            ],
        );
    }

    #[test]
    fn parentheses_comments_and_crlf() {
        check(
            "a 60 ( ; the TTL\r\n  MX 10 ; preference\r\n  mx )\r\n\r\n; done\r\n",
            &["a.example.com. 60 MX 10 mx.example.com."],
        );
    }

    #[test]
    fn txt_strings_quoted_unquoted_and_escaped() {
        check(
            "t 60 TXT \"a \\\"b\\\" \\\\ ;(c)\" plain \\065\\011 \"\"\n",
            &["t.example.com. 60 TXT \"a \\\"b\\\" \\\\ ;(c)\" \"plain\" \"A\\011\" \"\""],
        );
    }

    #[test]
    fn every_supported_type() {
        check(
            "a 60 A 192.0.2.1\n\
             a 60 AAAA 2001:db8::1\n\
             a 60 MX 10 mx.example.net.\n\
             _sip._tcp 60 SRV 1 2 5060 sip\n\
             @ 60 CAA 128 issue \"ca.example.net; account=1\"\n\
             sub 60 NS ns.sub\n\
             ns.sub 60 A 192.0.2.53\n\
             1 60 PTR a\n",
            &[
                "example.com. 60 CAA 128 issue \"ca.example.net; account=1\"",
                "1.example.com. 60 PTR a.example.com.",
                "_sip._tcp.example.com. 60 SRV 1 2 5060 sip.example.com.",
                "a.example.com. 60 A 192.0.2.1",
                "a.example.com. 60 AAAA 2001:db8::1",
                "a.example.com. 60 MX 10 mx.example.net.",
                "sub.example.com. 60 NS ns.sub.example.com.",
                "ns.sub.example.com. 60 A 192.0.2.53",
            ],
        );
    }

    #[test]
    fn escaped_names_and_case() {
        check(
            "A\\.B\\032c 60 CNAME WWW.Example.NET.\n",
            &["a\\.b\\032c.example.com. 60 CNAME www.example.net."],
        );
    }

    #[test]
    fn owner_and_origin_errors() {
        check_error(
            " A 192.0.2.1\n$ORIGIN example.com.\n",
            &["t.zone:1: no origin: pass one or begin the file with $ORIGIN"],
        );
        let long = vec!["a".repeat(63); 4].join(".");
        check_error(
            &format!(
                "$ORIGIN example.com.\n\
                 @ 60 SOA ns1 hostmaster 1 2 3 4 5\n\
                 NS ns1\n\
                 {long} 60 A 192.0.2.1\n\
                 \x20 60 A 192.0.2.2\n"
            ),
            &[
                // Said too, since the NS line did not parse.
                "t.zone:2: the apex example.com. needs an NS record set",
                "t.zone:3: record type \"ns1\" is not supported (only A, AAAA, CNAME, MX, TXT, \
                 SRV, CAA, NS, PTR, MB, MG, MR, SSHFP, TLSA, SMIMEA, HINFO, SPF, NAPTR, DS, CDS, DNSKEY, CDNSKEY, DNAME, LOC, URI, RP, CERT, OPENPGPKEY, EUI48, EUI64, SVCB, HTTPS, SOA, or TYPEnnn in RFC 3597 generic form); if \"NS\" is meant as the type, indent the line to \
                 repeat the owner before it",
                &format!("t.zone:4: bad owner name: name longer than 255 octets in \"{long}\""),
            ],
        );
    }

    #[test]
    fn syntax_errors_name_the_line_and_value() {
        check_error(
            "$ORIGIN example.com.\n\
             @ 60 SOA ns1 hostmaster 1 2 3 4 5\n\
             @ 60 NS ns1\n\
             a 60 A 10.0.0.300\n\
             b 60 CH A 192.0.2.1\n\
             c 60 NAPTR x y\n\
             d 4294967295 A 192.0.2.1\n\
             e 60 MX 10\n\
             f 60 A 192.0.2.1 extra\n\
             $INCLUDE other.zone\n",
            &[
                "t.zone:4: bad IPv4 address \"10.0.0.300\"",
                "t.zone:5: class CH is not supported (only IN)",
                "t.zone:6: bad NAPTR order \"x\" (must be 0-65535)",
                "t.zone:6: bad NAPTR preference \"y\" (must be 0-65535)",
                "t.zone:7: TTL 4294967295 is larger than 2147483647 (RFC 2181 §8)",
                "t.zone:8: missing exchange in the MX record",
                "t.zone:9: unexpected \"extra\" after the A data",
                "t.zone:10: $INCLUDE is not supported; inline the file",
            ],
        );
    }
}
