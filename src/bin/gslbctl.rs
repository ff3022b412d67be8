//! `gslbctl`: the operator's command-line client of the REST API, built on
//! `gslb_api::client::Client`.
//!
//! Flags are parsed (clap), then one command runs; every write waits until the change is
//! `INSYNC` on all DNS nodes (polling `GET /v1/changes/{version}`) and says how long that
//! took, unless `--no-wait`. Errors are printed once, at the top, with the API's message and
//! every field at fault, and the exit status is 1.

#[path = "gslbctl/drill.rs"]
mod drill;

use gslb_api::drills::report::format_millis;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use gslb_api::client::{Client, ClientError};
use gslb_api::dto::{
    AuditEntryDto, BatchRequest, ChangeDto, ClusterStatus, EndpointDto, RecordSetDto,
    RecordTypeDto, RegionDto, ScopeDto, TokenCreate, TokenDto, WriteResult, ZoneDto, ZoneSummary,
};
use gslb_model::model::{DomainName, FieldErrors};
use gslb_store::raft::ClientTls;
use serde::{Deserialize, Serialize};
use serde_json::Value;

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
        gslbctl cluster snapshot --file gslb.backup"
)]
struct Cli {
    /// API base URL.
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
    /// How long a write waits for INSYNC (e.g. 30s, 2m, 500ms).
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
    Apply {
        /// The file (`-` reads stdin).
        #[arg(short = 'f', long = "file")]
        file: PathBuf,
        /// Print the diff and change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Also delete what the file's sections do not declare (only kinds the file has).
        #[arg(long)]
        prune: bool,
    },
    /// Cluster membership and Raft status.
    Cluster {
        /// What to do.
        #[command(subcommand)]
        command: ClusterCommand,
    },
    /// API tokens.
    Token {
        /// What to do.
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Failover drills: plan, start, status, abort, report.
    Drill {
        /// What to do.
        #[command(subcommand)]
        command: drill::DrillCommand,
    },
    /// Health of every region, endpoint and check, with the votes behind each verdict.
    Health,
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
    Remove {
        /// Its Raft id.
        id: u64,
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
        /// Expiry, unix millis.
        #[arg(long)]
        expires_at: Option<u64>,
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

/// Parses `30s`, `2m`, `500ms`, `1h`, `1h30m` or plain seconds (`gslb_model::duration`).
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

impl Ctl {
    /// `cluster snapshot`: download, verify (format, checksum, state), write atomically.
    async fn snapshot(&self, file: &Path, stale: bool) -> Result<()> {
        let (bytes, served_by) = if stale {
            (
                self.client.snapshot(true).await?,
                self.client.base().to_string(),
            )
        } else {
            self.client.snapshot_from_leader().await?
        };
        let backup = gslb_model::backup::decode(&bytes)
            .with_context(|| format!("the snapshot {served_by} sent is unusable"))?;
        write_file_atomically(file, &bytes)
            .with_context(|| format!("cannot write {}", file.display()))?;
        let header = &backup.header;
        self.show(header, || {
            println!(
                "wrote {} ({} bytes): cluster {}, applied index {}, {} zone(s), taken {} by node {} at {}{}\nsha256 {}",
                file.display(),
                bytes.len(),
                header.cluster_id,
                header.applied_index,
                backup.state.zones.len(),
                format_millis(header.created_at_ms),
                header.node,
                served_by,
                if header.linearizable { "" } else { " (stale: not linearizable)" },
                header.payload_sha256,
            )
        })
    }
}

/// Writes `bytes` to `path` via `path.tmp`, fsync and rename, so a crash leaves no half file.
fn write_file_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".tmp");
    let tmp = PathBuf::from(tmp_name);
    {
        let mut out = std::fs::File::create(&tmp)?;
        out.write_all(bytes)?;
        out.sync_all()?;
    }
    std::fs::rename(&tmp, path)
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
    } else {
        eprintln!("error: {error:#}");
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
    Ok(Client::with_tls(&cli.api, cli.token.clone(), &tls)?)
}

/// Everything a command needs.
struct Ctl {
    client: Client,
    output: Output,
    wait: bool,
    timeout: Duration,
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
        Commands::Zone { command } => match command {
            ZoneCommand::Import { file, zone } => ctl.zone_import(&file, zone).await,
            ZoneCommand::Export { zone } => {
                print!("{}", ctl.client.export_zone(&zone).await?);
                Ok(())
            }
        },
        Commands::Apply {
            file,
            dry_run,
            prune,
        } => ctl.apply(&file, dry_run, prune).await,
        Commands::Cluster { command } => match command {
            ClusterCommand::Status => {
                let status = ctl.client.cluster().await?;
                ctl.show(&status, || cluster_table(&status))
            }
            ClusterCommand::AddLearner { id, addr } => {
                let result = ctl.client.add_learner(id, &addr).await?;
                ctl.show(&result, || {
                    println!(
                        "learner {id} at {addr} added (membership entry {})",
                        result.index
                    )
                })
            }
            ClusterCommand::Remove { id } => {
                let result = ctl.client.remove_learner(id).await?;
                ctl.show(&result, || {
                    println!("node {id} removed (entry {})", result.index)
                })
            }
            ClusterCommand::Snapshot { file, stale } => ctl.snapshot(&file, stale).await,
            ClusterCommand::SetVoters { voters } => {
                let result = ctl.client.change_voters(voters.clone(), true).await?;
                ctl.show(&result, || {
                    println!(
                        "voters are now {voters:?} (membership entry {})",
                        result.index
                    )
                })
            }
        },
        Commands::Token { command } => match command {
            TokenCommand::Create {
                id,
                scopes,
                expires_at,
            } => {
                let created = ctl
                    .client
                    .create_token(&TokenCreate {
                        id,
                        scopes,
                        expires_at,
                        secret: None,
                    })
                    .await?;
                ctl.show(&created, || {
                    println!(
                        "token {} created; its secret (shown once):",
                        created.token.id
                    );
                    println!("{}", created.secret);
                })?;
                ctl.after_write(created.version).await
            }
            TokenCommand::List => {
                let tokens = ctl.client.list_tokens().await?;
                ctl.show(&tokens, || token_table(&tokens))
            }
            TokenCommand::Delete { id } => {
                let result = ctl.client.delete_token(&id).await?;
                ctl.written(&format!("token {id} deleted"), result).await
            }
        },
        Commands::Drill { command } => drill::run(&ctl, command).await,
        Commands::Health => {
            let health = ctl.client.health().await?;
            ctl.show(&health, || health_table(&health))
        }
        Commands::Resolve {
            name,
            rtype,
            client,
            explain,
        } => {
            let answer = ctl.client.resolve(&name, &rtype, client.as_deref()).await?;
            ctl.show(&answer, || {
                println!(
                    "{} {} -> {}{}",
                    answer.name,
                    type_name(answer.rtype),
                    answer.rcode,
                    answer
                        .zone
                        .as_ref()
                        .map(|zone| format!(" (zone {zone})"))
                        .unwrap_or_default()
                );
                if !answer.answers.is_empty() {
                    record_table(&answer.answers);
                }
                if !answer.authority.is_empty() {
                    println!("authority:");
                    record_table(&answer.authority);
                }
                if explain {
                    for line in &answer.explain {
                        println!("  - {line}");
                    }
                }
            })
        }
        Commands::Completion { .. } => unreachable!("handled before the runtime starts"),
        Commands::Change { version, wait } => {
            if wait {
                ctl.wait_for(version).await
            } else {
                let status = ctl.client.change(version).await?;
                ctl.show(&status, || {
                    println!(
                        "version {}: {:?}{}",
                        status.version,
                        status.status,
                        if status.waiting.is_empty() {
                            String::new()
                        } else {
                            format!(" (waiting for nodes {:?})", status.waiting)
                        }
                    )
                })
            }
        }
    }
}

