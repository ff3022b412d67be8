//! `Responder`: turns one query packet into one reply packet (or silence), answering from
//! the current `AnswerPlan`, and `ResponderOptions`, what an operator can tune about it.
//!
//! The whole path is hand-written wire code: parse the query in place (`wire`), load the plan
//! once per received batch (`ArcSwap::load`, a guard, no reference-count traffic; see
//! `begin_batch`), copy header and question into
//! the caller's reused buffer, let `plan::write_answer` copy the pre-rendered sections, then
//! append the OPT (with the client subnet echoed) and patch ID and flags. No lock, no
//! allocation once `out` has grown to the largest reply.
//!
//! GSLB names are answered on the same path: the client (ECS source if present, else the
//! transport address) is taken only when a GSLB record is met and located only when the
//! record reads location; `policy::evaluate` chooses with the clock read once per batch (the
//! coarse system clock, or a manual one for tests and drills) and the query ID as entropy,
//! and the ECS SCOPE echoed is the decision's scope (0 for static answers: they do not
//! depend on the client).
//!
//! Every reply is counted in the responder's `DnsMetrics` (transport, RCODE, query type; a
//! GSLB evaluation also by record, decision, causes and regions), on the calling thread's
//! shard: relaxed atomic adds, no lock, no allocation. Packets given no reply are counted
//! apart.
//!
//! Decisions, each with its RFC (and Knot DNS as the reference where RFCs leave a choice):
//! - QR=1 or fewer than 12 octets → silence; other malformed packets → FORMERR with the ID
//!   (and the question when it parsed), no OPT (the OPT itself may be what is malformed).
//! - OPCODE ≠ QUERY → NOTIMP (RFC 1035 §4.1.1), question echoed when readable, OPT when the
//!   packet was otherwise well formed and had one.
//! - EDNS version > 0 → BADVERS (RFC 6891 §6.1.3): extended RCODE 16, OPT with version 0.
//! - The reply carries an OPT only when the query did; its payload is
//!   max(512, min(client payload, `max_udp_payload`)), which is also the UDP size limit
//!   (512 without EDNS). A reply over the limit is cut to header + question + OPT with TC=1
//!   (RFC 2181 §9, as Knot); TCP replies are never cut (RFC 7766).
//! - QCLASS IN and ANY answer from the zones; CH answers `version.bind`/`version.server`,
//!   `id.server` and `hostname.bind` TXT when configured, REFUSED otherwise (as Knot); any
//!   other class, names outside our zones, and AXFR/IXFR (we do not transfer zones yet)
//!   → REFUSED without AA.
//! - DNS Cookies (RFC 7873, server cookies per RFC 9018, `cookie`): a COOKIE option of a
//!   malformed length → FORMERR; with cookies on, a reply to a query with a client cookie
//!   carries it back with a fresh server cookie. A valid server cookie exempts its client
//!   from rate limiting; a limited client that sent a cookie without a valid server cookie
//!   gets BADCOOKIE with a fresh one instead of a truncated reply (RFC 7873 §5.2.3–5.2.4:
//!   discard, BADCOOKIE or answer are the server's choices), so it retries with it.
//! - Response rate limiting (`rrl`) on UDP only: after the reply is built, its class
//!   (answer, nodata, NXDOMAIN, referral, error) and the client's network pick a bucket;
//!   a limited reply is dropped or, every `slip`-th, cut to header + question with TC=1.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use arc_swap::ArcSwap;

use gslb_model::{DomainName, State};

use crate::client::ClientLocator;
use crate::cookie::{CookieSettings, CLIENT_COOKIE_LEN, SERVER_COOKIE_LEN};
use crate::dnssec::{KeyEncryptionKey, Keyring, SignatureCache, Window, ZoneSigning};
use crate::metrics::{thread_shard, CookieVerdict, DnsMetrics};
use crate::plan::{additionals_that_fit, write_answer, AnswerPlan, BatchFacts, Dynamic, Sections};
use crate::rrl::{RateLimiter, ReplyClass, RrlAction, RrlSettings};
use crate::signed_reply::{
    cached_reply, sign_reply_cached, write_key_answer, SignedReplies, Signing,
};
use crate::slow::{SlowPath, SlowPathCell, SlowPathOwner, OPCODE_UPDATE};
use crate::wire::{
    patch_header, rcode, types, write_opt, ParsedQuery, QueryError, QueryHeader, ReplyFlags,
    HEADER_LEN,
};
use crate::{QueryContext, Transport};

