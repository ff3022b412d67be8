//! `apply -f FILE [--zone Z] [--dry-run] [--prune]`: a thin client of `POST /v1/apply`,
//! which reconciles on the server; this reads the file (`apply_input`), prints the diff the
//! server answers, and names faults by their place in the file.

use std::path::Path;

use anyhow::Result;
use gslb_api::apply::ApplyDocument;
use gslb_api::client::ClientError;
use gslb_api::dto::WriteResult;

use crate::apply_input::ApplyInput;
use crate::ctl::{read_input, Ctl};
use crate::Output;

impl Ctl {
    /// `apply -f`: the server reconciles (`POST /v1/apply`); this prints its diff.
    pub(crate) async fn apply(
        &self,
        file: &Path,
        zone: Option<&str>,
        dry_run: bool,
        prune: bool,
    ) -> Result<()> {
        let text = read_input(file)?;
        let input = ApplyInput::parse(&text, file, zone)?;
        self.apply_document(&input.document, dry_run, prune, |path| input.place_of(path))
            .await
    }

    /// Server-side apply of `document`: prints the diff the server answers and, unless
    /// `dry_run`, waits for INSYNC (`apply -f`, `import route53`). `place_of` renames the
    /// path of each field at fault to where the user wrote it.
    pub(crate) async fn apply_document(
        &self,
        document: &ApplyDocument,
        dry_run: bool,
        prune: bool,
        place_of: impl Fn(&str) -> String,
    ) -> Result<()> {
        let result = match self.client.apply(document, dry_run, prune).await {
            Ok(result) => result,
            Err(ClientError::Api { status, mut body }) => {
                for field in &mut body.fields {
                    field.path = place_of(&field.path);
                }
                // The server's summary names the paths of the document it was sent; the
                // lines below name each fault's place in the user's file instead.
                if !body.fields.is_empty() {
                    body.message = format!(
                        "the document is not valid ({} faults, each named below)",
                        body.fields.len()
                    );
                }
                return Err(ClientError::Api { status, body }.into());
            }
            Err(error) => return Err(error.into()),
        };
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
