//! The master-file grammar: logical lines from the lexer → directives and records → a `Zone`.
//!
//! Every problem is collected with its line and parsing goes on, so one run reports the whole
//! file. Records with a problem are left out; once the file is read, the records are grouped
//! into sets, TTLs are resolved, and `Zone::validate` runs with its errors mapped back to the
//! line of the record at fault.

use crate::model::{DomainName, FieldErrors, RData, RecordSet, RecordType, Soa, Zone, MAX_TTL};
use crate::zonefile::fields::{parse_duration, supported_types, DurationError, Problem};
use crate::zonefile::lexer::{Entry, Lexer, Token};
use crate::zonefile::rdata;

/// Parses `text` into a validated zone with the warnings (sorted by line), or returns every
/// problem sorted by line.
pub(crate) fn parse(
    text: &str,
    origin: Option<&DomainName>,
    default_ttl: Option<u32>,
) -> Result<(Zone, Vec<Problem>), Vec<Problem>> {
    let mut lexer = Lexer::new(text);
    let mut parser = Parser {
        problems: Vec::new(),
        warnings: Vec::new(),
        apex: origin.cloned(),
        origin: origin.cloned(),
        default_ttl,
        file_ttl: None,
        last_explicit_ttl: None,
        last_owner: None,
        reported_no_origin: false,
        soa: None,
        soa_seen: false,
        records: Vec::new(),
    };
    if let Some(ttl) = default_ttl {
        if ttl > MAX_TTL {
            parser.problems.push((
                1,
                format!("default TTL {ttl} is larger than {MAX_TTL} (RFC 2181 §8)"),
            ));
        }
    }
    // One logical line at a time: the file is never held as a list of entries too.
    while let Some(entry) = lexer.next_entry() {
        parser.entry(&entry);
    }
    // The lexer's problems first, as if it had run ahead: the sort by line below is stable.
    let mut problems: Vec<Problem> = lexer
        .errors
        .into_iter()
        .map(|error| (error.line, error.message))
        .collect();
    problems.append(&mut parser.problems);
    parser.problems = problems;
    let result = parser.finish();
    result.map_err(|mut problems| {
        problems.sort_by_key(|(line, _)| *line);
        problems
    })
}

/// Parses a TTL in seconds or with BIND units (`30`, `1h30m`, `1d`, `2w`), at most 2^31 - 1.
pub(crate) fn parse_ttl(text: &str) -> Result<u32, String> {
    match parse_duration(text, u64::from(MAX_TTL)) {
        Ok(value) => Ok(value as u32),
        Err(DurationError::Malformed) => Err(format!("bad TTL {text:?}")),
        Err(DurationError::TooLarge) => {
            Err(format!("TTL {text} is larger than {MAX_TTL} (RFC 2181 §8)"))
        }
    }
}

/// The SOA fields as read, before its TTL is resolved.
struct SoaRecord {
    soa: Soa,
    ttl: Option<u32>,
    line: usize,
}

/// One record as read, before grouping.
struct Record {
    owner: DomainName,
    rdata: RData,
    ttl: Option<u32>,
    line: usize,
}

/// The state carried from one logical line to the next.
struct Parser {
    /// Every problem so far.
    problems: Vec<Problem>,
    /// What was accepted but changed on the way (identical records merged).
    warnings: Vec<Problem>,
    /// The zone apex: the `origin` argument, else the first `$ORIGIN`.
    apex: Option<DomainName>,
    /// What relative names are completed with: the apex, or the last `$ORIGIN`.
    origin: Option<DomainName>,
    /// The TTL for records written without one: the argument, then each `$TTL`.
    default_ttl: Option<u32>,
    /// The first `$TTL` of the file; the zone's `default_ttl` when present.
    file_ttl: Option<u32>,
    /// The last TTL written on a record (RFC 1035 §5.1), used when there is no `$TTL`.
    last_explicit_ttl: Option<u32>,
    /// The owner a line starting with blank space repeats; `Err` when it did not parse
    /// (its error is already reported, so records repeating it are skipped quietly).
    last_owner: Option<Result<DomainName, ()>>,
    /// "No origin" is said once, not once per record.
    reported_no_origin: bool,
    /// The SOA record, once seen.
    soa: Option<SoaRecord>,
    /// True once any line had the type SOA, so a broken SOA is not also called missing.
    soa_seen: bool,
    /// Every other good record, in file order.
    records: Vec<Record>,
}