/// Signed replies a responder keeps (each up to a UDP payload; a few MB in all).
const SIGNED_REPLIES: usize = 8_192;

/// The UDP payload size this server accepts and answers by default (DNS flag day 2020).
pub const DEFAULT_MAX_UDP_PAYLOAD: u16 = 1232;
/// The UDP reply limit without EDNS, and the floor with it (RFC 1035 §4.2.1, RFC 6891 §6.2.5).
pub const MIN_UDP_PAYLOAD: u16 = 512;

/// What an operator can tune about answering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponderOptions {
    /// TXT answered for CH `version.bind` and `version.server`; `None` refuses them.
    pub version_bind: Option<String>,
    /// TXT answered for CH `id.server` (RFC 4892); `None` refuses it.
    pub id_server: Option<String>,
    /// TXT answered for CH `hostname.bind`; `None` refuses it.
    pub hostname_bind: Option<String>,
    /// Largest UDP reply we send and advertise, whatever the client offers; never below 512.
    pub max_udp_payload: u16,
    /// This node's region id: `latency` policies use the RTTs its probers measured. `None`
    /// leaves latency to a loaded client-network table (or the first child).
    pub vantage: Option<String>,
    /// Response rate limiting on UDP (`[dns.rrl]`); off in `default()`, on in the node
    /// config's defaults.
    pub rrl: RrlSettings,
    /// DNS Cookies (`[dns.cookies]`); off in `default()`, on in the node config's defaults.
    pub cookies: CookieSettings,
    /// The name of the catalog zone (RFC 9432) listing every zone (`[dns] catalog_zone`),
    /// served and transferred like a zone; `None`: no catalog.
    pub catalog_zone: Option<DomainName>,
}

impl Default for ResponderOptions {
    fn default() -> Self {
        ResponderOptions {
            version_bind: Some(concat!("gslb ", env!("CARGO_PKG_VERSION")).to_string()),
            id_server: None,
            hostname_bind: None,
            max_udp_payload: DEFAULT_MAX_UDP_PAYLOAD,
            vantage: None,
            rrl: RrlSettings::off(),
            cookies: CookieSettings::default(),
            catalog_zone: None,
        }
    }
}

/// What the queries of one batch share (see `Responder::begin_batch`): the plan, loaded
/// once per batch instead of once per query, and the GSLB facts (network table, clock).
pub struct ResponderBatch {
    /// The plan every query of the batch is answered from.
    plan: arc_swap::Guard<Arc<AnswerPlan>>,
    /// The replicated network table and clock reading GSLB answers share.
    facts: BatchFacts,
    /// The query being answered, overwritten by each (cleared once per batch instead of
    /// ~400 octets on the stack per query).
    parsed: ParsedQuery,
    /// The metrics shard of the answering thread.
    shard: usize,
    /// Unix seconds (coarse clock) when the batch began: RRL's second, cookies' timestamp.
    now_secs: u64,
}

impl std::fmt::Debug for ResponderBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponderBatch")
            .field("plan_version", &self.plan.version())
            .field("facts", &self.facts)
            .finish()
    }
}

