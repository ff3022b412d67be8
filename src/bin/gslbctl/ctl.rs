//! `Ctl`, what every command shares: the API client, the output format and how writes wait
//! for INSYNC; and reading the files commands take (YAML or JSON, `-` for stdin).

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use gslb_api::client::Client;
use gslb_api::dto::WriteResult;
use gslb_model::model::DomainName;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
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
            // Through JSON's data model: enums print as one-key mappings (`failover: [...]`),
            // which every reader takes, not as YAML tags (`!failover`).
            Output::Yaml => out!(
                "{}",
                serde_norway::to_string(&serde_json::to_value(value)?)?
            ),
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

/// The documents of a file: concatenated JSON values when it starts with `{` or `[`, else
/// YAML documents separated by `---`. YAML tags (`!failover [...]`, as older `gslbctl get -o
/// yaml` printed enums) read as the one-key mappings JSON uses (`{failover: [...]}`).
pub(crate) fn parse_documents(text: &str, file: &Path) -> Result<Vec<Value>> {
    let trimmed = text.trim_start();
    let invalid = || format!("{} is not valid", file.display());
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        serde_json::Deserializer::from_str(text)
            .into_iter::<Value>()
            .collect::<Result<Vec<_>, _>>()
            .with_context(invalid)
    } else {
        serde_norway::Deserializer::from_str(text)
            .map(|document| {
                let yaml = serde_norway::Value::deserialize(document).with_context(invalid)?;
                yaml_to_json(yaml).with_context(invalid)
            })
            .collect()
    }
}

/// A YAML value as JSON: tags become one-key mappings, keys become strings.
fn yaml_to_json(yaml: serde_norway::Value) -> Result<Value> {
    use serde_norway::Value as Yaml;
    Ok(match yaml {
        Yaml::Null => Value::Null,
        Yaml::Bool(flag) => Value::Bool(flag),
        Yaml::Number(number) => serde_json::to_value(&number)?,
        Yaml::String(text) => Value::String(text),
        Yaml::Sequence(items) => Value::Array(
            items
                .into_iter()
                .map(yaml_to_json)
                .collect::<Result<Vec<_>>>()?,
        ),
        Yaml::Mapping(mapping) => {
            let mut map = serde_json::Map::new();
            for (key, value) in mapping {
                let key = match yaml_to_json(key)? {
                    Value::String(text) => text,
                    other => other.to_string(),
                };
                map.insert(key, yaml_to_json(value)?);
            }
            Value::Object(map)
        }
        Yaml::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let mut map = serde_json::Map::new();
            map.insert(
                tag.trim_start_matches('!').to_string(),
                yaml_to_json(tagged.value)?,
            );
            Value::Object(map)
        }
    })
}

/// Deserializes `value`, naming the path of a fault (`location.lat: invalid type ...`).
pub(crate) fn from_value<T: DeserializeOwned>(value: Value) -> Result<T> {
    serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        if path == "." {
            anyhow!("{}", error.into_inner())
        } else {
            anyhow!("{path}: {}", error.into_inner())
        }
    })
}

/// One resource or a list of them, in one or more documents.
pub(crate) fn parse_one_or_many<T: DeserializeOwned>(text: &str, file: &Path) -> Result<Vec<T>> {
    let mut items = Vec::new();
    for document in parse_documents(text, file)? {
        match document {
            Value::Null => {}
            Value::Array(list) => items.extend(list),
            single => items.push(single),
        }
    }
    items
        .into_iter()
        .enumerate()
        .map(|(index, item)| {
            from_value(item)
                .with_context(|| format!("{} item {} is not valid", file.display(), index + 1))
        })
        .collect()
}
