//! Tests of config parsing and validation, driven by TOML snippets.

use super::*;
use std::path::PathBuf;
use std::time::Duration;

use gslb_dns::client::Code;
use gslb_dns::net::TcpLimits;
use gslb_store::raft::RaftSettings;

use crate::config::duration::parse_duration;

/// `problems` are exactly one per `expected` entry, each starting with it (in any order).
fn assert_problems(problems: &[String], expected: &[&str]) {
    for wanted in expected {
        assert!(
            problems.iter().any(|problem| problem.starts_with(wanted)),
            "missing {wanted:?} in {problems:#?}"
        );
    }
    assert_eq!(problems.len(), expected.len(), "{problems:#?}");
}

fn problems_of(text: &str) -> Vec<String> {
    match parse(text, Path::new("node.toml")) {
        Ok(_) => Vec::new(),
        Err(error) => error.problems.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn a_minimal_config_takes_the_defaults() {
    let config = parse("[dns]\n", Path::new("/etc/gslb/node.toml")).unwrap();
    assert_eq!(
        config.listeners.listen,
        vec!["127.0.0.1:5353".parse().unwrap()]
    );
    assert_eq!(config.listeners.tcp, TcpLimits::default());
    assert_eq!(config.log_format, LogFormat::Text);
    assert!(config.zones.is_empty());
}

#[test]
fn zone_paths_resolve_against_the_config_directory() {
    let text = "[dns]\n[[zones]]\nfile = \"z/a.zone\"\norigin = \"a.test\"\n";
    let config = parse(text, Path::new("/etc/gslb/node.toml")).unwrap();
    assert_eq!(config.zones[0].file, PathBuf::from("/etc/gslb/z/a.zone"));
    assert_eq!(
        config.zones[0].origin.as_ref().unwrap().to_string(),
        "a.test."
    );
    assert_eq!(config.zones[0].line, Some(3));
}

#[test]
fn an_unknown_key_is_reported_with_its_line() {
    let problems = problems_of("[dns]\nlisten = [\"127.0.0.1:53\"]\nlissten = 1\n");
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].starts_with("node.toml:3: unknown field `lissten`"),
        "{problems:?}"
    );
}