/// Answers queries from the current answer plan; shared by every listener thread.
#[derive(Debug)]
pub struct Responder {
    /// The plan queries are answered from; replaced whole by `install_plan`.
    plan: ArcSwap<AnswerPlan>,
    /// Operator settings, fixed for the responder's life.
    options: ResponderOptions,
    /// Locates clients for GSLB records (CIDR table, GeoIP).
    locator: ClientLocator,
    /// A manual clock (unix millis) for GSLB decisions; `None` reads the system clock.
    clock: Option<Arc<AtomicU64>>,
    /// What answering counts; shared with the node's `/metrics`.
    metrics: Arc<DnsMetrics>,
    /// The version of each plan installed, for whoever must know what this responder
    /// answers from (a DNS node reports it as applied, so INSYNC means "answered").
    installed: tokio::sync::watch::Sender<u64>,
    /// The RRL bucket table; `None` when RRL is off.
    limiter: Option<RateLimiter>,
    /// The replicated state of the installed plan: what zone transfers and NOTIFY read
    /// (never the answer path).
    state: ArcSwap<State>,
    /// Where UPDATEs and TSIG-signed messages go (`slow::attach_slow_path`); without one
    /// they are answered here as before (UPDATE → NOTIMP).
    slow: SlowPathCell,
    /// Opens signed zones' keys when a plan is installed (`with_key_encryption_key`).
    keyring: Keyring,
    /// Signatures made, shared by every worker (DO=1 answers of signed zones only).
    signatures: SignatureCache,
    /// Whole signed replies by what they depend on (see `signed_reply::sign_reply_cached`).
    signed_replies: SignatureCache,
}

/// What became of one packet.
enum Outcome {
    /// A reply with this RCODE to a question of this type (`None`: unreadable).
    Replied(u16, Option<u16>),
    /// No reply: a response, or shorter than a header.
    Ignored,
    /// No reply: rate limiting dropped it (already counted).
    Limited,
    /// No reply here: an UPDATE or a signed message, for the slow path.
    HandedOff,
}

/// What the cookie of one query decided.
#[derive(Clone, Copy)]
struct CookieReply {
    /// The client's server cookie was one of ours and fresh: exempt from RRL.
    valid: bool,
    /// Client cookie | fresh server cookie, for the reply's OPT.
    bytes: [u8; CLIENT_COOKIE_LEN + SERVER_COOKIE_LEN],
}

impl Default for Responder {
    fn default() -> Self {
        Responder::new(AnswerPlan::empty(), ResponderOptions::default())
    }
}

impl SlowPathOwner for Responder {
    fn answer(&self, query: &[u8], context: &QueryContext, out: &mut Vec<u8>) -> bool {
        self.respond(query, context, out)
    }

    fn max_udp_payload(&self) -> u16 {
        self.options.max_udp_payload
    }

    fn keep_slow_path(&self, slow: SlowPath) {
        let _ = self.slow.set(slow);
    }
}

impl Responder {
    /// A responder answering from `plan`.
    pub fn new(mut plan: AnswerPlan, options: ResponderOptions) -> Responder {
        let metrics = Arc::new(DnsMetrics::new());
        plan.attach_counters(&metrics);
        let installed = tokio::sync::watch::Sender::new(plan.version());
        let limiter = RateLimiter::new(options.rrl.clone());
        Responder {
            plan: ArcSwap::from_pointee(plan),
            options,
            locator: ClientLocator::default(),
            clock: None,
            metrics,
            installed,
            limiter,
            state: ArcSwap::from_pointee(State::default()),
            slow: SlowPathCell::new(),
            keyring: Keyring::default(),
            signatures: SignatureCache::default(),
            signed_replies: SignatureCache::with_capacity(SIGNED_REPLIES),
        }
    }

    /// The slow path, when one is attached.
    pub fn slow_path(&self) -> Option<&SlowPath> {
        self.slow.get()
    }

    /// The same responder opening signed zones' private keys with `kek` (derived from the
    /// cluster secret); without it a signed zone's DO=1 queries get SERVFAIL.
    pub fn with_key_encryption_key(mut self, kek: KeyEncryptionKey) -> Responder {
        self.keyring = Keyring::new(kek);
        let mut plan = AnswerPlan::clone(&self.plan.load());
        plan.open_keys(&self.keyring);
        self.plan.store(Arc::new(plan));
        self
    }

    /// Why signed zones are not signed on this node (keys that do not open), one line
    /// each; empty when all is well. `/readyz` reports them.
    pub fn dnssec_problems(&self) -> Vec<String> {
        self.plan.load().signing().problems()
    }

