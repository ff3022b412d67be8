//! `dnssec enable|disable|status|rollover ZONE`: a zone's online signing. `enable` also
//! sets the rollover policy (`--lifetime 90d` makes the leader roll keys by itself);
//! `status` prints the keys, the DS records the parent needs (`-o json`: DNSKEY and DS in
//! presentation format) and the next rollover step; `rollover` takes that step by hand, or
//! with `--algorithm`, `--split` or `--csk` starts replacing the whole key set (a new
//! algorithm, or CSK <-> KSK + ZSK) without a validation gap;
//! `disable` reminds of the safe order (DS out at the parent first).

use anyhow::Result;
use clap::{Args, Subcommand};
use gslb_api::dto::{DnssecEnable, DnssecPolicyRequest, DnssecRollover, DnssecStatusDto};

use crate::ctl::Ctl;

/// The `dnssec` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum DnssecCommand {
    /// Start signing ZONE with a new combined signing key (or KSK and ZSK with --split);
    /// prints the DS for the parent. On a signed zone: change its rollover policy.
    Enable {
        /// The zone's apex.
        zone: String,
        /// ecdsap256sha256 (algorithm 13, the default) or ed25519 (15).
        #[arg(long)]
        algorithm: Option<String>,
        /// Sign with a key-signing key and a zone-signing key apart (the ZSK rolls without
        /// the parent).
        #[arg(long)]
        split: bool,
        /// The rollover policy.
        #[command(flatten)]
        policy: PolicyFlags,
    },
    /// Stop signing ZONE. Remove its DS at the parent first and wait the DS TTL out, or
    /// validating resolvers find the zone bogus.
    Disable {
        /// The zone's apex.
        zone: String,
    },
    /// ZONE's keys, their states, the DS records for the parent (SHA-256 and SHA-384) and
    /// the next rollover step.
    Status {
        /// The zone's apex.
        zone: String,
    },
    /// The next step of ZONE's key rollover, or the start of one: publish a new key;
    /// (CSK/KSK) confirm the parent holds its DS; activate it; remove the old key. A step
    /// whose wait (TTLs, propagation) has not passed is refused with the time left.
    ///
    /// With --algorithm, --split or --csk: replace every key of ZONE with new ones of that
    /// algorithm or layout (RFC 6781 §4.1.4): presign (the new keys sign, unpublished),
    /// publish (their DNSKEYs, and the new DS in CDS beside the old), ds_seen (the parent
    /// holds the new DS), unpublish (the old DNSKEYs and DS go; they still sign), remove.
    /// The leader takes each later step once its wait has passed; the same command again
    /// takes the next one by hand.
    Rollover {
        /// The zone's apex.
        zone: String,
        /// Take the step before its wait has passed.
        #[arg(long)]
        force: bool,
        /// Which key to roll: csk, ksk or zsk (default: the CSK, or the KSK of a split
        /// zone). In a split zone the KSK or ZSK may start beside the other's rollover;
        /// with both in progress it says whose next step to take.
        #[arg(long, conflicts_with_all = ["algorithm", "split", "csk"])]
        kind: Option<String>,
        /// Roll to keys of this algorithm: ecdsap256sha256 (13) or ed25519 (15).
        #[arg(long)]
        algorithm: Option<String>,
        /// Roll a CSK-signed zone to a KSK and a ZSK.
        #[arg(long, conflicts_with = "csk")]
        split: bool,
        /// Roll a KSK + ZSK-signed zone to one combined signing key.
        #[arg(long)]
        csk: bool,
    },
}

/// `dnssec enable`'s rollover policy flags (durations like 90d, 1h30m, 300; `off` clears
/// a lifetime or the cache cap). Flags left out keep the zone's value, or the default.
#[derive(Debug, Args)]
pub(crate) struct PolicyFlags {
    /// How long a CSK (or KSK) signs before the leader rolls it (default: off, rolled on
    /// demand only).
    #[arg(long)]
    lifetime: Option<String>,
    /// How long a ZSK signs before the leader rolls it (split zones; default off).
    #[arg(long)]
    zsk_lifetime: Option<String>,
    /// How long a change takes to reach every server and secondary (default 5m).
    #[arg(long)]
    propagation_delay: Option<String>,
    /// The TTL of the zone's DS RRset at the parent (default 1d).
    #[arg(long)]
    parent_ds_ttl: Option<String>,
    /// The longest any validator in front of the zone caches a record, when every one caps
    /// it (Unbound cache-max-ttl): shortens the waits. Labs and tests only.
    #[arg(long)]
    max_cache_ttl: Option<String>,
    /// A server of the parent zone (ADDR:PORT) the leader asks for the new DS during a
    /// CSK/KSK rollover; repeatable. Without one, confirm with `dnssec rollover`.
    #[arg(long = "parent-agent")]
    parent_agents: Vec<String>,
}

