//! `tsig create|list|delete`: TSIG keys for RFC 2136 updates and zone transfers (admin).
//! `create` prints the key once, as a BIND `key` block that `nsupdate -k FILE` and
//! `knsupdate -k FILE` read (`-o json`: `{name, algorithm, secret}`).

use anyhow::Result;
use clap::Subcommand;
use gslb_api::dto::TsigKeyCreate;
use serde::Serialize;

use crate::ctl::Ctl;
use crate::print::tsig_key_table;
use crate::Output;

/// `gslbctl tsig ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum TsigCommand {
    /// Create a key and print it (shown once) as a BIND `key` block:
    /// `gslbctl tsig create acme --update acme.test:_acme-challenge.*:TXT > acme.key`.
    Create {
        /// The key name (`acme-key`).
        name: String,
        /// hmac-md5, hmac-sha1, hmac-sha224, hmac-sha256, hmac-sha384 or hmac-sha512.
        #[arg(long, default_value = "hmac-sha256")]
        algorithm: String,
        /// What the key may change by UPDATE: ZONE, ZONE:PATTERN or ZONE:PATTERN:TYPE,...;
        /// a `*` label in PATTERN stands for one or more labels, `@` for the apex.
        #[arg(long = "update", value_name = "ZONE[:PATTERN[:TYPE,...]]")]
        update: Vec<String>,
        /// A zone the key may transfer (AXFR/IXFR).
        #[arg(long = "transfer", value_name = "ZONE")]
        transfer: Vec<String>,
    },
    /// List keys (never their secrets).
    List,
    /// Delete a key: requests signed with it get BADKEY from then on.
    Delete {
        /// The key name.
        name: String,
    },
}

/// What `-o json|yaml` prints for a created key.
#[derive(Serialize)]
struct CreatedKey<'a> {
    name: &'a str,
    algorithm: &'a str,
    secret: &'a str,
}

/// Runs one `tsig` command.
pub(crate) async fn run(ctl: &Ctl, command: TsigCommand) -> Result<()> {
    match command {
        TsigCommand::Create {
            name,
            algorithm,
            update,
            transfer,
        } => {
            let request = TsigKeyCreate {
                name,
                algorithm,
                update,
                transfer,
                secret: None,
            };
            let created = ctl.client.create_tsig_key(&request).await?;
            let shown = CreatedKey {
                name: &created.name,
                algorithm: &created.algorithm,
                secret: &created.secret,
            };
            ctl.show(&shown, || out!("{}", created.bind))?;
            if ctl.output == Output::Table {
                eprintln!(
                    "tsig key {} created; its secret is shown once",
                    created.name
                );
            }
            ctl.after_write(created.version).await
        }
        TsigCommand::List => {
            let keys = ctl.client.list_tsig_keys().await?;
            ctl.show(&keys, || tsig_key_table(&keys))
        }
        TsigCommand::Delete { name } => {
            let result = ctl.client.delete_tsig_key(&name).await?;
            ctl.written(&format!("tsig key {name} deleted"), result)
                .await
        }
    }
}
