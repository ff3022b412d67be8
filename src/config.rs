//! The node config file: TOML read in two steps. First serde (`deny_unknown_fields`, named
//! default functions) gives a `RawConfig` whose checked fields keep their source span; then
//! `RawConfig::validate` turns it into a `NodeConfig`, reporting *every* bad field at once,
//! each with its line. Relative paths resolve against the config file's directory.
//!
//! ```toml
//! [log]
//! format = "text"            # text | json
//! level = "info"             # or a tracing filter such as "info,gslb_dns=debug"
//!
//! [dns]
//! listen = ["127.0.0.1:5353", "[::1]:5353"]   # UDP and TCP on each
//! udp_workers = 0            # threads (SO_REUSEPORT sockets) per address; 0 = one per core
//! max_udp_payload = 1232
//!
//! [dns.tcp]
//! idle_timeout = "10s"
//! max_connections = 1024
//! max_queries_per_connection = 1000
//! max_connection_time = "2m"
//!
//! [dns.proxy]                # PROXY v2 from load balancers, UDP and TCP
//! listen = ["127.0.0.1:5300"]
//! trusted = ["10.0.0.0/8"]
//!
//! [dns.chaos]                # CH TXT version.bind / id.server
//! enabled = true
//! id = "dns-1"
//!
//! [[zones]]
//! file = "zones/example.test.zone"
//! origin = "example.test."   # optional when the file has $ORIGIN
//! ```

use std::fmt;
use std::net::SocketAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use gslb_dns::net::{Cidr, ListenerConfig, ProxyListenerConfig, TcpLimits, TrustedProxies};
use gslb_dns::ResponderOptions;
use gslb_store::DomainName;
use serde::Deserialize;
use toml::Spanned;

/// A config value with the place it was written (an empty span for defaults).
type Sp<T> = Spanned<T>;

/// The config file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// Logging; defaults to text at info.
    #[serde(default)]
    pub log: RawLog,
    /// The DNS role; required until other roles exist.
    pub dns: Option<RawDns>,
    /// Zone files served (until the control plane replicates zones).
    #[serde(default)]
    pub zones: Vec<RawZone>,
}

/// `[log]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLog {
    /// `text` (human) or `json` (one object per line).
    #[serde(default = "default_log_format")]
    pub format: LogFormat,
    /// A level (`info`) or a tracing filter (`info,gslb_dns=debug`).
    #[serde(default = "default_log_level")]
    pub level: Sp<String>,
}

impl Default for RawLog {
    fn default() -> RawLog {
        RawLog {
            format: default_log_format(),
            level: default_log_level(),
        }
    }
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

fn default_log_format() -> LogFormat {
    LogFormat::Text
}

fn default_log_level() -> Sp<String> {
    unspanned("info".to_string())
}

/// `[dns]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDns {
    /// Addresses served on UDP and TCP.
    #[serde(default = "default_listen")]
    pub listen: Vec<Sp<String>>,
    /// UDP threads per address; 0 = one per core.
    #[serde(default = "default_udp_workers")]
    pub udp_workers: Sp<usize>,
    /// Datagrams per recvmmsg/sendmmsg call.
    #[serde(default = "default_udp_batch")]
    pub udp_batch: Sp<usize>,
    /// SO_RCVBUF/SO_SNDBUF asked for (best effort).
    #[serde(default = "default_socket_buffer_bytes")]
    pub socket_buffer_bytes: Sp<usize>,
    /// Largest UDP reply sent and advertised.
    #[serde(default = "default_max_udp_payload")]
    pub max_udp_payload: Sp<u16>,
    /// How long shutdown lets in-flight TCP connections finish.
    #[serde(default = "default_drain_timeout")]
    pub drain_timeout: Sp<String>,
    /// `[dns.tcp]`.
    #[serde(default)]
    pub tcp: RawTcp,
    /// `[dns.proxy]`, absent = no PROXY listener.
    pub proxy: Option<RawProxy>,
    /// `[dns.chaos]`.
    #[serde(default)]
    pub chaos: RawChaos,
}

