//! Checks `[prober]`.

use std::path::Path;

use gslb_model::model::ident::validate_id;
use gslb_model::FieldErrors;

use super::secret_or_file;
use crate::config::node::ProberSettings;
use crate::config::problems::Problems;
use crate::config::raw::RawProber;

/// Checks `[prober]`, every problem with its line; `None` when any was found.
pub(crate) fn prober_settings(
    raw: &RawProber,
    has_control: bool,
    base: &Path,
    problems: &mut Problems<'_>,
) -> Option<ProberSettings> {
    let before = problems.found.len();
    if !has_control {
        problems.push(
            raw.vantage.span(),
            "prober",
            "needs a [control] section in the same config: the prober runs the checks it \
             reads from this node's replicated state",
        );
    }
    let vantage = raw.vantage.get_ref().trim().to_string();
    let mut errors = FieldErrors::default();
    validate_id("prober.vantage", &vantage, &mut errors);
    for error in errors.0 {
        problems.push(raw.vantage.span(), "prober.vantage", error.message);
    }
    let api = raw.api.as_ref().and_then(|api| {
        let text = api.get_ref().trim().trim_end_matches('/');
        let rest = text
            .strip_prefix("http://")
            .or_else(|| text.strip_prefix("https://"));
        match rest {
            Some(rest) if !rest.is_empty() && !rest.contains(char::is_whitespace) => {
                Some(text.to_string())
            }
            _ => {
                problems.push(
                    api.span(),
                    "prober.api",
                    format!(
                        "invalid url {:?} (want http://HOST:PORT or https://HOST:PORT)",
                        api.get_ref()
                    ),
                );
                None
            }
        }
    });
    let token = secret_or_file(&raw.token, &raw.token_file, "prober.token", base, problems)
        .and_then(|(token, span)| {
            if token.is_empty() || token.chars().any(char::is_whitespace) {
                problems.push(span, "prober.token", "must be non-empty without whitespace");
                None
            } else {
                Some(token)
            }
        });
    if raw.token.is_none() && raw.token_file.is_none() {
        problems.push(
            raw.vantage.span(),
            "prober.token",
            "missing; set token or token_file (a token with the prober scope)",
        );
    }
    if problems.found.len() > before {
        return None;
    }
    Some(ProberSettings {
        vantage,
        api,
        token: token?,
    })
}
