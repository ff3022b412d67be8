//! RFC 2136 UPDATE with TSIG (RFC 8945), driven by real clients against a real cluster: a
//! bootstrap voter that imports `cp.test.` and a DNS learner that takes the updates (and
//! forwards them to the leader). Keys come from `gslbctl tsig create`, whose BIND key block
//! `nsupdate -k` reads as is.
//!
//! - `nsupdate` and `knsupdate` add and delete records; refusals carry the RCODE RFC 2136
//!   names (out-of-policy name REFUSED, unknown key NOTAUTH, each prerequisite form);
//! - signed queries get signed answers, and BADSIG, BADKEY, BADTRUNC, BADTIME come back as
//!   RFC 8945 §5.2 says, while the server keeps answering;
//! - a certificate is issued end to end over DNS-01: pebble asks gslb for the challenge that
//!   lego (`--dns rfc2136`) and certbot (`dns-rfc2136`) put there with a TSIG key.

mod common;

use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::cluster::{wait_until, ClusterNode, Kind, TOKEN};
use common::{dig, dns_listen_address, LogLines, TempDir};

/// How long the two-node cluster gets to form and answer the imported zone.
const CONVERGE: Duration = Duration::from_secs(60);

/// A bootstrap voter importing `cp.test.` and a DNS learner (RRL off: the tests query fast)
/// that answers it.
fn start_cluster(root: &TempDir) -> (ClusterNode, ClusterNode) {
    eprintln!("-- phase: start a voter and a DNS learner");
    let voter = ClusterNode::start(root, 1, Kind::Bootstrap, &[]);
    let learner =
        ClusterNode::start_dns_learner_with(root, 2, &[voter.http], "\n[dns.rrl]\nrate = 0\n");
    wait_until(CONVERGE, "the learner to answer the imported zone", || {
        learner.addresses("www.cp.test") == ["192.0.2.10"]
    });
    (voter, learner)
}

