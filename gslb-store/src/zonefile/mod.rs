//! RFC 1035 master-file import into the model, and the export that reads back the same.
//!
//! Layout:
//! - `lexer`: comments, quotes, escapes, parentheses and line numbers → logical lines.
//! - `parser`: directives and records → a `Zone`, every problem with its line.
//! - `export`: a `Zone` → master-file text that `parse_zone` turns back into the same `Zone`.
//!
//! Import is all-or-nothing: any problem (syntax, an unsupported type or class, or a zone
//! rule from `Zone::validate`) yields a `ZoneFileError` listing every problem found as
//! `file:line: message`, and no zone.
//!
//! Supported: `$ORIGIN`, `$TTL` (with BIND units such as `1h30m`), relative names and `@`,
//! owner inheritance, optional TTL and class (IN only) in either order, parentheses, quoted
//! strings with `\"`, `\\` and `\DDD`, comments, CRLF; types A, AAAA, CNAME, MX, TXT, SRV, CAA,
//! NS, PTR and SOA. Refused with a named error: `$INCLUDE`, `$GENERATE`, other classes, other
//! types (RFC 3597 `TYPEnnn` included), TTLs above 2^31 - 1.
//!
//! Invariant: no input text makes the import panic (proptest here, `fuzz/fuzz_targets/zone_file.rs`).

mod export;
mod lexer;
mod parser;

use std::fmt;

use crate::model::{DomainName, Zone};

pub use export::export_zone;

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
    parser::parse(text, origin, default_ttl).map_err(|problems| ZoneFileError {
        problems: problems
            .into_iter()
            .map(|(line, message)| ZoneFileProblem {
                file_name: file_name.to_string(),
                line,
                message,
            })
            .collect(),
    })
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