    /// The shared signature cache (its counts feed `/metrics`).
    pub fn signature_cache(&self) -> &SignatureCache {
        &self.signatures
    }

    /// The same responder counting into `metrics` (a set the node's `/metrics` also reads).
    pub fn with_metrics(mut self, metrics: Arc<DnsMetrics>) -> Responder {
        let mut plan = AnswerPlan::clone(&self.plan.load());
        plan.attach_counters(&metrics);
        self.plan.store(Arc::new(plan));
        self.metrics = metrics;
        self
    }

    /// The counters this responder writes.
    pub fn metrics(&self) -> &Arc<DnsMetrics> {
        &self.metrics
    }

    /// The same responder locating clients with `locator` (its CIDR table and GeoIP).
    pub fn with_locator(mut self, locator: ClientLocator) -> Responder {
        self.locator = locator;
        self
    }

    /// The same responder reading "now" (unix millis) for GSLB decisions from `clock`
    /// instead of the system clock: tests and drill predictions move time by hand.
    pub fn with_manual_clock(mut self, clock: Arc<AtomicU64>) -> Responder {
        self.clock = Some(clock);
        self
    }

    /// The locator GSLB answers use.
    pub fn locator(&self) -> &ClientLocator {
        &self.locator
    }

    /// Replaces the plan atomically: each query sees either the old or the new plan whole.
    /// A plan whose GSLB records do not count into this responder's metrics yet gets its
    /// counters first (the follower attaches them off the async threads already).
    pub fn install_plan(&self, plan: Arc<AnswerPlan>) {
        let plan = if plan.counters_attached(&self.metrics) && !plan.keys_unopened() {
            plan
        } else {
            let mut plan = Arc::unwrap_or_clone(plan);
            plan.attach_counters(&self.metrics);
            if plan.keys_unopened() {
                plan.open_keys(&self.keyring);
            }
            Arc::new(plan)
        };
        let version = plan.version();
        self.plan.store(plan);
        self.installed.send_replace(version);
    }

    /// Installs the state a plan was compiled from, before that plan: transfers and NOTIFY
    /// read it (the answer path reads only the plan).
    pub fn install_state(&self, state: Arc<State>) {
        self.state.store(state);
    }

    /// The state of the installed plan (an empty state before the first).
    pub fn state(&self) -> Arc<State> {
        self.state.load_full()
    }

    /// A receiver of the version of every plan installed from now on (its current value is
    /// the plan in use): what this responder answers from, without polling.
    pub fn installed_versions(&self) -> tokio::sync::watch::Receiver<u64> {
        self.installed.subscribe()
    }

    /// The `State` version of the plan in use.
    pub fn plan_version(&self) -> u64 {
        self.plan.load().version()
    }

    /// The plan in use (for diagnostics; the query path uses a cheaper guard).
    pub fn plan(&self) -> Arc<AnswerPlan> {
        self.plan.load_full()
    }

    /// The options this responder was built with.
    pub fn options(&self) -> &ResponderOptions {
        &self.options
    }

    /// Writes the reply to `query` into `out` (cleared first) and returns true, or returns
    /// false when the query gets no reply at all (QR=1, shorter than a header).
    pub fn respond(&self, query: &[u8], context: &QueryContext, out: &mut Vec<u8>) -> bool {
        self.respond_in(&mut self.begin_batch(), query, context, out)
    }

    /// What a batch of queries answered together shares: the plan in use and the GSLB
    /// facts. Answer them with `respond_in`, then drop it (it keeps its plan alive).
    pub fn begin_batch(&self) -> ResponderBatch {
        ResponderBatch {
            plan: self.plan.load(),
            facts: BatchFacts::at(
                self.clock
                    .as_ref()
                    .map(|clock| clock.load(std::sync::atomic::Ordering::Relaxed)),
            ),
            parsed: ParsedQuery::default(),
            shard: thread_shard(),
            now_secs: crate::clock::coarse_unix_millis() / 1000,
        }
    }

