//! `gslb externaldns-webhook`: the command line of the ExternalDNS webhook provider; the
//! provider itself is `gslb_api::externaldns`.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Args;
use gslb_api::client::Client;
use gslb_api::externaldns::{DomainFilter, WebhookOptions};

use crate::config::LogFormat;

/// Flags of `gslb externaldns-webhook`.
#[derive(Debug, Args)]
pub struct WebhookArgs {
    /// The gslb API (several: comma-separated, tried in order).
    #[arg(long, value_name = "URL")]
    api: String,
    /// A file holding an API token with write scope (`gslbctl token create NAME --scope
    /// write`); surrounding whitespace is ignored.
    #[arg(long, value_name = "FILE")]
    token_file: PathBuf,
    /// Where ExternalDNS calls the provider (keep it on loopback in the sidecar).
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:8888")]
    listen: String,
    /// Where `/healthz` and `/readyz` answer (liveness and readiness probes).
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:8080")]
    health_listen: String,
    /// Manage only names inside this domain (repeatable; none: every zone). Answered to
    /// ExternalDNS at negotiation; changes outside are refused.
    #[arg(long, value_name = "DOMAIN")]
    domain_filter: Vec<String>,
    /// Leave names inside this domain alone (repeatable).
    #[arg(long, value_name = "DOMAIN")]
    exclude_domains: Vec<String>,
    /// How long a change may take to be INSYNC on every DNS node before the webhook answers
    /// 503 (ExternalDNS then retries).
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    sync_timeout: u64,
    /// Log as `text` or `json`.
    #[arg(long, value_name = "FORMAT", default_value = "text")]
    log_format: String,
}

/// Runs the webhook until SIGINT or SIGTERM.
pub fn run(args: WebhookArgs) -> Result<()> {
    let format = match args.log_format.as_str() {
        "text" => LogFormat::Text,
        "json" => LogFormat::Json,
        other => bail!("--log-format must be text or json, got {other:?}"),
    };
    crate::logging::init(format, "info");
    let token = std::fs::read_to_string(&args.token_file)
        .with_context(|| format!("reading --token-file {}", args.token_file.display()))?;
    let token = token.trim().to_string();
    if token.is_empty() {
        bail!("--token-file {} is empty", args.token_file.display());
    }
    let client = Client::new(&args.api, Some(token))?.retrying_within(Duration::from_secs(10));
    let options = WebhookOptions {
        client,
        filter: DomainFilter {
            include: args.domain_filter,
            exclude: args.exclude_domains,
            ..DomainFilter::default()
        },
        sync_timeout: Duration::from_secs(args.sync_timeout),
    };
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .with_context(|| format!("binding --listen {}", args.listen))?;
        let health = tokio::net::TcpListener::bind(&args.health_listen)
            .await
            .with_context(|| format!("binding --health-listen {}", args.health_listen))?;
        tracing::info!("listening on webhook {}", listener.local_addr()?);
        tracing::info!("listening on health {}", health.local_addr()?);
        gslb_api::externaldns::serve(listener, health, options, shutdown_signal()).await?;
        tracing::info!("webhook stopped");
        Ok(())
    })
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut terminate) = signal(SignalKind::terminate()) else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
}
