//! `gslb restore` and `gslb recover`: offline rebuilding of a node's data directory as the
//! only voter of a cluster, from a backup file or from the node's own data.
//!
//! - `restore --from FILE --config NODE.toml`: verifies the backup (format, version, length,
//!   sha256, state), checks that it comes from the cluster the config's `cluster_secret`
//!   identifies, refuses a data dir that holds node data unless `--force` (which moves that
//!   data aside, never deletes it), and writes the state so that `gslb serve` starts as the
//!   single voter of a cluster holding exactly it. Member records of the old cluster are
//!   dropped except this node's: the old processes are not members of the new cluster, and
//!   DNS members that never report would keep every change `PENDING`. Nodes that (re)join
//!   record themselves again.
//! - `recover --config NODE.toml --yes-i-know-quorum-is-lost`: when a majority of voters is
//!   gone for good, rebuilds this stopped node's state from its snapshot and its whole log
//!   (entries not known to be committed included), moves its data aside and writes it back
//!   as the single voter; the learners of its last membership stay learners.
//!
//! The node's address in the new membership is `control.advertise`, else `control.listen`,
//! which then must name a real address and port (port 0 is only known once bound).
//! Wiring only: the data-directory surgery is `gslb_store::raft::restore`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use gslb_model::backup;
use gslb_store::raft::{
    has_node_data, move_node_data_aside, read_survivor, write_single_voter, SingleVoter,
};

use crate::config::{ControlConfig, ControlRole, NodeConfig};

/// `gslb restore` arguments.
#[derive(Debug, clap::Args)]
pub struct RestoreArgs {
    /// The backup file (`gslbctl cluster snapshot --file FILE`).
    #[arg(long, value_name = "FILE")]
    pub from: PathBuf,
    /// The config of the node to restore into (its `control.data_dir`, id and address).
    #[arg(long, value_name = "NODE.toml")]
    pub config: PathBuf,
    /// Replace node data already in the data dir (it is moved to `pre-restore-<time>/`
    /// inside the data dir, not deleted).
    #[arg(long)]
    pub force: bool,
    /// Adopt a backup taken from a cluster with another cluster secret.
    #[arg(long)]
    pub allow_other_cluster: bool,
}

/// `gslb recover` arguments.
#[derive(Debug, clap::Args)]
pub struct RecoverArgs {
    /// The config of the surviving node (stopped).
    #[arg(long, value_name = "NODE.toml")]
    pub config: PathBuf,
    /// Confirms that a majority of the voters is lost for good and may never come back with
    /// its data.
    #[arg(long)]
    pub yes_i_know_quorum_is_lost: bool,
}

/// Runs `gslb restore`.
pub fn restore(args: RestoreArgs, config: NodeConfig) -> anyhow::Result<()> {
    let control = voter_control(&config, &args.config, "restore")?;
    let addr = membership_address(control)?;
    let bytes = std::fs::read(&args.from)
        .with_context(|| format!("cannot read backup {}", args.from.display()))?;
    let backup = backup::decode(&bytes)
        .with_context(|| format!("refusing backup {}", args.from.display()))?;
    let header = &backup.header;
    let expected = control.cluster_secret.cluster_id();
    if header.cluster_id != expected {
        if !args.allow_other_cluster {
            bail!(
                "refusing backup {}: it comes from cluster {}, but the cluster_secret of {} \
                 identifies cluster {expected}; restore with that cluster's config (its \
                 cluster_secret), or pass --allow-other-cluster to adopt the state into this one",
                args.from.display(),
                header.cluster_id,
                args.config.display()
            );
        }
        eprintln!(
            "WARNING: adopting backup of cluster {} into cluster {expected} \
             (--allow-other-cluster)",
            header.cluster_id
        );
    }
    let data_dir = &control.data_dir;
    if has_node_data(data_dir) {
        if !args.force {
            bail!(
                "refusing to restore into {}: it already holds node data (kv/ or \
                 snapshot.json); restore into an empty data dir, or pass --force to move \
                 that data aside and replace it",
                data_dir.display()
            );
        }
        let aside = move_node_data_aside(data_dir, "pre-restore")?;
        eprintln!(
            "WARNING: --force: this node's previous data no longer counts; it was moved to {} \
             (delete it once the restore is verified)",
            aside.map_or_else(|| "nowhere".to_string(), |path| path.display().to_string())
        );
    }
    let mut state = backup.state;
    let dropped: Vec<u64> = state
        .members
        .keys()
        .copied()
        .filter(|id| *id != control.node_id)
        .collect();
    state.members.retain(|id, _| *id == control.node_id);
    if let Some(member) = state.members.get_mut(&control.node_id) {
        member.addr = addr.clone();
    }
    let node = SingleVoter {
        id: control.node_id,
        addr: addr.clone(),
        learners: Default::default(),
    };
    runtime()?.block_on(write_single_voter(data_dir, &node, &state, None))?;
    println!(
        "restored cluster {} at applied index {} ({} zone(s), backup taken {} by node {}{}) \
         into {}",
        header.cluster_id,
        header.applied_index,
        state.zones.len(),
        gslb_api::drills::report::format_millis(header.created_at_ms),
        header.node,
        if header.linearizable { "" } else { ", stale" },
        data_dir.display()
    );
    if !dropped.is_empty() {
        println!("member records of the old cluster dropped: {dropped:?} (they record themselves again when they join)");
    }
    println!(
        "next: gslb serve --config {}  (node {} at {addr} is the only voter); other nodes \
         join with empty data dirs and seeds = [\"{addr}\"]",
        args.config.display(),
        control.node_id
    );
    Ok(())
}