    /// `respond` for one query of `batch`.
    pub fn respond_in(
        &self,
        batch: &mut ResponderBatch,
        query: &[u8],
        context: &QueryContext,
        out: &mut Vec<u8>,
    ) -> bool {
        let shard = batch.shard;
        match self.reply(batch, query, context, out) {
            Outcome::Replied(code, qtype) => {
                self.metrics
                    .count_reply(shard, context.transport, code, qtype);
                true
            }
            Outcome::Ignored => {
                self.metrics.count_ignored(shard, context.transport);
                false
            }
            Outcome::Limited | Outcome::HandedOff => false,
        }
    }

    /// `respond`'s work: writes the reply and says what became of the packet.
    fn reply(
        &self,
        batch: &mut ResponderBatch,
        query: &[u8],
        context: &QueryContext,
        out: &mut Vec<u8>,
    ) -> Outcome {
        out.clear();
        let ResponderBatch {
            plan,
            facts,
            parsed,
            shard,
            now_secs,
        } = batch;
        match parsed.parse_into(query) {
            Ok(()) => {}
            Err(QueryError::TooShort(_) | QueryError::Response) => return Outcome::Ignored,
            Err(QueryError::NotImplemented {
                opcode: OPCODE_UPDATE,
                ..
            }) if self.slow.get().is_some() => return Outcome::HandedOff,
            Err(QueryError::NotImplemented {
                header,
                question_end,
                edns,
                ..
            }) => {
                let payload = edns.map(|edns| self.reply_payload(edns.udp_payload));
                write_error(query, &header, question_end, rcode::NOTIMP, out);
                if let (Some(edns), Some(payload)) = (edns, payload) {
                    let subnet = edns.client_subnet;
                    write_opt(
                        out,
                        payload,
                        rcode::NOTIMP,
                        edns.dnssec_ok,
                        subnet.as_ref(),
                        0,
                        None,
                    );
                    out[11] = 1;
                }
                let class = ReplyClass::Error;
                if self.limit_error(context, class, *now_secs, *shard, out) {
                    return Outcome::Limited;
                }
                return Outcome::Replied(rcode::NOTIMP, question_type(query, question_end));
            }
            Err(QueryError::Malformed {
                header,
                question_end,
                ..
            }) => {
                write_error(query, &header, question_end, rcode::FORMERR, out);
                let class = ReplyClass::Error;
                if self.limit_error(context, class, *now_secs, *shard, out) {
                    return Outcome::Limited;
                }
                return Outcome::Replied(rcode::FORMERR, question_type(query, question_end));
            }
        };
        if parsed.signed && self.slow.get().is_some() {
            return Outcome::HandedOff;
        }
        out.extend_from_slice(&query[..parsed.question_end]);
        let cookie = self.check_cookie(parsed, context, *now_secs, *shard);

        let (sections, scope) = match parsed.edns {
            Some(edns) if edns.version > 0 => (refusal(rcode::BADVERS), 0),
            _ => match parsed.qclass() {
                types::CLASS_IN | types::CLASS_ANY => {
                    self.answer_internet(plan, facts, parsed, context, out, *shard, *now_secs)
                }
                types::CLASS_CH => (self.answer_chaos(parsed, out), 0),
                _ => (refusal(rcode::REFUSED), 0),
            },
        };
        let (sections, slipped) =
            match self.limit(parsed, &sections, cookie, context, *now_secs, *shard) {
                RrlAction::Pass => (sections, false),
                RrlAction::Drop => return Outcome::Limited,
                RrlAction::Slip => {
                    out.truncate(parsed.question_end);
                    match cookie {
                        // A client that speaks cookies learns a fresh one (RFC 7873 §5.2.3).
                        Some(_) => (refusal(rcode::BADCOOKIE), false),
                        None => (
                            Sections {
                                answers: 0,
                                authorities: 0,
                                additionals: 0,
                                optional_additional_from: None,
                                ..sections
                            },
                            true,
                        ),
                    }
                }
            };
        let code = sections.rcode;
        let cookie_bytes = cookie.as_ref().map(|cookie| &cookie.bytes[..]);
        self.finish(
            parsed,
            sections,
            scope,
            context.transport,
            cookie_bytes,
            slipped,
            out,
        );
        Outcome::Replied(code, Some(parsed.qtype()))
    }

