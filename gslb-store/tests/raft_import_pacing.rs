//! Pacing of a staged zone import by the DNS nodes (`raft::import_pacing`), in a real
//! cluster over loopback HTTP: one voter and one DNS learner whose reports the test gives
//! (its plan versions and the version through which it prepared the staging, as a DNS
//! node's plan follower and preparer publish them). A chunk's turn is not released on the
//! leader's own apply but once the learner reports it; a learner that stays behind, or is
//! dead, delays each chunk by a bounded time only; the commit waits (bounded) for the
//! learner to report the staging prepared.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

use gslb_model::model::{Actor, Member, NodeRole, RaftRole, RecordSet};
use gslb_model::{Command, Zone};
use gslb_store::raft::import_pacing::{CHUNK_SPREAD_WAIT, PREPARE_WAIT};
use gslb_store::raft::{NodeHandle, WriteOutcome};
use gslb_testkit::cluster::*;
use tokio::sync::watch;

const IMPORT: &str = "imp-pacing-0001";

/// The zone's header (no record sets) and its sets in two chunks, canonical order.
fn zone_in_chunks() -> (Zone, Vec<Vec<RecordSet>>) {
    let mut text = String::from(
        "$ORIGIN paced.test.\n@ 3600 IN SOA ns1.example. hostmaster.example. 1 3600 600 86400 \
         60\n@ 3600 IN NS ns1.example.\n",
    );
    for n in 0..100 {
        text.push_str(&format!("h{n:03} 60 IN A 10.0.0.{n}\n"));
    }
    let mut zone = gslb_model::zonefile::parse_zone(&text, "paced.test.zone", None, None).unwrap();
    zone.normalize();
    let sets: Vec<RecordSet> = zone.rrsets.iter().cloned().collect();
    zone.rrsets = Default::default();
    let (first, second) = sets.split_at(51);
    (zone, vec![first.to_vec(), second.to_vec()])
}

fn chunk(apex: &gslb_model::DomainName, number: u64, rrsets: &[RecordSet]) -> Command {
    Command::StageZoneRecords {
        import_id: IMPORT.to_string(),
        apex: apex.clone(),
        chunk: number,
        total_chunks: Some(2),
        rrsets: Arc::new(rrsets.to_vec()),
    }
}

/// Writes `command` through `node` on a task; the outcome and when the write returned.
fn spawn_write(
    node: &NodeHandle,
    command: Command,
) -> tokio::task::JoinHandle<(WriteOutcome, Instant)> {
    let node = node.clone();
    tokio::spawn(async move {
        let outcome = node
            .write(command, Actor::new("importer"))
            .await
            .expect("the staged write succeeds");
        (outcome, Instant::now())
    })
}

/// Waits until `voter` holds a report from `id` at `index` (and `prepared`) or beyond.
async fn wait_report(voter: &NodeHandle, id: u64, index: u64, prepared: u64) {
    wait_ok(WAIT, "the learner's report", || async {
        let reports = voter.applied_reports().await;
        match reports.get(&id) {
            Some(report) if report.index >= index && report.prepared_through() >= prepared => {
                Ok(())
            }
            other => Err(format!("report {other:?}")),
        }
    })
    .await;
}

