//! `gslbctl`: the operator's command-line client of the REST API, built on
//! `gslb_api::client::Client`.
//!
//! Flags are parsed (clap), then one command runs; every write waits until the change is
//! `INSYNC` on all DNS nodes (polling `GET /v1/changes/{version}`) and says how long that
//! took, unless `--no-wait`. Errors are printed once, at the top, with the API's message and
//! every field at fault, and the exit status is 1.
//!
//! Layout: this file holds the clap tree and the dispatch only; each command group has its
//! module (`resources`: get/create/delete, `zone`, `apply`, `inspect`: health/resolve/change,
//! `drill`, `cluster`, `token`, `route53`: import from Route 53), `ctl` what they share, and
//! `print` the human tables.

#[macro_use]
mod out;

mod apply;
mod apply_input;
mod cluster;
mod ctl;
mod dnssec;
mod drill;
mod events;
mod inspect;
mod print;
mod resources;
mod route53;
mod token;
mod tsig;
mod zone;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use gslb_api::client::{Client, ClientError};
use gslb_api::dto::ScopeDto;
use gslb_store::raft::ClientTls;
use serde_json::Value;

use crate::ctl::Ctl;

/// Client of the gslb REST API.
///
/// Every write waits until the change is INSYNC on all DNS nodes and says how long that
/// took (--no-wait, --timeout). Errors print the API's message and every field at fault,
/// and exit with status 1.
#[derive(Debug, Parser)]
#[command(
    name = "gslbctl",
    version,
    after_help = "Examples:\n  \
        gslbctl zone import example.com.zone\n  \
        gslbctl get zone example.com. -o yaml\n  \
        gslbctl apply -f gslb.yaml --dry-run\n  \
        gslbctl delete record www --zone example.com. --type A\n  \
        gslbctl get networks; gslbctl delete network 198.51.100.0/24\n  \
        gslbctl token create ci --scope write\n  \
        gslbctl drill plan --region eu-west\n  \
        gslbctl drill start --region eu-west --for 10m --max-load 1.5\n  \
        gslbctl cluster status\n  \
        gslbctl events --since 1h --record www.example.com\n  \
        gslbctl cluster snapshot --file gslb.backup\n\n\
        Exit status:\n  \
        0  success; also when the reader of the output goes away (`| head -1`)\n  \
        1  the command failed: refused by the API, unreachable, no answer within --timeout,\n     \
           not a gslb API, or a write not INSYNC in time\n  \
        2  bad command line (unknown flag, missing or malformed argument)"
)]
struct Cli {
    /// API base URL, or several separated by commas: tried in order, moving to the next
    /// when one cannot be reached; refusals known not to have been written (no leader, no
    /// quorum) are retried with backoff within --timeout.
    #[arg(
        long,
        env = "GSLB_API",
        default_value = "http://127.0.0.1:8053",
        global = true
    )]
    api: String,
    /// Bearer token.
    #[arg(long, env = "GSLB_TOKEN", global = true, hide_env_values = true)]
    token: Option<String>,
    /// PEM file of the CA(s) an https `--api` is verified with, instead of the system roots.
    #[arg(long, env = "GSLB_CA_CERT", global = true, value_name = "FILE")]
    ca_cert: Option<PathBuf>,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = Output::Table, global = true)]
    output: Output,
    /// Do not wait for writes to be INSYNC on every DNS node.
    #[arg(long, global = true)]
    no_wait: bool,
    /// How long a call may take, connecting and reading included, and how long a write
    /// waits for INSYNC (e.g. 30s, 2m, 500ms).
    #[arg(long, global = true, default_value = "60s", value_parser = parse_duration)]
    timeout: Duration,
    /// What to do.
    #[command(subcommand)]
    command: Commands,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Output {
    /// Human tables.
    Table,
    /// JSON.
    Json,
    /// YAML.
    Yaml,
}