    /// Checks the query's COOKIE option (cookies on, OPT with a cookie) and makes the
    /// reply's: the client cookie with a server cookie stamped now for this client.
    fn check_cookie(
        &self,
        parsed: &ParsedQuery,
        context: &QueryContext,
        now_secs: u64,
        shard: usize,
    ) -> Option<CookieReply> {
        let secret = self.options.cookies.secret.as_ref()?;
        let sent = parsed.edns?.cookie?;
        let client = context.client.ip();
        let now = now_secs as u32;
        let server = sent.server();
        let valid = !server.is_empty() && secret.is_valid(&sent.client, server, client, now);
        let verdict = match (server.is_empty(), valid) {
            (true, _) => CookieVerdict::ClientOnly,
            (false, true) => CookieVerdict::Valid,
            (false, false) => CookieVerdict::Invalid,
        };
        self.metrics.count_cookie(shard, verdict);
        let mut bytes = [0u8; CLIENT_COOKIE_LEN + SERVER_COOKIE_LEN];
        bytes[..CLIENT_COOKIE_LEN].copy_from_slice(&sent.client);
        bytes[CLIENT_COOKIE_LEN..].copy_from_slice(&secret.server_cookie(
            &sent.client,
            client,
            now,
        ));
        Some(CookieReply { valid, bytes })
    }

    /// Rate limiting of a built reply: UDP only, not for exempt networks nor for a client
    /// with a valid server cookie. Counts the action taken.
    fn limit(
        &self,
        parsed: &ParsedQuery,
        sections: &Sections,
        cookie: Option<CookieReply>,
        context: &QueryContext,
        now_secs: u64,
        shard: usize,
    ) -> RrlAction {
        let Some(limiter) = &self.limiter else {
            return RrlAction::Pass;
        };
        if context.transport != Transport::Udp || cookie.is_some_and(|cookie| cookie.valid) {
            return RrlAction::Pass;
        }
        let client = context.client.ip();
        if limiter.is_exempt(client) {
            return RrlAction::Pass;
        }
        let class = ReplyClass::of(
            sections.rcode,
            sections.authoritative,
            sections.answers,
            sections.authorities,
        );
        let action = limiter.decide(client, class, parsed.name.as_wire(), now_secs);
        self.metrics.count_rrl(shard, class, action);
        action
    }

    /// Rate limiting of an error reply built before the question was understood (FORMERR,
    /// NOTIMP): true when it is dropped; a slip sets TC on the (already minimal) reply.
    fn limit_error(
        &self,
        context: &QueryContext,
        class: ReplyClass,
        now_secs: u64,
        shard: usize,
        out: &mut [u8],
    ) -> bool {
        let Some(limiter) = &self.limiter else {
            return false;
        };
        let client = context.client.ip();
        if context.transport != Transport::Udp || limiter.is_exempt(client) {
            return false;
        }
        let action = limiter.decide(client, class, &[], now_secs);
        self.metrics.count_rrl(shard, class, action);
        match action {
            RrlAction::Pass => false,
            RrlAction::Slip => {
                out[2] |= 0x02;
                false
            }
            RrlAction::Drop => true,
        }
    }