impl Ctl {
    /// Prints `value` as JSON or YAML, or runs `table` for humans.
    fn show<T: Serialize>(&self, value: &T, table: impl FnOnce()) -> Result<()> {
        match self.output {
            Output::Json => println!("{}", serde_json::to_string_pretty(value)?),
            Output::Yaml => print!("{}", serde_norway::to_string(value)?),
            Output::Table => table(),
        }
        Ok(())
    }

    /// Reports a write and waits for INSYNC.
    async fn written(&self, what: &str, result: WriteResult) -> Result<()> {
        if self.output == Output::Table {
            let changed = if result.changed { "" } else { " (unchanged)" };
            println!("{what}{changed} at version {}", result.version);
        } else {
            self.show(&result, || {})?;
        }
        self.after_write(result.version).await
    }

    /// Waits for INSYNC unless `--no-wait`.
    async fn after_write(&self, version: u64) -> Result<()> {
        if self.wait {
            self.wait_for(version).await
        } else {
            Ok(())
        }
    }

    async fn wait_for(&self, version: u64) -> Result<()> {
        let took = self.client.wait_insync(version, self.timeout).await?;
        eprintln!(
            "version {version} INSYNC on all DNS nodes after {:.2}s",
            took.as_secs_f64()
        );
        Ok(())
    }

    async fn get(
        &self,
        kind: Kind,
        name: Option<String>,
        zone: Option<String>,
        rtype: Option<String>,
    ) -> Result<()> {
        let client = &self.client;
        match (kind, name) {
            (Kind::Zones, None) => {
                let zones = client.list_zones().await?;
                self.show(&zones, || zone_table(&zones))
            }
            (Kind::Zones, Some(apex)) => {
                let zone = client.get_zone(&apex).await?;
                self.show(&zone, || {
                    println!(
                        "zone {}  serial {}  default ttl {}  soa {} {}",
                        zone.apex,
                        zone.soa.serial,
                        zone.default_ttl,
                        zone.soa.mname,
                        zone.soa.rname
                    );
                    record_table(&zone.records);
                })
            }
            (Kind::Records, name) => {
                let zone = zone.ok_or_else(|| anyhow!("get records needs --zone ZONE"))?;
                let mut records = client.list_records(&zone).await?;
                if let Some(name) = name {
                    let apex = parse_apex(&zone)?;
                    let owner = DomainName::parse_relative_to(&name, &apex)
                        .map_err(|error| anyhow!("bad name {name:?}: {error}"))?
                        .to_string();
                    records.retain(|set| {
                        set.name == owner
                            && rtype
                                .as_deref()
                                .is_none_or(|t| type_name(set.rtype).eq_ignore_ascii_case(t))
                    });
                    if records.is_empty() {
                        bail!(
                            "no record set {owner} {} in {zone}",
                            rtype.unwrap_or_default()
                        );
                    }
                }
                self.show(&records, || record_table(&records))
            }
            (Kind::Regions, name) => {
                let mut regions = client.list_regions().await?;
                keep_only_id(&mut regions, name, |region| &region.id, "region")?;
                self.show(&regions, || region_table(&regions))
            }
            (Kind::Endpoints, name) => {
                let mut endpoints = client.list_endpoints().await?;
                keep_only_id(&mut endpoints, name, |endpoint| &endpoint.id, "endpoint")?;
                self.show(&endpoints, || endpoint_table(&endpoints))
            }
            (Kind::Tokens, name) => {
                let mut tokens = client.list_tokens().await?;
                keep_only_id(&mut tokens, name, |token| &token.id, "token")?;
                self.show(&tokens, || token_table(&tokens))
            }
            (Kind::GslbRecords, name) => {
                let zone = zone.ok_or_else(|| anyhow!("get gslb-records needs --zone ZONE"))?;
                let mut records = client.list_gslb_records(&zone).await?;
                if let Some(name) = name {
                    let apex = parse_apex(&zone)?;
                    let owner = DomainName::parse_relative_to(&name, &apex)
                        .map_err(|error| anyhow!("bad name {name:?}: {error}"))?
                        .to_string();
                    records.retain(|record| {
                        record.name == owner
                            && rtype
                                .as_deref()
                                .is_none_or(|t| type_name(record.rtype).eq_ignore_ascii_case(t))
                    });
                    if records.is_empty() {
                        bail!("no gslb record {owner} in {zone}");
                    }
                }
                self.show(&records, || gslb_record_table(&records))
            }
            (Kind::Checks, name) => {
                let mut checks = client.list_checks().await?;
                keep_only_id(&mut checks, name, |check| &check.id, "check")?;
                self.show(&checks, || check_table(&checks))
            }
            (Kind::Overrides, name) => {
                let mut rules = client.list_overrides().await?;
                keep_only_id(&mut rules, name, |rule| &rule.id, "override")?;
                self.show(&rules, || override_table(&rules))
            }
            (Kind::Networks, name) => {
                let mut networks = client.list_networks().await?;
                let name = name.map(|cidr| canonical_cidr(&cidr)).transpose()?;
                keep_only_id(&mut networks, name, |network| &network.cidr, "network")?;
                self.show(&networks, || network_table(&networks))
            }
            (Kind::Drills, name) => {
                let mut drills = client.list_drills().await?;
                keep_only_id(&mut drills, name, |drill| &drill.id, "drill")?;
                self.show(&drills, || drill_table(&drills))
            }
            (Kind::Audit, _) => {
                let entries = client.audit().await?;
                self.show(&entries, || audit_table(&entries))
            }
        }
    }

