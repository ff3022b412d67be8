//! Problems found in a config, each with its file, line and field, and the collector that
//! turns byte spans into line numbers.

use std::fmt;
use std::ops::Range;
use std::path::Path;

/// Every problem found in a config (and its zone files), each with its place.
#[derive(Debug, Clone, Default, thiserror::Error)]
pub struct ConfigError {
    /// At least one when returned as an error.
    pub problems: Vec<ConfigProblem>,
}

/// One problem: `file:line: field: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// The file at fault (the config or a zone file).
    pub file: String,
    /// The 1-based line, when known.
    pub line: Option<usize>,
    /// The field path (`dns.listen[1]`), empty when the message says it all.
    pub field: String,
    /// What is wrong, naming the value.
    pub message: String,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if self.field.is_empty() {
            write!(f, ": {}", self.message)
        } else {
            write!(f, ": {}: {}", self.field, self.message)
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, problem) in self.problems.iter().enumerate() {
            if index > 0 {
                writeln!(f)?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

/// Collects problems against one file's text.
pub(crate) struct Problems<'a> {
    /// The file named in every problem.
    file: String,
    /// Its content, for line numbers.
    text: &'a str,
    /// What was found so far.
    pub(crate) found: Vec<ConfigProblem>,
}

impl<'a> Problems<'a> {
    pub(crate) fn new(path: &Path, text: &'a str) -> Problems<'a> {
        Problems {
            file: path.display().to_string(),
            text,
            found: Vec::new(),
        }
    }

    pub(crate) fn push(
        &mut self,
        span: Range<usize>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) {
        let line = if span == (0..0) {
            None
        } else {
            Some(line_of(self.text, span.start))
        };
        self.push_at(line, field, message);
    }

    pub(crate) fn push_at(
        &mut self,
        line: Option<usize>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) {
        self.found.push(ConfigProblem {
            file: self.file.clone(),
            line,
            field: field.into(),
            message: message.into(),
        });
    }

    pub(crate) fn into_error(self) -> ConfigError {
        ConfigError {
            problems: self.found,
        }
    }
}

/// The 1-based line of byte `offset` in `text`.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|byte| **byte == b'\n')
        .count()
        + 1
}
