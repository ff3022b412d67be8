//! Black-box tests of GSLB answers from real processes: a bootstrap voter and a DNS learner
//! whose config has `dns.region` and a `[dns.geo]` CIDR table. Regions, endpoints, checks
//! and GSLB records are written through the REST API, health through `/v1/observations`,
//! and the learner is asked with real `dig` and `kdig`, with and without ECS
//! (`+subnet=`): geo answers follow the client subnet with the deciding prefix as ECS
//! scope, static names answer with scope 0, weighted answers split by weight, a failover
//! record moves when health is reported down, `/v1/resolve` agrees with DNS, and a MaxMind
//! DB named by `[dns.geo] mmdb` locates clients and is reloaded, keeping the last good one.
//!
//! Every wait is on a condition with a deadline and a reason; every process is killed on
//! `Drop`.

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use common::cluster::TOKEN;
use common::cluster::{api_get, http, json_number, leader_of, wait_until, ClusterNode, Kind};
use common::{kdig, DigReply, TempDir};

/// How long a write may take to show in the learner's answers.
const CONVERGE: Duration = Duration::from_secs(20);

/// The learner's `[dns]` additions: its region, and a client table placing
/// 198.51.100.0/24 in Germany and 203.0.113.0/24 in the US.
const LEARNER_DNS: &str = "region = \"eu\"

[dns.geo]
reload_interval = \"1s\"

[[dns.geo.networks]]
cidr = \"198.51.100.0/24\"
country = \"DE\"
continent = \"EU\"

[[dns.geo.networks]]
cidr = \"203.0.113.0/24\"
country = \"US\"
continent = \"NA\"
";

/// The geo record the GeoIP test asks: DE → eu, US → us, anything else → ap.
const COUNTRY_RECORD: &str = r#"{"name":"country","type":"A","ttl":30,"unknown_as":"up",
    "policy":{"geo":{"rules":[{"match":[{"country":"DE"}],"node":{"region":"eu"}},
                              {"match":[{"country":"US"}],"node":{"region":"us"}}],
                     "default":{"region":"ap"}}}}"#;

/// A GeoIP2-City style record: what `GeoIpDatabase` reads.
#[derive(serde::Serialize)]
struct CityRecord {
    continent: CodeField,
    country: IsoField,
}

/// `{"code": ..}`.
#[derive(serde::Serialize)]
struct CodeField {
    code: &'static str,
}

/// `{"iso_code": ..}`.
#[derive(serde::Serialize)]
struct IsoField {
    iso_code: &'static str,
}

/// Writes a City database to `path` by rename (as MaxMind's updater does): each network
/// with its (country, continent).
fn write_mmdb(path: &Path, networks: &[(&str, &'static str, &'static str)]) {
    let mut writer = mmdb_writer::Writer::new("GeoIP2-City");
    for (network, country, continent) in networks {
        let record = CityRecord {
            continent: CodeField { code: continent },
            country: IsoField { iso_code: country },
        };
        writer
            .insert(network.parse::<ipnet::IpNet>().unwrap(), &record)
            .unwrap();
    }
    replace_file(path, &writer.to_bytes().unwrap());
}

/// Replaces `path` by writing a sibling and renaming it over.
fn replace_file(path: &Path, bytes: &[u8]) {
    let staging = path.with_extension("staging");
    std::fs::write(&staging, bytes).unwrap();
    std::fs::rename(&staging, path).unwrap();
}

/// A bootstrap voter (holding zone `cp.test.`) and one DNS learner configured with
/// `LEARNER_DNS`, with three regions (eu, us, ap), one endpoint each, and an external check
/// per endpoint that only `/v1/observations` reports.
struct Cluster {
    voter: ClusterNode,
    learner: ClusterNode,
}

impl Cluster {
    fn start(root: &TempDir) -> Cluster {
        Cluster::start_with(root, LEARNER_DNS)
    }

    /// `start` with a MaxMind DB of `networks` (CIDR, country, continent) at `root/`
    /// `GeoIP2-City.mmdb` named in the learner's `[dns.geo]`; returns its path too.
    fn start_with_mmdb(
        root: &TempDir,
        networks: &[(&str, &'static str, &'static str)],
    ) -> (Cluster, std::path::PathBuf) {
        let mmdb = root.0.join("GeoIP2-City.mmdb");
        write_mmdb(&mmdb, networks);
        let dns_extra = LEARNER_DNS.replace(
            "[dns.geo]\n",
            &format!("[dns.geo]\nmmdb = \"{}\"\n", mmdb.display()),
        );
        (Cluster::start_with(root, &dns_extra), mmdb)
    }

