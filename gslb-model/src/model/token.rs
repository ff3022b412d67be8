//! `Token`: an API credential. Only a hash of the secret is replicated; the API crate hashes
//! presented secrets and compares.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::model::ident::{prefix, validate_id};
use crate::model::validation::FieldErrors;

/// One API token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Token {
    /// Stable id, a slug; shown in audit entries instead of the secret.
    pub id: String,
    /// The secret's hash as the API computes it, e.g. `sha256:<hex>`; never the secret itself.
    pub secret_hash: String,
    /// What the token may do.
    pub scopes: BTreeSet<Scope>,
    /// Leader time (unix millis) after which the token is refused; `None` never expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
    /// The one vantage an `observe` token may report for; an `observe` token without one
    /// cannot report, so no single prober credential speaks for several vantages. Absent in
    /// logs and snapshots written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vantage: Option<String>,
}

/// A permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Read every resource.
    Read,
    /// Change zones, records, regions, endpoints, checks, overrides.
    Write,
    /// Report health observations (probers).
    Observe,
    /// Manage tokens, members and drills.
    Admin,
}

/// The shortest secret accepted anywhere a person or client may choose one.
pub const MIN_SECRET_LEN: usize = 16;

/// The fewest different characters a chosen secret must contain.
pub const MIN_SECRET_DISTINCT: usize = 8;

/// Checks that a chosen secret is not guessable at a glance: at least `MIN_SECRET_LEN`
/// characters without blanks, at least `MIN_SECRET_DISTINCT` different characters, not a
/// shorter piece repeated (`abcdabcd...`) and not a run with a constant step
/// (`0123456789abcdef`). Says what is wrong, never echoing the secret.
pub fn check_secret_strength(secret: &str) -> Result<(), String> {
    let chars: Vec<char> = secret.chars().collect();
    if chars.len() < MIN_SECRET_LEN {
        return Err(format!(
            "must be at least {MIN_SECRET_LEN} characters, got {}",
            chars.len()
        ));
    }
    if chars.iter().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must not contain blanks or control characters".to_string());
    }
    let distinct = chars.iter().collect::<BTreeSet<_>>().len();
    if distinct < MIN_SECRET_DISTINCT {
        return Err(format!(
            "must contain at least {MIN_SECRET_DISTINCT} different characters, got {distinct}"
        ));
    }
    let repeats = (1..=chars.len() / 2).any(|period| {
        chars.len().is_multiple_of(period)
            && chars.iter().zip(&chars[period..]).all(|(a, b)| a == b)
    });
    if repeats {
        return Err("must not be a shorter piece repeated".to_string());
    }
    let steps: BTreeSet<i64> = chars
        .windows(2)
        .map(|pair| i64::from(u32::from(pair[1])) - i64::from(u32::from(pair[0])))
        .collect();
    if steps.len() == 1 {
        return Err("must not be a run of evenly spaced characters".to_string());
    }
    Ok(())
}

impl Token {
    /// Checks the token on its own, reporting under `path`.
    pub fn validate(&self, path: &str, errors: &mut FieldErrors) {
        let prefix = prefix(path);
        validate_id(&format!("{prefix}id"), &self.id, errors);
        let hash_ok = self
            .secret_hash
            .split_once(':')
            .is_some_and(|(algorithm, digest)| !algorithm.is_empty() && digest.len() >= 32);
        if !hash_ok {
            errors.push(
                format!("{prefix}secret_hash"),
                "must be <algorithm>:<digest> with a digest of at least 32 characters",
            );
        }
        if self.scopes.is_empty() {
            errors.push(format!("{prefix}scopes"), "must grant at least one scope");
        }
        if let Some(vantage) = &self.vantage {
            validate_id(&format!("{prefix}vantage"), vantage, errors);
            if !self.scopes.contains(&Scope::Observe) {
                errors.push(
                    format!("{prefix}vantage"),
                    format!("only an observe token names a vantage, got {vantage:?}"),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(json: &str) -> Result<Token, String> {
        let token: Token = serde_json::from_str(json).map_err(|error| error.to_string())?;
        let mut errors = FieldErrors::default();
        token.validate("token", &mut errors);
        errors
            .into_result()
            .map(|()| token)
            .map_err(|errors| errors.to_string())
    }

    #[test]
    fn weak_secrets_are_refused_and_random_ones_pass() {
        for (secret, expected) in [
            ("short", "at least 16 characters, got 5"),
            ("0000000000000000", "at least 8 different characters, got 1"),
            ("abcdefgh abcdefgh", "blanks"),
            ("0123456701234567", "repeated"),
            ("abcdefghijklmnopq", "evenly spaced"),
        ] {
            let error = check_secret_strength(secret).unwrap_err();
            assert!(error.contains(expected), "{secret}: {error}");
            assert!(
                !error.contains(secret),
                "the message echoes the secret: {error}"
            );
        }
        for secret in ["gslb_3f9a0c77d1e24b58a6c1", "correct-horse-battery-staple"] {
            assert_eq!(check_secret_strength(secret), Ok(()), "{secret}");
        }
    }

    const HASH: &str = "sha256:0123456789abcdef0123456789abcdef";

    #[test]
    fn a_token_written_before_vantages_still_loads() {
        let token = check(&format!(
            r#"{{"id":"p","secret_hash":"{HASH}","scopes":["observe"]}}"#
        ))
        .unwrap();
        assert_eq!(token.vantage, None);
        assert!(!serde_json::to_string(&token).unwrap().contains("vantage"));
    }

    #[test]
    fn only_an_observe_token_names_a_vantage() {
        let token = check(&format!(
            r#"{{"id":"p","secret_hash":"{HASH}","scopes":["observe"],"vantage":"eu-west"}}"#
        ))
        .unwrap();
        assert_eq!(token.vantage.as_deref(), Some("eu-west"));
        let error = check(&format!(
            r#"{{"id":"p","secret_hash":"{HASH}","scopes":["write"],"vantage":"eu-west"}}"#
        ))
        .unwrap_err();
        assert!(error.contains("token.vantage"), "{error}");
        let error = check(&format!(
            r#"{{"id":"p","secret_hash":"{HASH}","scopes":["observe"],"vantage":"Bad Id"}}"#
        ))
        .unwrap_err();
        assert!(error.contains("token.vantage"), "{error}");
    }
}
