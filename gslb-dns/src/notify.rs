//! NOTIFY (RFC 1996) to each zone's secondaries on every serial change, sent by every DNS
//! node once it answers from the new serial.
//!
//! Why the DNS nodes and not the leader: a secondary that hears NOTIFY asks for the SOA and
//! then IXFR from the server that notified it (or from its configured primaries, which are
//! DNS nodes too); a DNS node notifies only after it installed the plan of the new serial, so
//! that transfer finds the serial there. The leader may be ahead of every DNS node, and need
//! not serve DNS at all. Several DNS nodes notifying the same secondary is harmless (RFC 1996
//! §3.10: a secondary that is current ignores it).
//!
//! Each (zone, secondary) gets its own task: the message is resent with doubling timeouts
//! (1 s, 2 s, 4 s, 8 s, 16 s) until a NOERROR NOTIFY response with the same id arrives; a
//! newer serial for the same pair replaces a task still retrying. Counted in
//! `gslb_dns_notify_total{result=sent|acknowledged|failed}`.
//!
//! A zone whose transfer settings name a `notify_key` has its NOTIFY signed with that TSIG
//! key (each try signed afresh), for secondaries that accept only signed NOTIFY; the
//! catalog zone's NOTIFY is signed when every zone with secondaries names the same key. A
//! key deleted since is logged and the NOTIFY sent unsigned. The answer to a signed NOTIFY
//! counts only when the secondary signed it with the same key over our MAC, in time (RFC
//! 8945 §5.3.2): an unsigned or badly signed one (forged, or the secondary's BADKEY) is
//! counted `unverified` and the tries go on.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use gslb_model::model::tsig_key::TsigKey;
use gslb_model::{DomainName, Soa, State};
use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RecordType};
use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;

use crate::slow::tsig::{self, sign_request, verify_response};
use crate::transfer::catalog::catalog_zone;
use crate::transfer::soa_record;
use crate::{DnsMetrics, Responder};

/// Tries per (zone, secondary, serial) before giving up.
const NOTIFY_TRIES: u32 = 5;
/// The first try's wait for an answer; each retry doubles it.
const FIRST_TIMEOUT: Duration = Duration::from_secs(1);

/// What must be notified for one zone: its SOA now, its secondaries, and the name of the
/// key its NOTIFY is signed with.
type Wanted = HashMap<DomainName, (Soa, Vec<SocketAddr>, Option<String>)>;

/// Starts the notifier: on every plan the responder installs it compares each zone's serial
/// with the last it notified (every zone counts as changed at start, as BIND and Knot do on
/// load) and notifies the zone's secondaries, sending from `source` (this node's DNS
/// address, so secondaries that check a NOTIFY's source against their primaries accept it;
/// `None`: the system picks). Ends on `shutdown`.
pub fn spawn_notifier(
    responder: Arc<Responder>,
    source: Option<IpAddr>,
    shutdown: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut installed = responder.installed_versions();
        let mut notified: HashMap<DomainName, u32> = HashMap::new();
        let mut running: HashMap<(DomainName, SocketAddr), CancellationToken> = HashMap::new();
        loop {
            let state = responder.state();
            if state.version > 0 {
                let wanted = wanted(&state, responder.options().catalog_zone.as_ref());
                let fudge = responder
                    .slow_path()
                    .map_or(tsig::DEFAULT_FUDGE, |slow| slow.tsig_fudge());
                for (apex, (soa, targets, key_name)) in wanted {
                    if notified.get(&apex) == Some(&soa.serial) {
                        continue;
                    }
                    notified.insert(apex.clone(), soa.serial);
                    let signer = key_name
                        .and_then(|name| notify_key(&state, &apex, &name))
                        .map(|key| (key, fudge));
                    for target in targets {
                        let token = shutdown.child_token();
                        if let Some(old) = running.insert((apex.clone(), target), token.clone()) {
                            old.cancel();
                        }
                        let metrics = responder.metrics().clone();
                        tokio::spawn(notify_one(
                            apex.clone(),
                            soa.clone(),
                            target,
                            source,
                            signer.clone(),
                            metrics,
                            token,
                        ));
                    }
                }
                running.retain(|_, token| !token.is_cancelled());
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                changed = installed.changed() => if changed.is_err() { return },
            }
        }
    })
}

