//! `zone import` (an RFC 1035 master file, all or nothing), `zone export`,
//! `zone transfer` (who may AXFR/IXFR a zone, whom to NOTIFY) and
//! `zone allow-unsigned-updates` (the networks a zone takes unsigned RFC 2136 updates from).

use std::path::Path;

use anyhow::{anyhow, Result};
use gslb_api::client::ClientError;
use gslb_api::dto::ZoneTransferDto;

use crate::ctl::{parse_apex, read_input, Ctl};
use crate::ZoneCommand;

/// Runs one `zone` command.
pub(crate) async fn run(ctl: &Ctl, command: ZoneCommand) -> Result<()> {
    match command {
        ZoneCommand::Import { file, zone } => ctl.zone_import(&file, zone).await,
        ZoneCommand::Export { zone } => {
            out!("{}", ctl.client.export_zone(&zone).await?);
            Ok(())
        }
        ZoneCommand::Transfer {
            zone,
            allow,
            notify,
            omit_gslb,
            notify_key,
            clear,
        } => {
            let settings = ZoneTransferDto {
                allow,
                notify,
                omit_gslb,
                notify_key,
            };
            ctl.zone_transfer(&zone, settings, clear).await
        }
        ZoneCommand::AllowUnsignedUpdates { zone, sources } => {
            let apex = parse_apex(&zone)?.to_string();
            let result = ctl
                .client
                .put_update_sources(&apex, sources.clone())
                .await?;
            let what = if sources.is_empty() {
                format!("zone {apex} refuses unsigned updates")
            } else {
                format!(
                    "zone {apex} accepts unsigned updates from {}",
                    sources.join(", ")
                )
            };
            ctl.written(&what, result).await
        }
    }
}

impl Ctl {
    /// `zone transfer`: replaces the settings when any flag is given, else prints them.
    pub(crate) async fn zone_transfer(
        &self,
        zone: &str,
        settings: ZoneTransferDto,
        clear: bool,
    ) -> Result<()> {
        let apex = parse_apex(zone)?.to_string();
        if !clear && settings == ZoneTransferDto::default() {
            let current = self.client.get_zone_transfer(&apex).await?;
            return self.show(&current, || {
                let list = |items: &[String]| {
                    if items.is_empty() {
                        "-".to_string()
                    } else {
                        items.join(" ")
                    }
                };
                outln!("zone       {apex}");
                outln!("allow      {}", list(&current.allow));
                outln!("notify     {}", list(&current.notify));
                outln!("omit_gslb  {}", list(&current.omit_gslb));
                outln!(
                    "notify_key {}",
                    current.notify_key.as_deref().unwrap_or("-")
                );
            });
        }
        let result = self.client.put_zone_transfer(&apex, &settings).await?;
        self.written(&format!("transfer settings of {apex} written"), result)
            .await
    }

    pub(crate) async fn zone_import(&self, file: &Path, zone: Option<String>) -> Result<()> {
        let text = read_input(file)?;
        let file_name = file.display().to_string();
        let origin = zone.as_deref().map(parse_apex).transpose()?;
        // Parse locally to learn the origin, report file:line problems early and say which
        // identical records the import merges (the server merges them the same way).
        let (parsed, warnings) = gslb_model::zonefile::parse_zone_with_warnings(
            &text,
            &file_name,
            origin.as_ref(),
            None,
        )
        .map_err(|error| anyhow!("{error}"))?;
        for warning in &warnings {
            outln!("warning: {warning}");
        }
        let apex = parsed.apex;
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
}