    async fn create(&self, kind: Kind, file: &Path, zone: Option<String>) -> Result<()> {
        let text = read_input(file)?;
        let client = &self.client;
        match kind {
            Kind::Zones => {
                for zone in parse_one_or_many::<ZoneDto>(&text, file)? {
                    let result = client.put_zone(&zone).await?;
                    self.written(&format!("zone {}", zone.apex), result).await?;
                }
            }
            Kind::Records => {
                let zone = zone.ok_or_else(|| anyhow!("create records needs --zone ZONE"))?;
                for record in parse_one_or_many::<RecordSetDto>(&text, file)? {
                    let result = client.put_record(&zone, &record).await?;
                    self.written(
                        &format!(
                            "record {} {} in {zone}",
                            record.name,
                            type_name(record.rtype)
                        ),
                        result,
                    )
                    .await?;
                }
            }
            Kind::Regions => {
                for region in parse_one_or_many::<RegionDto>(&text, file)? {
                    let result = client.put_region(&region).await?;
                    self.written(&format!("region {}", region.id), result)
                        .await?;
                }
            }
            Kind::Endpoints => {
                for endpoint in parse_one_or_many::<EndpointDto>(&text, file)? {
                    let result = client.put_endpoint(&endpoint).await?;
                    self.written(&format!("endpoint {}", endpoint.id), result)
                        .await?;
                }
            }
            Kind::GslbRecords => {
                let zone = zone.ok_or_else(|| anyhow!("create gslb-records needs --zone ZONE"))?;
                for record in parse_one_or_many::<gslb_api::dto::GslbRecordDto>(&text, file)? {
                    let result = client.put_gslb_record(&zone, &record).await?;
                    self.written(
                        &format!(
                            "gslb record {} {} in {zone}",
                            record.name,
                            type_name(record.rtype)
                        ),
                        result,
                    )
                    .await?;
                }
            }
            Kind::Checks => {
                for check in parse_one_or_many::<gslb_api::dto::CheckDto>(&text, file)? {
                    let result = client.put_check(&check).await?;
                    self.written(&format!("check {}", check.id), result).await?;
                }
            }
            Kind::Overrides => {
                for rule in parse_one_or_many::<gslb_api::dto::OverrideDto>(&text, file)? {
                    let result = client.put_override(&rule).await?;
                    self.written(&format!("override {}", rule.id), result)
                        .await?;
                }
            }
            Kind::Networks => {
                for network in parse_one_or_many::<gslb_api::dto::NetworkDto>(&text, file)? {
                    let result = client.put_network(&network).await?;
                    self.written(&format!("network {}", network.cidr), result)
                        .await?;
                }
            }
            Kind::Drills => bail!("drills are started by the drill runner, not created here"),
            Kind::Tokens => bail!("create tokens with: gslbctl token create ID --scope SCOPE"),
            Kind::Audit => bail!("the audit log is written by the server, not created"),
        }
        Ok(())
    }

    async fn delete(
        &self,
        kind: Kind,
        name: &str,
        zone: Option<String>,
        rtype: Option<String>,
    ) -> Result<()> {
        let client = &self.client;
        let (what, result) = match kind {
            Kind::Zones => (format!("zone {name}"), client.delete_zone(name).await?),
            Kind::Records => {
                let zone = zone.ok_or_else(|| anyhow!("delete records needs --zone ZONE"))?;
                let rtype = rtype.ok_or_else(|| anyhow!("delete records needs --type TYPE"))?;
                (
                    format!("record {name} {rtype} in {zone}"),
                    client.delete_record(&zone, name, &rtype).await?,
                )
            }
            Kind::Regions => (format!("region {name}"), client.delete_region(name).await?),
            Kind::Endpoints => (
                format!("endpoint {name}"),
                client.delete_endpoint(name).await?,
            ),
            Kind::Tokens => (format!("token {name}"), client.delete_token(name).await?),
            Kind::Checks => (format!("check {name}"), client.delete_check(name).await?),
            Kind::GslbRecords => {
                let zone = zone.ok_or_else(|| anyhow!("delete gslb-records needs --zone ZONE"))?;
                let rtype =
                    rtype.ok_or_else(|| anyhow!("delete gslb-records needs --type TYPE"))?;
                (
                    format!("gslb record {name} {rtype} in {zone}"),
                    client.delete_gslb_record(&zone, name, &rtype).await?,
                )
            }
            Kind::Overrides => (
                format!("override {name}"),
                client.delete_override(name).await?,
            ),
            Kind::Networks => {
                let cidr = canonical_cidr(name)?;
                (
                    format!("network {cidr}"),
                    client.delete_network(&cidr).await?,
                )
            }
            Kind::Drills => bail!("drills cannot be deleted"),
            Kind::Audit => bail!("the audit log cannot be deleted"),
        };
        self.written(&format!("{what} deleted"), result).await
    }