/// Every zone with secondaries to notify, and the catalog zone (notified to every zone's
/// secondaries) when there is one.
fn wanted(state: &State, catalog: Option<&DomainName>) -> Wanted {
    let mut wanted: Wanted = state
        .zones
        .values()
        .filter(|zone| !zone.transfer.notify.is_empty())
        .map(|zone| {
            let key = zone.transfer.notify_key.clone();
            (
                zone.apex.clone(),
                (zone.soa.clone(), zone.transfer.notify.clone(), key),
            )
        })
        .collect();
    if let Some(apex) = catalog.filter(|apex| !state.zones.contains_key(*apex)) {
        let mut targets: Vec<SocketAddr> = state
            .zones
            .values()
            .flat_map(|zone| zone.transfer.notify.iter().copied())
            .collect();
        targets.sort();
        targets.dedup();
        let mut keys = wanted.values().map(|(_, _, key)| key.clone());
        let first = keys.next().flatten();
        let key = first.filter(|first| keys.all(|key| key.as_ref() == Some(first)));
        if !targets.is_empty() {
            wanted.insert(apex.clone(), (catalog_zone(state, apex).soa, targets, key));
        }
    }
    wanted
}

/// The key named `name` for `apex`'s NOTIFY, or `None` (logged) when it was deleted.
fn notify_key(state: &State, apex: &DomainName, name: &str) -> Option<TsigKey> {
    let key = DomainName::parse_absolute(&format!("{name}."))
        .ok()
        .and_then(|name| state.tsig_keys.get(&name).cloned());
    if key.is_none() {
        tracing::warn!(zone = %apex, key = name, "notify key unknown; notifying unsigned");
    }
    key
}

/// Notifies `target` of `apex` at `soa.serial`, retrying with backoff until acknowledged,
/// refused, out of tries or cancelled (a newer serial, or shutdown); with `signer` (a key
/// and our fudge) each try is signed at the time it is sent.
async fn notify_one(
    apex: DomainName,
    soa: Soa,
    target: SocketAddr,
    source: Option<IpAddr>,
    signer: Option<(TsigKey, u16)>,
    metrics: Arc<DnsMetrics>,
    cancel: CancellationToken,
) {
    let bind_ip = match (source, target) {
        (Some(ip), _) if ip.is_ipv4() == target.is_ipv4() && !ip.is_unspecified() => ip,
        (_, SocketAddr::V4(_)) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        (_, SocketAddr::V6(_)) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    };
    let socket = match UdpSocket::bind(SocketAddr::new(bind_ip, 0)).await {
        Ok(socket) => socket,
        Err(error) => {
            tracing::warn!(zone = %apex, %target, %error, "notify socket failed");
            metrics.count_notify("failed");
            return;
        }
    };
    let Some((id, message)) = notify_message(&apex, &soa) else {
        metrics.count_notify("failed");
        return;
    };
    let mut timeout = FIRST_TIMEOUT;
    let mut reply = vec![0u8; 4096];
    // The MAC of each signed try: every try has the same id, so an answer to any of them
    // may come, signed over that try's MAC.
    let mut request_macs: Vec<Vec<u8>> = Vec::new();
    for attempt in 1..=NOTIFY_TRIES {
        if cancel.is_cancelled() {
            return;
        }
        let mut datagram = message.clone();
        if let Some((key, fudge)) = &signer {
            let now = crate::clock::coarse_unix_millis() / 1000;
            request_macs.push(sign_request(key, &mut datagram, now, *fudge));
        }
        if let Err(error) = socket.send_to(&datagram, target).await {
            tracing::debug!(zone = %apex, %target, %error, attempt, "notify send failed");
        } else {
            metrics.count_notify("sent");
        }
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let received = tokio::select! {
                _ = cancel.cancelled() => return,
                received = tokio::time::timeout_at(deadline, socket.recv_from(&mut reply)) => received,
            };
            let Ok(Ok((length, from))) = received else {
                break;
            };
            if from != target {
                continue;
            }
            let Ok(answer) = Message::from_vec(&reply[..length]) else {
                continue;
            };
            if answer.metadata.id != id
                || answer.metadata.message_type != MessageType::Response
                || answer.metadata.op_code != OpCode::Notify
            {
                continue;
            }
            if let Some((key, fudge)) = &signer {
                if let Err(problem) =
                    verify_signed_answer(key, *fudge, &request_macs, &reply[..length])
                {
                    metrics.count_notify("unverified");
                    tracing::warn!(zone = %apex, %target, serial = soa.serial,
                        rcode = %answer.metadata.response_code, %problem,
                        "notify answer not verified; not an acknowledgement");
                    continue;
                }
            }
            if answer.metadata.response_code == ResponseCode::NoError {
                metrics.count_notify("acknowledged");
                tracing::debug!(zone = %apex, %target, serial = soa.serial, "notify acknowledged");
            } else {
                metrics.count_notify("failed");
                tracing::warn!(zone = %apex, %target, serial = soa.serial,
                    rcode = %answer.metadata.response_code, "notify refused by the secondary");
            }
            return;
        }
        timeout *= 2;
    }
    metrics.count_notify("failed");
    tracing::warn!(zone = %apex, %target, serial = soa.serial, tries = NOTIFY_TRIES,
        "notify not acknowledged; giving up");
}

