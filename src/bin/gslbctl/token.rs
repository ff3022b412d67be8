//! `token create|list|delete`: API tokens (admin); a secret is shown once.

use anyhow::Result;
use gslb_api::dto::TokenCreate;

use crate::ctl::Ctl;
use crate::print::token_table;
use crate::TokenCommand;

/// Runs one `token` command.
pub(crate) async fn run(ctl: &Ctl, command: TokenCommand) -> Result<()> {
    match command {
        TokenCommand::Create {
            id,
            scopes,
            expires_at,
            vantage,
        } => {
            let request = TokenCreate {
                id,
                scopes,
                expires_at,
                secret: None,
                vantage,
            };
            let created = ctl.client.create_token(&request).await?;
            ctl.show(&created, || {
                outln!(
                    "token {} created; its secret (shown once):",
                    created.token.id
                );
                outln!("{}", created.secret);
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
    }
}