    /// `start` with `dns_extra` as the learner's `[dns]` additions.
    fn start_with(root: &TempDir, dns_extra: &str) -> Cluster {
        eprintln!("-- phase: start a voter and a DNS learner with [dns.geo]");
        let voter = ClusterNode::start(root, 1, Kind::Bootstrap, &[]);
        wait_until(CONVERGE, "voter 1 to lead its new cluster", || {
            leader_of(&voter) == Some(1)
        });
        let learner = ClusterNode::start_dns_learner_with(root, 2, &[voter.http], dns_extra);
        wait_until(CONVERGE, "the learner to answer www.cp.test", || {
            learner.addresses("www.cp.test") == ["192.0.2.10"]
        });
        let cluster = Cluster { voter, learner };

        eprintln!("-- phase: write regions, endpoints and checks through the API");
        for (id, country, continent) in [("eu", "DE", "EU"), ("us", "US", "NA"), ("ap", "SG", "AS")]
        {
            cluster.post(
                "/v1/regions",
                &format!(
                    r#"{{"id":"{id}","location":{{"lat":0,"lon":0,"country":"{country}","continent":"{continent}"}}}}"#
                ),
            );
        }
        for (id, region, address) in [
            ("eu-1", "eu", "10.0.0.1"),
            ("us-1", "us", "10.1.0.1"),
            ("ap-1", "ap", "10.2.0.1"),
        ] {
            cluster.post(
                "/v1/endpoints",
                &format!(r#"{{"id":"{id}","region":"{region}","address":"{address}"}}"#),
            );
            cluster.post(
                "/v1/checks",
                &format!(
                    r#"{{"id":"{id}-ext","endpoint":"{id}","kind":{{"type":"external","ttl_ms":600000}},
                        "vantages":["monitor"],"quorum":1}}"#
                ),
            );
        }
        cluster
    }

    /// Writes `body` with `POST path` through the voter's API; panics unless created.
    fn post(&self, path: &str, body: &str) -> u64 {
        self.write("POST", path, body)
    }

    /// One write through the voter's API; panics naming the status and body unless it is
    /// acknowledged. Returns the new state version.
    fn write(&self, method: &str, path: &str, body: &str) -> u64 {
        let (status, reply) = http(self.voter.http, method, path, Some(TOKEN), Some(body))
            .unwrap_or_else(|| panic!("{method} {path}: no reply"));
        assert!(
            status == 200 || status == 201,
            "{method} {path} {body}: status {status}: {reply}"
        );
        json_number(&reply, "version").unwrap_or_else(|| panic!("no version in {reply}"))
    }

    /// Creates a GSLB record in `cp.test.` and waits until the learner answers its name.
    fn put_gslb_record(&self, json: &str) {
        self.post("/v1/zones/cp.test./gslb-records", json);
        let name: serde_json::Value = serde_json::from_str(json).unwrap();
        let name = format!("{}.cp.test", name["name"].as_str().unwrap());
        wait_until(CONVERGE, &format!("the learner to answer {name}"), || {
            !ask(self.learner.dns.unwrap(), &name, None)
                .answers
                .is_empty()
        });
    }

    /// An `external` check per endpoint (`eu-1-ext`, ...), fed by vantage `monitor` through
    /// `report`, its votes fresh for `ttl_ms`.
    fn add_external_checks(&self, ttl_ms: u64) {
        for id in ["eu-1", "us-1", "ap-1"] {
            self.write(
                "PUT",
                &format!("/v1/checks/{id}-ext"),
                &format!(
                    r#"{{"id":"{id}-ext","endpoint":"{id}","kind":{{"type":"external","ttl_ms":{ttl_ms}}},
                        "vantages":["monitor"],"quorum":1}}"#
                ),
            );
        }
    }

    /// Reports every check from vantage `monitor`: up unless listed in `down`.
    fn report(&self, down: &[&str]) {
        let observations: Vec<String> = ["eu-1-ext", "us-1-ext", "ap-1-ext"]
            .iter()
            .map(|check| format!(r#"{{"check":"{check}","up":{}}}"#, !down.contains(check)))
            .collect();
        self.post(
            "/v1/observations",
            &format!(
                r#"{{"vantage":"monitor","observations":[{}]}}"#,
                observations.join(",")
            ),
        );
    }
}

/// What one query returned: the A addresses and the ECS scope echoed, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Answer {
    answers: Vec<String>,
    scope: Option<u8>,
}