    async fn zone_import(&self, file: &Path, zone: Option<String>) -> Result<()> {
        let text = read_input(file)?;
        let file_name = file.display().to_string();
        let apex = match zone {
            Some(zone) => parse_apex(&zone)?,
            None => {
                // Parse locally to learn the origin (and report file:line problems early).
                let parsed = gslb_model::zonefile::parse_zone(&text, &file_name, None, None)
                    .map_err(|error| anyhow!("{error}"))?;
                parsed.apex
            }
        };
        let result = self
            .client
            .import_zone(&apex.to_string(), &text)
            .await
            .map_err(|error| match error {
                ClientError::Api { status, mut body } => {
                    for field in &mut body.fields {
                        if let Some(line) = field.path.strip_prefix("line ") {
                            field.path = format!("{file_name}:{line}");
                        }
                    }
                    ClientError::Api { status, body }
                }
                other => other,
            })?;
        self.written(&format!("zone {apex} imported from {file_name}"), result)
            .await
    }

    async fn apply(&self, file: &Path, dry_run: bool, prune: bool) -> Result<()> {
        let text = read_input(file)?;
        let desired: ApplyFile = parse_document(&text, file)?;
        let plan = plan_apply(&self.client, desired, prune).await?;
        if self.output == Output::Table || dry_run {
            if plan.lines.is_empty() {
                println!("no changes");
            }
            for line in &plan.lines {
                println!("{line}");
            }
        }
        if dry_run || plan.changes.is_empty() {
            return Ok(());
        }
        let n_changes = plan.changes.len();
        let result = self
            .client
            .batch(&BatchRequest {
                changes: plan.changes,
            })
            .await?;
        self.written(&format!("applied {n_changes} changes"), result)
            .await
    }
}

/// A declarative file for `apply`.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct ApplyFile {
    /// Whole zones (their records replace the zone's).
    #[serde(default)]
    zones: Vec<ZoneDto>,
    /// Regions.
    #[serde(default)]
    regions: Vec<RegionDto>,
    /// Endpoints.
    #[serde(default)]
    endpoints: Vec<EndpointDto>,
    /// Record sets of existing zones (or of zones in `zones`).
    #[serde(default)]
    records: Vec<ZonedRecord>,
    /// Health checks of endpoints and regions.
    #[serde(default)]
    checks: Vec<gslb_api::dto::CheckDto>,
    /// GSLB records, each with its `zone`.
    #[serde(default)]
    gslb_records: Vec<ZonedGslbRecord>,
    /// Client networks (CIDR → location).
    #[serde(default)]
    networks: Vec<gslb_api::dto::NetworkDto>,
}

/// A GSLB record with its zone.
#[derive(Debug, Clone, Deserialize, Serialize)]
struct ZonedGslbRecord {
    /// The zone's apex.
    zone: String,
    /// The record.
    #[serde(flatten)]
    record: gslb_api::dto::GslbRecordDto,
}

/// A record set with its zone.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct ZonedRecord {
    /// The zone's apex.
    zone: String,
    /// Owner name (absolute, relative to the zone, or `@`).
    name: String,
    /// Type.
    #[serde(rename = "type")]
    rtype: RecordTypeDto,
    /// TTL (the zone's default when omitted).
    #[serde(default)]
    ttl: Option<u32>,
    /// The records.
    data: Vec<String>,
}

impl ZonedRecord {
    fn record(&self) -> RecordSetDto {
        RecordSetDto {
            name: self.name.clone(),
            rtype: self.rtype,
            ttl: self.ttl,
            data: self.data.clone(),
        }
    }
}

/// What `apply` will do: human diff lines and the batch.
struct Plan {
    lines: Vec<String>,
    changes: Vec<ChangeDto>,
}

fn fields_error(what: &str, errors: FieldErrors) -> anyhow::Error {
    let details: Vec<String> = errors.0.iter().map(|e| format!("  {e}")).collect();
    anyhow!("{what} is invalid:\n{}", details.join("\n"))
}

/// Normalizes a record set inside `apex` as the server would store it.
fn normalize_record(
    record: &RecordSetDto,
    apex: &DomainName,
    default_ttl: u32,
    what: &str,
) -> Result<RecordSetDto> {
    let mut errors = FieldErrors::default();
    let model = record.to_model(apex, default_ttl, "", &mut errors);
    match model {
        Some(model) if errors.is_empty() => RecordSetDto::from_model(&model)
            .ok_or_else(|| anyhow!("{what}: SOA is not a record set")),
        _ => Err(fields_error(what, errors)),
    }
}

