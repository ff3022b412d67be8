//! `zone import` (an RFC 1035 master file, all or nothing) and `zone export`.

use std::path::Path;

use anyhow::{anyhow, Result};
use gslb_api::client::ClientError;

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
    }
}

impl Ctl {
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