/// Runs `gslb recover`.
pub fn recover(args: RecoverArgs, config: NodeConfig) -> anyhow::Result<()> {
    let control = voter_control(&config, &args.config, "recover")?;
    let addr = membership_address(control)?;
    let data_dir = &control.data_dir;
    let runtime = runtime()?;
    let survivor = runtime.block_on(read_survivor(data_dir))?;
    let lost: Vec<u64> = survivor
        .voters
        .keys()
        .copied()
        .filter(|id| *id != control.node_id)
        .collect();
    let learners: std::collections::BTreeMap<u64, String> = survivor
        .learners
        .iter()
        .filter(|(id, addr)| **id != control.node_id && !addr.is_empty())
        .map(|(id, addr)| (*id, addr.clone()))
        .collect();
    let uncertain = survivor.last_index.saturating_sub(survivor.committed_index);
    eprintln!(
        "WARNING: forcing a new membership. Node {id} becomes the ONLY voter of its cluster.\n\
         - voters {lost:?} are thrown out for good: never restart them with their data; wipe their \
         data dirs and let them rejoin with new node ids through seeds = [\"{addr}\"]\n\
         - the state kept is this node's: everything up to index {last} ({uncertain} entr(y/ies) \
         past the committed index {committed} are kept too); any write the lost voters committed \
         after that is lost\n\
         - learners {learners:?} stay learners and follow the new voter",
        id = control.node_id,
        last = survivor.last_index,
        committed = survivor.committed_index,
        learners = learners.keys().collect::<Vec<_>>(),
    );
    if !args.yes_i_know_quorum_is_lost {
        bail!(
            "not recovering without --yes-i-know-quorum-is-lost: only do this when a majority of \
             the voters is lost for good (with any quorum left, change voters through it instead)"
        );
    }
    if !survivor.voters.contains_key(&control.node_id) {
        eprintln!(
            "WARNING: node {} was not a voter (voters were {:?}); it becomes the voter now",
            control.node_id,
            survivor.voters.keys().collect::<Vec<_>>()
        );
    }
    let aside = move_node_data_aside(data_dir, "pre-recover")?;
    let node = SingleVoter {
        id: control.node_id,
        addr: addr.clone(),
        learners,
    };
    runtime.block_on(write_single_voter(
        data_dir,
        &node,
        &survivor.state,
        Some(&survivor),
    ))?;
    println!(
        "recovered node {} as the only voter at {addr}, state at index {} in {}; the previous \
         data is in {}",
        control.node_id,
        survivor.last_index,
        data_dir.display(),
        aside.map_or_else(|| "nowhere".to_string(), |path| path.display().to_string())
    );
    println!("next: gslb serve --config {}", args.config.display());
    Ok(())
}

/// The `[control]` section of a voter config.
fn voter_control<'a>(
    config: &'a NodeConfig,
    path: &Path,
    what: &str,
) -> anyhow::Result<&'a ControlConfig> {
    let Some(control) = config.control.as_ref() else {
        bail!(
            "{}: {what} needs a [control] section (the node's id, data_dir and address)",
            path.display()
        );
    };
    if control.role != ControlRole::Voter {
        bail!(
            "{}: control.role: {what} makes this node the cluster's only voter; set role = \
             \"voter\", got \"learner\"",
            path.display()
        );
    }
    Ok(control)
}

/// The address peers will reach this node at: `advertise`, else a concrete `listen`.
fn membership_address(control: &ControlConfig) -> anyhow::Result<String> {
    if let Some(advertise) = &control.advertise {
        return Ok(advertise.clone());
    }
    let listen: SocketAddr = control.listen;
    if listen.port() == 0 || listen.ip().is_unspecified() {
        bail!(
            "control.listen: {listen} is only known once bound, but the new membership needs \
             this node's address now; set control.advertise, or a concrete address and port in \
             control.listen"
        );
    }
    Ok(listen.to_string())
}

/// A small runtime for the store's async storage calls.
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")
}
