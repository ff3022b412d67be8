//! Black-box tests of `[control.tls]`: a CA and node certificate made with `openssl` at test
//! time, real `gslb serve` processes on loopback speaking only TLS, driven with the real
//! `gslbctl --ca-cert` and `curl --cacert`, and `gslb check-config` refusing broken
//! certificate files with their line.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use common::cluster::{wait_until, ClusterNode, Kind, TOKEN};
use common::{TempDir, GSLB};

const GSLBCTL: &str = env!("CARGO_BIN_EXE_gslbctl");

/// How long a change may take to reach every node.
const CONVERGE: Duration = Duration::from_secs(30);

/// The PEM files of one test PKI.
struct Pki {
    /// The CA every node trusts.
    ca: PathBuf,
    /// The nodes' certificate (127.0.0.1 and localhost), signed by `ca`.
    cert: PathBuf,
    /// Its key.
    key: PathBuf,
    /// A key of no certificate here.
    other_key: PathBuf,
    /// A CA nobody signed with.
    rogue_ca: PathBuf,
}

/// Runs `openssl` with `args` in `dir`; panics with its stderr on failure.
fn openssl(dir: &Path, args: &[&str]) {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl");
    assert!(
        output.status.success(),
        "openssl {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Makes a CA, a node certificate for 127.0.0.1 signed by it, a stray key and a rogue CA.
fn make_pki(dir: &Path) -> Pki {
    std::fs::create_dir_all(dir).unwrap();
    let self_signed_ca = |name: &str| {
        openssl(
            dir,
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-days",
                "2",
                "-subj",
                &format!("/CN={name}"),
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.crt"),
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
        );
    };
    self_signed_ca("ca");
    self_signed_ca("rogue-ca");
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-subj",
            "/CN=gslb-node",
            "-keyout",
            "node.key",
            "-out",
            "node.csr",
        ],
    );
    std::fs::write(
        dir.join("node.ext"),
        "subjectAltName = IP:127.0.0.1, DNS:localhost\n\
         extendedKeyUsage = serverAuth, clientAuth\n\
         basicConstraints = CA:FALSE\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "node.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "node.ext",
            "-out",
            "node.crt",
        ],
    );
    openssl(
        dir,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            "other.key",
        ],
    );
    Pki {
        ca: dir.join("ca.crt"),
        cert: dir.join("node.crt"),
        key: dir.join("node.key"),
        other_key: dir.join("other.key"),
        rogue_ca: dir.join("rogue-ca.crt"),
    }
}

/// The `[control.tls]` table for `pki`, with `key` as the key file.
fn tls_table(pki: &Pki, key: &Path) -> String {
    format!(
        "[control.tls]\ncert = \"{}\"\nkey = \"{}\"\nca = \"{}\"\n",
        pki.cert.display(),
        key.display(),
        pki.ca.display()
    )
}

/// Starts node `id` of `kind` with TLS on, joining through `seeds`.
fn start_tls_node(
    root: &TempDir,
    pki: &Pki,
    id: u64,
    kind: Kind,
    seeds: &[std::net::SocketAddr],
) -> ClusterNode {
    let mut node = ClusterNode::prepare(root, id, kind, seeds);
    node.import_zone = kind == Kind::Bootstrap;
    node.extra = tls_table(pki, &pki.key);
    node.spawn();
    assert!(
        node.log.text().contains("tls=true"),
        "{} does not say it listens with tls:\n{}",
        node.name,
        node.log.text()
    );
    node
}

