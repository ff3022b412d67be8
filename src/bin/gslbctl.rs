//! `gslbctl`: the operator's command-line client of the REST API.
//!
//! Only the skeleton exists: the global flags DESIGN.md fixes. The subcommands arrive with
//! the API; until then `gslbctl --help` documents the flags and nothing else is offered.

use clap::Parser;

/// Client of the gslb REST API (subcommands arrive with the API).
#[derive(Debug, Parser)]
#[command(name = "gslbctl", version)]
struct Cli {
    /// API base URL.
    #[arg(
        long,
        env = "GSLB_API",
        default_value = "http://127.0.0.1:8053",
        global = true
    )]
    api: String,
    /// Bearer token.
    #[arg(long, env = "GSLB_TOKEN", global = true, hide_env_values = true)]
    token: Option<String>,
    /// Output format: table, json or yaml.
    #[arg(short = 'o', long = "output", default_value = "table", global = true)]
    output: String,
}

fn main() {
    let cli = Cli::parse();
    let _ = (&cli.api, &cli.token, &cli.output);
}