fn default_listen() -> Vec<Sp<String>> {
    vec![unspanned("127.0.0.1:5353".to_string())]
}
fn default_udp_workers() -> Sp<usize> {
    unspanned(0)
}
fn default_udp_batch() -> Sp<usize> {
    unspanned(64)
}
fn default_socket_buffer_bytes() -> Sp<usize> {
    unspanned(4 * 1024 * 1024)
}
fn default_max_udp_payload() -> Sp<u16> {
    unspanned(1232)
}
fn default_drain_timeout() -> Sp<String> {
    unspanned("5s".to_string())
}

/// `[dns.tcp]`: RFC 7766 limits.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTcp {
    /// Close a connection silent for this long (e.g. `10s`, `500ms`).
    #[serde(default = "default_idle_timeout")]
    pub idle_timeout: Sp<String>,
    /// Connections at once per listener; more are closed at once.
    #[serde(default = "default_max_connections")]
    pub max_connections: Sp<usize>,
    /// Close after answering this many queries.
    #[serde(default = "default_max_queries_per_connection")]
    pub max_queries_per_connection: Sp<u32>,
    /// Close a connection this long after it opened.
    #[serde(default = "default_max_connection_time")]
    pub max_connection_time: Sp<String>,
}

impl Default for RawTcp {
    fn default() -> RawTcp {
        RawTcp {
            idle_timeout: default_idle_timeout(),
            max_connections: default_max_connections(),
            max_queries_per_connection: default_max_queries_per_connection(),
            max_connection_time: default_max_connection_time(),
        }
    }
}

fn default_idle_timeout() -> Sp<String> {
    unspanned("10s".to_string())
}
fn default_max_connections() -> Sp<usize> {
    unspanned(1024)
}
fn default_max_queries_per_connection() -> Sp<u32> {
    unspanned(1000)
}
fn default_max_connection_time() -> Sp<String> {
    unspanned("2m".to_string())
}

/// `[dns.proxy]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProxy {
    /// Addresses served on UDP and TCP, every query behind a PROXY v2 header.
    pub listen: Vec<Sp<String>>,
    /// CIDRs of the balancers allowed to send PROXY headers.
    pub trusted: Vec<Sp<String>>,
}

/// `[dns.chaos]`: what CH TXT `version.bind` and `id.server` say.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawChaos {
    /// False refuses every CHAOS query.
    #[serde(default = "default_chaos_enabled")]
    pub enabled: bool,
    /// The `version.bind` text; defaults to `gslb <version>`.
    #[serde(default = "default_chaos_version")]
    pub version: String,
    /// The `id.server` text; absent = refused.
    pub id: Option<String>,
}

impl Default for RawChaos {
    fn default() -> RawChaos {
        RawChaos {
            enabled: default_chaos_enabled(),
            version: default_chaos_version(),
            id: None,
        }
    }
}

fn default_chaos_enabled() -> bool {
    true
}
fn default_chaos_version() -> String {
    concat!("gslb ", env!("CARGO_PKG_VERSION")).to_string()
}

/// `[[zones]]`: one master file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawZone {
    /// The file, relative to the config file's directory.
    pub file: Sp<String>,
    /// The origin, when the file has no `$ORIGIN`.
    pub origin: Option<Sp<String>>,
    /// TTL for records without one, when the file has no `$TTL`.
    pub default_ttl: Option<u32>,
}

fn unspanned<T>(value: T) -> Sp<T> {
    Spanned::new(0..0, value)
}

/// The validated config of one node.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// The file it came from (for messages).
    pub path: PathBuf,
    /// Log format.
    pub log_format: LogFormat,
    /// A tracing filter directive.
    pub log_filter: String,
    /// Listener settings for the DNS role.
    pub listeners: ListenerConfig,
    /// Answering settings for the DNS role.
    pub responder: ResponderOptions,
    /// Zone files to serve, paths resolved.
    pub zones: Vec<ZoneSource>,
}

/// One zone file to load.
#[derive(Debug, Clone)]
pub struct ZoneSource {
    /// Resolved path.
    pub file: PathBuf,
    /// The origin given in the config.
    pub origin: Option<DomainName>,
    /// The default TTL given in the config.
    pub default_ttl: Option<u32>,
    /// Where the entry is in the config file, for messages.
    pub line: Option<usize>,
}

/// Every problem found in a config (and its zone files), each with its place.
#[derive(Debug, Clone, Default, thiserror::Error)]
pub struct ConfigError {
    /// At least one when returned as an error.
    pub problems: Vec<ConfigProblem>,
}