    /// Answers class IN (and ANY) from the plan; also returns the ECS scope the answer
    /// depends on. A signed zone answers its apex key sets, and signs DO=1 answers.
    #[allow(clippy::too_many_arguments)]
    fn answer_internet(
        &self,
        plan: &AnswerPlan,
        facts: &mut BatchFacts,
        parsed: &ParsedQuery,
        context: &QueryContext,
        out: &mut Vec<u8>,
        shard: usize,
        now_secs: u64,
    ) -> (Sections, u8) {
        if matches!(parsed.qtype(), types::AXFR | types::IXFR) {
            return (refusal(rcode::REFUSED), 0);
        }
        let Some(mut zone) = plan.find_zone(&parsed.name) else {
            return (refusal(rcode::REFUSED), 0);
        };
        if parsed.qtype() == types::DS && zone.is_apex(&parsed.name) {
            // DS lives on the parent side of the cut: answer from the parent zone when we
            // serve it and it delegates here (RFC 4035 §3.1.4.1). Without that delegation
            // the parent would say NXDOMAIN for a name that exists, so the child answers.
            if let Some(parent) = plan.find_zone_above(&parsed.name, 1) {
                if parent.is_cut(&parsed.name) {
                    zone = parent;
                }
            }
        }
        let ecs = parsed
            .edns
            .and_then(|edns| edns.client_subnet)
            .map(|subnet| (subnet.addr(), subnet.source_prefix));
        let mut dynamic = Dynamic::new(
            plan.gslb(),
            &self.locator,
            context.client.ip(),
            ecs,
            facts,
            query_entropy(parsed.header.id),
            shard,
        );
        let dnssec_ok = parsed.edns.is_some_and(|edns| edns.dnssec_ok);
        let signer = match plan.signing().zone(zone.apex()) {
            Some(ZoneSigning::Ready(signer)) => Some(signer),
            // Keys that do not open: no bogus data for validators (see `dnssec::table`).
            Some(ZoneSigning::Broken(_)) if dnssec_ok => return (refusal(rcode::SERVFAIL), 0),
            _ => None,
        };
        let Some(signer) = signer else {
            let sections = write_answer(zone, &parsed.name, parsed.qtype(), &mut dynamic, out);
            return (sections, dynamic.scope);
        };
        let qtype = parsed.qtype();
        let signed = dnssec_ok.then(|| {
            let signing = Signing {
                signer,
                cache: &self.signatures,
                window: Window::at(now_secs),
                metrics: (&self.metrics, shard),
            };
            let replies = SignedReplies {
                cache: &self.signed_replies,
                content: plan.content_id(),
            };
            (signing, replies)
        });
        if let Some((signing, replies)) = &signed {
            // An answer that depends on the question alone, signed before: copied whole.
            if let Some(sections) = cached_reply(signing, replies, &parsed.name, qtype, out) {
                return (sections, 0);
            }
        }
        let key_answer = if matches!(
            qtype,
            crate::dnssec::DNSKEY | crate::dnssec::CDS | crate::dnssec::CDNSKEY
        ) && zone.is_apex(&parsed.name)
        {
            write_key_answer(signer, qtype, out)
        } else {
            None
        };
        let sections = match key_answer {
            Some(sections) => sections,
            None => write_answer(zone, &parsed.name, qtype, &mut dynamic, out),
        };
        let Some((signing, replies)) = &signed else {
            return (sections, dynamic.scope);
        };
        let sections = sign_reply_cached(
            signing,
            replies,
            dynamic.chose_per_query(),
            zone,
            &parsed.name,
            qtype,
            parsed.question_end,
            sections,
            out,
        );
        (sections, dynamic.scope)
    }

    /// Answers the CHAOS identity names with one TXT (TTL 0), or REFUSED.
    fn answer_chaos(&self, parsed: &ParsedQuery, out: &mut Vec<u8>) -> Sections {
        let name = parsed.name.as_wire();
        let text = if name == b"\x07version\x04bind\x00" || name == b"\x07version\x06server\x00" {
            self.options.version_bind.as_deref()
        } else if name == b"\x02id\x06server\x00" {
            self.options.id_server.as_deref()
        } else if name == b"\x08hostname\x04bind\x00" {
            self.options.hostname_bind.as_deref()
        } else {
            None
        };
        let Some(text) = text.filter(|_| matches!(parsed.qtype(), types::TXT | types::ANY)) else {
            return refusal(rcode::REFUSED);
        };
        let text = &text.as_bytes()[..text.len().min(255)];
        out.extend_from_slice(&[0xC0, 0x0C]);
        out.extend_from_slice(&types::TXT.to_be_bytes());
        out.extend_from_slice(&types::CLASS_CH.to_be_bytes());
        out.extend_from_slice(&0u32.to_be_bytes());
        out.extend_from_slice(&(1 + text.len() as u16).to_be_bytes());
        out.push(text.len() as u8);
        out.extend_from_slice(text);
        Sections {
            rcode: rcode::NOERROR,
            authoritative: true,
            answers: 1,
            authorities: 0,
            additionals: 0,
            optional_additional_from: None,
        }
    }