/// Parses dig's or kdig's output: the A records of the answer section (sorted) and the
/// SCOPE PREFIX-LENGTH of the `CLIENT-SUBNET: ADDR/SOURCE/SCOPE` line.
fn answer_of(reply: &DigReply) -> Answer {
    let mut answers: Vec<String> = reply
        .text
        .lines()
        .filter(|line| !line.starts_with(';'))
        .map(|line| line.split_whitespace().collect::<Vec<_>>())
        .filter(|fields| fields.len() >= 5 && fields[3] == "A")
        .map(|fields| fields[4].to_string())
        .collect();
    answers.sort();
    let scope = reply
        .text
        .lines()
        .find_map(|line| line.split_once("CLIENT-SUBNET: ").map(|(_, rest)| rest))
        .and_then(|subnet| subnet.trim().rsplit('/').next()?.parse().ok());
    Answer { answers, scope }
}

/// `dig NAME A +norec [+subnet=SUBNET]` against `dns`.
fn ask(dns: SocketAddr, name: &str, subnet: Option<&str>) -> Answer {
    let mut args = vec![name.to_string(), "A".to_string(), "+norec".to_string()];
    if let Some(subnet) = subnet {
        args.push(format!("+subnet={subnet}"));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    answer_of(&common::dig(dns, &args))
}

/// `kdig NAME A +norec +subnet=SUBNET` against `dns`.
fn kask(dns: SocketAddr, name: &str, subnet: &str) -> Answer {
    answer_of(&kdig(
        dns,
        &[name, "A", "+norec", &format!("+subnet={subnet}")],
    ))
}

/// The addresses and scope `/v1/resolve` gives for `name` and `client`.
fn resolve(via: SocketAddr, name: &str, client: &str) -> Answer {
    let path = format!("/v1/resolve?name={name}&type=A&client={client}");
    let (status, body) = api_get(via, &path).expect("a reply from /v1/resolve");
    eprintln!("$ GET {path}\n{body}");
    assert_eq!(status, 200, "{path}: {body}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    let mut answers: Vec<String> = json["answers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|set| set["type"] == "A")
        .flat_map(|set| set["data"].as_array().unwrap().clone())
        .map(|data| data.as_str().unwrap().to_string())
        .collect();
    answers.sort();
    let scope = json["policy"]["scope"].as_u64().map(|scope| scope as u8);
    Answer { answers, scope }
}

/// What does this test do: a geo record by country answers each ECS subnet from the region
/// the learner's `[dns.geo]` table places it in, with the table's prefix as ECS scope (dig
/// and kdig agree); a geo record by CIDR answers by the record's own networks, with the
/// deciding prefix as scope, and `/v1/resolve` gives the same for the same client; a static
/// name answers with scope 0; and the learner's member record carries its `dns.region`.
#[test]
fn geo_answers_follow_the_client_subnet_with_the_deciding_scope() {
    let root = TempDir::new("gslb-dns-geo");
    let cluster = Cluster::start(&root);
    let dns = cluster.learner.dns.unwrap();

    eprintln!("-- phase: the learner's member record names its region");
    wait_until(
        CONVERGE,
        "the learner's member record to say region eu",
        || {
            api_get(cluster.voter.http, "/v1/cluster")
                .is_some_and(|(status, body)| status == 200 && body.contains(r#""region":"eu""#))
        },
    );

    eprintln!("-- phase: geo by country, located by the [dns.geo] table");
    cluster.put_gslb_record(COUNTRY_RECORD);
    let germany = ask(dns, "country.cp.test", Some("198.51.100.0/24"));
    assert_eq!(
        germany.answers,
        ["10.0.0.1"],
        "198.51.100.0/24 is DE: {germany:?}"
    );
    assert_eq!(
        germany.scope,
        Some(24),
        "the table's /24 decided: {germany:?}"
    );
    let america = ask(dns, "country.cp.test", Some("203.0.113.0/24"));
    assert_eq!(
        america.answers,
        ["10.1.0.1"],
        "203.0.113.0/24 is US: {america:?}"
    );
    assert_eq!(america.scope, Some(24), "{america:?}");
    assert_eq!(
        kask(dns, "country.cp.test", "203.0.113.0/24"),
        america,
        "kdig and dig see the same answer and scope"
    );
    let host = ask(dns, "country.cp.test", Some("198.51.100.77/32"));
    assert_eq!(host.answers, ["10.0.0.1"], "{host:?}");
    assert_eq!(
        host.scope,
        Some(24),
        "a /32 source still caches as the /24: {host:?}"
    );
    let elsewhere = ask(dns, "country.cp.test", Some("192.0.2.0/24"));
    assert_eq!(
        elsewhere.answers,
        ["10.2.0.1"],
        "unknown → default ap: {elsewhere:?}"
    );
    let scope = elsewhere.scope.expect("an ECS option in the reply");
    assert!(
        (1..24).contains(&scope),
        "the default branch holds for a wider cell than the /24 asked: {elsewhere:?}"
    );

    eprintln!("-- phase: geo by the record's own CIDR rules");
    cluster.put_gslb_record(
        r#"{"name":"cidr","type":"A","ttl":30,"unknown_as":"up",
            "policy":{"geo":{"rules":[{"match":[{"cidr":"192.0.2.0/24"}],"node":{"region":"ap"}}],
                             "default":{"region":"eu"}}}}"#,
    );
    let matched = ask(dns, "cidr.cp.test", Some("192.0.2.0/24"));
    assert_eq!(matched.answers, ["10.2.0.1"], "{matched:?}");
    assert_eq!(matched.scope, Some(24), "the /24 rule decided: {matched:?}");
    assert_eq!(kask(dns, "cidr.cp.test", "192.0.2.0/24"), matched);
    let other = ask(dns, "cidr.cp.test", Some("10.9.0.0/16"));
    assert_eq!(other.answers, ["10.0.0.1"], "{other:?}");

    eprintln!("-- phase: /v1/resolve agrees with dig for the same client");
    for (client, reply) in [("192.0.2.0/24", &matched), ("10.9.0.0/16", &other)] {
        let explained = resolve(cluster.learner.http, "cidr.cp.test", client);
        assert_eq!(explained.answers, reply.answers, "resolve for {client}");
        assert_eq!(explained.scope, reply.scope, "resolve scope for {client}");
    }

    eprintln!("-- phase: a static name does not depend on the client");
    let fixed = ask(dns, "www.cp.test", Some("198.51.100.0/24"));
    assert_eq!(fixed.answers, ["192.0.2.10"]);
    assert_eq!(
        fixed.scope,
        Some(0),
        "static answers cache for everyone: {fixed:?}"
    );
    let explained = resolve(cluster.learner.http, "www.cp.test", "198.51.100.0/24");
    assert_eq!(explained.answers, fixed.answers);
}

/// What does this test do: a record weighted 3:1 between eu and us, asked with many
/// different ECS subnets, answers eu about three times in four (well inside 60–90 % over
/// 200 queries), never anything else, and with scope 0 (the weighted choice does not
/// depend on the client).
#[test]
fn weighted_answers_split_by_weight_over_many_subnets() {
    let root = TempDir::new("gslb-dns-weighted");
    let cluster = Cluster::start(&root);
    let dns = cluster.learner.dns.unwrap();
    cluster.put_gslb_record(
        r#"{"name":"weighted","type":"A","ttl":30,"unknown_as":"up",
            "policy":{"weighted":[{"weight":3,"node":{"region":"eu"}},
                                  {"weight":1,"node":{"region":"us"}}]}}"#,
    );

    eprintln!("-- phase: 200 queries from 200 subnets");
    let (mut eu, mut us) = (0, 0);
    for index in 0..200u32 {
        let subnet = format!("10.{}.{}.0/24", index / 256, index % 256);
        let reply = ask(dns, "weighted.cp.test", Some(&subnet));
        match reply.answers.as_slice() {
            [address] if address == "10.0.0.1" => eu += 1,
            [address] if address == "10.1.0.1" => us += 1,
            _ => panic!("weighted.cp.test for {subnet}: {reply:?}"),
        }
        assert_eq!(reply.scope, Some(0), "{subnet}: {reply:?}");
    }
    let share = f64::from(eu) / f64::from(eu + us);
    assert!(
        (0.6..=0.9).contains(&share),
        "3:1 by weight, got eu {eu} us {us}"
    );
}

/// What does this test do: a failover record (eu, then us) whose endpoints are judged by
/// external checks answers eu once `/v1/observations` reports everything up, moves to us
/// when eu's check is reported down, and comes back when it is reported up again.
#[test]
fn reported_health_moves_a_failover_record() {
    let root = TempDir::new("gslb-dns-failover");
    let cluster = Cluster::start(&root);
    let dns = cluster.learner.dns.unwrap();
    cluster.report(&[]);
    cluster.put_gslb_record(
        r#"{"name":"failover","type":"A","ttl":30,"failover_ttl":5,
            "policy":{"failover":[{"region":"eu"},{"region":"us"}]}}"#,
    );
    let answers = || ask(dns, "failover.cp.test", None).answers;
    wait_until(
        CONVERGE,
        "failover.cp.test to answer eu while all is up",
        || answers() == ["10.0.0.1"],
    );

    eprintln!("-- phase: report eu down");
    cluster.report(&["eu-1-ext"]);
    wait_until(CONVERGE, "failover.cp.test to move to us", || {
        answers() == ["10.1.0.1"]
    });
    let reply = common::dig(dns, &["failover.cp.test", "A", "+norec"]);
    let ttl = reply.records("ANSWER")[0][1].clone();
    assert_eq!(
        ttl, "5",
        "the failover TTL while failing over: {}",
        reply.text
    );

    eprintln!("-- phase: report eu up again");
    cluster.report(&[]);
    wait_until(CONVERGE, "failover.cp.test to come back to eu", || {
        answers() == ["10.0.0.1"]
    });
}