/// One problem: `file:line: field: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// The file at fault (the config or a zone file).
    pub file: String,
    /// The 1-based line, when known.
    pub line: Option<usize>,
    /// The field path (`dns.listen[1]`), empty when the message says it all.
    pub field: String,
    /// What is wrong, naming the value.
    pub message: String,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if self.field.is_empty() {
            write!(f, ": {}", self.message)
        } else {
            write!(f, ": {}: {}", self.field, self.message)
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, problem) in self.problems.iter().enumerate() {
            if index > 0 {
                writeln!(f)?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

/// Reads and validates the config at `path`.
pub fn load(path: &Path) -> Result<NodeConfig, ConfigError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|error| ConfigError {
        problems: vec![ConfigProblem {
            file: file.clone(),
            line: None,
            field: String::new(),
            message: format!("cannot read config: {error}"),
        }],
    })?;
    parse(&text, path)
}

/// Parses and validates config `text` read from `path`, reporting every unknown key and
/// every bad value at once.
pub fn parse(text: &str, path: &Path) -> Result<NodeConfig, ConfigError> {
    let mut structural = Problems::new(path, text);
    // serde stops at the first unknown key. To name them all, each one is blanked out
    // (spaces; newlines kept, so every line number stays true) and parsing is retried.
    let mut current = text.to_string();
    let mut raw = None;
    for _ in 0..MAX_UNKNOWN_KEYS {
        match toml::from_str::<RawConfig>(&current) {
            Ok(parsed) => {
                raw = Some(parsed);
                break;
            }
            Err(error) => {
                let message = error.message().trim_end().replace('\n', "; ");
                let span = error.span();
                structural.push_at(
                    span.clone().map(|span| line_of(text, span.start)),
                    "",
                    message.clone(),
                );
                let blanked = span
                    .filter(|_| message.starts_with("unknown field"))
                    .and_then(|span| entry_range(&current, span.start));
                match blanked {
                    Some(range) => blank(&mut current, range),
                    None => break,
                }
            }
        }
    }
    let Some(raw) = raw else {
        return Err(structural.into_error());
    };
    match raw.validate(text, path) {
        Ok(config) if structural.found.is_empty() => Ok(config),
        Ok(_) => Err(structural.into_error()),
        Err(semantic) => {
            let mut problems = structural.found;
            problems.extend(semantic.problems);
            problems.sort_by_key(|problem| problem.line);
            Err(ConfigError { problems })
        }
    }
}

/// Unknown keys reported in one run at most (each costs a parse).
const MAX_UNKNOWN_KEYS: usize = 32;

/// The byte range of the key/value entry (or whole table) whose key covers `offset`.
fn entry_range(text: &str, offset: usize) -> Option<Range<usize>> {
    let document = toml_edit::ImDocument::parse(text).ok()?;
    find_entry(document.as_table(), text, offset)
}

fn find_entry(table: &toml_edit::Table, text: &str, offset: usize) -> Option<Range<usize>> {
    for (name, item) in table.iter() {
        let key_span = table.key(name).and_then(|key| key.span());
        let covers = key_span
            .as_ref()
            .is_some_and(|span| span.start <= offset && offset < span.end.max(span.start + 1));
        match item {
            toml_edit::Item::Table(inner) => {
                if covers {
                    // A whole unknown table: its header line through its last entry.
                    let header = inner.span().or(key_span)?;
                    let start = text[..header.start].rfind('\n').map_or(0, |at| at + 1);
                    return Some(start..table_end(inner).max(header.end));
                }
                if let Some(range) = find_entry(inner, text, offset) {
                    return Some(range);
                }
            }
            toml_edit::Item::ArrayOfTables(array) => {
                for inner in array.iter() {
                    if let Some(range) = find_entry(inner, text, offset) {
                        return Some(range);
                    }
                }
            }
            toml_edit::Item::Value(value) if covers => {
                let key_span = key_span?;
                return Some(key_span.start..value.span()?.end);
            }
            _ => {}
        }
    }
    None
}

/// Where the last entry of `table` (or of its sub-tables) ends.
fn table_end(table: &toml_edit::Table) -> usize {
    table
        .iter()
        .filter_map(|(_, item)| match item {
            toml_edit::Item::Table(inner) => Some(table_end(inner)),
            item => item.span().map(|span| span.end),
        })
        .max()
        .unwrap_or(0)
}