/// Runs gslbctl against `node` over https trusting `ca`.
fn gslbctl(node: &ClusterNode, ca: &Path, args: &[&str]) -> Output {
    let api = format!("https://{}", node.http);
    let output = Command::new(GSLBCTL)
        .args(["--api", &api, "--token", TOKEN, "--ca-cert"])
        .arg(ca)
        .args(args)
        .env_remove("GSLB_API")
        .env_remove("GSLB_TOKEN")
        .env_remove("GSLB_CA_CERT")
        .output()
        .expect("run gslbctl");
    eprintln!(
        "$ gslbctl --api {api} {}\n{}{}",
        args.join(" "),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The Raft view of `node` as `gslbctl cluster status -o json` reports it over https.
fn cluster_status(node: &ClusterNode, ca: &Path) -> Option<serde_json::Value> {
    let output = gslbctl(node, ca, &["cluster", "status", "-o", "json"]);
    if !output.status.success() {
        return None;
    }
    serde_json::from_slice(&output.stdout).ok()
}

/// `curl` of `url` with `extra` arguments: (exit status, HTTP status or "000").
fn curl(url: &str, extra: &[&str]) -> (i32, String) {
    let output = Command::new("curl")
        .args([
            "-sS",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--max-time",
            "5",
        ])
        .args(extra)
        .arg(url)
        .output()
        .expect("run curl");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).trim().to_string(),
    )
}

/// What does this test do: a bootstrap voter, a second voter and a DNS learner, every one
/// with `[control.tls]`, form a cluster over https (joining, promotion with its readiness
/// check, Raft replication); a zone imported with `gslbctl --api https://... --ca-cert`
/// through the learner becomes INSYNC and answers in the learner's DNS; `curl --cacert`
/// gets 200 from `/healthz`; plain HTTP to the TLS port and a client without the CA fail;
/// every node stops cleanly on SIGTERM.
#[test]
fn a_cluster_with_tls_replicates_and_refuses_untrusted_clients() {
    let root = TempDir::new("api-tls");
    let pki = make_pki(&root.0.join("pki"));

    eprintln!("-- phase: start a bootstrap voter, a voter and a DNS learner, all with TLS");
    let mut first = start_tls_node(&root, &pki, 1, Kind::Bootstrap, &[]);
    wait_until(CONVERGE, "voter 1 to lead over https", || {
        cluster_status(&first, &pki.ca)
            .is_some_and(|status| status["node"]["leader"].as_u64() == Some(1))
    });
    let mut second = start_tls_node(&root, &pki, 2, Kind::Voter, &[first.http]);
    assert!(
        second
            .log
            .wait_for("joined the cluster as a voter", CONVERGE)
            .is_some(),
        "voter 2 was not promoted over https; its log:\n{}",
        second.log.text()
    );
    let mut learner = start_tls_node(&root, &pki, 3, Kind::DnsLearner, &[first.http, second.http]);
    wait_until(CONVERGE, "the learner to answer the imported zone", || {
        learner.addresses("www.cp.test") == ["192.0.2.10"]
    });

    // INSYNC counts the DNS nodes with a member record: wait for the learner's.
    wait_until(CONVERGE, "the DNS learner's member record", || {
        cluster_status(&first, &pki.ca).is_some_and(|status| {
            status["members"]
                .as_array()
                .is_some_and(|members| members.iter().any(|member| member["id"] == 3))
        })
    });

    eprintln!("-- phase: import a zone through the learner with gslbctl over https");
    let zone_file = root.write(
        "tls.test.zone",
        "$ORIGIN tls.test.\n$TTL 60\n@ 3600 IN SOA ns1 hostmaster 1 3600 600 86400 60\n\
         @ 3600 IN NS ns1\nns1 IN A 192.0.2.1\nsecure IN A 192.0.2.44\n",
    );
    let output = gslbctl(
        &learner,
        &pki.ca,
        &[
            "zone",
            "import",
            zone_file.to_str().unwrap(),
            "--timeout",
            "30s",
        ],
    );
    assert!(output.status.success(), "the import through https failed");
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("INSYNC"), "the import was not INSYNC: {said}");
    assert_eq!(learner.addresses("secure.tls.test"), ["192.0.2.44"]);
    for voter in [&first, &second] {
        let output = gslbctl(voter, &pki.ca, &["zone", "export", "tls.test."]);
        assert!(output.status.success());
        assert!(
            String::from_utf8_lossy(&output.stdout).contains("192.0.2.44"),
            "{} does not hold the imported zone",
            voter.name
        );
    }
    let status = cluster_status(&first, &pki.ca).expect("cluster status over https");
    assert_eq!(
        status["node"]["voters"],
        serde_json::json!([1, 2]),
        "{status}"
    );
    assert_eq!(
        status["node"]["learners"],
        serde_json::json!([3]),
        "{status}"
    );

    eprintln!("-- phase: curl with and without the CA, and plain HTTP");
    let ca = pki.ca.to_str().unwrap();
    let https = format!("https://{}/healthz", learner.http);
    assert_eq!(curl(&https, &["--cacert", ca]), (0, "200".to_string()));
    let (exit, code) = curl(&https, &["--cacert", pki.rogue_ca.to_str().unwrap()]);
    assert_eq!(code, "000", "an untrusted server certificate was accepted");
    assert_eq!(
        exit, 60,
        "curl: want 60 (peer certificate cannot be verified)"
    );
    let (exit, code) = curl(&format!("http://{}/healthz", learner.http), &[]);
    assert_eq!(code, "000", "plain HTTP got an answer from the TLS port");
    assert_ne!(exit, 0);

    eprintln!("-- phase: gslbctl without the CA");
    let output = Command::new(GSLBCTL)
        .args([
            "--api",
            &format!("https://{}", learner.http),
            "--token",
            TOKEN,
        ])
        .args(["--ca-cert", pki.rogue_ca.to_str().unwrap(), "get", "zones"])
        .output()
        .expect("run gslbctl");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("cannot connect") && stderr.contains("certificate"),
        "gslbctl should say the certificate is not trusted: {stderr}"
    );
    let output = Command::new(GSLBCTL)
        .args([
            "--api",
            &format!("http://{}", learner.http),
            "--token",
            TOKEN,
        ])
        .args(["get", "zones"])
        .output()
        .expect("run gslbctl");
    assert!(!output.status.success(), "plain HTTP reached the TLS port");

    eprintln!("-- phase: SIGTERM every node");
    learner.stop();
    second.stop();
    first.stop();
}