/// Checks the answer to a NOTIFY signed with `key`: it must verify over the MAC of one of
/// the tries sent (`request_macs`); the problem with the latest try's MAC otherwise.
fn verify_signed_answer(
    key: &TsigKey,
    fudge: u16,
    request_macs: &[Vec<u8>],
    answer: &[u8],
) -> Result<(), tsig::ResponseProblem> {
    let now = crate::clock::coarse_unix_millis() / 1000;
    let mut latest_problem = None;
    for mac in request_macs.iter().rev() {
        match verify_response(key, mac, answer, now, fudge) {
            Ok(()) => return Ok(()),
            Err(problem) => {
                latest_problem.get_or_insert(problem);
            }
        }
    }
    Err(latest_problem.unwrap_or(tsig::ResponseProblem::Unsigned))
}

/// A NOTIFY for `apex` carrying its SOA (RFC 1996 §3.7: a hint of the new serial), with a
/// random id.
fn notify_message(apex: &DomainName, soa: &Soa) -> Option<(u16, Vec<u8>)> {
    let name = Name::from_ascii(apex.to_string()).ok()?;
    let mut message = Message::query();
    message.metadata.op_code = OpCode::Notify;
    message.metadata.authoritative = true;
    message.metadata.recursion_desired = false;
    message.add_query(Query::query(name, RecordType::SOA));
    message.add_answer(soa_record(apex, soa));
    let id = message.metadata.id;
    message.to_vec().ok().map(|bytes| (id, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn soa(serial: u32) -> Soa {
        Soa {
            mname: DomainName::parse_absolute("ns1.example.com.").unwrap(),
            rname: DomainName::parse_absolute("hostmaster.example.com.").unwrap(),
            serial,
            refresh: 3600,
            retry: 600,
            expire: 86400,
            minimum: 300,
            ttl: 3600,
        }
    }

    #[test]
    fn a_notify_names_the_zone_and_carries_its_soa() {
        let apex = DomainName::parse_absolute("example.com.").unwrap();
        let soa = soa(77);
        let (id, bytes) = notify_message(&apex, &soa).unwrap();
        let parsed = Message::from_vec(&bytes).unwrap();
        assert_eq!(parsed.metadata.id, id);
        assert_eq!(parsed.metadata.op_code, OpCode::Notify);
        assert!(parsed.metadata.authoritative);
        assert_eq!(parsed.queries[0].query_type, RecordType::SOA);
        match &parsed.answers[0].data {
            hickory_proto::rr::RData::SOA(soa) => assert_eq!(soa.serial, 77),
            other => panic!("not a SOA: {other:?}"),
        }
    }

    /// A NOTIFY signed as `notify_one` signs it verifies with the key it names, within the
    /// fudge, as a secondary checks it.
    #[test]
    fn a_signed_notify_verifies_with_its_key() {
        let apex = DomainName::parse_absolute("example.com.").unwrap();
        let soa = soa(78);
        let key = TsigKey {
            name: DomainName::parse_absolute("notify-key.").unwrap(),
            algorithm: gslb_model::model::tsig_key::TsigAlgorithm::HmacSha256,
            secret: b"0123456789abcdef0123456789abcdef".to_vec(),
            update: vec![],
            transfer: vec![],
        };
        let (id, mut bytes) = notify_message(&apex, &soa).unwrap();
        sign_request(&key, &mut bytes, 1_000_000, 300);
        let keys = std::collections::BTreeMap::from([(key.name.clone(), key.clone())]);
        match tsig::verify_request(&bytes, &keys, 1_000_100, 300).unwrap() {
            tsig::Verification::Signed(signed) => {
                assert_eq!(signed.key.name, key.name);
                assert_eq!(signed.record.original_id, id);
            }
            other => panic!("not verified: {other:?}"),
        }
        let parsed = Message::from_vec(&bytes).unwrap();
        assert_eq!(parsed.metadata.op_code, OpCode::Notify);
    }

    /// The answer a secondary gives to `request`: the request itself (TSIG removed) with QR
    /// set.
    fn bare_answer(request: &[u8]) -> Vec<u8> {
        let record = tsig::find_tsig(request).unwrap().expect("a signed notify");
        let mut answer = request[..record.start].to_vec();
        answer[2] |= 0x80;
        let arcount = u16::from_be_bytes([answer[10], answer[11]]) - 1;
        answer[10..12].copy_from_slice(&arcount.to_be_bytes());
        answer
    }

    /// A signed NOTIFY counts as acknowledged only by an answer the secondary signed with
    /// the key over our MAC: to the first try a fake secondary answers unsigned, then with
    /// our own TSIG echoed back (both `unverified`, and the try goes on waiting), to the
    /// retry the same two and then an answer signed as Knot signs it (acknowledged).
    #[tokio::test]
    async fn only_a_signed_answer_acknowledges_a_signed_notify() {
        let key = TsigKey {
            name: DomainName::parse_absolute("notify-key.").unwrap(),
            algorithm: gslb_model::model::tsig_key::TsigAlgorithm::HmacSha256,
            secret: b"0123456789abcdef0123456789abcdef".to_vec(),
            update: vec![],
            transfer: vec![],
        };
        let secondary = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let target = secondary.local_addr().unwrap();
        let metrics = Arc::new(DnsMetrics::new());
        let notifier = tokio::spawn(notify_one(
            DomainName::parse_absolute("example.com.").unwrap(),
            soa(79),
            target,
            Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            Some((key.clone(), 300)),
            Arc::clone(&metrics),
            CancellationToken::new(),
        ));
        let keys = std::collections::BTreeMap::from([(key.name.clone(), key.clone())]);
        let mut buffer = vec![0u8; 4096];
        for try_number in 1..=2 {
            let (length, from) =
                tokio::time::timeout(Duration::from_secs(30), secondary.recv_from(&mut buffer))
                    .await
                    .expect("a notify arrives")
                    .unwrap();
            let request = buffer[..length].to_vec();
            let mut echoed = request.clone();
            echoed[2] |= 0x80;
            for forged in [bare_answer(&request), echoed] {
                secondary.send_to(&forged, from).await.unwrap();
            }
            if try_number == 2 {
                let tsig::Verification::Signed(signed) =
                    tsig::verify_request(&request, &keys, now_seconds(), 300).unwrap()
                else {
                    panic!("our notify does not verify");
                };
                let mut answer = bare_answer(&request);
                signed.signer().sign(&mut answer, now_seconds(), 300);
                secondary.send_to(&answer, from).await.unwrap();
            }
        }
        tokio::time::timeout(Duration::from_secs(30), notifier)
            .await
            .expect("the notifier ends once acknowledged")
            .unwrap();
        let counted = metrics.snapshot().notify;
        let count = |result: &str| counted.iter().find(|(name, _)| *name == result).unwrap().1;
        assert_eq!(count("sent"), 2, "{counted:?}");
        assert_eq!(count("unverified"), 4, "{counted:?}");
        assert_eq!(count("acknowledged"), 1, "{counted:?}");
        assert_eq!(count("failed"), 0, "{counted:?}");
    }

    fn now_seconds() -> u64 {
        crate::clock::coarse_unix_millis() / 1000
    }
}