impl Parser {
    fn problem(&mut self, line: usize, message: impl Into<String>) {
        self.problems.push((line, message.into()));
    }

    fn entry(&mut self, entry: &Entry<'_>) {
        let first = &entry.tokens[0];
        if !entry.starts_with_blank && !first.quoted && first.text.starts_with('$') {
            self.directive(entry);
        } else {
            self.record(entry);
        }
    }

    fn directive(&mut self, entry: &Entry<'_>) {
        let name = entry.tokens[0].text;
        let line = entry.line;
        let arguments = &entry.tokens[1..];
        if name.eq_ignore_ascii_case("$ORIGIN") {
            let Some(argument) = self.single_argument(name, arguments, line) else {
                return;
            };
            let parsed = match &self.origin {
                Some(origin) => DomainName::parse_relative_to(argument.text, origin),
                None => DomainName::parse_absolute(argument.text),
            };
            match parsed {
                Ok(origin) => {
                    if self.apex.is_none() {
                        self.apex = Some(origin.clone());
                    }
                    self.origin = Some(origin);
                }
                Err(error) => self.problem(line, format!("bad $ORIGIN: {error}")),
            }
        } else if name.eq_ignore_ascii_case("$TTL") {
            let Some(argument) = self.single_argument(name, arguments, line) else {
                return;
            };
            match parse_ttl(argument.text) {
                Ok(ttl) => {
                    self.default_ttl = Some(ttl);
                    self.file_ttl.get_or_insert(ttl);
                }
                Err(message) => self.problem(argument.line, format!("$TTL: {message}")),
            }
        } else if name.eq_ignore_ascii_case("$INCLUDE") {
            self.problem(line, "$INCLUDE is not supported; inline the file");
        } else if name.eq_ignore_ascii_case("$GENERATE") {
            self.problem(line, "$GENERATE is not supported; write the records out");
        } else {
            self.problem(line, format!("unknown directive {name:?}"));
        }
    }