/// `gslbctl --api http://API --token TOKEN ARGS`: success, stdout, stderr.
fn gslbctl(api: SocketAddr, args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_gslbctl"))
        .args(["--api", &format!("http://{api}"), "--token", TOKEN])
        .args(args)
        .output()
        .expect("gslbctl runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Creates a key with `gslbctl tsig create NAME ARGS`, writes its BIND block to
/// `DIR/NAME.key` and returns (file, base64 secret).
fn create_key(api: SocketAddr, dir: &TempDir, name: &str, args: &[&str]) -> (String, String) {
    let mut all = vec!["tsig", "create", name];
    all.extend_from_slice(args);
    let (ok, block, errors) = gslbctl(api, &all);
    assert!(ok, "tsig create {name}: {errors}");
    assert!(block.starts_with(&format!("key \"{name}\" {{")), "{block}");
    let secret = block
        .split("secret \"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a secret line")
        .to_string();
    let path = dir.write(&format!("{name}.key"), &block);
    (path.display().to_string(), secret)
}

/// Runs an update client (`nsupdate` or `knsupdate`) with `args` and `script` on stdin;
/// stdout and stderr together.
fn update_client(tool: &str, args: &[&str], script: &str) -> String {
    let mut child = Command::new(tool)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("run {tool}: {error}"));
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(script.as_bytes())
        .expect("write the script");
    let output = child.wait_with_output().expect("the client ends");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    eprintln!("$ {tool} {args:?} <<<{script}\n{text}");
    text
}

/// An `nsupdate` script against `server` for zone `cp.test` with `lines` in between.
fn script(server: SocketAddr, lines: &[&str]) -> String {
    format!(
        "server {} {}\nzone cp.test\n{}\nsend\nanswer\n",
        server.ip(),
        server.port(),
        lines.join("\n")
    )
}

/// TXT strings at `name` on the learner.
fn txt(learner: &ClusterNode, name: &str) -> Vec<String> {
    learner
        .dig(&[name, "TXT", "+norec", "+short"])
        .text
        .lines()
        .map(str::to_string)
        .collect()
}

/// Adds and deletes records with `nsupdate -k` and `knsupdate -y`, each change visible on
/// the DNS node as soon as the client is acknowledged, the serial moving, every update in
/// the audit log with its key; and each refusal with its RCODE, nothing applied.
#[test]
fn nsupdate_and_knsupdate_change_records_within_each_keys_policy() {
    let root = TempDir::new("dns-update");
    let (voter, learner) = start_cluster(&root);
    let dns = learner.dns.expect("dns address");
    let serial = |learner: &ClusterNode| -> u64 {
        let text = learner.dig(&["cp.test", "SOA", "+short"]).text;
        text.split_whitespace()
            .nth(2)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    };
    let before = serial(&learner);

    eprintln!("-- phase: keys");
    let (acme_file, _) = create_key(
        voter.http,
        &root,
        "acme-key",
        &["--update", "cp.test:_acme-challenge.*:TXT"],
    );
    let (_, md5_secret) = create_key(
        voter.http,
        &root,
        "zone-md5",
        &["--algorithm", "hmac-md5", "--update", "cp.test"],
    );
    let (ok, listed, _) = gslbctl(voter.http, &["tsig", "list", "-o", "json"]);
    assert!(
        ok && listed.contains("acme-key") && listed.contains("hmac-md5"),
        "{listed}"
    );
    assert!(
        !listed.contains("secret"),
        "a listed key shows no secret: {listed}"
    );

    eprintln!("-- phase: nsupdate -k adds, the DNS node answers at once");
    let out = update_client(
        "nsupdate",
        &["-k", &acme_file],
        &script(
            dns,
            &["update add _acme-challenge.www.cp.test. 60 TXT \"token-1\""],
        ),
    );
    assert!(out.contains("status: NOERROR"), "{out}");
    assert_eq!(
        txt(&learner, "_acme-challenge.www.cp.test"),
        ["\"token-1\""]
    );
    assert!(serial(&learner) > before, "the serial moves");

    eprintln!("-- phase: knsupdate (hmac-md5) adds and deletes");
    let md5 = format!("hmac-md5:zone-md5:{md5_secret}");
    let out = update_client(
        "knsupdate",
        &["-y", &md5],
        &script(dns, &["update add api.cp.test. 60 A 192.0.2.77"]),
    );
    assert!(out.contains("status: NOERROR"), "{out}");
    assert_eq!(learner.addresses("api.cp.test"), ["192.0.2.77"]);
    let out = update_client(
        "knsupdate",
        &["-y", &md5],
        &script(dns, &["update delete api.cp.test. A"]),
    );
    assert!(out.contains("status: NOERROR"), "{out}");
    assert!(learner.dig(&["api.cp.test", "A"]).status() == "NXDOMAIN");

    eprintln!("-- phase: refusals");
    let refused = |tool: &str, args: &[&str], lines: &[&str], rcode: &str| {
        let out = update_client(tool, args, &script(dns, lines));
        assert!(out.contains(rcode), "expected {rcode}: {out}");
    };
    refused(
        "nsupdate",
        &["-k", &acme_file],
        &["update add www2.cp.test. 60 A 192.0.2.3"],
        "REFUSED",
    );
    refused(
        "nsupdate",
        &["-k", &acme_file],
        &["update add _acme-challenge.www.cp.test. 60 CAA 0 issue \"ca.test\""],
        "REFUSED",
    );
    refused(
        "nsupdate",
        &[],
        &["update add open.cp.test. 60 A 192.0.2.3"],
        "REFUSED",
    );
    refused(
        "nsupdate",
        &[
            "-y",
            "hmac-sha256:no-such-key:c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0",
        ],
        &["update add _acme-challenge.x.cp.test. 60 TXT \"x\""],
        "NOTAUTH",
    );
    refused(
        "knsupdate",
        &["-y", &md5],
        &["update add www.cp.test. 60 CNAME elsewhere.test."],
        "REFUSED",
    );
    for (prerequisite, rcode) in [
        ("prereq nxdomain www.cp.test.", "YXDOMAIN"),
        ("prereq yxdomain nowhere.cp.test.", "NXDOMAIN"),
        ("prereq nxrrset www.cp.test. A", "YXRRSET"),
        ("prereq yxrrset www.cp.test. MX", "NXRRSET"),
        ("prereq yxrrset www.cp.test. A 192.0.2.99", "NXRRSET"),
    ] {
        refused(
            "knsupdate",
            &["-y", &md5],
            &[prerequisite, "update add refused.cp.test. 60 A 192.0.2.5"],
            rcode,
        );
    }
    assert!(learner.dig(&["refused.cp.test", "A"]).status() == "NXDOMAIN");
    assert!(learner.dig(&["www2.cp.test", "A"]).status() == "NXDOMAIN");

    eprintln!("-- phase: a zone that allows unsigned updates from loopback");
    let (ok, said, errors) = gslbctl(
        voter.http,
        &["zone", "allow-unsigned-updates", "cp.test", "127.0.0.0/8"],
    );
    assert!(ok, "{said}{errors}");
    let out = update_client(
        "nsupdate",
        &[],
        &script(dns, &["update add open.cp.test. 60 A 192.0.2.8"]),
    );
    assert!(out.contains("status: NOERROR"), "{out}");
    assert_eq!(learner.addresses("open.cp.test"), ["192.0.2.8"]);

    eprintln!("-- phase: a prerequisite that holds");
    let out = update_client(
        "knsupdate",
        &["-y", &md5],
        &script(
            dns,
            &[
                "prereq yxrrset www.cp.test. A 192.0.2.10",
                "prereq nxdomain fresh.cp.test.",
                "update add fresh.cp.test. 60 A 192.0.2.6",
            ],
        ),
    );
    assert!(out.contains("status: NOERROR"), "{out}");
    assert_eq!(learner.addresses("fresh.cp.test"), ["192.0.2.6"]);

    eprintln!("-- phase: the audit log names the keys");
    let (_, audit) = common::cluster::api_get(voter.http, "/v1/audit").expect("the audit log");
    assert!(audit.contains("tsig:acme-key"), "{audit}");
    assert!(audit.contains("tsig:zone-md5"), "{audit}");
    assert!(audit.contains("dns_update cp.test."), "{audit}");
}

/// A signed query gets a signed answer (dig checks it); a wrong secret BADSIG, an unknown
/// key or another algorithm BADKEY, a truncated MAC BADTRUNC, a clock an hour off BADTIME,
/// each with NOTAUTH; the node answers plain queries all along.
#[test]
fn tsig_errors_are_answered_as_rfc_8945_says() {
    let root = TempDir::new("dns-update-tsig");
    let (voter, learner) = start_cluster(&root);
    let dns = learner.dns.expect("dns address");
    let (_, secret) = create_key(voter.http, &root, "query-key", &[]);
    let signed = |key: String, extra: &[&str]| {
        let mut args = vec!["www.cp.test", "A", "+norec", "-y", key.as_str()];
        args.extend_from_slice(extra);
        let reply = dig(dns, &args);
        assert_eq!(
            learner.addresses("www.cp.test"),
            ["192.0.2.10"],
            "still serving"
        );
        reply
    };

    eprintln!("-- phase: a signed query, over UDP and TCP");
    for transport in ["+notcp", "+tcp"] {
        let reply = signed(format!("hmac-sha256:query-key:{secret}"), &[transport]);
        assert_eq!(reply.status(), "NOERROR", "{}", reply.text);
        assert!(reply.text.contains("192.0.2.10"), "{}", reply.text);
        assert!(
            !reply.text.contains("could not be validated"),
            "{}",
            reply.text
        );
        assert!(reply.text.contains("TSIG"), "{}", reply.text);
    }

    eprintln!("-- phase: failures");
    let wrong_secret = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    for (key, error) in [
        (format!("hmac-sha256:query-key:{wrong_secret}"), "BADSIG"),
        (format!("hmac-sha256:other-key:{secret}"), "BADKEY"),
        (format!("hmac-sha512:query-key:{secret}"), "BADKEY"),
        (format!("hmac-sha256-128:query-key:{secret}"), "BADTRUNC"),
    ] {
        let reply = signed(key, &[]);
        assert_eq!(reply.status(), "NOTAUTH", "{error}: {}", reply.text);
        assert!(reply.text.contains(error), "{error}: {}", reply.text);
    }

    eprintln!("-- phase: a client clock an hour off (faketime; kdig, which it does not hang)");
    let output = Command::new("timeout")
        .args(["30", "faketime", "-f", "+1h", "kdig"])
        .arg(format!("@{}", dns.ip()))
        .args(["-p", &dns.port().to_string(), "www.cp.test", "A", "+norec"])
        .args(["-y", &format!("hmac-sha256:query-key:{secret}")])
        .args(["+time=2", "+retry=0"])
        .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
        .output()
        .expect("faketime runs (apt-get install faketime)");
    let text = String::from_utf8_lossy(&output.stdout);
    eprintln!("$ faketime -f +1h kdig ...\n{text}");
    // kdig shows NOTAUTH with the TSIG error as the extended RCODE "BADTIME".
    assert!(text.contains("status: BADTIME"), "{text}");
    assert!(
        text.contains("BADTIME 6 "),
        "our time in Other Data: {text}"
    );
    assert_eq!(learner.addresses("www.cp.test"), ["192.0.2.10"]);
}

/// Runs `pebble` (the ACME test server) on a free loopback port with its DNS resolver
/// pointed at `dns`; returns the child and its CA bundle path once it listens.
fn start_pebble(dir: &TempDir, dns: SocketAddr) -> (Pebble, String, SocketAddr) {
    let listen = dns_listen_address();
    let management = dns_listen_address();
    let path = |name: &str| dir.0.join(name).display().to_string();
    let openssl = |args: &[&str]| {
        let status = Command::new("openssl")
            .args(args)
            .current_dir(&dir.0)
            .stderr(Stdio::null())
            .status()
            .expect("openssl runs");
        assert!(status.success(), "openssl {args:?}");
    };
    let ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    let words = |text: String| {
        text.split_whitespace()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let run = |text: String| openssl(&words(text).iter().map(String::as_str).collect::<Vec<_>>());
    run(format!(
        "req -x509 {ec} -keyout ca.key -out ca.pem -days 2 -subj /CN=test-ca"
    ));
    run(format!(
        "req {ec} -keyout key.pem -out leaf.csr -subj /CN=localhost"
    ));
    dir.write(
        "san.ext",
        &format!("subjectAltName=IP:{},DNS:localhost\n", listen.ip()),
    );
    openssl(&[
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "cert.pem",
        "-days",
        "2",
        "-extfile",
        "san.ext",
    ]);
    let config = format!(
        r#"{{"pebble": {{"listenAddress": "{listen}", "managementListenAddress": "{management}",
 "certificate": "{}", "privateKey": "{}", "httpPort": 5002, "tlsPort": 5001,
 "ocspResponderURL": "", "externalAccountBindingRequired": false}}}}"#,
        path("cert.pem"),
        path("key.pem")
    );
    let config_path = dir.write("pebble.json", &config);
    let mut child = Command::new("pebble")
        .args(["-config", &config_path.display().to_string()])
        .args(["-dnsserver", &dns.to_string()])
        .env("PEBBLE_VA_NOSLEEP", "1")
        .env("PEBBLE_WFE_NONCEREJECT", "0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("pebble runs (apt-get install pebble)");
    let log = LogLines::follow(child.stdout.take().expect("stdout"));
    let child = Pebble(child);
    assert!(
        log.wait_for("Listening on", Duration::from_secs(20))
            .is_some(),
        "pebble did not start:\n{}",
        log.text()
    );
    (child, path("ca.pem"), listen)
}