/// What does this test do: a learner with `[dns.geo] mmdb` answers a geo-by-country record
/// from the MaxMind DB (its /23 network as ECS scope) while its `[[dns.geo.networks]]`
/// table still wins where it has an entry; a corrupt replacement file is logged at warn and
/// the last good database keeps answering; a valid replacement is picked up by the reloader
/// and moves the answer.
#[test]
fn a_geoip_database_locates_clients_and_reloads_keeping_the_last_good() {
    let root = TempDir::new("gslb-dns-mmdb");
    let (cluster, mmdb) = Cluster::start_with_mmdb(
        &root,
        &[
            ("192.0.2.0/23", "US", "NA"),
            ("198.51.100.0/24", "SG", "AS"),
        ],
    );
    let dns = cluster.learner.dns.unwrap();
    assert!(
        cluster
            .learner
            .log
            .wait_for("geoip database loaded", CONVERGE)
            .is_some(),
        "no geoip line in the learner's log:\n{}",
        cluster.learner.log.text()
    );
    cluster.put_gslb_record(COUNTRY_RECORD);

    eprintln!("-- phase: the database locates, the table wins where it has an entry");
    let located = ask(dns, "country.cp.test", Some("192.0.2.0/24"));
    assert_eq!(
        located.answers,
        ["10.1.0.1"],
        "192.0.2.0/23 is US: {located:?}"
    );
    assert_eq!(
        located.scope,
        Some(23),
        "the database's /23 decided: {located:?}"
    );
    let table = ask(dns, "country.cp.test", Some("198.51.100.0/24"));
    assert_eq!(
        table.answers,
        ["10.0.0.1"],
        "the table's DE beats the db's SG: {table:?}"
    );

    eprintln!("-- phase: a corrupt replacement keeps the last good database");
    replace_file(&mmdb, b"this is not a maxmind database");
    assert!(
        cluster
            .learner
            .log
            .wait_for("keeping the last good database", CONVERGE)
            .is_some(),
        "no reload warning in the learner's log:\n{}",
        cluster.learner.log.text()
    );
    assert_eq!(
        ask(dns, "country.cp.test", Some("192.0.2.0/24")).answers,
        ["10.1.0.1"]
    );

    eprintln!("-- phase: a valid replacement is picked up");
    write_mmdb(&mmdb, &[("192.0.2.0/23", "DE", "EU")]);
    wait_until(CONVERGE, "192.0.2.0/24 to be located in DE (eu)", || {
        ask(dns, "country.cp.test", Some("192.0.2.0/24")).answers == ["10.0.0.1"]
    });
    assert!(cluster
        .learner
        .log
        .text()
        .contains("geoip database reloaded"));
}