    fn single_argument<'t, 'a>(
        &mut self,
        directive: &str,
        arguments: &'t [Token<'a>],
        line: usize,
    ) -> Option<&'t Token<'a>> {
        match arguments {
            [argument] => Some(argument),
            [] => {
                self.problem(line, format!("{directive} needs a value"));
                None
            }
            [_, extra, ..] => {
                self.problem(
                    extra.line,
                    format!("unexpected {:?} after {directive}", extra.text),
                );
                None
            }
        }
    }

    fn record(&mut self, entry: &Entry<'_>) {
        let Some(origin) = self.origin.clone() else {
            if !self.reported_no_origin {
                self.reported_no_origin = true;
                self.problem(
                    entry.line,
                    "no origin: pass one or begin the file with $ORIGIN",
                );
            }
            return;
        };
        let mut ok = true;
        let mut index = 0;
        let owner = if entry.starts_with_blank {
            match &self.last_owner {
                Some(Ok(owner)) => Some(owner.clone()),
                Some(Err(())) => None,
                None => {
                    self.problem(
                        entry.line,
                        "the line starts with blank space but there is no owner to repeat",
                    );
                    None
                }
            }
        } else {
            index = 1;
            match DomainName::parse_relative_to(entry.tokens[0].text, &origin) {
                Ok(owner) => {
                    self.last_owner = Some(Ok(owner.clone()));
                    Some(owner)
                }
                Err(error) => {
                    self.last_owner = Some(Err(()));
                    self.problem(entry.line, format!("bad owner name: {error}"));
                    None
                }
            }
        };
        ok &= owner.is_some();

        // Optional TTL and class, in either order, then the type.
        let mut ttl: Option<u32> = None;
        let mut ttl_seen = false;
        let mut class_seen = false;
        let rtype = loop {
            let Some(token) = entry.tokens.get(index) else {
                self.problem(entry.line, "missing record type");
                return;
            };
            index += 1;
            if !token.quoted && token.text.starts_with(|c: char| c.is_ascii_digit()) {
                if ttl_seen {
                    self.problem(token.line, format!("second TTL {:?}", token.text));
                    ok = false;
                }
                ttl_seen = true;
                match parse_ttl(token.text) {
                    Ok(value) => ttl = Some(value),
                    Err(message) => {
                        self.problem(token.line, message);
                        ok = false;
                    }
                }
            } else if !token.quoted && is_class(token.text) {
                if class_seen {
                    self.problem(token.line, format!("second class {:?}", token.text));
                    ok = false;
                } else if !token.text.eq_ignore_ascii_case("IN") {
                    self.problem(
                        token.line,
                        format!(
                            "class {} is not supported (only IN)",
                            token.text.to_ascii_uppercase()
                        ),
                    );
                    ok = false;
                }
                class_seen = true;
            } else {
                if token.quoted {
                    self.problem(
                        token.line,
                        format!(
                            "expected a record type, got the quoted string \"{}\"",
                            token.text
                        ),
                    );
                    return;
                }
                match RecordType::from_mnemonic(token.text) {
                    Some(rtype) => break rtype,
                    None => {
                        let owner = entry.tokens[0].text;
                        let hint = if !entry.starts_with_blank
                            && (RecordType::from_mnemonic(owner).is_some() || is_class(owner))
                        {
                            format!(
                                "; if {owner:?} is meant as the type, indent the line to repeat \
                                 the owner before it"
                            )
                        } else {
                            String::new()
                        };
                        self.problem(
                            token.line,
                            format!(
                                "record type {:?} is not supported (only {}, or TYPEnnn in RFC 3597 generic form){hint}",
                                token.text,
                                supported_types()
                            ),
                        );
                        return;
                    }
                }
            }
        };
        self.soa_seen |= rtype == RecordType::SOA;
        let fields = &entry.tokens[index..];
        let type_line = entry.tokens[index - 1].line;
        let generic = fields
            .first()
            .is_some_and(|first| !first.quoted && first.text == "\\#");
        let parsed = if rtype == RecordType::SOA && !generic {
            rdata::read_soa(fields, type_line, &origin, &mut self.problems).map(ParsedData::Soa)
        } else {
            rdata::read_rdata(rtype, fields, type_line, &origin, &mut self.problems)
                .map(ParsedData::Record)
        };
        if let Some(value) = ttl {
            self.last_explicit_ttl = Some(value);
        }
        let resolved_ttl = ttl.or(self.default_ttl).or(self.last_explicit_ttl);
        let (Some(owner), Some(parsed), true) = (owner, parsed, ok) else {
            return;
        };
        match parsed {
            ParsedData::Soa(soa) => self.add_soa(owner, soa, resolved_ttl, entry.line),
            ParsedData::Record(rdata) => self.records.push(Record {
                owner,
                rdata,
                ttl: resolved_ttl,
                line: entry.line,
            }),
        }
    }

    fn add_soa(&mut self, owner: DomainName, soa: Soa, ttl: Option<u32>, line: usize) {
        // An origin is known (records are only read then), and with it the apex.
        let Some(apex) = self.apex.clone() else {
            return;
        };
        if owner != apex {
            self.problem(
                line,
                format!("SOA owner {owner} is not the apex {apex}; the SOA must be at the apex"),
            );
            return;
        }
        if let Some(first) = &self.soa {
            let first_line = first.line;
            self.problem(
                line,
                format!("second SOA record (the first is on line {first_line})"),
            );
            return;
        }
        self.soa = Some(SoaRecord { soa, ttl, line });
    }

    /// Groups the records into sets (merging identical records, with a warning), resolves
    /// TTLs and validates the zone.
    fn finish(mut self) -> Result<(Zone, Vec<Problem>), Vec<Problem>> {
        // Records read before the origin was known were skipped; zone-wide checks would
        // only add noise then.
        let apex = match self.apex.clone() {
            Some(apex) if !self.reported_no_origin => apex,
            _ => {
                if !self.reported_no_origin {
                    self.problem(1, "no origin: pass one or begin the file with $ORIGIN");
                }
                return Err(self.problems);
            }
        };
        let first_line = self.records.first().map_or(1, |record| record.line);
        let soa_missing = self.soa.is_none();
        let (soa, soa_line) = match self.soa.take() {
            Some(record) => {
                let mut soa = record.soa;
                soa.ttl = record.ttl.unwrap_or(soa.minimum);
                (soa, record.line)
            }
            None => {
                if !self.soa_seen {
                    self.problem(first_line, format!("no SOA record at the apex {apex}"));
                }
                (placeholder_soa(&apex), first_line)
            }
        };

        // Sort the records by (owner, type), stably so each set keeps file order, and move
        // each run of equal keys into one set: no map of sets, no copy of a name or RDATA.
        let mut records = std::mem::take(&mut self.records);
        records.sort_by(|a, b| {
            (&a.owner, a.rdata.record_type()).cmp(&(&b.owner, b.rdata.record_type()))
        });
        // Straight into the zone's persistent vector: a `Vec` converted at the end would
        // hold every set twice at the peak.
        let mut rrsets: imbl::Vector<RecordSet> = imbl::Vector::new();
        let mut lines = SetLines::default();
        for record in records {
            let rtype = record.rdata.record_type();
            let ttl = record.ttl.unwrap_or(soa.minimum);
            let line = record.line as u32;
            match rrsets.back_mut() {
                Some(set) if set.name == record.owner && set.rtype == rtype => {
                    if set.ttl != ttl {
                        let first = lines.first_of_last_set();
                        let first_ttl = set.ttl;
                        self.problem(
                            record.line,
                            format!(
                                "TTL {ttl} of {} {rtype} differs from {first_ttl} on line {first}; \
                                 a record set has one TTL (RFC 2181 §5.2)",
                                record.owner
                            ),
                        );
                        continue;
                    }
                    if let Some(index) = set.rdata.iter().position(|rdata| *rdata == record.rdata) {
                        // BIND, NSD and Knot merge identical records; so do we, and say so.
                        let first = lines.of(lines.starts.len() - 1)[index];
                        self.warnings.push((
                            record.line,
                            format!(
                                "{} {rtype} {} repeats line {first}; merged into one record",
                                record.owner, record.rdata
                            ),
                        ));
                        continue;
                    }
                    set.rdata.push(record.rdata);
                    lines.push(line);
                }
                _ => {
                    rrsets.push_back(RecordSet {
                        name: record.owner,
                        rtype,
                        ttl,
                        rdata: vec![record.rdata],
                    });
                    lines.start_set(line);
                }
            }
        }
        let default_ttl = self.file_ttl.or(self.default_ttl).unwrap_or(soa.minimum);
        // Already in `Zone::normalize`'s order: the records were sorted by the same key.
        let zone = Zone {
            serial_policy: Default::default(),
            transfer: Default::default(),
            apex,
            soa,
            default_ttl,
            rrsets: rrsets.into(),
        };
        let mut errors = FieldErrors::default();
        zone.validate("", &mut errors);
        for error in errors.0 {
            if soa_missing && error.path.starts_with("soa") {
                continue;
            }
            let (line, message) = locate(&zone, &lines, soa_line, &error.path, &error.message);
            self.problem(line, message);
        }
        if self.problems.is_empty() {
            self.warnings.sort_by_key(|(line, _)| *line);
            Ok((zone, self.warnings))
        } else {
            Err(self.problems)
        }
    }
}

