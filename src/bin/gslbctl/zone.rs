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
        let apex = match zone.as_deref().map(parse_apex).transpose()? {
            // The server parses the file and names each problem and merged record by line:
            // with the origin given, parsing it here too would only add its time.
            Some(apex) => apex,
            // Parse locally to learn the origin and report file:line problems early.
            None => {
                gslb_model::zonefile::parse_zone_with_warnings(&text, &file_name, None, None)
                    .map_err(|error| anyhow!("{error}"))?
                    .0
                    .apex
            }
        };
        let at_file_line = |path: &str| match path.strip_prefix("line ") {
            Some(line) => format!("{file_name}:{line}"),
            None => path.to_string(),
        };
        let (result, warnings) = self
            .client
            .import_zone_with_warnings(&apex.to_string(), &text)
            .await
            .map_err(|error| match error {
                ClientError::Api { status, mut body } => {
                    for field in &mut body.fields {
                        field.path = at_file_line(&field.path);
                    }
                    ClientError::Api { status, body }
                }
                other => other,
            })?;
        // The server merges identical records as BIND, NSD and Knot do, and says which.
        for warning in &warnings {
            match warning.split_once(": ") {
                Some((line, message)) => outln!("warning: {}: {message}", at_file_line(line)),
                None => outln!("warning: {warning}"),
            }
        }
        self.written(&format!("zone {apex} imported from {file_name}"), result)
            .await
    }
}