impl PolicyFlags {
    /// The request, or `None` when no flag was given.
    fn request(self) -> Option<DnssecPolicyRequest> {
        let request = DnssecPolicyRequest {
            lifetime: self.lifetime,
            zsk_lifetime: self.zsk_lifetime,
            propagation_delay: self.propagation_delay,
            parent_ds_ttl: self.parent_ds_ttl,
            max_cache_ttl: self.max_cache_ttl,
            parent_agents: (!self.parent_agents.is_empty()).then_some(self.parent_agents),
        };
        (request != DnssecPolicyRequest::default()).then_some(request)
    }
}

/// Runs one `dnssec` command.
pub(crate) async fn run(ctl: &Ctl, command: DnssecCommand) -> Result<()> {
    match command {
        DnssecCommand::Enable {
            zone,
            algorithm,
            split,
            policy,
        } => {
            let body = DnssecEnable {
                algorithm,
                split,
                policy: policy.request(),
            };
            let status = ctl.client.dnssec_enable(&zone, body).await?;
            ctl.show(&status, || {
                outln!(
                    "{} is signed; give the parent one of these DS records:",
                    status.zone
                );
                status_table(&status);
            })?;
            ctl.after_write(status.version).await
        }
        DnssecCommand::Disable { zone } => {
            let result = ctl.client.dnssec_disable(&zone).await?;
            ctl.written(&format!("{zone} is no longer signed"), result)
                .await
        }
        DnssecCommand::Status { zone } => {
            let status = ctl.client.dnssec_status(&zone).await?;
            ctl.show(&status, || status_table(&status))
        }
        DnssecCommand::Rollover {
            zone,
            force,
            kind,
            algorithm,
            split,
            csk,
        } => {
            let body = DnssecRollover {
                force,
                kind,
                algorithm,
                split: (split || csk).then_some(split),
            };
            let status = ctl.client.dnssec_rollover(&zone, body).await?;
            ctl.show(&status, || status_table(&status))?;
            ctl.after_write(status.version).await
        }
    }
}

/// The status as a table of keys, then the DS records and the next step.
fn status_table(status: &DnssecStatusDto) {
    if !status.signed {
        outln!("{} is not signed", status.zone);
        return;
    }
    outln!(
        "{:<6} {:<16} {:<5} {:<10} {:<6}",
        "TAG",
        "ALGORITHM",
        "ROLE",
        "STATE",
        "FLAGS"
    );
    for key in &status.keys {
        outln!(
            "{:<6} {:<16} {:<5} {:<10} {:<6}",
            key.tag,
            key.algorithm,
            key.role,
            key.state,
            key.flags
        );
    }
    outln!();
    outln!("DNSKEY:");
    for dnskey in &status.dnskey {
        outln!("  {dnskey}");
    }
    outln!("DS for the parent:");
    for ds in &status.ds {
        outln!("  {ds}");
    }
    if let Some(policy) = &status.policy {
        let lifetime =
            |secs: Option<u64>| secs.map_or("off".to_string(), |secs| format!("{secs}s"));
        outln!(
            "policy: lifetime {}, zsk lifetime {}, propagation delay {}s, parent DS TTL {}s{}",
            lifetime(policy.lifetime_secs),
            lifetime(policy.zsk_lifetime_secs),
            policy.propagation_delay_secs,
            policy.parent_ds_ttl_secs,
            if policy.parent_agents.is_empty() {
                String::new()
            } else {
                format!(", parent agents {}", policy.parent_agents.join(" "))
            }
        );
    }
    outln!("next rollover: {}", status.next_rollover);
}