#[test]
fn every_unknown_key_and_bad_value_is_reported_with_its_line() {
    let text = "\
lvel = 1
[dns]
listen = [\"127.0.0.1:53\"]
udp_batch = 0
lissten = [
  \"a\",
]
[dns.tcp]
idle = \"5s\"
[dns.tpc]
x = 1
[[zones]]
file = \"a.zone\"
orign = \"a.test\"
";
    let problems = problems_of(text);
    let expected = [
        "node.toml:1: unknown field `lvel`",
        "node.toml:4: dns.udp_batch: must be in 1..=1024, got 0",
        "node.toml:5: unknown field `lissten`",
        "node.toml:9: unknown field `idle`",
        "node.toml:10: unknown field `tpc`",
        "node.toml:14: unknown field `orign`",
    ];
    assert_problems(&problems, &expected);
}

#[test]
fn every_bad_field_is_reported_with_its_line() {
    let text = "\
[log]
level = \"loud\"
[dns]
listen = [\"127.0.0.1:53\", \"localhost\"]
udp_batch = 0
[dns.tcp]
idle_timeout = \"10 parsecs\"
max_connections = 0
[dns.proxy]
listen = [\"127.0.0.1:5300\"]
trusted = [\"10.0.0.0/33\"]
[[zones]]
file = \"a.zone\"
origin = \"bad..name\"
";
    let problems = problems_of(text);
    let expected = [
        "node.toml:2: log.level:",
        "node.toml:4: dns.listen[1]: invalid socket address \"localhost\"",
        "node.toml:5: dns.udp_batch: must be in 1..=1024, got 0",
        "node.toml:7: dns.tcp.idle_timeout: invalid duration \"10 parsecs\"",
        "node.toml:8: dns.tcp.max_connections: must be > 0, got 0",
        "node.toml:11: dns.proxy.trusted[0]: cidr \"10.0.0.0/33\" has a bad prefix length",
        "node.toml:14: zones[0].origin: invalid name \"bad..name\"",
    ];
    assert_problems(&problems, &expected);
}

const SECRET_LINE: &str = "cluster_secret = \"0123456789abcdef0123\"\n";

/// The `[control]` header of a fixture, five lines: `node_id`, `data_dir`, `listen` and a
/// valid cluster secret; the caller adds seeds or a bootstrap.
fn control(node_id: u64, data_dir: &str, listen: &str) -> String {
    format!(
        "[control]\nnode_id = {node_id}\ndata_dir = \"{data_dir}\"\nlisten = \"{listen}\"\n{SECRET_LINE}"
    )
}

#[test]
fn a_bootstrap_voter_takes_the_control_defaults() {
    let text = format!(
        "{}\
         bootstrap = {{ voters = {{ 1 = \"127.0.0.1:8061\", 2 = \"127.0.0.1:8062\" }} }}\n",
        control(1, "data", "127.0.0.1:8061"),
    );
    let config = parse(&text, Path::new("/etc/gslb/node.toml")).unwrap();
    assert!(!config.dns);
    let control = config.control.unwrap();
    assert_eq!(control.role, ControlRole::Voter);
    assert_eq!(control.data_dir, PathBuf::from("/etc/gslb/data"));
    assert_eq!(control.raft, RaftSettings::default());
    assert_eq!(control.bootstrap.unwrap().len(), 2);
    assert_eq!(control.advertise, None);
    assert_eq!(control.stale_after, Duration::from_secs(30));
    assert!(!control.metrics_open);
}

#[test]
fn a_dns_node_with_control_is_a_learner_by_default() {
    let text = format!(
        "{}\
         seeds = [\"127.0.0.1:8061\", \"voter-2.gslb:8061\"]\n[control.raft]\n\
         heartbeat = \"100ms\"\nelection_min = \"500ms\"\nelection_max = \"1s\"\n[dns]\n",
        control(4, "d", "127.0.0.1:0"),
    );
    let config = parse(&text, Path::new("node.toml")).unwrap();
    assert!(config.dns);
    let control = config.control.unwrap();
    assert_eq!(control.role, ControlRole::Learner);
    assert_eq!(control.seeds.len(), 2);
    assert_eq!(control.raft.heartbeat_ms, 100);
    assert_eq!(control.raft.election_max_ms, 1000);
}

#[test]
fn the_store_cache_defaults_by_role_and_is_checked() {
    let voter = format!(
        "{}bootstrap = {{ voters = {{ 1 = \"127.0.0.1:8061\" }} }}\n",
        control(1, "d", "127.0.0.1:8061"),
    );
    let learner = format!(
        "{}seeds = [\"127.0.0.1:8061\"]\n[dns]\n",
        control(4, "d", "127.0.0.1:0")
    );
    let cache_of = |text: &str| {
        parse(text, Path::new("node.toml"))
            .unwrap()
            .control
            .unwrap()
    };
    assert_eq!(cache_of(&voter).store_cache_bytes, 64 * 1024 * 1024);
    assert_eq!(cache_of(&learner).store_cache_bytes, 8 * 1024 * 1024);
    let set = format!("{learner}[control.raft]\nstore_cache_bytes = 4194304\n");
    assert_eq!(cache_of(&set).store_cache_bytes, 4 * 1024 * 1024);
    let tiny = format!("{learner}[control.raft]\nstore_cache_bytes = 4096\n");
    assert_problems(
        &problems_of(&tiny),
        &["node.toml:9: control.raft.store_cache_bytes: must be ≥ 1048576 (1 MiB), got 4096"],
    );
}

#[test]
fn every_bad_control_field_is_reported_with_its_line() {
    let text = "\
[control]
node_id = 0
data_dir = \"d\"
listen = \"0.0.0.0:8061\"
cluster_secret = \"short\"
role = \"boss\"
bootstrap = { voters = { 1 = \"a:1\", 2 = \"a:1\", x = \"b:2\", 3 = \"c:0\" } }
seeds = [\"nope\"]
[control.raft]
heartbeat = \"500ms\"
election_min = \"400ms\"
election_max = \"300ms\"
snapshot_every = 0
[[zones]]
file = \"a.zone\"
";
    let problems = problems_of(text);
    let expected = [
        "node.toml:2: control.node_id: must be ≥ 1, got 0",
        "node.toml:4: control.advertise: required when control.listen is 0.0.0.0:8061",
        "node.toml:5: control.cluster_secret: must be at least 16 characters",
        "node.toml:6: control.role: must be \"voter\" or \"learner\", got \"boss\"",
        "node.toml:7: control.bootstrap.voters.2: a:1 is listed twice (also voter 1)",
        "node.toml:7: control.bootstrap.voters.x: node id must be a number ≥ 1",
        "node.toml:7: control.bootstrap.voters.3: c:0: port 0 is allowed only in this node's own entry",
        "node.toml:7: control.bootstrap.voters: must include this node (control.node_id = 0)",
        "node.toml:8: control.seeds[0]: invalid address \"nope\"",
        "node.toml:11: control.raft.election_min: must be at least 3 heartbeats (1.5s), got 400ms",
        "node.toml:12: control.raft.election_max: must be > election_min (400ms), got 300ms",
        "node.toml:13: control.raft.snapshot_every: must be > 0, got 0",
    ];
    assert_problems(&problems, &expected);
}

#[test]
fn zone_files_with_control_need_the_bootstrap_node() {
    let text = format!(
        "{}\
         seeds = [\"127.0.0.1:8061\"]\n[dns]\n[[zones]]\nfile = \"a.zone\"\n",
        control(4, "d", "127.0.0.1:0"),
    );
    let problems = problems_of(&text);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].starts_with("node.toml:9: zones: with [control], zone files are imported only by the bootstrap node"),
        "{problems:?}"
    );
    let learner_bootstrap = format!(
        "{}\
         role = \"learner\"\nbootstrap = {{ voters = {{ 1 = \"127.0.0.1:1\" }} }}\n",
        control(1, "d", "127.0.0.1:1"),
    );
    let problems = problems_of(&learner_bootstrap);
    assert!(
        problems == ["node.toml:7: control.bootstrap: only a voter can bootstrap the cluster (control.role = \"learner\")"],
        "{problems:?}"
    );
}

#[test]
fn the_http_listener_may_not_take_a_dns_port() {
    let text = format!(
        "{}\
         seeds = [\"127.0.0.1:8061\"]\n[dns]\nlisten = [\"127.0.0.1:5353\"]\n",
        control(4, "d", "127.0.0.1:5353"),
    );
    let problems = problems_of(&text);
    assert!(
        problems == ["node.toml:4: control.listen: 127.0.0.1:5353 is also a dns listener (tcp)"],
        "{problems:?}"
    );
}

#[test]
fn a_secret_comes_from_exactly_one_place() {
    let both = "[control]\nnode_id = 1\ndata_dir = \"d\"\nlisten = \"127.0.0.1:1\"\n\
                cluster_secret = \"0123456789abcdef0123\"\ncluster_secret_file = \"s\"\n\
                seeds = [\"127.0.0.1:2\"]\n";
    let problems = problems_of(both);
    assert!(
        problems == ["node.toml:5: control.cluster_secret: set either control.cluster_secret or control.cluster_secret_file, not both"],
        "{problems:?}"
    );
    let none = "[control]\nnode_id = 1\ndata_dir = \"d\"\nlisten = \"127.0.0.1:1\"\nseeds = [\"127.0.0.1:2\"]\n";
    let problems = problems_of(none);
    assert!(
        problems == ["node.toml:2: control.cluster_secret: missing; set cluster_secret or cluster_secret_file"],
        "{problems:?}"
    );
}

#[test]
fn every_bad_tls_field_is_reported_with_its_line_and_path() {
    let text = "[control]\nnode_id = 1\ndata_dir = \"d\"\nlisten = \"127.0.0.1:1\"\n\
                cluster_secret = \"0123456789abcdef0123\"\nseeds = [\"127.0.0.1:2\"]\n\
                [control.tls]\ncert = \"no-such.crt\"\nkey = \"no-such.key\"\n\
                ca = \"no-such-ca.crt\"\nreload_interval = \"0s\"\n";
    let problems = problems_of(text);
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(
        problems[0].starts_with("node.toml:8: control.tls.cert: cannot read no-such.crt: "),
        "{problems:?}"
    );
    assert!(
        problems[1].starts_with("node.toml:10: control.tls.ca: cannot read no-such-ca.crt: "),
        "{problems:?}"
    );
    assert_eq!(
        problems[2],
        "node.toml:11: control.tls.reload_interval: must be > 0"
    );
    let unknown = text.replace("ca = ", "cafile = ");
    let problems = problems_of(&unknown);
    assert!(
        problems
            .iter()
            .any(|problem| problem.starts_with("node.toml:10:") && problem.contains("cafile")),
        "{problems:?}"
    );
}

/// `dns.serve_before_sync` is false unless set; a non-boolean is refused at its line.
#[test]
fn serve_before_sync_defaults_to_false() {
    let config = parse("[dns]\n", Path::new("node.toml")).unwrap();
    assert!(!config.serve_before_sync);
    let config = parse("[dns]\nserve_before_sync = true\n", Path::new("node.toml")).unwrap();
    assert!(config.serve_before_sync);
    let problems = problems_of("[dns]\nserve_before_sync = \"yes\"\n");
    assert!(
        problems
            .iter()
            .any(|problem| problem.starts_with("node.toml:2:") && problem.contains("bool")),
        "{problems:?}"
    );
}

#[test]
fn geo_networks_and_region_become_the_locator_table_and_vantage() {
    let text = "\
[dns]
region = \"eu-west\"
[dns.geo]
reload_interval = \"5s\"
[[dns.geo.networks]]
cidr = \"198.51.100.0/24\"
country = \"de\"
continent = \"EU\"
subdivision = \"BY\"
asn = 64500
lat = 48.1
lon = 11.6
[[dns.geo.networks]]
cidr = \"2001:db8::/32\"
asn = 64501
";
    let config = parse(text, Path::new("node.toml")).unwrap();
    assert_eq!(config.responder.vantage.as_deref(), Some("eu-west"));
    assert_eq!(config.geo.reload_interval, Duration::from_secs(5));
    assert!(config.geo.database.is_none());
    let found = config.geo.networks.lookup("198.51.100.7".parse().unwrap());
    let (_, facts) = found.entry.unwrap();
    assert_eq!(facts.country, Code::new("DE"));
    assert_eq!(facts.continent, Code::new("EU"));
    assert_eq!(facts.subdivision, Code::new("DE-BY"));
    assert_eq!(facts.asn, Some(64500));
    assert_eq!(facts.lat_lon, Some((48.1, 11.6)));
    assert_eq!(config.geo.networks.len(), 2);
}

#[test]
fn every_bad_geo_field_is_reported_with_its_line() {
    let text = "\
[dns]
region = \"EU West\"
[dns.geo]
mmdb = \"missing.mmdb\"
reload_interval = \"0s\"
[[dns.geo.networks]]
cidr = \"198.51.100.1/24\"
country = \"DE\"
[[dns.geo.networks]]
cidr = \"203.0.113.0/24\"
country = \"Germany\"
continent = \"XX\"
lat = 91.0
[[dns.geo.networks]]
cidr = \"192.0.2.0/24\"
[[dns.geo.networks]]
cidr = \"192.0.2.0/24\"
asn = 1
[[dns.geo.networks]]
cidr = \"192.0.2.0/24\"
asn = 2
colour = \"red\"
";
    let problems = problems_of(text);
    let expected = [
        "node.toml:2: dns.region: must be 1-63 characters",
        "node.toml:4: dns.geo.mmdb: geoip database missing.mmdb: cannot read:",
        "node.toml:5: dns.geo.reload_interval: must be > 0",
        "node.toml:7: dns.geo.networks[0].cidr: cidr \"198.51.100.1/24\" has host bits set",
        "node.toml:11: dns.geo.networks[1].country: invalid country code \"Germany\"",
        "node.toml:12: dns.geo.networks[1].continent: invalid continent code \"XX\"",
        "node.toml:13: dns.geo.networks[1].lat: must be within ±90 degrees, got 91",
        "node.toml:13: dns.geo.networks[1].lon: missing; give lat and lon together",
        "node.toml:15: dns.geo.networks[2]: must give at least one of country",
        "node.toml:20: dns.geo.networks[4].cidr: 192.0.2.0/24 is listed twice",
        "node.toml:22: unknown field `colour`",
    ];
    assert_problems(&problems, &expected);
}

#[test]
fn a_prober_section_takes_its_vantage_token_and_api() {
    let text = format!(
        "{}\
         seeds = [\"127.0.0.1:8061\"]\n[prober]\nvantage = \"us-east\"\ntoken = \"prober-secret-1\"\n",
        control(7, "d", "127.0.0.1:0"),
    );
    let config = parse(&text, Path::new("node.toml")).unwrap();
    assert_eq!(
        config.control.unwrap().role,
        ControlRole::Learner,
        "a prober node is a learner by default"
    );
    let prober = config.prober.unwrap();
    assert_eq!(prober.vantage, "us-east");
    assert_eq!(prober.api, None, "defaults to the node's own listener");
    assert_eq!(prober.token, "prober-secret-1");
    let with_api = text.replace("[prober]\n", "[prober]\napi = \"http://10.0.0.1:8061/\"\n");
    let config = parse(&with_api, Path::new("node.toml")).unwrap();
    assert_eq!(
        config.prober.unwrap().api.as_deref(),
        Some("http://10.0.0.1:8061")
    );
}

#[test]
fn every_bad_prober_field_is_reported_with_its_line() {
    let text = "\
[dns]
[prober]
vantage = \"US East\"
api = \"10.0.0.1:8061\"
token = \"a\"
token_file = \"t\"
";
    let problems = problems_of(text);
    let expected = [
        "node.toml:3: prober: needs a [control] section in the same config",
        "node.toml:3: prober.vantage: must be 1-63 characters",
        "node.toml:4: prober.api: invalid url \"10.0.0.1:8061\"",
        "node.toml:5: prober.token: set either prober.token or prober.token_file, not both",
    ];
    assert_problems(&problems, &expected);
    let no_token = "[dns]\n[prober]\nvantage = \"eu\"\n";
    let problems = problems_of(no_token);
    assert!(
        problems.iter().any(|problem| problem
            .starts_with("node.toml:3: prober.token: missing; set token or token_file")),
        "{problems:?}"
    );
}

#[test]
fn durations_take_one_unit() {
    assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
    assert_eq!(parse_duration("10s"), Some(Duration::from_secs(10)));
    assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
    assert_eq!(parse_duration("1h"), Some(Duration::from_secs(3600)));
    assert_eq!(parse_duration("10"), Some(Duration::from_secs(10)));
    assert_eq!(parse_duration("s"), None);
    assert_eq!(parse_duration("1d"), Some(Duration::from_secs(86_400)));
}

#[test]
fn a_short_admin_token_or_cluster_secret_is_refused_with_its_line() {
    let text = "[control]\nnode_id = 1\ndata_dir = \"d\"\nlisten = \"127.0.0.1:1\"\n\
                cluster_secret = \"short\"\napi_token = \"t0k3n\"\nseeds = [\"127.0.0.1:2\"]\n";
    let problems = problems_of(text);
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(
        problems[0].starts_with("node.toml:5: control.cluster_secret: ")
            && problems[0].contains("16"),
        "{problems:?}"
    );
    assert_eq!(
        problems[1],
        "node.toml:6: control.api_token: must be at least 16 characters, got 5"
    );
    let sixteen = text
        .replace("\"short\"", "\"0123456789abcdef\"")
        .replace("\"t0k3n\"", "\"0123456789abcdef\"");
    assert_eq!(problems_of(&sixteen), Vec::<String>::new());
}

#[test]
fn listeners_that_overlap_on_a_protocol_and_port_are_refused() {
    let text = "[dns]\nlisten = [\"0.0.0.0:5353\", \"127.0.3.40:5353\"]\n\
                [dns.proxy]\nlisten = [\"127.0.0.1:5353\"]\ntrusted = []\n\
                [control]\nnode_id = 1\ndata_dir = \"d\"\nlisten = \"0.0.0.0:5353\"\n\
                advertise = \"10.0.0.1:5353\"\ncluster_secret = \"0123456789abcdef0123\"\n\
                seeds = [\"10.0.0.2:8061\"]\n";
    let problems = problems_of(text);
    assert!(
        problems.contains(
            &"node.toml:2: dns.listen[1]: 127.0.3.40:5353 overlaps dns.listen[0] (0.0.0.0:5353) \
              on udp and tcp port 5353; both cannot be bound"
                .to_string()
        ),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|problem| problem.starts_with(
            "node.toml:4: dns.proxy.listen[0]: 127.0.0.1:5353 overlaps dns.listen[0]"
        )),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|problem| problem.starts_with(
            "node.toml:9: control.listen: 0.0.0.0:5353 overlaps dns.listen[1] (127.0.3.40:5353) on tcp"
        )),
        "{problems:?}"
    );
}

#[test]
fn every_wrong_type_is_reported_with_its_line_and_field() {
    let text = "[log]\nformat = \"xml\"\n\
                [dns]\nlisten = \"127.0.0.1:53\"\nudp_workers = \"four\"\nmax_udp_payload = 1232\n\
                [dns.tcp]\nmax_connections = true\n\
                [control]\nnode_id = \"one\"\ndata_dir = \"d\"\nlisten = \"127.0.0.1:1\"\n\
                cluster_secret = \"0123456789abcdef0123\"\nseeds = [\"127.0.0.1:2\"]\n\
                metrics_open = \"yes\"\n";
    let problems = problems_of(text);
    let fields: Vec<&str> = problems
        .iter()
        .map(|problem| problem.split(": ").nth(1).unwrap_or(""))
        .collect();
    assert_eq!(
        fields,
        [
            "log.format",
            "dns.listen",
            "dns.udp_workers",
            "dns.tcp.max_connections",
            "control.node_id",
            "control.metrics_open"
        ],
        "{problems:#?}"
    );
    assert!(problems[0].starts_with("node.toml:2: "), "{problems:?}");
    assert!(problems[4].starts_with("node.toml:10: "), "{problems:?}");
    assert!(problems[4].contains("expected u64"), "{problems:?}");
}

#[test]
fn a_wrong_type_inside_an_array_or_inline_table_is_reported_once() {
    let text = "[dns]\nlisten = [\"127.0.0.1:53\", 5]\n\
                [control]\nnode_id = 1\ndata_dir = \"d\"\nlisten = \"127.0.0.1:1\"\n\
                cluster_secret = \"0123456789abcdef0123\"\nrole = \"voter\"\n\
                bootstrap = { voters = { 1 = 7 } }\n";
    let problems = problems_of(text);
    assert_eq!(
        problems,
        [
            "node.toml:2: dns.listen: invalid type: integer `5`, expected a string",
            "node.toml:9: control.bootstrap.voters.1: invalid type: integer `7`, expected a string",
        ],
        "{problems:#?}"
    );
}

#[test]
fn control_limits_take_defaults_and_name_bad_values() {
    let base = format!(
        "{}bootstrap = {{ voters = {{ 1 = \"127.0.0.1:8061\" }} }}\n",
        control(1, "data", "127.0.0.1:8061"),
    );
    let control = parse(&base, Path::new("node.toml"))
        .unwrap()
        .control
        .unwrap();
    assert_eq!(
        control.limits.listener,
        gslb_api::listener::ListenerLimits::default()
    );
    let text = format!(
        "{base}[control.limits]\nheader_read_timeout = \"5s\"\nmax_connections = 100\n\
             max_body_bytes = 65536\nauth_failure_burst = 5\n"
    );
    let control = parse(&text, Path::new("node.toml"))
        .unwrap()
        .control
        .unwrap();
    assert_eq!(
        control.limits.listener.header_read_timeout,
        Duration::from_secs(5)
    );
    assert_eq!(control.limits.listener.max_connections, 100);
    assert_eq!(control.limits.max_request_bytes, 65536);
    assert_eq!(control.limits.auth_failure_burst, 5);
    let text =
        format!("{base}[control.limits]\nmax_request_bytes = 1048576\nmax_zone_records = 50000\n");
    let control = parse(&text, Path::new("node.toml"))
        .unwrap()
        .control
        .unwrap();
    assert_eq!(control.limits.max_request_bytes, 1_048_576);
    assert_eq!(control.limits.max_zone_records, 50_000);
    let problems = problems_of(&format!(
        "{base}[control.limits]\nmax_request_bytes = 0\nmax_zone_records = 0\n\
         max_body_bytes = 10\n"
    ));
    let text = problems.join("\n");
    for expected in [
        "control.limits.max_request_bytes: must be > 0",
        "control.limits.max_zone_records: must be > 0",
        "control.limits.max_body_bytes: is the older name of max_request_bytes",
    ] {
        assert!(text.contains(expected), "{expected} in {text}");
    }
    let problems = problems_of(&format!(
        "{base}[control.limits]\nidle_timeout = \"10s\"\nmax_connections_per_source = 0\n\
             header_read_timeout = \"0s\"\n"
    ));
    let text = problems.join("\n");
    assert!(
        text.contains("control.limits.idle_timeout: must exceed"),
        "{text}"
    );
    assert!(
        text.contains("control.limits.max_connections_per_source: must be > 0"),
        "{text}"
    );
    assert!(
        text.contains("control.limits.header_read_timeout: must be > 0"),
        "{text}"
    );
    let problems = problems_of(&format!("{base}[control.limits]\nmax_conections = 5\n"));
    assert!(
        problems.join("\n").contains("max_conections"),
        "{problems:?}"
    );
}

/// RRL and cookies are on by default; every bad `[dns.rrl]` / `[dns.cookies]` field is
/// named, and an unknown key in them is refused.
#[test]
fn rate_limiting_and_cookies_are_on_by_default_and_checked() {
    let config = parse("[dns]\n", Path::new("node.toml")).unwrap();
    assert_eq!(config.responder.rrl.rate, gslb_dns::rrl::DEFAULT_RATE);
    assert!(config.responder.cookies.secret.is_some());
    let text = "[dns]\n[dns.rrl]\nslip = 500\nexempt = [\"10.0.0.0/33\"]\n\
                [dns.cookies]\nsecret = \"abc\"\n";
    let problems = problems_of(text);
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(problems[0].contains("dns.rrl.slip: must be ≤ 100, got 500"));
    assert!(problems[1].contains("dns.rrl.exempt[0]"));
    assert!(problems[2].contains("dns.cookies.secret: must be 32 hexadecimal digits"));
    let problems = problems_of("[dns]\n[dns.rrl]\nrate_limit = 5\n");
    assert!(
        problems[0].contains("unknown field `rate_limit`"),
        "{problems:?}"
    );
    let config = parse("[dns]\n[dns.rrl]\nrate = 0\n", Path::new("node.toml")).unwrap();
    assert_eq!(config.responder.rrl.rate, 0);
}
