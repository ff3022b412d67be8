//! `cluster status|add-learner|remove|set-voters|snapshot`: membership and backups.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use gslb_api::drills::report::format_millis;

use crate::ctl::Ctl;
use crate::print::cluster_table;
use crate::ClusterCommand;

/// Runs one `cluster` command.
pub(crate) async fn run(ctl: &Ctl, command: ClusterCommand) -> Result<()> {
    match command {
        ClusterCommand::Status => {
            let status = ctl.client.cluster().await?;
            ctl.show(&status, || cluster_table(&status))
        }
        ClusterCommand::AddLearner { id, addr } => {
            let result = ctl.client.add_learner(id, &addr).await?;
            ctl.show(&result, || {
                outln!(
                    "learner {id} at {addr} added (membership entry {})",
                    result.index
                )
            })
        }
        ClusterCommand::Remove { id, force } => {
            let result = ctl.client.remove_learner(id, force).await?;
            ctl.show(&result, || {
                outln!("node {id} removed (entry {})", result.index)
            })
        }
        ClusterCommand::Snapshot { file, stale } => ctl.snapshot(&file, stale).await,
        ClusterCommand::SetVoters { voters } => {
            let result = ctl.client.change_voters(voters.clone(), true).await?;
            ctl.show(&result, || {
                outln!(
                    "voters are now {voters:?} (membership entry {})",
                    result.index
                )
            })
        }
    }
}

impl Ctl {
    /// `cluster snapshot`: download, verify (format, checksum, state), write atomically.
    pub(crate) async fn snapshot(&self, file: &Path, stale: bool) -> Result<()> {
        let (bytes, served_by) = if stale {
            (
                self.client.snapshot(true).await?,
                self.client.base().to_string(),
            )
        } else {
            self.client.snapshot_from_leader().await?
        };
        let backup = gslb_model::backup::decode(&bytes)
            .with_context(|| format!("the snapshot {served_by} sent is unusable"))?;
        write_file_atomically(file, &bytes)
            .with_context(|| format!("cannot write {}", file.display()))?;
        let header = &backup.header;
        self.show(header, || {
            outln!(
                "wrote {} ({} bytes): cluster {}, applied index {}, {} zone(s), taken {} by node {} at {}{}\nsha256 {}",
                file.display(),
                bytes.len(),
                header.cluster_id,
                header.applied_index,
                backup.state.zones.len(),
                format_millis(header.created_at_ms),
                header.node,
                served_by,
                if header.linearizable { "" } else { " (stale: not linearizable)" },
                header.payload_sha256,
            )
        })
    }
}

/// Writes `bytes` to `path` via `path.tmp`, fsync and rename, so a crash leaves no half file.
fn write_file_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".tmp");
    let tmp = PathBuf::from(tmp_name);
    {
        let mut out = std::fs::File::create(&tmp)?;
        out.write_all(bytes)?;
        out.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}