/// Compares desired with current and builds the batch.
async fn plan_apply(client: &Client, desired: ApplyFile, prune: bool) -> Result<Plan> {
    let mut lines = Vec::new();
    let mut puts = Vec::new();
    let mut deletes = Vec::new();

    // Regions.
    let current: BTreeMap<String, RegionDto> = client
        .list_regions()
        .await?
        .into_iter()
        .map(|region| (region.id.clone(), region))
        .collect();
    let mut declared = BTreeSet::new();
    for region in &desired.regions {
        let model = region
            .to_model("")
            .map_err(|errors| fields_error(&format!("region {}", region.id), errors))?;
        let normalized = RegionDto::from_model(&model);
        declared.insert(normalized.id.clone());
        if diff_line(
            &mut lines,
            "region",
            &normalized.id,
            current.get(&normalized.id),
            &normalized,
        ) {
            puts.push(ChangeDto::PutRegion { region: normalized });
        }
    }
    if prune && !desired.regions.is_empty() {
        for id in current.keys().filter(|id| !declared.contains(*id)) {
            lines.push(format!("- region {id}"));
            deletes.push((4, ChangeDto::DeleteRegion { id: id.clone() }));
        }
    }

    // Client networks.
    let current: BTreeMap<String, gslb_api::dto::NetworkDto> = client
        .list_networks()
        .await?
        .into_iter()
        .map(|network| (network.cidr.clone(), network))
        .collect();
    let mut declared = BTreeSet::new();
    for network in &desired.networks {
        let model = network
            .to_model("")
            .map_err(|errors| fields_error(&format!("network {}", network.cidr), errors))?;
        let normalized = gslb_api::dto::NetworkDto::from_model(&model);
        if !declared.insert(normalized.cidr.clone()) {
            bail!("network {} is listed twice", normalized.cidr);
        }
        if diff_line(
            &mut lines,
            "network",
            &normalized.cidr,
            current.get(&normalized.cidr),
            &normalized,
        ) {
            puts.push(ChangeDto::PutNetwork {
                network: normalized,
            });
        }
    }
    if prune && !desired.networks.is_empty() {
        for cidr in current.keys().filter(|cidr| !declared.contains(*cidr)) {
            lines.push(format!("- network {cidr}"));
            deletes.push((0, ChangeDto::DeleteNetwork { cidr: cidr.clone() }));
        }
    }

    // Endpoints.
    let current: BTreeMap<String, EndpointDto> = client
        .list_endpoints()
        .await?
        .into_iter()
        .map(|endpoint| (endpoint.id.clone(), endpoint))
        .collect();
    let mut declared = BTreeSet::new();
    for endpoint in &desired.endpoints {
        let model = endpoint
            .to_model("")
            .map_err(|errors| fields_error(&format!("endpoint {}", endpoint.id), errors))?;
        let normalized = EndpointDto::from_model(&model);
        declared.insert(normalized.id.clone());
        if diff_line(
            &mut lines,
            "endpoint",
            &normalized.id,
            current.get(&normalized.id),
            &normalized,
        ) {
            puts.push(ChangeDto::PutEndpoint {
                endpoint: normalized,
            });
        }
    }
    if prune && !desired.endpoints.is_empty() {
        for id in current.keys().filter(|id| !declared.contains(*id)) {
            lines.push(format!("- endpoint {id}"));
            deletes.push((2, ChangeDto::DeleteEndpoint { id: id.clone() }));
        }
    }

    // Checks.
    let current: BTreeMap<String, gslb_api::dto::CheckDto> = client
        .list_checks()
        .await?
        .into_iter()
        .map(|check| (check.id.clone(), check))
        .collect();
    let mut declared = BTreeSet::new();
    for check in &desired.checks {
        let model = check
            .to_model("")
            .map_err(|errors| fields_error(&format!("check {}", check.id), errors))?;
        let normalized = gslb_api::dto::CheckDto::from_model(&model);
        declared.insert(normalized.id.clone());
        if diff_line(
            &mut lines,
            "check",
            &normalized.id,
            current.get(&normalized.id),
            &normalized,
        ) {
            puts.push(ChangeDto::PutCheck {
                check: Box::new(normalized),
            });
        }
    }
    if prune && !desired.checks.is_empty() {
        for id in current.keys().filter(|id| !declared.contains(*id)) {
            lines.push(format!("- check {id}"));
            deletes.push((1, ChangeDto::DeleteCheck { id: id.clone() }));
        }
    }

    // Zones, with the `records` of declared zones merged in.
    let current_zones: Vec<ZoneSummary> = client.list_zones().await?;
    let mut declared_zones = BTreeSet::new();
    for zone in &desired.zones {
        let mut model = zone
            .to_model("")
            .map_err(|errors| fields_error(&format!("zone {}", zone.apex), errors))?;
        for extra in desired
            .records
            .iter()
            .filter(|r| parse_apex(&r.zone).ok().as_ref() == Some(&model.apex))
        {
            let mut errors = FieldErrors::default();
            let Some(set) =
                extra
                    .record()
                    .to_model(&model.apex, model.default_ttl, "", &mut errors)
            else {
                return Err(fields_error(
                    &format!("record {} in {}", extra.name, extra.zone),
                    errors,
                ));
            };
            model
                .rrsets
                .retain(|existing| !(existing.name == set.name && existing.rtype == set.rtype));
            model.rrsets.push(set);
        }
        model.normalize();
        let normalized = ZoneDto::from_model(&model);
        declared_zones.insert(normalized.apex.clone());
        let current = if current_zones.iter().any(|z| z.apex == normalized.apex) {
            Some(client.get_zone(&normalized.apex).await?)
        } else {
            None
        };
        if diff_line(
            &mut lines,
            "zone",
            &normalized.apex,
            current.as_ref(),
            &normalized,
        ) {
            puts.push(ChangeDto::PutZone { zone: normalized });
        }
    }

    // Records of zones not declared whole.
    let mut by_zone: BTreeMap<String, Vec<&ZonedRecord>> = BTreeMap::new();
    for record in &desired.records {
        let apex = parse_apex(&record.zone)?.to_string();
        if !declared_zones.contains(&apex) {
            by_zone.entry(apex).or_default().push(record);
        }
    }
    for (apex_text, records) in &by_zone {
        let apex = parse_apex(apex_text)?;
        let zone = client
            .get_zone(apex_text)
            .await
            .with_context(|| format!("records for zone {apex_text}"))?;
        let current: BTreeMap<(String, RecordTypeDto), RecordSetDto> = zone
            .records
            .iter()
            .map(|set| ((set.name.clone(), set.rtype), set.clone()))
            .collect();
        let mut declared = BTreeSet::new();
        for record in records {
            let what = format!(
                "record {} {} in {apex_text}",
                record.name,
                type_name(record.rtype)
            );
            let normalized = normalize_record(&record.record(), &apex, zone.default_ttl, &what)?;
            let key = (normalized.name.clone(), normalized.rtype);
            declared.insert(key.clone());
            let label = format!(
                "{} {} in {apex_text}",
                normalized.name,
                type_name(normalized.rtype)
            );
            if diff_line(&mut lines, "record", &label, current.get(&key), &normalized) {
                puts.push(ChangeDto::PutRecord {
                    zone: apex_text.clone(),
                    record: normalized,
                });
            }
        }
        if prune {
            for ((name, rtype), _) in current.iter().filter(|(key, _)| !declared.contains(*key)) {
                if *name == apex.to_string() && *rtype == RecordTypeDto::NS {
                    continue;
                }
                lines.push(format!(
                    "- record {name} {} in {apex_text}",
                    type_name(*rtype)
                ));
                deletes.push((
                    0,
                    ChangeDto::DeleteRecord {
                        zone: apex_text.clone(),
                        name: name.clone(),
                        rtype: *rtype,
                    },
                ));
            }
        }
    }
    // GSLB records, after the zones and endpoints they need.
    let mut gslb_zones: BTreeMap<String, Vec<&ZonedGslbRecord>> = BTreeMap::new();
    for zoned in &desired.gslb_records {
        gslb_zones
            .entry(parse_apex(&zoned.zone)?.to_string())
            .or_default()
            .push(zoned);
    }
    for (apex_text, records) in &gslb_zones {
        let apex = parse_apex(apex_text)?;
        let current: BTreeMap<(String, RecordTypeDto), gslb_api::dto::GslbRecordDto> =
            if current_zones.iter().any(|z| &z.apex == apex_text) {
                client
                    .list_gslb_records(apex_text)
                    .await?
                    .into_iter()
                    .map(|record| ((record.name.clone(), record.rtype), record))
                    .collect()
            } else {
                BTreeMap::new()
            };
        let mut declared = BTreeSet::new();
        for zoned in records {
            let what = format!("gslb record {} in {apex_text}", zoned.record.name);
            let model = zoned
                .record
                .to_model(&apex, "")
                .map_err(|errors| fields_error(&what, errors))?;
            let normalized = gslb_api::dto::GslbRecordDto::from_model(&model)
                .ok_or_else(|| anyhow!("{what}: unsupported type"))?;
            let key = (normalized.name.clone(), normalized.rtype);
            declared.insert(key.clone());
            let label = format!(
                "{} {} in {apex_text}",
                normalized.name,
                type_name(normalized.rtype)
            );
            if diff_line(
                &mut lines,
                "gslb record",
                &label,
                current.get(&key),
                &normalized,
            ) {
                puts.push(ChangeDto::PutGslbRecord {
                    zone: apex_text.clone(),
                    record: Box::new(normalized),
                });
            }
        }
        if prune {
            for (name, rtype) in current.keys().filter(|key| !declared.contains(*key)) {
                lines.push(format!(
                    "- gslb record {name} {} in {apex_text}",
                    type_name(*rtype)
                ));
                deletes.push((
                    0,
                    ChangeDto::DeleteGslbRecord {
                        zone: apex_text.clone(),
                        name: name.clone(),
                        rtype: *rtype,
                    },
                ));
            }
        }
    }
    if prune && !desired.zones.is_empty() {
        for zone in current_zones
            .iter()
            .filter(|z| !declared_zones.contains(&z.apex) && !by_zone.contains_key(&z.apex))
        {
            lines.push(format!("- zone {}", zone.apex));
            deletes.push((
                2,
                ChangeDto::DeleteZone {
                    zone: zone.apex.clone(),
                },
            ));
        }
    }
    // Deletes after puts, dependents first: records, checks, endpoints, zones, regions
    // (networks depend on nothing and nothing on them).
    deletes.sort_by_key(|(order, _)| *order);
    let mut changes = puts;
    changes.extend(deletes.into_iter().map(|(_, change)| change));
    Ok(Plan { lines, changes })
}