/// What does this test do: health from external votes with a 3 s TTL follows the wall clock
/// while the DNS node hears from the leader (a silent reporter's votes go stale, and the
/// failover record answers as `unknown_as: up` says), but once the node is cut off from the
/// control plane it keeps the health it last knew for as long as the cut lasts (static
/// stability) instead of letting every vote go stale on its own clock.
#[test]
fn a_cut_off_dns_node_keeps_the_health_it_last_knew() {
    let root = TempDir::new("gslb-dns-static-health");
    let mut cluster = Cluster::start(&root);
    let dns = cluster.learner.dns.unwrap();
    cluster.add_external_checks(3000);
    cluster.report(&["eu-1-ext"]);
    cluster.put_gslb_record(
        r#"{"name":"stable","type":"A","ttl":30,"unknown_as":"up",
            "policy":{"failover":[{"region":"eu"},{"region":"us"}]}}"#,
    );
    let answer = || ask(dns, "stable.cp.test", None).answers;
    wait_until(CONVERGE, "eu reported down: us answers", || {
        answer() == ["10.1.0.1"]
    });

    eprintln!("-- phase: connected, the reporter goes silent: its votes go stale");
    wait_until(
        Duration::from_secs(8),
        "stale votes: unknown, as up: eu",
        || answer() == ["10.0.0.1"],
    );

    eprintln!("-- phase: cut off from the control plane: the last health holds");
    cluster.report(&["eu-1-ext"]);
    wait_until(CONVERGE, "eu reported down again: us answers", || {
        answer() == ["10.1.0.1"]
    });
    cluster.voter.kill();
    let until = std::time::Instant::now() + Duration::from_secs(8);
    while std::time::Instant::now() < until {
        assert_eq!(
            answer(),
            ["10.1.0.1"],
            "a cut-off node must keep the health it last knew"
        );
        std::thread::sleep(Duration::from_millis(250));
    }

    eprintln!("-- phase: the cut-off node's API and metrics say what its DNS does");
    let (status, health) = api_get(cluster.learner.http, "/v1/health").expect("/v1/health");
    assert_eq!(status, 200, "{health}");
    let health: serde_json::Value = serde_json::from_str(&health).unwrap();
    let check_status = |id: &str| {
        health["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|check| check["id"] == id)
            .map(|check| check["status"].as_str().unwrap().to_string())
    };
    assert_eq!(
        check_status("eu-1-ext").as_deref(),
        Some("down"),
        "{health}"
    );
    assert_eq!(check_status("us-1-ext").as_deref(), Some("up"), "{health}");
    let (status, metrics) = api_get(cluster.learner.http, "/metrics").expect("/metrics");
    assert_eq!(status, 200, "{metrics}");
    let sample = |series: &str| {
        metrics
            .lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
            .map(|value| value.parse::<f64>().unwrap())
    };
    assert_eq!(
        sample(r#"gslb_check_status{id="eu-1-ext",status="down"}"#),
        Some(1.0),
        "metrics must show the health the node answers with:\n{metrics}"
    );
    assert_eq!(
        sample(r#"gslb_check_status{id="us-1-ext",status="up"}"#),
        Some(1.0),
        "{metrics}"
    );
    // eu-1-ext went down, stale (unknown), down again: the flips are counted as they happen.
    let went_down =
        sample(r#"gslb_check_transitions_total{id="eu-1-ext",from="unknown",to="down"}"#);
    assert!(
        went_down.is_some_and(|count| count >= 2.0),
        "two unknown -> down transitions of eu-1-ext expected:\n{metrics}"
    );
}

/// `/v1/resolve` for `name` and `client` through `via`: the answer and scope, where the
/// client was placed (`policy.client.geo_source`), and the `explain` lines as one text.
fn resolve_placed(via: SocketAddr, name: &str, client: &str) -> (Answer, String, String) {
    let path = format!("/v1/resolve?name={name}&type=A&client={client}");
    let (status, body) = api_get(via, &path).expect("a reply from /v1/resolve");
    assert_eq!(status, 200, "{path}: {body}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    let source = json["policy"]["client"]["geo_source"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    (
        resolve(via, name, client),
        source,
        json["explain"].to_string(),
    )
}

/// What does this test do: the client-network table written through the API places DNS
/// clients without a restart. A learner with a MaxMind DB (192.0.2.0/23 → US) and a
/// `[dns.geo]` table (198.51.100.0/24 → DE) answers a geo-by-country record; `/v1/resolve`
/// on the learner agrees with dig on answer and scope while the database decides, and the
/// voter (no database) says so in its explanation. A `PUT /v1/networks/192.0.2.128%2F25`
/// (DE) moves ECS clients inside it to eu with scope /25, and `/v1/resolve` on both nodes
/// gives the same answer, scope and placement; an equal-prefix entry loses to the node's
/// config and a longer one wins over it; deleting the entry sends DNS back to the database's
/// answer.
#[test]
fn the_network_table_from_the_api_places_dns_clients() {
    let root = TempDir::new("gslb-dns-networks");
    let (cluster, _) = Cluster::start_with_mmdb(&root, &[("192.0.2.0/23", "US", "NA")]);
    let dns = cluster.learner.dns.unwrap();
    let learner_api = cluster.learner.http;
    cluster.put_gslb_record(COUNTRY_RECORD);

    eprintln!("-- phase: the MaxMind DB places the client; /v1/resolve agrees with DNS");
    let located = ask(dns, "country.cp.test", Some("192.0.2.200/32"));
    assert_eq!(
        located.answers,
        ["10.1.0.1"],
        "192.0.2.0/23 is US: {located:?}"
    );
    assert_eq!(located.scope, Some(23), "{located:?}");
    let (explained, source, _) = resolve_placed(learner_api, "country.cp.test", "192.0.2.200/32");
    assert_eq!(
        explained, located,
        "the learner's /v1/resolve agrees with dig"
    );
    assert_eq!(source, "geo_ip");
    let (voter_view, source, explain) =
        resolve_placed(cluster.voter.http, "country.cp.test", "192.0.2.200/32");
    assert_eq!(source, "unknown");
    assert_eq!(
        voter_view.answers,
        ["10.2.0.1"],
        "the voter has no database: default ap"
    );
    assert!(
        explain.contains("this node has no GeoIP database"),
        "the voter says why: {explain}"
    );

    eprintln!("-- phase: PUT a network entry; DNS follows without a restart");
    cluster.write(
        "PUT",
        "/v1/networks/192.0.2.128%2F25",
        r#"{"cidr":"192.0.2.128/25","country":"DE","continent":"EU"}"#,
    );
    wait_until(CONVERGE, "192.0.2.200 to be placed in DE (eu)", || {
        ask(dns, "country.cp.test", Some("192.0.2.200/32")).answers == ["10.0.0.1"]
    });
    let inside = ask(dns, "country.cp.test", Some("192.0.2.200/32"));
    assert_eq!(
        inside.scope,
        Some(25),
        "the entry's /25 decided: {inside:?}"
    );
    assert_eq!(
        kask(dns, "country.cp.test", "192.0.2.128/25"),
        inside,
        "kdig with the whole /25 sees the same"
    );
    let beside = ask(dns, "country.cp.test", Some("192.0.2.0/24"));
    assert_eq!(
        beside.answers,
        ["10.1.0.1"],
        "the rest of the /23 is still US: {beside:?}"
    );
    assert_eq!(
        beside.scope,
        Some(24),
        "the scope never exceeds the /24 source: {beside:?}"
    );
    for via in [learner_api, cluster.voter.http] {
        let (explained, source, explain) = resolve_placed(via, "country.cp.test", "192.0.2.200/32");
        assert_eq!(explained, inside, "/v1/resolve agrees with dig via {via}");
        assert_eq!(
            source, "network",
            "placed by the replicated table: {explain}"
        );
        assert!(explain.contains("192.0.2.128/25"), "{explain}");
    }
    let (explained, _, _) = resolve_placed(learner_api, "country.cp.test", "192.0.2.0/24");
    assert_eq!(explained, beside, "/v1/resolve agrees beside the entry");

    eprintln!("-- phase: the node's config wins at an equal prefix, a longer entry wins over it");
    cluster.write(
        "PUT",
        "/v1/networks/198.51.100.0%2F24",
        r#"{"cidr":"198.51.100.0/24","country":"US","continent":"NA"}"#,
    );
    let version = cluster.write(
        "PUT",
        "/v1/networks/198.51.100.128%2F25",
        r#"{"cidr":"198.51.100.128/25","country":"US","continent":"NA"}"#,
    );
    wait_until(CONVERGE, "198.51.100.200 to be placed in the US", || {
        ask(dns, "country.cp.test", Some("198.51.100.200/32")).answers == ["10.1.0.1"]
    });
    wait_until(CONVERGE, "the learner to report the version", || {
        cluster.learner.change_status(version).as_deref() == Some("INSYNC")
    });
    let config_wins = ask(dns, "country.cp.test", Some("198.51.100.7/32"));
    assert_eq!(
        config_wins.answers,
        ["10.0.0.1"],
        "the config's DE /24 beats the table's US /24: {config_wins:?}"
    );
    assert_eq!(config_wins.scope, Some(25), "{config_wins:?}");
    let (explained, source, _) = resolve_placed(learner_api, "country.cp.test", "198.51.100.7/32");
    assert_eq!((explained, source.as_str()), (config_wins, "table"));

    eprintln!("-- phase: delete the entry; DNS goes back to the MaxMind DB");
    cluster.write("DELETE", "/v1/networks/192.0.2.128%2F25", "");
    wait_until(CONVERGE, "192.0.2.200 to be placed in the US again", || {
        ask(dns, "country.cp.test", Some("192.0.2.200/32")).answers == ["10.1.0.1"]
    });
    let back = ask(dns, "country.cp.test", Some("192.0.2.200/32"));
    assert_eq!(
        back.scope,
        Some(23),
        "the database's /23 decides again: {back:?}"
    );
    let (explained, source, _) = resolve_placed(learner_api, "country.cp.test", "192.0.2.200/32");
    assert_eq!((explained, source.as_str()), (back, "geo_ip"));
}

/// What does this test do: a `latency` record orders regions by the client-network latency
/// table (`rtt_ms` of `/v1/networks` entries) for ECS clients inside a listed network, with
/// the entry's prefix as the ECS scope, and by the node's probe RTTs (none here: children in
/// order) for everyone else; a region that goes down passes its clients to the next nearest;
/// `/v1/resolve` agrees with dig. An entry with RTTs only places nobody: the MaxMind DB still
/// locates its clients for geo records. An RTT for an unknown region is refused, named.
#[test]
fn latency_records_follow_the_network_rtt_table() {
    let root = TempDir::new("gslb-dns-latency-table");
    let (cluster, _) = Cluster::start_with_mmdb(&root, &[("192.0.2.0/23", "US", "NA")]);
    let dns = cluster.learner.dns.unwrap();
    cluster.add_external_checks(60000);
    cluster.report(&[]);
    cluster.put_gslb_record(
        r#"{"name":"near","type":"A","ttl":30,"unknown_as":"up",
            "policy":{"latency":[{"region":"eu"},{"region":"us"},{"region":"ap"}]}}"#,
    );
    cluster.put_gslb_record(COUNTRY_RECORD);
    let near = |subnet: &str| ask(dns, "near.cp.test", Some(subnet));
    assert_eq!(
        near("192.0.2.0/24").answers,
        ["10.0.0.1"],
        "no RTT known: children in order"
    );

    eprintln!("-- phase: RTTs for 192.0.2.0/24 through the API");
    let (status, body) = http(
        cluster.voter.http,
        "PUT",
        "/v1/networks/192.0.2.0%2F24",
        Some(TOKEN),
        Some(r#"{"cidr":"192.0.2.0/24","rtt_ms":{"eu":120,"mars":3}}"#),
    )
    .expect("a reply");
    assert_eq!(status, 422, "{body}");
    assert!(
        body.contains("rtt_ms.mars") && body.contains("no region"),
        "{body}"
    );
    cluster.write(
        "PUT",
        "/v1/networks/192.0.2.0%2F24",
        r#"{"cidr":"192.0.2.0/24","rtt_ms":{"eu":120,"us":15,"ap":200}}"#,
    );
    wait_until(
        CONVERGE,
        "192.0.2.0/24 to be sent to us, its nearest",
        || near("192.0.2.0/24").answers == ["10.1.0.1"],
    );
    let inside = near("192.0.2.7/32");
    assert_eq!(inside.answers, ["10.1.0.1"], "{inside:?}");
    assert_eq!(
        inside.scope,
        Some(24),
        "the table's /24 decides: {inside:?}"
    );
    assert_eq!(
        resolve(cluster.learner.http, "near.cp.test", "192.0.2.7/32"),
        inside,
        "/v1/resolve agrees with dig"
    );
    assert_eq!(
        near("198.18.5.0/24").answers,
        ["10.0.0.1"],
        "a client outside the table: probe RTTs (none), children in order"
    );
    assert_eq!(
        ask(dns, "country.cp.test", Some("192.0.2.7/32")).answers,
        ["10.1.0.1"],
        "an RTT-only entry places nobody: the MaxMind DB still says US"
    );

    eprintln!("-- phase: the nearest region goes down: the next nearest takes its clients");
    cluster.report(&["us-1-ext"]);
    wait_until(CONVERGE, "us down: eu (120 ms) before ap (200 ms)", || {
        near("192.0.2.0/24").answers == ["10.0.0.1"]
    });
    assert_eq!(
        resolve(cluster.learner.http, "near.cp.test", "192.0.2.0/24"),
        near("192.0.2.0/24"),
        "/v1/resolve agrees with dig"
    );
}