    /// The payload size we advertise and limit UDP replies to, for a client's offer.
    fn reply_payload(&self, client_payload: u16) -> u16 {
        client_payload
            .min(self.options.max_udp_payload)
            .max(MIN_UDP_PAYLOAD)
    }

    /// Appends the OPT (with `cookie` when given), truncates for UDP when needed (or when
    /// `slipped`: RRL cut it already), and writes the header.
    #[allow(clippy::too_many_arguments)]
    fn finish(
        &self,
        parsed: &ParsedQuery,
        sections: Sections,
        scope: u8,
        transport: Transport,
        cookie: Option<&[u8]>,
        slipped: bool,
        out: &mut Vec<u8>,
    ) {
        let payload = parsed.edns.map(|edns| self.reply_payload(edns.udp_payload));
        let opt_len = parsed.edns.map_or(0, |edns| {
            11 + edns
                .client_subnet
                .map_or(0, |subnet| 8 + subnet.address_bytes().len())
                + cookie.map_or(0, |cookie| 4 + cookie.len())
        });
        let limit = match transport {
            Transport::Udp => payload.unwrap_or(MIN_UDP_PAYLOAD) as usize,
            Transport::Tcp => u16::MAX as usize,
        };
        let mut counts = [
            1,
            sections.answers,
            sections.authorities,
            sections.additionals,
        ];
        let mut truncated = slipped;
        if out.len() + opt_len > limit {
            if let Some(from) = sections.optional_additional_from {
                if from + opt_len <= limit {
                    let (end, kept) = additionals_that_fit(out, from, counts[3], limit - opt_len);
                    out.truncate(end);
                    counts[3] = kept;
                }
            }
        }
        if out.len() + opt_len > limit {
            out.truncate(parsed.question_end);
            counts = [1, 0, 0, 0];
            truncated = true;
        }
        if let (Some(edns), Some(payload)) = (parsed.edns, payload) {
            write_opt(
                out,
                payload,
                sections.rcode,
                edns.dnssec_ok,
                edns.client_subnet.as_ref(),
                scope,
                cookie,
            );
            counts[3] += 1;
        }
        let flags = ReplyFlags {
            authoritative: sections.authoritative,
            truncated,
            rcode: sections.rcode,
        };
        patch_header(out, &parsed.header, flags, counts);
    }
}

/// The entropy a query with ID `id` feeds to random policy choices: the ID spread over 64
/// bits (splitmix64's finalizer). The ID is random per query for any decent resolver;
/// explanations pass the same value to reproduce a DNS answer exactly.
pub fn query_entropy(id: u16) -> u64 {
    let mut z = u64::from(id).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The QTYPE of the question that ends at `question_end` in `query`, if one was read.
fn question_type(query: &[u8], question_end: Option<usize>) -> Option<u16> {
    let end = question_end?;
    let bytes = query.get(end.checked_sub(4)?..end.checked_sub(2)?)?;
    Some(u16::from_be_bytes([bytes[0], bytes[1]]))
}

/// Sections of a reply that carries only an RCODE.
fn refusal(rcode: u16) -> Sections {
    Sections {
        rcode,
        authoritative: false,
        answers: 0,
        authorities: 0,
        additionals: 0,
        optional_additional_from: None,
    }
}

/// A header-only (or header + question) error reply; the caller may append an OPT.
fn write_error(
    query: &[u8],
    header: &QueryHeader,
    question_end: Option<usize>,
    rcode: u16,
    out: &mut Vec<u8>,
) {
    let end = question_end.unwrap_or(HEADER_LEN);
    out.extend_from_slice(&query[..end]);
    let flags = ReplyFlags {
        authoritative: false,
        truncated: false,
        rcode,
    };
    let questions = u16::from(question_end.is_some());
    patch_header(out, header, flags, [questions, 0, 0, 0]);
}
