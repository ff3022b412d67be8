//! Snapshots after big writes: openraft takes one every `snapshot_every` entries, which
//! counts entries, not what they carry. A million-record zone import is some 250 entries of
//! up to 64 KiB of compact record sets each, far below 5,000, so without this the whole import
//! stayed in the log tail a restarted node re-applies before it answers (tens of seconds),
//! and a new learner replays it too.
//!
//! The state machine counts the record sets the entries it applies carry (`record_sets`),
//! and once `RaftSettings::snapshot_after_record_sets` (100,000 by default: about half a
//! second of log replay on this project's 2-vCPU machine) have been applied since the last
//! snapshot and no import is still being staged (a snapshot in the middle of one would be
//! taken again at its end), it asks for one (`SnapshotWanted`) and starts counting again.
//! `start::run_snapshot_trigger`, a task of the node, waits `SETTLE` first, so the writes'
//! own work (DNS nodes compile the new zone, INSYNC) is not slowed by a big serialisation,
//! plus a stagger by node id (`settle_of`), so the nodes do not all build at once, then
//! triggers it. The snapshot is built off the runtime (`state_machine::SnapshotBuilder`),
//! like every other one.

use std::time::Duration;

use gslb_model::Command;
use tokio::sync::mpsc;

/// How long after the big write the snapshot is taken (`start::run_snapshot_trigger`), at
/// the least: see `settle_of`.
const SETTLE: Duration = Duration::from_secs(1);

/// How far apart the nodes of one cluster take theirs (`settle_of`).
const STAGGER: Duration = Duration::from_millis(500);

/// Node slots the stagger cycles through: the last slot waits `SETTLE` + 3.5 s.
const STAGGER_SLOTS: u64 = 8;

/// How long node `id` waits after a big write before its snapshot: `SETTLE`, plus
/// `STAGGER` per slot of its id. Every node applies the big write within milliseconds of
/// the others, so without the stagger they all encode the new state in the same second; on
/// nodes that share cores (the demo, a test rig, virtual machines on one host) those
/// builds, eight of ~1 s each, took the CPU the writes that followed needed (p99 write →
/// INSYNC 290 ms in the first seconds after a million-record import). On machines of their
/// own it only moves a snapshot by a few seconds.
pub(crate) fn settle_of(id: u64) -> Duration {
    let slot = u32::try_from(id % STAGGER_SLOTS).unwrap_or(0);
    SETTLE + STAGGER * slot
}

/// The state machine's side: asks for a snapshot; asking again before it was taken is one
/// request.
#[derive(Debug, Clone)]
pub(crate) struct SnapshotWanted(mpsc::Sender<()>);

impl SnapshotWanted {
    /// A request channel and the receiver `run_snapshot_trigger` serves.
    pub(crate) fn channel() -> (SnapshotWanted, mpsc::Receiver<()>) {
        let (sender, receiver) = mpsc::channel(1);
        (SnapshotWanted(sender), receiver)
    }

    /// Asks for a snapshot (a request already waiting covers this one).
    pub(crate) fn ask(&self) {
        let _ = self.0.try_send(());
    }
}

/// The record sets `command` carries: what makes its entry slow to re-apply.
pub(crate) fn record_sets(command: &Command) -> usize {
    match command {
        Command::PutZone { zone } => zone.rrsets.len(),
        Command::StageZoneRecords { rrsets, .. } => rrsets.len(),
        Command::Batch { commands } => commands.iter().map(record_sets).sum(),
        Command::Group { writes } => writes.iter().map(|write| record_sets(&write.command)).sum(),
        Command::Guarded { command, .. } => record_sets(command),
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gslb_model::command::GroupedWrite;
    use gslb_model::model::{
        Actor, DomainName, Expected, RData, RecordSet, RecordType, ResourceRef, Soa, Zone,
    };

    fn name(text: &str) -> DomainName {
        text.parse().unwrap()
    }

    fn zone_of(n: usize) -> Zone {
        Zone {
            apex: name("big.test."),
            soa: Soa {
                mname: name("ns1.big.test."),
                rname: name("hostmaster.big.test."),
                serial: 1,
                refresh: 3600,
                retry: 600,
                expire: 86400,
                minimum: 60,
                ttl: 3600,
            },
            default_ttl: 300,
            transfer: Default::default(),
            rrsets: (0..n)
                .map(|index| RecordSet {
                    name: name(&format!("h{index}.big.test.")),
                    rtype: RecordType::A,
                    ttl: 300,
                    rdata: vec![RData::A(std::net::Ipv4Addr::new(10, 0, 0, 1))],
                })
                .collect(),
            serial_policy: Default::default(),
        }
    }

    #[test]
    fn the_nodes_of_a_cluster_take_their_snapshots_apart() {
        let settles: Vec<Duration> = (1..=8).map(settle_of).collect();
        let mut distinct = settles.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), 8, "{settles:?}");
        assert!(settles.iter().all(|settle| *settle >= SETTLE));
        assert!(settles.iter().all(|settle| *settle <= SETTLE + STAGGER * 7));
        assert_eq!(settle_of(0), SETTLE);
    }

    #[test]
    fn a_zone_counts_its_sets_however_it_is_wrapped() {
        let put = Command::PutZone { zone: zone_of(7) };
        assert_eq!(record_sets(&put), 7);
        let guarded = Command::Guarded {
            resource: ResourceRef::Zone {
                apex: name("big.test."),
            },
            expected: Expected::Absent,
            command: Box::new(put.clone()),
        };
        assert_eq!(record_sets(&guarded), 7);
        let group = Command::Group {
            writes: vec![
                GroupedWrite {
                    actor: Actor::new("test"),
                    command: guarded,
                },
                GroupedWrite {
                    actor: Actor::new("test"),
                    command: put,
                },
            ],
        };
        assert_eq!(record_sets(&group), 14);
        assert_eq!(record_sets(&Command::Batch { commands: vec![] }), 0);
    }
}