/// The line of every record of every set, by set index: one flat list, so a million
/// one-record sets cost eight octets each here, not a list apiece.
#[derive(Default)]
struct SetLines {
    /// Where each set's lines start in `lines`.
    starts: Vec<u32>,
    /// The lines, set after set, each set's in file order.
    lines: Vec<u32>,
}

impl SetLines {
    fn start_set(&mut self, line: u32) {
        self.starts.push(self.lines.len() as u32);
        self.lines.push(line);
    }

    fn push(&mut self, line: u32) {
        self.lines.push(line);
    }

    /// The first line of the set started last.
    fn first_of_last_set(&self) -> u32 {
        self.starts
            .last()
            .map_or(0, |&start| self.lines[start as usize])
    }

    /// The lines of set `index` (never empty for a set that exists).
    fn of(&self, index: usize) -> &[u32] {
        let Some(&start) = self.starts.get(index) else {
            return &[];
        };
        let end = self
            .starts
            .get(index + 1)
            .map_or(self.lines.len(), |&end| end as usize);
        &self.lines[start as usize..end]
    }
}

/// What a record line carries: the SOA goes to `Zone::soa`, the rest into sets.
enum ParsedData {
    Soa(Soa),
    Record(RData),
}

/// Maps one `Zone::validate` error to a line and a message that makes sense in a zone file.
fn locate(
    zone: &Zone,
    lines: &SetLines,
    soa_line: usize,
    path: &str,
    message: &str,
) -> (usize, String) {
    if let Some(rest) = path.strip_prefix("rrsets[") {
        let (index_text, field) = rest.split_once(']').unwrap_or((rest, ""));
        let index = index_text.parse::<usize>().ok();
        if let Some((index, set)) = index.and_then(|index| Some((index, zone.rrsets.get(index)?))) {
            let lines = lines.of(index);
            let record_index = field
                .strip_prefix(".rdata[")
                .and_then(|rest| rest.split_once(']'))
                .and_then(|(index, _)| index.parse::<usize>().ok())
                .unwrap_or(0);
            let line = lines
                .get(record_index)
                .or(lines.first())
                .map_or(soa_line, |&line| line as usize);
            let name = set.name.to_string();
            let message = if message.contains(&name) {
                message.to_string()
            } else {
                format!("{name} {}: {message}", set.rtype)
            };
            return (line, message);
        }
    }
    if path == "rrsets" {
        // The message names the owner at fault; point at its first record (its CNAME when
        // the complaint is about one).
        let line = message
            .split_whitespace()
            .filter_map(|word| DomainName::parse_absolute(word).ok())
            .find_map(|name| {
                let cname_line = position_of(zone, &name, Some(RecordType::CNAME))
                    .filter(|_| message.contains("CNAME"))
                    .and_then(|index| lines.of(index).first().copied());
                let owner_line = || {
                    if name == zone.apex {
                        return Some(soa_line as u32);
                    }
                    // The owner's first line: the earliest of its sets' first lines.
                    let first = position_of(zone, &name, None)?;
                    zone.rrsets
                        .range(first..zone.rrsets.len())
                        .take_while(|set| set.name == name)
                        .enumerate()
                        .filter_map(|(offset, _)| lines.of(first + offset).first().copied())
                        .min()
                };
                cname_line.or_else(owner_line).map(|line| line as usize)
            })
            .unwrap_or(soa_line);
        return (line, message.to_string());
    }
    if let Some(field) = path.strip_prefix("soa.") {
        return (soa_line, format!("SOA {field}: {message}"));
    }
    (soa_line, format!("{path}: {message}"))
}