/// pebble issues a certificate for `www.cp.test` to lego and one for `api.cp.test` to
/// certbot, each proving control with a TXT record put there by RFC 2136 UPDATE signed with
/// a key that may touch only `_acme-challenge.*` TXT records.
#[test]
fn acme_dns01_certificates_are_issued_through_rfc2136() {
    let root = TempDir::new("dns-update-acme");
    let (voter, learner) = start_cluster(&root);
    let dns = learner.dns.expect("dns address");
    let (_, secret) = create_key(
        voter.http,
        &root,
        "acme-key",
        &["--update", "cp.test:_acme-challenge.*:TXT"],
    );
    let (pebble, ca, acme) = start_pebble(&root, dns);
    let directory = format!("https://{acme}/dir");

    eprintln!("-- phase: lego --dns rfc2136");
    let lego_dir = root.0.join("lego");
    let output = Command::new("lego")
        .env("LEGO_CA_CERTIFICATES", &ca)
        .env("RFC2136_NAMESERVER", dns.to_string())
        .env("RFC2136_TSIG_KEY", "acme-key")
        .env("RFC2136_TSIG_SECRET", &secret)
        .env("RFC2136_TSIG_ALGORITHM", "hmac-sha256.")
        .env("RFC2136_PROPAGATION_TIMEOUT", "60")
        .env("RFC2136_POLLING_INTERVAL", "1")
        .args([
            "--server",
            &directory,
            "--email",
            "ops@example.test",
            "--accept-tos",
        ])
        .args(["--path", &lego_dir.display().to_string()])
        .args(["--dns", "rfc2136", "--dns.resolvers", &dns.to_string()])
        .args(["--dns.disable-cp", "-d", "www.cp.test", "run"])
        .output()
        .expect("lego runs (apt-get install lego)");
    let log = String::from_utf8_lossy(&output.stderr);
    eprintln!("{log}");
    assert!(output.status.success(), "lego failed:\n{log}");
    let certificate = lego_dir.join("certificates/www.cp.test.crt");
    assert!(certificate.exists(), "no certificate from lego");

    eprintln!("-- phase: certbot --dns-rfc2136");
    let credentials = root.write(
        "creds.ini",
        &format!(
            "dns_rfc2136_server = {}\ndns_rfc2136_port = {}\ndns_rfc2136_name = acme-key\n\
             dns_rfc2136_secret = {secret}\ndns_rfc2136_algorithm = HMAC-SHA256\n",
            dns.ip(),
            dns.port()
        ),
    );
    set_owner_only(&credentials);
    let certbot_dir = |name: &str| root.0.join("certbot").join(name).display().to_string();
    let output = Command::new("certbot")
        .env("REQUESTS_CA_BUNDLE", &ca)
        .args([
            "certonly",
            "--non-interactive",
            "--agree-tos",
            "-m",
            "ops@example.test",
        ])
        .args(["--server", &directory, "--dns-rfc2136"])
        .args([
            "--dns-rfc2136-credentials",
            &credentials.display().to_string(),
        ])
        .args([
            "--dns-rfc2136-propagation-seconds",
            "1",
            "-d",
            "api.cp.test",
        ])
        .args(["--config-dir", &certbot_dir("config")])
        .args([
            "--work-dir",
            &certbot_dir("work"),
            "--logs-dir",
            &certbot_dir("logs"),
        ])
        .output()
        .expect("certbot runs (apt-get install certbot python3-certbot-dns-rfc2136)");
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    eprintln!("{log}");
    assert!(output.status.success(), "certbot failed:\n{log}");
    let issued = root.0.join("certbot/config/live/api.cp.test/cert.pem");
    assert!(issued.exists(), "no certificate from certbot");
    // Both clients cleaned up their challenges through UPDATE too.
    assert!(txt(&learner, "_acme-challenge.www.cp.test").is_empty());
    assert!(txt(&learner, "_acme-challenge.api.cp.test").is_empty());
    drop(pebble);
}

