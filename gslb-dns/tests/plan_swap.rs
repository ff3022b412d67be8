//! Plan replacement: `spawn_plan_follower` installs a new plan for every state version, and
//! queries answered while plans are swapped see one plan or the other whole, never a mix and
//! never a garbled or missing reply.

mod common;

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{context, query, rtype, set, zone};
use gslb_dns::{
    compile_plan, spawn_plan_follower, AnswerPlan, Responder, ResponderOptions, Transport,
};
use gslb_model::{RData, State};
use hickory_proto::op::Message;
use hickory_proto::rr::RData as HickoryRData;

/// A state whose `www.example.com.` A set holds `addresses`.
fn state_with(version: u64, addresses: &[Ipv4Addr]) -> State {
    let rdata = addresses.iter().map(|address| RData::A(*address)).collect();
    let zone = zone("example.com.", vec![set("www.example.com.", 60, rdata)]);
    let mut state = State {
        version,
        ..State::default()
    };
    state
        .zones
        .insert(zone.apex.clone(), std::sync::Arc::new(zone));
    state
}

/// The A addresses in the reply to `www.example.com. A`.
fn answer_of(responder: &Responder) -> Vec<Ipv4Addr> {
    let packet = query("www.example.com.", rtype("A")).to_vec().unwrap();
    let mut out = Vec::new();
    assert!(responder.respond(&packet, &context(Transport::Udp), &mut out));
    addresses(&out)
}

fn addresses(reply: &[u8]) -> Vec<Ipv4Addr> {
    let message = Message::from_vec(reply).expect("reply parses");
    message
        .answers
        .iter()
        .map(|record| match &record.data {
            HickoryRData::A(a) => a.0,
            other => panic!("unexpected rdata {other:?}"),
        })
        .collect()
}

/// Waits until the responder serves `version`, failing with `why` after five seconds.
async fn wait_for_version(responder: &Responder, version: u64, why: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while responder.plan_version() != version {
        assert!(Instant::now() < deadline, "timed out waiting for {why}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The follower compiles the initial state, then every new version, and stops when the
/// state channel closes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follower_installs_every_new_state_version() {
    let first = [Ipv4Addr::new(192, 0, 2, 1)];
    let second = [Ipv4Addr::new(192, 0, 2, 2), Ipv4Addr::new(192, 0, 2, 3)];
    let (publisher, watch) = tokio::sync::watch::channel(Arc::new(state_with(1, &first)));
    let responder = Arc::new(Responder::new(
        AnswerPlan::empty(),
        ResponderOptions::default(),
    ));
    let follower = spawn_plan_follower(watch, responder.clone(), gslb_dns::wall_clock());

    wait_for_version(&responder, 1, "the initial plan").await;
    assert_eq!(answer_of(&responder), first);

    publisher.send(Arc::new(state_with(2, &second))).unwrap();
    wait_for_version(&responder, 2, "the plan of version 2").await;
    assert_eq!(answer_of(&responder), second);

    drop(publisher);
    tokio::time::timeout(Duration::from_secs(5), follower)
        .await
        .expect("the follower ends when the channel closes")
        .unwrap();
}

/// Four threads answer as fast as they can while the main thread swaps two plans back and
/// forth: every query gets a well-formed reply equal to one plan's answer.
#[test]
fn queries_during_swaps_see_one_whole_plan() {
    let old_answer = vec![Ipv4Addr::new(192, 0, 2, 1)];
    let new_answer: Vec<Ipv4Addr> = (2..6).map(|i| Ipv4Addr::new(192, 0, 2, i)).collect();
    let old_plan = Arc::new(compile_plan(&state_with(1, &old_answer)));
    let new_plan = Arc::new(compile_plan(&state_with(2, &new_answer)));
    let responder = Responder::new((*old_plan).clone(), ResponderOptions::default());
    let packet = query("www.example.com.", rtype("A")).to_vec().unwrap();
    let stop = AtomicBool::new(false);
    let replies = AtomicUsize::new(0);
    let saw_new = AtomicUsize::new(0);

    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                let mut out = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    assert!(responder.respond(&packet, &context(Transport::Udp), &mut out));
                    let got = addresses(&out);
                    assert!(
                        got == old_answer || got == new_answer,
                        "mixed answer {got:?}"
                    );
                    replies.fetch_add(1, Ordering::Relaxed);
                    if got == new_answer {
                        saw_new.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
        for swap in 0..400 {
            let plan = if swap % 2 == 0 { &new_plan } else { &old_plan };
            responder.install_plan(plan.clone());
            std::thread::yield_now();
        }
        stop.store(true, Ordering::Relaxed);
    });
    assert!(replies.load(Ordering::Relaxed) > 0);
    assert!(
        saw_new.load(Ordering::Relaxed) > 0,
        "no query saw the new plan"
    );
}
