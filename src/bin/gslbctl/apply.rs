//! `apply -f FILE [--dry-run] [--prune]`: a thin client of `POST /v1/apply`, which
//! reconciles on the server; this reads the file and prints the diff the server answers.

use std::path::Path;

use anyhow::Result;
use gslb_api::apply::ApplyDocument;
use gslb_api::dto::WriteResult;

use crate::ctl::{parse_document, read_input, Ctl};
use crate::Output;

impl Ctl {
    /// `apply -f`: the server reconciles (`POST /v1/apply`); this prints its diff.
    pub(crate) async fn apply(&self, file: &Path, dry_run: bool, prune: bool) -> Result<()> {
        let text = read_input(file)?;
        let document: ApplyDocument = parse_document(&text, file)?;
        self.apply_document(&document, dry_run, prune).await
    }

    /// Server-side apply of `document`: prints the diff the server answers and, unless
    /// `dry_run`, waits for INSYNC (`apply -f`, `import route53`).
    pub(crate) async fn apply_document(
        &self,
        document: &ApplyDocument,
        dry_run: bool,
        prune: bool,
    ) -> Result<()> {
        let result = self.client.apply(document, dry_run, prune).await?;
        if self.output == Output::Table || dry_run {
            let lines = result.lines();
            if lines.is_empty() {
                outln!("no changes");
            }
            for line in &lines {
                outln!("{line}");
            }
        }
        let Some(version) = result.version else {
            return Ok(());
        };
        let written = WriteResult {
            version,
            changed: result.changed,
        };
        self.written(&format!("applied {} changes", result.n_changes), written)
            .await
    }
}