/// Adds the diff of one resource to `lines`; true when it must be written.
fn diff_line<T: Serialize + PartialEq>(
    lines: &mut Vec<String>,
    kind: &str,
    name: &str,
    current: Option<&T>,
    desired: &T,
) -> bool {
    match current {
        None => {
            lines.push(format!("+ {kind} {name}"));
            true
        }
        Some(current) if current == desired => false,
        Some(current) => {
            lines.push(format!("~ {kind} {name}"));
            let before = flatten(&serde_json::to_value(current).unwrap_or(Value::Null));
            let after = flatten(&serde_json::to_value(desired).unwrap_or(Value::Null));
            let keys: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
            for key in keys {
                match (before.get(key), after.get(key)) {
                    (Some(old), Some(new)) if old != new => {
                        lines.push(format!("    {key}: {old} -> {new}"))
                    }
                    (Some(old), None) => lines.push(format!("    - {key}: {old}")),
                    (None, Some(new)) => lines.push(format!("    + {key}: {new}")),
                    _ => {}
                }
            }
            true
        }
    }
}

/// Leaf values of a JSON document by path (`location.lat`, `records[2].data[0]`).
fn flatten(value: &Value) -> BTreeMap<String, String> {
    fn walk(value: &Value, path: String, out: &mut BTreeMap<String, String>) {
        match value {
            Value::Object(map) => {
                for (key, child) in map {
                    let next = if path.is_empty() {
                        key.clone()
                    } else {
                        format!("{path}.{key}")
                    };
                    walk(child, next, out);
                }
            }
            Value::Array(items) => {
                for (index, child) in items.iter().enumerate() {
                    walk(child, format!("{path}[{index}]"), out);
                }
            }
            leaf => {
                out.insert(path, leaf.to_string());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(value, String::new(), &mut out);
    out
}

fn parse_apex(text: &str) -> Result<DomainName> {
    gslb_api::dto::zone::parse_apex(text).map_err(|error| anyhow!("bad zone {text:?}: {error}"))
}

fn type_name(rtype: RecordTypeDto) -> String {
    serde_json::to_value(rtype)
        .ok()
        .and_then(|value| value.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Reads a file, or stdin for `-`.
fn read_input(file: &Path) -> Result<String> {
    if file.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("reading stdin")?;
        Ok(text)
    } else {
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))
    }
}

/// Parses JSON (when it starts with `{` or `[`) or YAML, naming the file on error.
fn parse_document<T: serde::de::DeserializeOwned>(text: &str, file: &Path) -> Result<T> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        serde_json::from_str(text).with_context(|| format!("{} is not valid", file.display()))
    } else {
        serde_norway::from_str(text).with_context(|| format!("{} is not valid", file.display()))
    }
}