/// The index of the set `name`/`rtype` in the sorted `zone.rrsets`, or with `rtype` `None`
/// of the first set at `name`.
fn position_of(zone: &Zone, name: &DomainName, rtype: Option<RecordType>) -> Option<usize> {
    let index = match rtype {
        Some(rtype) => zone.rrsets.position(name, rtype)?,
        None => zone.rrsets.partition_point(|set| &set.name < name),
    };
    zone.rrsets
        .get(index)
        .filter(|set| &set.name == name)
        .map(|_| index)
}

fn placeholder_soa(apex: &DomainName) -> Soa {
    Soa {
        mname: apex.clone(),
        rname: apex.clone(),
        serial: 0,
        refresh: 0,
        retry: 0,
        expire: 0,
        minimum: 0,
        ttl: 0,
    }
}

fn is_class(text: &str) -> bool {
    ["IN", "CH", "CS", "HS", "NONE", "ANY"]
        .iter()
        .any(|class| class.eq_ignore_ascii_case(text))
        || text
            .get(..5)
            .is_some_and(|prefix| prefix.eq_ignore_ascii_case("CLASS"))
            && text.len() > 5
            && text[5..].bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_units() {
        for (text, expected) in [
            ("0", Ok(0)),
            ("300", Ok(300)),
            ("1h30m", Ok(5400)),
            ("1d", Ok(86400)),
            ("1W", Ok(604800)),
            ("2h1s", Ok(7201)),
            ("2147483647", Ok(2147483647)),
            (
                "2147483648",
                Err("TTL 2147483648 is larger than 2147483647 (RFC 2181 §8)"),
            ),
            (
                "99999999999999999999999",
                Err("TTL 99999999999999999999999 is larger than 2147483647 (RFC 2181 §8)"),
            ),
            ("1h30", Err("bad TTL \"1h30\"")),
            ("h", Err("bad TTL \"h\"")),
            ("1x", Err("bad TTL \"1x\"")),
            ("", Err("bad TTL \"\"")),
        ] {
            assert_eq!(
                parse_ttl(text),
                expected.map_err(|message: &str| message.to_string()),
                "{text:?}"
            );
        }
    }
}
