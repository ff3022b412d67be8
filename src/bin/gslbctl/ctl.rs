//! `Ctl`, what every command shares: the API client, the output format and how writes wait
//! for INSYNC; and reading the files commands take (YAML or JSON, `-` for stdin).

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use gslb_api::client::Client;
use gslb_api::dto::WriteResult;
use gslb_model::model::DomainName;
use serde::Serialize;
use serde_json::Value;

use crate::Output;

/// Everything a command needs.
pub(crate) struct Ctl {
    pub(crate) client: Client,
    pub(crate) output: Output,
    pub(crate) wait: bool,
    pub(crate) timeout: Duration,
}

impl Ctl {
    /// Prints `value` as JSON or YAML, or runs `table` for humans.
    pub(crate) fn show<T: Serialize>(&self, value: &T, table: impl FnOnce()) -> Result<()> {
        match self.output {
            Output::Json => outln!("{}", serde_json::to_string_pretty(value)?),
            Output::Yaml => out!("{}", serde_norway::to_string(value)?),
            Output::Table => table(),
        }
        Ok(())
    }

    /// Reports a write and waits for INSYNC.
    pub(crate) async fn written(&self, what: &str, result: WriteResult) -> Result<()> {
        if self.output == Output::Table {
            let changed = if result.changed { "" } else { " (unchanged)" };
            outln!("{what}{changed} at version {}", result.version);
        } else {
            self.show(&result, || {})?;
        }
        self.after_write(result.version).await
    }

    /// Waits for INSYNC unless `--no-wait`.
    pub(crate) async fn after_write(&self, version: u64) -> Result<()> {
        if self.wait {
            self.wait_for(version).await
        } else {
            Ok(())
        }
    }

    pub(crate) async fn wait_for(&self, version: u64) -> Result<()> {
        let took = self.client.wait_insync(version, self.timeout).await?;
        eprintln!(
            "version {version} INSYNC on all DNS nodes after {:.2}s",
            took.as_secs_f64()
        );
        Ok(())
    }
}

pub(crate) fn parse_apex(text: &str) -> Result<DomainName> {
    gslb_api::dto::zone::parse_apex(text).map_err(|error| anyhow!("bad zone {text:?}: {error}"))
}

/// Reads a file, or stdin for `-`.
pub(crate) fn read_input(file: &Path) -> Result<String> {
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
pub(crate) fn parse_document<T: serde::de::DeserializeOwned>(text: &str, file: &Path) -> Result<T> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        serde_json::from_str(text).with_context(|| format!("{} is not valid", file.display()))
    } else {
        serde_norway::from_str(text).with_context(|| format!("{} is not valid", file.display()))
    }
}

/// One resource or a list of them.
pub(crate) fn parse_one_or_many<T: serde::de::DeserializeOwned>(
    text: &str,
    file: &Path,
) -> Result<Vec<T>> {
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