/// The pebble process, killed on drop.
struct Pebble(Child);

impl Drop for Pebble {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// certbot refuses a credentials file others can read.
fn set_owner_only(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
}

/// Many updates sent at once through a DNS learner all succeed and all become visible,
/// while the leader's per-source connection cap (8 here) is full of other clients' idle
/// connections from the learner's own address: the learner's forwards share a few pooled
/// calls (group commit) and, over the cap, prove themselves with the cluster secret.
#[test]
fn many_concurrent_updates_through_a_learner_all_succeed() {
    const CLIENTS: usize = 24;
    const UPDATES_EACH: usize = 5;
    let root = TempDir::new("dns-update-burst");
    let mut voter = ClusterNode::prepare(&root, 1, Kind::Bootstrap, &[]);
    voter.import_zone = true;
    voter.extra = "[control.limits]\nmax_connections_per_source = 8\n".to_string();
    voter.spawn();
    let learner =
        ClusterNode::start_dns_learner_with(&root, 2, &[voter.http], "\n[dns.rrl]\nrate = 0\n");
    wait_until(CONVERGE, "the learner to answer the imported zone", || {
        learner.addresses("www.cp.test") == ["192.0.2.10"]
    });
    let dns = learner.dns.expect("dns address");
    let (key_file, _) = create_key(voter.http, &root, "burst-key", &["--update", "cp.test"]);

    eprintln!("-- phase: fill the voter's per-source cap from 127.0.0.1 with idle clients");
    // Every new connection from 127.0.0.1 is now over the cap: the learner's new forward
    // calls get in only by showing the cluster secret.
    let held: Vec<std::net::TcpStream> = (0..8)
        .map(|_| std::net::TcpStream::connect(voter.http).expect("connect"))
        .collect();

    eprintln!("-- phase: {CLIENTS} clients, {UPDATES_EACH} updates each, all at once");
    let clients: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let key_file = key_file.clone();
            std::thread::spawn(move || {
                let mut text = format!("server {} {}\nzone cp.test\n", dns.ip(), dns.port());
                for update in 0..UPDATES_EACH {
                    text.push_str(&format!(
                        "update add burst-{client}-{update}.cp.test. 60 TXT \"{client}-{update}\"\nsend\n"
                    ));
                }
                let mut child = Command::new("nsupdate")
                    .args(["-k", &key_file, "-t", "20"])
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("run nsupdate");
                child
                    .stdin
                    .take()
                    .expect("stdin")
                    .write_all(text.as_bytes())
                    .expect("write the script");
                let output = child.wait_with_output().expect("nsupdate ends");
                (
                    output.status.success(),
                    String::from_utf8_lossy(&output.stderr).into_owned(),
                )
            })
        })
        .collect();
    for (client, handle) in clients.into_iter().enumerate() {
        let (ok, errors) = handle.join().expect("client thread");
        assert!(ok, "nsupdate client {client} failed: {errors}");
    }
    for client in 0..CLIENTS {
        for update in 0..UPDATES_EACH {
            assert_eq!(
                txt(&learner, &format!("burst-{client}-{update}.cp.test")),
                [format!("\"{client}-{update}\"")],
                "acknowledged, so answered"
            );
        }
    }
    drop(held);
    assert!(
        !voter.log.text().contains("no cluster secret shown"),
        "no member connection was refused"
    );
}