/// Replaces `range` of `text` by spaces, keeping newlines.
fn blank(text: &mut String, range: Range<usize>) {
    let blanked: String = text[range.clone()]
        .chars()
        .map(|c| if c == '\n' { '\n' } else { ' ' })
        .collect();
    // Multi-byte characters become one space each: pad to keep later offsets.
    let padded = format!("{blanked:<width$}", width = range.len());
    text.replace_range(range, &padded);
}

/// Collects problems against one file's text.
struct Problems<'a> {
    file: String,
    text: &'a str,
    found: Vec<ConfigProblem>,
}

impl<'a> Problems<'a> {
    fn new(path: &Path, text: &'a str) -> Problems<'a> {
        Problems {
            file: path.display().to_string(),
            text,
            found: Vec::new(),
        }
    }

    fn push(&mut self, span: Range<usize>, field: impl Into<String>, message: impl Into<String>) {
        let line = if span == (0..0) {
            None
        } else {
            Some(line_of(self.text, span.start))
        };
        self.push_at(line, field, message);
    }

    fn push_at(
        &mut self,
        line: Option<usize>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) {
        self.found.push(ConfigProblem {
            file: self.file.clone(),
            line,
            field: field.into(),
            message: message.into(),
        });
    }

    fn into_error(self) -> ConfigError {
        ConfigError {
            problems: self.found,
        }
    }
}

/// The 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|byte| **byte == b'\n')
        .count()
        + 1
}

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

        let mut listeners = ListenerConfig::default();
        let mut responder = ResponderOptions::default();
        match self.dns {
            None => problems.push_at(None, "dns", "no role configured; add a [dns] section"),
            Some(dns) => {
                listeners.listen = addresses(&dns.listen, "dns.listen", &mut problems);
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
                listeners.drain_timeout =
                    duration(&dns.drain_timeout, "dns.drain_timeout", &mut problems);
                listeners.tcp = tcp_limits(&dns.tcp, &mut problems);
                if let Some(proxy) = &dns.proxy {
                    let listen = addresses(&proxy.listen, "dns.proxy.listen", &mut problems);
                    if proxy.listen.is_empty() {
                        problems.push_at(
                            None,
                            "dns.proxy.listen",
                            "must name at least one address",
                        );
                    }
                    let mut trusted = Vec::new();
                    for (index, entry) in proxy.trusted.iter().enumerate() {
                        match entry.get_ref().parse::<Cidr>() {
                            Ok(cidr) => trusted.push(cidr),
                            Err(error) => problems.push(
                                entry.span(),
                                format!("dns.proxy.trusted[{index}]"),
                                format!("{error} in {:?}", entry.get_ref()),
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
            }
        }

        let mut zones = Vec::new();
        for (index, zone) in self.zones.iter().enumerate() {
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

        if !problems.found.is_empty() {
            return Err(problems.into_error());
        }
        Ok(NodeConfig {
            path: path.to_path_buf(),
            log_format: self.log.format,
            log_filter,
            listeners,
            responder,
            zones,
        })
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

fn tcp_limits(raw: &RawTcp, problems: &mut Problems<'_>) -> TcpLimits {
    let limits = TcpLimits {
        idle_timeout: duration(&raw.idle_timeout, "dns.tcp.idle_timeout", problems),
        max_connections: *raw.max_connections.get_ref(),
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
    ] {
        if value.is_zero() && !problems.found.iter().any(|problem| problem.field == field) {
            problems.push(span, field, "must be > 0");
        }
    }
    limits
}

fn duration(entry: &Sp<String>, field: &str, problems: &mut Problems<'_>) -> Duration {
    match parse_duration(entry.get_ref()) {
        Some(value) => value,
        None => {
            problems.push(
                entry.span(),
                field,
                format!(
                    "invalid duration {:?} (want a number with ms, s, m or h, e.g. \"10s\")",
                    entry.get_ref()
                ),
            );
            Duration::ZERO
        }
    }
}

/// Parses `500ms`, `10s`, `2m`, `1h` (one number, one unit).
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().ok()?;
    let millis = match unit.trim() {
        "ms" => number,
        "s" => number.checked_mul(1000)?,
        "m" => number.checked_mul(60_000)?,
        "h" => number.checked_mul(3_600_000)?,
        _ => return None,
    };
    Some(Duration::from_millis(millis))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems_of(text: &str) -> Vec<String> {
        match parse(text, Path::new("node.toml")) {
            Ok(_) => Vec::new(),
            Err(error) => error.problems.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn a_minimal_config_takes_the_defaults() {
        let config = parse("[dns]\n", Path::new("/etc/gslb/node.toml")).unwrap();
        assert_eq!(
            config.listeners.listen,
            vec!["127.0.0.1:5353".parse().unwrap()]
        );
        assert_eq!(config.listeners.tcp, TcpLimits::default());
        assert_eq!(config.log_format, LogFormat::Text);
        assert!(config.zones.is_empty());
    }

    #[test]
    fn zone_paths_resolve_against_the_config_directory() {
        let text = "[dns]\n[[zones]]\nfile = \"z/a.zone\"\norigin = \"a.test\"\n";
        let config = parse(text, Path::new("/etc/gslb/node.toml")).unwrap();
        assert_eq!(config.zones[0].file, PathBuf::from("/etc/gslb/z/a.zone"));
        assert_eq!(
            config.zones[0].origin.as_ref().unwrap().to_string(),
            "a.test."
        );
        assert_eq!(config.zones[0].line, Some(3));
    }

    #[test]
    fn an_unknown_key_is_reported_with_its_line() {
        let problems = problems_of("[dns]\nlisten = [\"127.0.0.1:53\"]\nlissten = 1\n");
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].starts_with("node.toml:3: unknown field `lissten`"),
            "{problems:?}"
        );
    }

    #[test]
    fn every_unknown_key_and_bad_value_is_reported_with_its_line() {
        let text = "\
lvel = 1
[dns]
listen = [\"127.0.0.1:53\"]
udp_batch = 0
lissten = [
  \"a\",
]
[dns.tcp]
idle = \"5s\"
[dns.tpc]
x = 1
[[zones]]
file = \"a.zone\"
orign = \"a.test\"
";
        let problems = problems_of(text);
        let expected = [
            "node.toml:1: unknown field `lvel`",
            "node.toml:4: dns.udp_batch: must be in 1..=1024, got 0",
            "node.toml:5: unknown field `lissten`",
            "node.toml:9: unknown field `idle`",
            "node.toml:10: unknown field `tpc`",
            "node.toml:14: unknown field `orign`",
        ];
        for wanted in expected {
            assert!(
                problems.iter().any(|problem| problem.starts_with(wanted)),
                "missing {wanted:?} in {problems:#?}"
            );
        }
        assert_eq!(problems.len(), expected.len(), "{problems:#?}");
    }

    #[test]
    fn every_bad_field_is_reported_with_its_line() {
        let text = "\
[log]
level = \"loud\"
[dns]
listen = [\"127.0.0.1:53\", \"localhost\"]
udp_batch = 0
[dns.tcp]
idle_timeout = \"10 parsecs\"
max_connections = 0
[dns.proxy]
listen = [\"127.0.0.1:5300\"]
trusted = [\"10.0.0.0/33\"]
[[zones]]
file = \"a.zone\"
origin = \"bad..name\"
";
        let problems = problems_of(text);
        let expected = [
            "node.toml:2: log.level:",
            "node.toml:4: dns.listen[1]: invalid socket address \"localhost\"",
            "node.toml:5: dns.udp_batch: must be in 1..=1024, got 0",
            "node.toml:7: dns.tcp.idle_timeout: invalid duration \"10 parsecs\"",
            "node.toml:8: dns.tcp.max_connections: must be > 0, got 0",
            "node.toml:11: dns.proxy.trusted[0]: invalid prefix length \"33\"",
            "node.toml:14: zones[0].origin: invalid name \"bad..name\"",
        ];
        for wanted in expected {
            assert!(
                problems.iter().any(|problem| problem.starts_with(wanted)),
                "missing {wanted:?} in {problems:#?}"
            );
        }
        assert_eq!(problems.len(), expected.len(), "{problems:#?}");
    }

    #[test]
    fn durations_take_one_unit() {
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("10s"), Some(Duration::from_secs(10)));
        assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_duration("10"), None);
        assert_eq!(parse_duration("s"), None);
        assert_eq!(parse_duration("1d"), None);
    }
}