/// What does this test do: `gslb check-config` refuses a `[control.tls]` whose key file is
/// missing, whose key belongs to another certificate, or whose CA file is not PEM, naming the
/// line and the path; with the right files it accepts the config.
#[test]
fn check_config_names_the_line_of_a_bad_certificate_or_key() {
    let root = TempDir::new("api-tls-check");
    let pki = make_pki(&root.0.join("pki"));
    let not_pem = root.write("not-a-ca.crt", "hello\n");
    let config = |key: &Path, ca: &Path| {
        format!(
            "[control]\nnode_id = 1\ndata_dir = \"data\"\nlisten = \"127.0.0.1:8061\"\n\
             cluster_secret = \"test-cluster-secret-0123456789\"\nrole = \"voter\"\n\
             bootstrap = {{ voters = {{ 1 = \"127.0.0.1:8061\" }} }}\n\n\
             [control.tls]\ncert = \"{}\"\nkey = \"{}\"\nca = \"{}\"\n",
            pki.cert.display(),
            key.display(),
            ca.display()
        )
    };
    let check = |text: &str| {
        let path = root.write("node.toml", text);
        let output = Command::new(GSLB)
            .args(["check-config"])
            .arg(&path)
            .output()
            .expect("run gslb check-config");
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stderr).to_string(),
        )
    };

    let (ok, stderr) = check(&config(&pki.key, &pki.ca));
    assert!(ok, "a good config was refused: {stderr}");

    let missing = root.0.join("missing.key");
    let (ok, stderr) = check(&config(&missing, &pki.ca));
    assert!(!ok);
    assert!(
        stderr.contains(&format!(
            "node.toml:11: control.tls.key: cannot read {}",
            missing.display()
        )),
        "{stderr}"
    );

    let (ok, stderr) = check(&config(&pki.other_key, &pki.ca));
    assert!(!ok);
    assert!(
        stderr.contains(&format!(
            "node.toml:11: control.tls.key: {} does not match the certificate in {}",
            pki.other_key.display(),
            pki.cert.display()
        )),
        "{stderr}"
    );

    let (ok, stderr) = check(&config(&pki.key, &not_pem));
    assert!(!ok);
    assert!(
        stderr.contains("node.toml:12: control.tls.ca: ") && stderr.contains("not-a-ca.crt"),
        "{stderr}"
    );
}

