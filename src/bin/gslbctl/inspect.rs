//! Commands that only read and explain: `health`, `resolve NAME` (what an answer holds and
//! why) and `change VERSION` (where a write stands).

use anyhow::Result;

use crate::ctl::Ctl;
use crate::print::{health_table, record_table};

/// `health`: every region, endpoint and check with its votes.
pub(crate) async fn health(ctl: &Ctl) -> Result<()> {
    let health = ctl.client.health().await?;
    ctl.show(&health, || health_table(&health))
}

/// `resolve NAME [--type T] [--client IP] [--explain]`.
pub(crate) async fn resolve(
    ctl: &Ctl,
    name: String,
    rtype: String,
    client: Option<String>,
    explain: bool,
) -> Result<()> {
    let answer = ctl.client.resolve(&name, &rtype, client.as_deref()).await?;
    ctl.show(&answer, || {
        outln!(
            "{} {} -> {}{}",
            answer.name,
            answer.rtype,
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
            outln!("authority:");
            record_table(&answer.authority);
        }
        if explain {
            for line in &answer.explain {
                outln!("  - {line}");
            }
        }
    })
}

/// `change VERSION [--wait]`.
pub(crate) async fn change(ctl: &Ctl, version: u64, wait: bool) -> Result<()> {
    if wait {
        ctl.wait_for(version).await
    } else {
        let status = ctl.client.change(version).await?;
        ctl.show(&status, || {
            outln!(
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