/// Resource kinds for `get`, `create` and `delete`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Kind {
    /// Zones (NAME = apex).
    #[value(alias = "zone")]
    Zones,
    /// Record sets of a zone (`--zone`; NAME = owner name, `--type`).
    #[value(alias = "record")]
    Records,
    /// Regions (NAME = id).
    #[value(alias = "region")]
    Regions,
    /// Endpoints (NAME = id).
    #[value(alias = "endpoint")]
    Endpoints,
    /// API tokens (NAME = id; admin).
    #[value(alias = "token")]
    Tokens,
    /// GSLB records of a zone (`--zone`; NAME = owner name, `--type`).
    #[value(name = "gslb-records", alias = "gslb-record")]
    GslbRecords,
    /// Health checks (NAME = id).
    #[value(alias = "check")]
    Checks,
    /// Overrides (NAME = id).
    #[value(alias = "override")]
    Overrides,
    /// The client-network table, CIDR → location (NAME = CIDR, e.g. 198.51.100.0/24).
    #[value(alias = "network")]
    Networks,
    /// Drills (read-only).
    #[value(alias = "drill")]
    Drills,
    /// The audit log.
    Audit,
}

#[derive(Debug, Subcommand)]
enum Commands {
    /// Show resources: `get zones`, `get zone example.com.`, `get records --zone Z`, `get audit`.
    Get {
        /// What to show.
        kind: Kind,
        /// One resource by name or id.
        name: Option<String>,
        /// The zone, for records.
        #[arg(long)]
        zone: Option<String>,
        /// The record type, for one record set.
        #[arg(long = "type")]
        rtype: Option<String>,
    },
    /// Create or replace resources from a JSON or YAML file of one resource or a list
    /// (`-` reads stdin); `update` is the same.
    #[command(alias = "update")]
    Create {
        /// What to create.
        kind: Kind,
        /// The file.
        #[arg(short = 'f', long = "file")]
        file: PathBuf,
        /// The zone, for records.
        #[arg(long)]
        zone: Option<String>,
    },
    /// Delete one resource.
    Delete {
        /// What to delete.
        kind: Kind,
        /// Its name or id.
        name: String,
        /// The zone, for records.
        #[arg(long)]
        zone: Option<String>,
        /// The record type, for records.
        #[arg(long = "type")]
        rtype: Option<String>,
    },
    /// Zone files.
    Zone {
        /// What to do.
        #[command(subcommand)]
        command: ZoneCommand,
    },
    /// Make the state match a declarative YAML/JSON file of zones, regions, endpoints,
    /// checks, records, GSLB records and client networks, in one atomic change.
    ///
    /// The file holds one or more YAML documents (`---`) or JSON values, each an apply
    /// document (sections `zones:`, `regions:`, ...; schema: `GET /v1/apply/schema`) or
    /// exactly what `gslbctl get KIND -o yaml|json` printed. Errors name the document and
    /// item of the file.
    #[command(after_help = "Examples:\n  \
        gslbctl apply -f gslb.yaml --dry-run\n  \
        gslbctl get endpoints -o yaml > endpoints.yaml && gslbctl apply -f endpoints.yaml\n  \
        gslbctl get gslb-records --zone example.com. -o json | gslbctl apply -f - --zone example.com.")]
    Apply {
        /// The file (`-` reads stdin).
        #[arg(short = 'f', long = "file")]
        file: PathBuf,
        /// The zone of record sets and GSLB records listed without one (what
        /// `get records --zone ZONE` prints).
        #[arg(long)]
        zone: Option<String>,
        /// Print the diff and change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Also delete what the file's `scope` owns but the file does not declare: the zones
        /// in `scope.zones` (and their record sets and GSLB records), the regions, endpoints
        /// and checks whose id starts with one of `scope.id_prefixes`, the networks inside
        /// `scope.networks`. Refused when the file has no scope.
        #[arg(long)]
        prune: bool,
    },
    /// Import another DNS service's records: `import route53 --zone Z FILE.json
    /// [--health-checks FILE.json] [--default-region R] [--dry-run]`.
    Import {
        /// From where.
        #[command(subcommand)]
        command: route53::ImportCommand,
    },
    /// Cluster membership and Raft status.
    Cluster {
        /// What to do.
        #[command(subcommand)]
        command: ClusterCommand,
    },
    /// DNSSEC online signing of a zone: enable, disable, status (keys, DS), rollover.
    Dnssec {
        /// What to do.
        #[command(subcommand)]
        command: dnssec::DnssecCommand,
    },
    /// API tokens.
    Token {
        /// What to do.
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// TSIG keys (RFC 8945) for RFC 2136 updates and zone transfers (admin).
    Tsig {
        /// What to do.
        #[command(subcommand)]
        command: tsig::TsigCommand,
    },
    /// Failover drills: plan, start, status, abort, report.
    Drill {
        /// What to do.
        #[command(subcommand)]
        command: drill::DrillCommand,
    },
    /// Health of every region, endpoint and check, with the votes behind each verdict.
    Health,
    /// Why traffic moved: the history of derived transitions (check, endpoint and region
    /// status, leases, overrides, drill steps), each with its time, the votes per vantage
    /// behind it and the GSLB records it can change. Kept bounded (the newest 1000) and
    /// the same on every node.
    Events {
        /// Only events since then: a duration back from now (30m, 1h, 2d) or an RFC 3339
        /// time (2026-12-07T03:12:00Z).
        #[arg(long, value_name = "DURATION|TIME")]
        since: Option<String>,
        /// Only events that can move this record (NAME, or "NAME TYPE").
        #[arg(long, value_name = "NAME")]
        record: Option<String>,
        /// Keep printing new events as they happen (polls every second; Ctrl-C stops).
        #[arg(long)]
        follow: bool,
    },
    /// What an authoritative answer for NAME holds, and why (GSLB records are evaluated by
    /// the DNS policy engine on the current health).
    Resolve {
        /// The name.
        name: String,
        /// The type.
        #[arg(long = "type", default_value = "A")]
        rtype: String,
        /// The client address or subnet (IP[/LEN]).
        #[arg(long)]
        client: Option<String>,
        /// Show why, step by step.
        #[arg(long)]
        explain: bool,
    },
    /// Print a shell completion script: `source <(gslbctl completion bash)`.
    Completion {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Where a change stands: PENDING or INSYNC (waits with --wait).
    Change {
        /// The version a write returned.
        version: u64,
        /// Wait until INSYNC (up to --timeout).
        #[arg(long)]
        wait: bool,
    },
}

#[derive(Debug, Subcommand)]
enum ZoneCommand {
    /// Import an RFC 1035 master file as a whole zone (created or replaced).
    Import {
        /// The zone file.
        file: PathBuf,
        /// The zone's origin; default: the file's first $ORIGIN.
        #[arg(long)]
        zone: Option<String>,
    },
    /// Print a zone as an RFC 1035 master file.
    Export {
        /// The zone's apex.
        zone: String,
    },
    /// Say who may AXFR/IXFR a zone and which secondaries get NOTIFY on every serial change.
    /// The flags given replace the zone's settings whole; with none, print them.
    #[command(after_help = "Examples:\n  \
        gslbctl zone transfer example.com. --allow 192.0.2.0/24 --notify 192.0.2.53\n  \
        gslbctl zone transfer example.com. --allow key:xfr-key --notify '[2001:db8::53]:5300'\n  \
        gslbctl zone transfer example.com. --allow key:xfr-key --notify 192.0.2.53 --notify-key xfr-key\n  \
        gslbctl zone transfer example.com. --clear")]
    Transfer {
        /// The zone's apex.
        zone: String,
        /// Who may transfer: `key:NAME` (a TSIG key) or a source network (CIDR or address).
        #[arg(long, value_name = "key:NAME|CIDR")]
        allow: Vec<String>,
        /// A secondary to notify: `ADDR` (port 53) or `ADDR:PORT`.
        #[arg(long, value_name = "ADDR[:PORT]")]
        notify: Vec<String>,
        /// A GSLB name to leave out of transfers (default: each is transferred as the answer
        /// a client of unknown location gets at that moment).
        #[arg(long, value_name = "NAME")]
        omit_gslb: Vec<String>,
        /// Sign NOTIFY with this TSIG key (`gslbctl tsig create`), for secondaries that
        /// accept only signed NOTIFY (Knot's `acl` with a `key`, BIND's `allow-notify`).
        #[arg(long, value_name = "NAME")]
        notify_key: Option<String>,
        /// Remove every setting: nobody may transfer the zone, nobody is notified.
        #[arg(long, conflicts_with_all = ["allow", "notify", "omit_gslb", "notify_key"])]
        clear: bool,
    },
    /// Set the networks the zone accepts unsigned RFC 2136 updates from (replacing the
    /// list; none given: unsigned updates are refused again, the default). Signed updates
    /// follow the TSIG keys' grants (`gslbctl tsig create --update`).
    AllowUnsignedUpdates {
        /// The zone's apex.
        zone: String,
        /// Networks (CIDR, or one address).
        #[arg(value_name = "CIDR")]
        sources: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
enum ClusterCommand {
    /// The answering node's Raft view and the members.
    Status,
    /// Add (or re-address) a learner.
    AddLearner {
        /// Its Raft id.
        id: u64,
        /// Its host:port.
        addr: String,
    },
    /// Remove a learner (a DNS node) from the cluster and forget its member record, so
    /// writes no longer wait for it to be INSYNC. Demote a voter with set-voters first.
    /// Refused for a node that reported recently (it is alive): stop it first, or --force.
    Remove {
        /// Its Raft id.
        id: u64,
        /// Remove it even though it is reachable.
        #[arg(long)]
        force: bool,
    },
    /// Make these node ids the voters; removed voters stay as learners (remove them with
    /// `cluster remove`).
    SetVoters {
        /// The voter ids.
        #[arg(required = true)]
        voters: Vec<u64>,
    },
    /// Download a backup: the whole replicated state at one applied index, read
    /// linearizably on the leader (asked through the node `--api` names), checked and written
    /// to FILE atomically. Restore it with `gslb restore --from FILE --config NODE.toml`.
    ///
    /// `--file` (not `-o`, which stays the output format of the summary).
    Snapshot {
        /// Where to write the backup (written to FILE.tmp, fsynced, then renamed).
        #[arg(long, short = 'f', value_name = "FILE")]
        file: PathBuf,
        /// Take the answering node's own state without a quorum (when none is left); the
        /// file records that it is not linearizable.
        #[arg(long)]
        stale: bool,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create a token and print its secret (shown once).
    Create {
        /// Its id.
        id: String,
        /// Its scopes: read, write, prober, admin.
        #[arg(long = "scope", required = true, value_parser = parse_scope)]
        scopes: Vec<ScopeDto>,
        /// When it expires: an RFC 3339 time (2026-12-24T18:00:00Z), a duration from now
        /// (90d, 12h), or unix milliseconds.
        #[arg(long, value_name = "TIME|DURATION|MILLIS", value_parser = parse_expiry)]
        expires_at: Option<u64>,
        /// The one vantage (region) an `observe` token may report observations for.
        #[arg(long, value_name = "REGION")]
        vantage: Option<String>,
    },
    /// List tokens.
    List,
    /// Delete a token.
    Delete {
        /// Its id.
        id: String,
    },
}
fn parse_scope(text: &str) -> Result<ScopeDto, String> {
    serde_json::from_value(Value::String(text.to_lowercase()))
        .map_err(|_| format!("scope must be read, write, prober or admin, got {text:?}"))
}

/// Unix milliseconds of an expiry given as an RFC 3339 time, a duration from now, or unix
/// milliseconds.
fn parse_expiry(text: &str) -> Result<u64, String> {
    use gslb_api::dto::time::{parse_duration_ms, parse_timestamp_ms};
    let text = text.trim();
    if let Ok(millis) = text.parse::<u64>() {
        return Ok(millis);
    }
    if let Some(millis) = parse_timestamp_ms(text) {
        return Ok(millis);
    }
    if let Some(ahead) = parse_duration_ms(text) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_err(|error| error.to_string())?;
        return u64::try_from(now.as_millis())
            .ok()
            .and_then(|now| now.checked_add(ahead))
            .ok_or_else(|| format!("{text:?} is too far ahead"));
    }
    Err(format!(
        "expected an RFC 3339 time (2026-12-24T18:00:00Z), a duration from now (90d) or unix \
         milliseconds, got {text:?}"
    ))
}

/// Parses `30s`, `2m`, `500ms`, `1h` or plain seconds.
fn parse_duration(text: &str) -> Result<Duration, String> {
    gslb_model::duration::parse_duration(text).map_err(|error| match error {
        gslb_model::duration::DurationError::UnknownUnit { text, unit } => {
            format!("unknown duration unit {unit:?} in {text:?}")
        }
        _ => format!("expected a duration like 30s, got {:?}", text.trim()),
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Commands::Completion { shell } = cli.command {
        // Needs no API and no runtime.
        use clap::CommandFactory;
        let mut command = Cli::command();
        let mut script = Vec::new();
        clap_complete::generate(shell, &mut command, "gslbctl", &mut script);
        // A closed pipe (`| head`) is not an error worth a panic.
        let _ = std::io::Write::write_all(&mut std::io::stdout(), &script);
        return ExitCode::SUCCESS;
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            report(&error);
            ExitCode::FAILURE
        }
    }
}

/// Prints an error once: the API's message and each field at fault.
fn report(error: &anyhow::Error) {
    if let Some(ClientError::Api { status, body }) = error.downcast_ref::<ClientError>() {
        let context = error
            .chain()
            .next()
            .map(|top| top.to_string())
            .filter(|top| !top.starts_with(&body.code));
        match context {
            Some(context) if !context.contains(&body.message) => {
                eprintln!(
                    "error: {context}: {} ({status} {})",
                    body.message, body.code
                )
            }
            _ => eprintln!("error: {} ({status} {})", body.message, body.code),
        }
        for field in &body.fields {
            eprintln!("  {}: {}", field.path, field.message);
        }
        if *status == 401 {
            eprintln!(
                "hint: pass an API token with --token TOKEN or the GSLB_TOKEN environment variable"
            );
        }
    } else {
        eprintln!("error: {error:#}");
        match error.downcast_ref::<ClientError>() {
            Some(ClientError::NotGslb { .. } | ClientError::Decode { .. }) => {
                eprintln!("hint: --api (or GSLB_API) must name a gslb API node, e.g. http://127.0.0.1:8053")
            }
            Some(ClientError::TimedOut { .. }) => {
                eprintln!(
                    "hint: the node may be frozen or overloaded; --timeout sets how long to wait"
                )
            }
            _ => {}
        }
    }
}

/// The API client `--api`, `--token` and `--ca-cert` describe.
fn api_client(cli: &Cli) -> Result<Client> {
    let tls = match &cli.ca_cert {
        None => ClientTls::plain(),
        Some(path) => {
            let pem = std::fs::read(path)
                .with_context(|| format!("--ca-cert: cannot read {}", path.display()))?;
            ClientTls::trusting(&pem)
                .map_err(|error| anyhow!("--ca-cert: {}: {error}", path.display()))?
        }
    };
    Ok(Client::with_tls(&cli.api, cli.token.clone(), &tls)?.retrying_within(cli.timeout))
}

async fn run(cli: Cli) -> Result<()> {
    let ctl = Ctl {
        client: api_client(&cli)?,
        output: cli.output,
        wait: !cli.no_wait,
        timeout: cli.timeout,
    };
    match cli.command {
        Commands::Get {
            kind,
            name,
            zone,
            rtype,
        } => ctl.get(kind, name, zone, rtype).await,
        Commands::Create { kind, file, zone } => ctl.create(kind, &file, zone).await,
        Commands::Delete {
            kind,
            name,
            zone,
            rtype,
        } => ctl.delete(kind, &name, zone, rtype).await,
        Commands::Zone { command } => zone::run(&ctl, command).await,
        Commands::Apply {
            file,
            zone,
            dry_run,
            prune,
        } => ctl.apply(&file, zone.as_deref(), dry_run, prune).await,
        Commands::Import { command } => route53::run(&ctl, command).await,
        Commands::Cluster { command } => cluster::run(&ctl, command).await,
        Commands::Token { command } => token::run(&ctl, command).await,
        Commands::Tsig { command } => tsig::run(&ctl, command).await,
        Commands::Dnssec { command } => dnssec::run(&ctl, command).await,
        Commands::Drill { command } => drill::run(&ctl, command).await,
        Commands::Health => inspect::health(&ctl).await,
        Commands::Events {
            since,
            record,
            follow,
        } => events::run(&ctl, since, record, follow).await,
        Commands::Resolve {
            name,
            rtype,
            client,
            explain,
        } => inspect::resolve(&ctl, name, rtype, client, explain).await,
        Commands::Completion { .. } => unreachable!("handled before the runtime starts"),
        Commands::Change { version, wait } => inspect::change(&ctl, version, wait).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_dates_parse() {
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("5").unwrap(), Duration::from_secs(5));
        assert!(parse_duration("soon").is_err());
        assert_eq!(parse_expiry("2026-12-24T18:00:00Z"), Ok(1_798_135_200_000));
        assert_eq!(parse_expiry("1798135200000"), Ok(1_798_135_200_000));
        let in_a_day = parse_expiry("1d").unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        assert!(in_a_day > now && in_a_day <= now + 86_400_000, "{in_a_day}");
        assert!(parse_expiry("next week").is_err());
    }
}