/// What does this test do: with a DNS learner whose reports the test gives, a staged chunk's
/// write (and so its turn) returns only after the learner reported the chunk's version, not
/// on the leader's own apply; a learner that stays behind delays a chunk by at least
/// `CHUNK_SPREAD_WAIT` and then lets it through; the commit waits at least `PREPARE_WAIT` for
/// a learner that has not prepared the staging, then commits; once the learner is dead, a
/// new import's chunks and commit go through without it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staged_writes_wait_for_the_dns_learner_within_bounds() {
    init_logging();
    let root = tempfile::tempdir().unwrap();
    let settings = fast_settings();
    let voter = single_voter(&root.path().join("node-1"), &settings).await;
    let (plans, plan_versions) = watch::channel(0u64);
    let (prepared, prepared_versions) = watch::channel(0u64);
    let adjust = move |options: &mut gslb_store::raft::NodeOptions| {
        options.report_applied = true;
        options.report_source = Some(plan_versions.clone());
        options.prepared_source = Some(prepared_versions.clone());
    };
    let learner =
        TestNode::start_adjusted(2, &root.path().join("node-2"), &settings, &adjust).await;
    wait_ok(WAIT, "the learner to join", || {
        learner
            .handle
            .join_as_learner(std::slice::from_ref(&voter.addr))
    })
    .await;
    let registered = write(
        &voter.handle,
        Command::PutMember {
            member: Member {
                id: 2,
                addr: learner.addr.clone(),
                dns_addr: None,
                region: None,
                raft_role: RaftRole::Learner,
                roles: BTreeSet::from([NodeRole::Dns]),
                applied_index: 0,
                reported_at: 0,
            },
        },
    )
    .await;
    plans.send_replace(registered.version);
    prepared.send_replace(registered.version);
    wait_report(&voter.handle, 2, registered.version, registered.version).await;
    let (header, chunks) = zone_in_chunks();

    tracing::info!("phase: chunk 0 waits for the learner's report, not the leader's apply");
    let first = spawn_write(&voter.handle, chunk(&header.apex, 0, &chunks[0]));
    let staged = wait_state(&voter.handle, "chunk 0 applied on the leader", |state| {
        state.staged_imports.contains_key(IMPORT)
    })
    .await;
    let reported_at = Instant::now();
    plans.send_replace(staged.version);
    prepared.send_replace(staged.version);
    let (outcome, returned_at) = first.await.unwrap();
    assert_eq!(outcome.version, staged.version);
    assert!(
        returned_at >= reported_at,
        "the chunk's write returned before the learner reported it"
    );

    tracing::info!("phase: a learner that stays behind delays the last chunk, boundedly");
    let started = Instant::now();
    let last = spawn_write(&voter.handle, chunk(&header.apex, 1, &chunks[1]));
    let (last_outcome, returned_at) = last.await.unwrap();
    assert!(
        returned_at - started >= CHUNK_SPREAD_WAIT,
        "returned after {:?} though the learner never reported it",
        returned_at - started
    );

    tracing::info!("phase: the commit waits for the staging to be prepared, boundedly");
    plans.send_replace(last_outcome.version);
    wait_report(&voter.handle, 2, last_outcome.version, 0).await;
    let started = Instant::now();
    let commit = Command::CommitStagedZone {
        import_id: IMPORT.to_string(),
        chunks: 2,
        zone: header.clone(),
    };
    let committed = write(&voter.handle, commit).await;
    assert!(
        started.elapsed() >= PREPARE_WAIT,
        "committed after {:?} though the learner never prepared",
        started.elapsed()
    );
    let state = voter.handle.state();
    assert_eq!(state.zones[&header.apex].rrsets.len(), 101);
    assert!(state.staged_imports.is_empty());
    assert!(committed.version > last_outcome.version);

    tracing::info!("phase: a dead learner is not waited for");
    learner.stop().await;
    let second = "imp-pacing-0002";
    let stage = |number: u64| match chunk(&header.apex, number, &chunks[number as usize]) {
        Command::StageZoneRecords {
            apex,
            chunk,
            total_chunks,
            rrsets,
            ..
        } => Command::StageZoneRecords {
            import_id: second.to_string(),
            apex,
            chunk,
            total_chunks,
            rrsets,
        },
        _ => unreachable!(),
    };
    for number in 0..2 {
        write(&voter.handle, stage(number)).await;
    }
    let mut header = header;
    header.soa.serial = 2;
    write(
        &voter.handle,
        Command::CommitStagedZone {
            import_id: second.to_string(),
            chunks: 2,
            zone: header.clone(),
        },
    )
    .await;
    assert_eq!(voter.handle.state().zones[&header.apex].soa.serial, 2);
    voter.stop().await;
}
