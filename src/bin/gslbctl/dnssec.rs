//! `dnssec enable|disable|status|rollover ZONE`: a zone's online signing. `status` prints
//! the keys and the DS records the parent needs (`-o json`: DNSKEY and DS in presentation
//! format); `disable` reminds of the safe order (DS out at the parent first).

use anyhow::Result;
use clap::Subcommand;
use gslb_api::dto::DnssecStatusDto;

use crate::ctl::Ctl;

/// The `dnssec` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum DnssecCommand {
    /// Start signing ZONE with a new combined signing key; prints the DS for the parent.
    Enable {
        /// The zone's apex.
        zone: String,
        /// ecdsap256sha256 (algorithm 13, the default) or ed25519 (15).
        #[arg(long)]
        algorithm: Option<String>,
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
    /// The next step of a CSK rollover: add a new key (publish its DS at the parent), then,
    /// run again once the parent has it and the DNSKEY TTL passed, remove the old key.
    Rollover {
        /// The zone's apex.
        zone: String,
        /// Finish the rollover before the DNSKEY TTL has passed.
        #[arg(long)]
        force: bool,
    },
}

/// Runs one `dnssec` command.
pub(crate) async fn run(ctl: &Ctl, command: DnssecCommand) -> Result<()> {
    match command {
        DnssecCommand::Enable { zone, algorithm } => {
            let status = ctl.client.dnssec_enable(&zone, algorithm).await?;
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
        DnssecCommand::Rollover { zone, force } => {
            let status = ctl.client.dnssec_rollover(&zone, force).await?;
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
    outln!("next rollover: {}", status.next_rollover);
}