/// One resource or a list of them.
fn parse_one_or_many<T: serde::de::DeserializeOwned>(text: &str, file: &Path) -> Result<Vec<T>> {
    let value: Value = parse_document(text, file)?;
    let items = match value {
        Value::Array(items) => items,
        single => vec![single],
    };
    items
        .into_iter()
        .enumerate()
        .map(|(index, item)| {
            serde_json::from_value(item)
                .with_context(|| format!("{} item {index} is not valid", file.display()))
        })
        .collect()
}

/// Prints rows under headers, columns padded to their widest cell.
fn print_table(headers: &[&str], rows: Vec<Vec<String>>) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for row in &rows {
        for (index, cell) in row.iter().enumerate() {
            if let Some(width) = widths.get_mut(index) {
                *width = (*width).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(index, cell)| format!("{cell:<width$}", width = widths[index]))
            .collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(headers.iter().map(|h| h.to_string()).collect());
    for row in rows {
        line(row);
    }
}

fn zone_table(zones: &[ZoneSummary]) {
    print_table(
        &["APEX", "SERIAL", "RECORD SETS"],
        zones
            .iter()
            .map(|z| {
                vec![
                    z.apex.clone(),
                    z.serial.to_string(),
                    z.record_sets.to_string(),
                ]
            })
            .collect(),
    );
}

fn record_table(records: &[RecordSetDto]) {
    print_table(
        &["NAME", "TYPE", "TTL", "DATA"],
        records
            .iter()
            .map(|r| {
                vec![
                    r.name.clone(),
                    type_name(r.rtype),
                    r.ttl.map(|t| t.to_string()).unwrap_or_default(),
                    r.data.join(", "),
                ]
            })
            .collect(),
    );
}

fn region_table(regions: &[RegionDto]) {
    print_table(
        &["ID", "LAT", "LON", "COUNTRY", "CONTINENT", "CAPACITY"],
        regions
            .iter()
            .map(|r| {
                vec![
                    r.id.clone(),
                    r.location.lat.to_string(),
                    r.location.lon.to_string(),
                    r.location.country.clone(),
                    r.location.continent.clone(),
                    r.capacity
                        .map(|c| c.to_string())
                        .unwrap_or_else(|| "-".to_string()),
                ]
            })
            .collect(),
    );
}

fn network_table(networks: &[gslb_api::dto::NetworkDto]) {
    let or_dash = |text: Option<String>| text.unwrap_or_else(|| "-".to_string());
    print_table(
        &[
            "CIDR",
            "CONTINENT",
            "COUNTRY",
            "SUBDIVISION",
            "ASN",
            "LAT",
            "LON",
        ],
        networks
            .iter()
            .map(|n| {
                vec![
                    n.cidr.clone(),
                    or_dash(n.continent.clone()),
                    or_dash(n.country.clone()),
                    or_dash(n.subdivision.clone()),
                    or_dash(n.asn.map(|asn| asn.to_string())),
                    or_dash(n.lat.map(|lat| lat.to_string())),
                    or_dash(n.lon.map(|lon| lon.to_string())),
                ]
            })
            .collect(),
    );
}

/// `text` as the canonical CIDR the server keys networks by.
fn canonical_cidr(text: &str) -> Result<String> {
    gslb_api::dto::network::parse_cidr(text)
        .map(|cidr| cidr.to_string())
        .map_err(|message| anyhow!("bad network {text:?}: {message}"))
}

fn endpoint_table(endpoints: &[EndpointDto]) {
    print_table(
        &["ID", "REGION", "TARGET", "WEIGHT", "ENABLED", "LABELS"],
        endpoints
            .iter()
            .map(|e| {
                vec![
                    e.id.clone(),
                    e.region.clone(),
                    e.address
                        .clone()
                        .or_else(|| e.cname.clone())
                        .unwrap_or_default(),
                    e.weight.to_string(),
                    e.enabled.to_string(),
                    e.labels
                        .iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                        .join(","),
                ]
            })
            .collect(),
    );
}

fn token_table(tokens: &[TokenDto]) {
    print_table(
        &["ID", "SCOPES", "EXPIRES"],
        tokens
            .iter()
            .map(|t| {
                vec![
                    t.id.clone(),
                    t.scopes
                        .iter()
                        .map(|s| format!("{s:?}").to_lowercase())
                        .collect::<Vec<_>>()
                        .join(","),
                    t.expires_at
                        .map(format_millis)
                        .unwrap_or_else(|| "never".to_string()),
                ]
            })
            .collect(),
    );
}

fn override_table(rules: &[gslb_api::dto::OverrideDto]) {
    print_table(
        &["ID", "TARGET", "ACTION", "EXPIRES", "REASON"],
        rules
            .iter()
            .map(|r| {
                vec![
                    r.id.clone(),
                    match (&r.region, &r.endpoint) {
                        (Some(region), _) => format!("region/{region}"),
                        (_, Some(endpoint)) => format!("endpoint/{endpoint}"),
                        _ => "-".to_string(),
                    },
                    format!("{:?}", r.action).to_lowercase(),
                    r.expires_at
                        .map(format_millis)
                        .unwrap_or_else(|| "never".to_string()),
                    r.reason.clone(),
                ]
            })
            .collect(),
    );
}

fn gslb_record_table(records: &[gslb_api::dto::GslbRecordDto]) {
    print_table(
        &["NAME", "TYPE", "TTL", "POLICY", "WHEN ALL DOWN", "GUARD"],
        records
            .iter()
            .map(|r| {
                vec![
                    r.name.clone(),
                    type_name(r.rtype),
                    r.ttl.to_string(),
                    serde_json::to_string(&r.policy).unwrap_or_default(),
                    serde_json::to_value(&r.when_all_down)
                        .map(|v| match v {
                            Value::String(text) => text,
                            other => other.to_string(),
                        })
                        .unwrap_or_default(),
                    r.split_brain_guard.to_string(),
                ]
            })
            .collect(),
    );
}

fn check_table(checks: &[gslb_api::dto::CheckDto]) {
    print_table(
        &[
            "ID",
            "SUBJECT",
            "TYPE",
            "TARGET",
            "INTERVAL",
            "RISE/FALL",
            "VANTAGES",
        ],
        checks
            .iter()
            .map(|c| {
                vec![
                    c.id.clone(),
                    match (&c.endpoint, &c.region) {
                        (Some(endpoint), _) => format!("endpoint/{endpoint}"),
                        (_, Some(region)) => format!("region/{region}"),
                        _ => "-".to_string(),
                    },
                    serde_json::to_value(&c.kind)
                        .ok()
                        .and_then(|kind| kind["type"].as_str().map(str::to_string))
                        .unwrap_or_default(),
                    c.target.clone().unwrap_or_else(|| "-".to_string()),
                    format!("{}ms", c.interval_ms),
                    format!("{}/{}", c.rise, c.fall),
                    if c.vantages.is_empty() {
                        "all".to_string()
                    } else {
                        c.vantages.join(",")
                    },
                ]
            })
            .collect(),
    );
}

fn drill_table(drills: &[gslb_api::dto::DrillDto]) {
    print_table(
        &["ID", "REGION", "MODE", "STATUS", "STARTED", "ENDS"],
        drills
            .iter()
            .map(|d| {
                vec![
                    d.id.clone(),
                    d.region.clone(),
                    d.mode.clone(),
                    d.status.clone(),
                    format_millis(d.started_at),
                    format_millis(d.planned_end),
                ]
            })
            .collect(),
    );
}

fn health_table(health: &gslb_api::dto::health::HealthDto) {
    let status = |s: gslb_api::dto::health::StatusDto| format!("{s:?}").to_uppercase();
    let votes = |v: &gslb_api::dto::health::VotesDto| {
        format!(
            "{}/{} up (quorum {}, {} stale)",
            v.up, v.total, v.quorum, v.stale
        )
    };
    println!("REGIONS");
    print_table(
        &["ID", "STATUS", "DEEP", "ENDPOINTS UP", "VOTES", "LEASE"],
        health
            .regions
            .iter()
            .map(|r| {
                vec![
                    r.id.clone(),
                    status(r.status),
                    status(r.deep),
                    format!(
                        "{}/{} (need {})",
                        r.endpoints_up, r.endpoints_enabled, r.min_healthy
                    ),
                    votes(&r.votes),
                    r.lease_expires_at
                        .map(format_millis)
                        .unwrap_or_else(|| "-".to_string()),
                ]
            })
            .collect(),
    );
    println!("\nENDPOINTS");
    print_table(
        &["ID", "STATUS", "VOTES"],
        health
            .endpoints
            .iter()
            .map(|e| vec![e.id.clone(), status(e.status), votes(&e.votes)])
            .collect(),
    );
    println!("\nCHECKS");
    print_table(
        &["ID", "STATUS", "VOTES", "ERRORS"],
        health
            .checks
            .iter()
            .map(|c| {
                vec![
                    c.id.clone(),
                    status(c.status),
                    votes(&c.votes),
                    c.errors
                        .iter()
                        .map(|(vantage, error)| format!("{vantage}: {error}"))
                        .collect::<Vec<_>>()
                        .join("; "),
                ]
            })
            .collect(),
    );
}

fn audit_table(entries: &[AuditEntryDto]) {
    print_table(
        &["VERSION", "AT", "WHO", "FROM", "WHAT"],
        entries
            .iter()
            .map(|e| {
                vec![
                    e.version.to_string(),
                    format_millis(e.at),
                    e.who.clone(),
                    e.from.clone().unwrap_or_else(|| "-".to_string()),
                    e.summary.clone(),
                ]
            })
            .collect(),
    );
}

fn cluster_table(status: &ClusterStatus) {
    let node = &status.node;
    println!(
        "node {}  role {}  term {}  leader {}  applied {}  version {}  {}",
        node.id,
        node.role,
        node.term,
        node.leader
            .map(|l| l.to_string())
            .unwrap_or_else(|| "none".to_string()),
        node.applied_index,
        status.version,
        if node.stale { "STALE" } else { "fresh" }
    );
    println!("voters {:?}  learners {:?}", node.voters, node.learners);
    if !status.members.is_empty() {
        println!();
        print_table(
            &["ID", "ADDR", "ROLE", "RUNS", "REGION", "APPLIED"],
            status
                .members
                .iter()
                .map(|m| {
                    vec![
                        m.id.to_string(),
                        m.addr.clone(),
                        m.raft_role.clone(),
                        m.roles.join(","),
                        m.region.clone().unwrap_or_else(|| "-".to_string()),
                        m.applied_index.to_string(),
                    ]
                })
                .collect(),
        );
    }
}

/// With `id`, keeps only the item with that id, or fails naming the `kind`.
fn keep_only_id<T>(
    items: &mut Vec<T>,
    id: Option<String>,
    id_of: impl Fn(&T) -> &String,
    kind: &str,
) -> Result<()> {
    if let Some(id) = id {
        items.retain(|item| *id_of(item) == id);
        if items.is_empty() {
            bail!("no {kind} {id:?}");
        }
    }
    Ok(())
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
    }
}
