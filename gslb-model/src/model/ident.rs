//! Identifier rules shared by regions, endpoints, tokens, overrides and drills.
//!
//! An id is a short lower-case slug (`eu-west-1`, `web-3`): it appears in URLs, log lines,
//! metric labels and the Raft log, so it is kept boring on purpose.

use crate::model::validation::FieldErrors;

/// The longest id we accept, in bytes.
pub const MAX_ID_LEN: usize = 63;

/// Checks that `value` is a slug: 1–63 bytes of `a-z`, `0-9`, `-`, `_` or `.`, starting with a
/// letter or digit. Reports under `path`.
pub fn validate_id(path: &str, value: &str, errors: &mut FieldErrors) {
    let well_formed = !value.is_empty()
        && value.len() <= MAX_ID_LEN
        && value
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b));
    if !well_formed {
        errors.push(
            path,
            format!(
                "must be 1-{MAX_ID_LEN} characters of a-z, 0-9, '-', '_' or '.', \
                 starting with a letter or digit, got {value:?}"
            ),
        );
    }
}

/// `"path."` for a non-empty path, `""` otherwise: the prefix for child field names.
pub fn prefix(path: &str) -> String {
    if path.is_empty() {
        String::new()
    } else {
        format!("{path}.")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(value: &str, ok: bool) {
        let mut errors = FieldErrors::default();
        validate_id("id", value, &mut errors);
        assert_eq!(errors.is_empty(), ok, "{value:?}: {errors}");
    }

    #[test]
    fn slugs_pass_and_others_are_named() {
        check("eu-west-1", true);
        check("web_3.a", true);
        check("", false);
        check("-lead", false);
        check("Upper", false);
        check(&"x".repeat(64), false);
    }
}