/// What does this test do: a node with `reload_interval = "1s"` serves a certificate of one
/// CA; once the cert and key files are replaced by a pair of another CA, new handshakes get
/// the new certificate without a restart (curl trusting only the new CA gets 200), and a
/// mismatched pair written later is refused while the node keeps serving the last good one; a
/// client that connects and never starts its handshake is cut after the 10 s handshake
/// timeout without holding up anyone else.
#[test]
fn a_replaced_certificate_is_served_without_a_restart() {
    let root = TempDir::new("api-tls-reload");
    let old = make_pki(&root.0.join("old"));
    let new = make_pki(&root.0.join("new"));
    let live_cert = root.0.join("live.crt");
    let live_key = root.0.join("live.key");
    std::fs::copy(&old.cert, &live_cert).unwrap();
    std::fs::copy(&old.key, &live_key).unwrap();

    eprintln!("-- phase: start with the old pair");
    let mut node = ClusterNode::prepare(&root, 1, Kind::Bootstrap, &[]);
    node.extra = format!(
        "[control.tls]\ncert = \"{}\"\nkey = \"{}\"\nca = \"{}\"\nreload_interval = \"1s\"\n",
        live_cert.display(),
        live_key.display(),
        old.ca.display()
    );
    node.spawn();
    let url = format!("https://{}/healthz", node.http);
    let trusting = |pki: &Pki| curl(&url, &["--cacert", pki.ca.to_str().unwrap()]).1;
    assert_eq!(trusting(&old), "200");
    assert_eq!(trusting(&new), "000");

    eprintln!("-- phase: replace cert and key with the new pair");
    std::fs::copy(&new.cert, &live_cert).unwrap();
    std::fs::copy(&new.key, &live_key).unwrap();
    wait_until(CONVERGE, "the new certificate to be served", || {
        trusting(&new) == "200"
    });
    assert_eq!(trusting(&old), "000");

    eprintln!("-- phase: a key of another certificate is refused, the last good pair kept");
    let refusals = || {
        node.log
            .text()
            .matches("tls certificate not reloaded")
            .count()
    };
    let before = refusals();
    std::fs::copy(&new.other_key, &live_key).unwrap();
    wait_until(CONVERGE, "the mismatched key to be refused", || {
        refusals() > before
    });
    assert!(node.log.text().contains("does not match the certificate"));
    assert_eq!(trusting(&new), "200");

    eprintln!("-- phase: a client that never sends its hello is cut, others are served");
    let mut silent = std::net::TcpStream::connect(node.http).unwrap();
    silent
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let opened = std::time::Instant::now();
    assert_eq!(
        trusting(&new),
        "200",
        "a silent client blocked the listener"
    );
    let mut byte = [0u8; 1];
    let read = std::io::Read::read(&mut silent, &mut byte);
    let held = opened.elapsed();
    assert!(
        matches!(read, Ok(0))
            || read
                .as_ref()
                .is_err_and(|error| error.kind() != std::io::ErrorKind::WouldBlock
                    && error.kind() != std::io::ErrorKind::TimedOut),
        "the silent connection was not closed: {read:?} after {held:?}"
    );
    assert!(
        held >= Duration::from_secs(9) && held < Duration::from_secs(15),
        "closed after {held:?}, want the 10 s handshake timeout"
    );
    node.stop();
}
