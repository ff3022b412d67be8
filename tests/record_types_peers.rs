//! Record types answered the way NSD and Knot answer them: one zone file
//! (`tests/fixtures/record_types.zone`: SVCB/HTTPS, NAPTR, DS at a delegation, DNSKEY/CDS/
//! CDNSKEY, DNAME, LOC, URI, RP, CERT, OPENPGPKEY, EUI48/64) served by the real `gslb serve`,
//! NSD 4 and Knot 3 side by side on loopback, each question asked of all three with `dig`,
//! and the replies (rcode, flags, section counts, every record as dig prints it) compared.
//!
//! The differences allowed, and checked as such: NSD adds no addresses for SVCB/HTTPS
//! targets, while Knot and gslb do (RFC 9460 §4 says SHOULD); and where both peers add less
//! than the RFCs ask, gslb follows the RFCs (rcode, flags, answer and authority still equal
//! to both peers', its additional section exactly the records listed): NAPTR flag "S" brings
//! the replacement's SRV and their targets' addresses, flag "A" the replacement's addresses
//! (RFC 3403 §4.1; NSD and Knot add nothing), SVCB/HTTPS ServiceMode with TargetName "." the
//! owner's addresses, AliasMode the target's set followed along the chain (RFC 9460 §4; Knot
//! adds the first link's set and addresses only, NSD nothing).
//!
//! SvcParams: every key of RFC 9460, RFC 9461 and RFC 9540, `tls-supported-groups` and
//! `keyNNNNN` forms. Knot 3.2 and NSD 4.6 know neither `dohpath`, `ohttp` nor
//! `tls-supported-groups` by name, so the shared file gives those keys in `keyNNNNN` wire
//! form and gslb's copy names them on one owner (`GSLB_FORMS`): the same wire data either
//! way. A known key in `keyNNNNN` form is its wire value for Knot and gslb, presentation text
//! for NSD 4.6; that owner is compared with Knot only. gslb's zone export prints SvcParams
//! as `kdig` prints Knot's answers (`svcb_export_prints_as_knot_does`), and a character-string
//! over 255 octets is refused by gslb as by NSD and BIND (Knot splits it):
//! `long_strings_are_refused_as_nsd_and_bind_refuse_them`. SvcParams arriving on the wire
//! in RFC 2136 updates are read and checked as zone files read them
//! (`svcb_updates_are_read_from_the_wire`).

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::cluster::{ClusterNode, Kind};
use common::dnssec_lab::{ctl, Daemon};
use common::{
    dig, dns_listen_address, kdig, query_packet, reply_header, udp_exchange, Server, TempDir,
};

/// The zone every server loads.
const ZONE: &str = include_str!("fixtures/record_types.zone");

/// Lines of `ZONE` that gslb's copy writes in their named form: the keys Knot 3.2 and NSD
/// 4.6 only take in `keyNNNNN` wire form.
const GSLB_FORMS: &[(&str, &str)] = &[(
    r#"svcnamed SVCB 5 . key7="/dns-query{?dns}" key8 key9="\000\029\000\023" port=8004 alpn=h2 no-default-alpn"#,
    r#"svcnamed SVCB 5 . dohpath=/dns-query{?dns} ohttp tls-supported-groups=29,23 port=8004 alpn=h2 no-default-alpn"#,
)];

/// gslb's copy of the zone: `ZONE` with the `GSLB_FORMS` lines named.
fn gslb_zone() -> String {
    let mut zone = ZONE.to_string();
    for (shared, named) in GSLB_FORMS {
        assert!(zone.contains(shared), "the fixture holds {shared}");
        zone = zone.replace(shared, named);
    }
    zone
}

/// A peer server process (killed on drop) and the address it answers on.
struct Peer {
    _process: Daemon,
    address: SocketAddr,
}

/// Starts `program` with `args` and waits until it answers the zone's SOA.
fn start_peer(program: &str, args: &[&str], dir: &Path, address: SocketAddr) -> Peer {
    let child = Command::new(program)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|error| {
            panic!("start {program} (Debian packages nsd and knot, see .ci/run): {error}")
        });
    let peer = Peer {
        _process: Daemon(child),
        address,
    };
    wait_for_soa(program, address);
    peer
}

/// NSD serving `zone_path` as example.org from `dir`.
fn start_nsd(dir: &TempDir, zone_path: &Path) -> Peer {
    let root = dir.0.display();
    let address = dns_listen_address();
    let config = dir.write(
        "nsd.conf",
        &format!(
            "server:\n  ip-address: {ip}@{port}\n  username: \"\"\n  chroot: \"\"\n  \
             zonesdir: {root}\n  database: \"\"\n  zonelistfile: {root}/zone.list\n  \
             pidfile: {root}/nsd.pid\n  xfrdfile: {root}/xfrd.state\n  xfrdir: {root}\n  \
             server-count: 1\n  minimal-responses: yes\n  rrl-ratelimit: 0\n\
             remote-control:\n  control-enable: no\n\
             zone:\n  name: example.org\n  zonefile: {zone}\n",
            ip = address.ip(),
            port = address.port(),
            zone = zone_path.display(),
        ),
    );
    start_peer(
        "nsd",
        &["-d", "-c", &config.display().to_string()],
        &dir.0,
        address,
    )
}

/// Knot serving `zone_path` as example.org from `dir`.
fn start_knot(dir: &TempDir, zone_path: &Path) -> Peer {
    let root = dir.0.display();
    let address = dns_listen_address();
    std::fs::create_dir_all(dir.0.join("knot")).unwrap();
    let config = dir.write(
        "knot.conf",
        &format!(
            "server:\n    listen: {ip}@{port}\n    rundir: {root}/knot\n\
             database:\n    storage: {root}/knot\n\
             zone:\n  - domain: example.org\n    file: {zone}\n    storage: {root}/knot\n",
            ip = address.ip(),
            port = address.port(),
            zone = zone_path.display(),
        ),
    );
    start_peer(
        "knotd",
        &["-c", &config.display().to_string()],
        &dir.0,
        address,
    )
}

/// Polls until `address` answers the SOA of example.org with NOERROR.
fn wait_for_soa(what: &str, address: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let reply = dig(address, &["+norec", "example.org.", "SOA"]);
        if reply.text.contains("status: NOERROR") {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what} on {address} did not answer in 30 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The reply as compared: the flags line and the sections, blanks collapsed, without the
/// parts that differ between any two servers (ID, EDNS buffer and cookie lines).
fn normalized(address: SocketAddr, name: &str, rtype: &str) -> Vec<String> {
    let reply = dig(
        address,
        &[
            "+norec",
            "+nocmd",
            "+noquestion",
            "+nostats",
            "+nocookie",
            name,
            rtype,
        ],
    );
    let mut lines = vec![format!("status: {}", reply.status())];
    let mut in_additional = false;
    for line in reply.text.lines() {
        if line.starts_with(";; ") && line.ends_with("SECTION:") {
            in_additional = line == ";; ADDITIONAL SECTION:";
        }
        let keep = line.starts_with(";; flags:")
            || line.starts_with(";; WARNING")
            || (!line.starts_with(';') && !line.trim().is_empty());
        if keep {
            let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
            // Records of the additional section are marked, so `split_additional` can
            // tell them.
            lines.push(if in_additional && !line.starts_with(";;") {
                format!("additional: {line}")
            } else {
                line
            });
        }
    }
    lines
}

/// Every question the fixture is asked, with the peers that must agree byte for byte.
const QUESTIONS: &[(&str, &str, Agree)] = &[
    ("example.org.", "HTTPS", Agree::KnotOnly),
    ("_s.example.org.", "SVCB", Agree::KnotOnly),
    (
        "self.example.org.",
        "HTTPS",
        Agree::Rfc(&["self.example.org. 300 IN A 192.0.2.10"]),
    ),
    (
        "alias1.example.org.",
        "HTTPS",
        Agree::Rfc(&[
            "alias2.example.org. 300 IN HTTPS 0 pool.example.org.",
            "pool.example.org. 300 IN HTTPS 1 . alpn=\"h2\"",
            "pool.example.org. 300 IN HTTPS 2 svc.example.org. alpn=\"h3\"",
            "pool.example.org. 300 IN A 192.0.2.20",
            "svc.example.org. 300 IN A 192.0.2.9",
            "svc.example.org. 300 IN AAAA 2001:db8::9",
        ]),
    ),
    (
        "pool.example.org.",
        "HTTPS",
        Agree::Rfc(&[
            "pool.example.org. 300 IN A 192.0.2.20",
            "svc.example.org. 300 IN A 192.0.2.9",
            "svc.example.org. 300 IN AAAA 2001:db8::9",
        ]),
    ),
    ("_t.example.org.", "SVCB", Agree::Both),
    (
        "n.example.org.",
        "NAPTR",
        Agree::Rfc(&[
            "_sip._udp.svc.example.org. 300 IN SRV 0 0 5060 svc.example.org.",
            "svc.example.org. 300 IN A 192.0.2.9",
            "svc.example.org. 300 IN AAAA 2001:db8::9",
        ]),
    ),
    (
        "na.example.org.",
        "NAPTR",
        Agree::Rfc(&[
            "svc.example.org. 300 IN A 192.0.2.9",
            "svc.example.org. 300 IN AAAA 2001:db8::9",
        ]),
    ),
    ("n2.example.org.", "NAPTR", Agree::Both),
    ("child.example.org.", "DS", Agree::Both),
    ("www.child.example.org.", "A", Agree::Both),
    ("child.example.org.", "NS", Agree::Both),
    ("other.example.org.", "DS", Agree::Both),
    ("keys.example.org.", "DNSKEY", Agree::Both),
    ("keys.example.org.", "CDNSKEY", Agree::Both),
    ("keys.example.org.", "CDS", Agree::Both),
    ("old.example.org.", "DNAME", Agree::Both),
    ("old.example.org.", "A", Agree::Both),
    ("x.old.example.org.", "A", Agree::Both),
    ("x.old.example.org.", "CNAME", Agree::Both),
    ("x.old.example.org.", "DNAME", Agree::Both),
    ("y.old.example.org.", "A", Agree::Both),
    ("a.b.away.example.org.", "AAAA", Agree::Both),
    ("loc.example.org.", "LOC", Agree::Both),
    ("uri.example.org.", "URI", Agree::Both),
    ("rp.example.org.", "RP", Agree::Both),
    ("cert.example.org.", "CERT", Agree::Both),
    ("pgp.example.org.", "OPENPGPKEY", Agree::Both),
    ("mac.example.org.", "EUI48", Agree::Both),
    ("mac.example.org.", "EUI64", Agree::Both),
    ("svcnamed.example.org.", "SVCB", Agree::Both),
    ("svcwire.example.org.", "HTTPS", Agree::Both),
    ("svczeros.example.org.", "SVCB", Agree::Both),
    ("svcgeneric.example.org.", "SVCB", Agree::Both),
    ("svcmand.example.org.", "HTTPS", Agree::Both),
    ("svcknown.example.org.", "SVCB", Agree::Knot),
    ("txt255.example.org.", "TXT", Agree::Both),
];

/// Which peers gslb's reply must equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Agree {
    /// NSD and Knot.
    Both,
    /// Knot; NSD leaves out the SVCB/HTTPS target addresses.
    KnotOnly,
    /// Knot alone: NSD 4.6 reads a known SvcParamKey written `keyNNNNN` as presentation
    /// text, Knot, BIND and gslb as the wire value (RFC 9460 §2.1).
    Knot,
    /// Both but for the additional section, where gslb adds what the RFCs ask and the peers
    /// do not: exactly these records.
    Rfc(&'static [&'static str]),
}

/// The reply as `normalized` gives it, split: everything but the additional section (the
/// flags line without its ADDITIONAL count), and the additional section's records.
fn split_additional(lines: &[String]) -> (Vec<String>, Vec<String>) {
    let mut main = Vec::new();
    let mut additional = Vec::new();
    for line in lines {
        if let Some(flags) = line.strip_prefix(";; flags:") {
            let without = flags.split(", ADDITIONAL").next().unwrap_or(flags);
            main.push(format!(";; flags:{without}"));
        } else if let Some(record) = line.strip_prefix("additional: ") {
            additional.push(record.to_string());
        } else {
            main.push(line.clone());
        }
    }
    (main, additional)
}

/// gslb, NSD and Knot serve one zone file of every new type; each question gets the same
/// reply from gslb as from Knot, and from NSD too except the SVCB/HTTPS additional section.
#[test]
fn record_types_answer_like_nsd_and_knot() {
    let dir = TempDir::new("rtypes-peers");
    let zone_path = dir.write("example.org.zone", ZONE);

    eprintln!("phase: start gslb, NSD and Knot on the same zone file");
    dir.write("gslb-example.org.zone", &gslb_zone());
    let gslb_address = dns_listen_address();
    let config = dir.write(
        "gslb.toml",
        &format!(
            "[log]\nlevel = \"info\"\n\n[dns]\nlisten = [\"{gslb_address}\"]\nudp_workers = 1\n\n\
             [dns.rrl]\nrate = 0\n\n[[zones]]\nfile = \"gslb-example.org.zone\"\norigin = \"example.org.\"\n"
        ),
    );
    let gslb = Server::spawn(TempDir::new("rtypes-gslb"), &config);
    let nsd = start_nsd(&dir, &zone_path);
    let knot = start_knot(&dir, &zone_path);
    wait_for_soa("gslb", gslb.address);

    eprintln!("phase: ask each question of all three");
    let mut differences = Vec::new();
    for (name, rtype, agree) in QUESTIONS {
        let ours = normalized(gslb.address, name, rtype);
        let from_knot = normalized(knot.address, name, rtype);
        let from_nsd = normalized(nsd.address, name, rtype);
        if let Agree::Rfc(expected) = agree {
            let (our_main, our_additional) = split_additional(&ours);
            for (peer, theirs) in [("knot", &from_knot), ("nsd", &from_nsd)] {
                let (their_main, _) = split_additional(theirs);
                if our_main != their_main {
                    differences.push(format!(
                        "{name} {rtype} but additional: gslb {our_main:#?}\n{peer} {their_main:#?}"
                    ));
                }
            }
            if our_additional != *expected {
                differences.push(format!(
                    "{name} {rtype} additional: gslb {our_additional:#?}\nRFC {expected:#?}"
                ));
            }
            continue;
        }
        if ours != from_knot {
            differences.push(format!(
                "{name} {rtype}: gslb {ours:#?}\nknot {from_knot:#?}"
            ));
        }
        match agree {
            Agree::Both if ours != from_nsd => {
                differences.push(format!("{name} {rtype}: gslb {ours:#?}\nnsd {from_nsd:#?}"))
            }
            Agree::KnotOnly => {
                // NSD's reply is gslb's without the target addresses.
                let answer_only: Vec<&String> =
                    ours.iter().filter(|line| line.contains(rtype)).collect();
                let nsd_records: Vec<&String> = from_nsd
                    .iter()
                    .filter(|line| line.contains(rtype))
                    .collect();
                if answer_only != nsd_records {
                    differences.push(format!(
                        "{name} {rtype} answer: gslb {answer_only:#?}\nnsd {nsd_records:#?}"
                    ));
                }
            }
            Agree::Both | Agree::Knot | Agree::Rfc(_) => {}
        }
    }
    assert!(differences.is_empty(), "{}", differences.join("\n\n"));
}

/// Knot 3.2 prints the keys it has no name for in `keyNNNNN` form; the names gslb (and
/// PowerDNS, and later Knot) print for the fixture's values.
const KNOT_UNNAMED_KEYS: &[(&str, &str)] = &[
    (" key7=", " dohpath="),
    (" key8", " ohttp"),
    (
        " key9=\"\\000\\029\\000\\023\"",
        " tls-supported-groups=29,23",
    ),
];

/// The first `n` blank-separated fields of `text` and the rest, trimmed.
fn fields(text: &str, n: usize) -> (Vec<&str>, &str) {
    let mut rest = text;
    let mut taken = Vec::new();
    for _ in 0..n {
        rest = rest.trim_start();
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        taken.push(&rest[..end]);
        rest = &rest[end..];
    }
    (taken, rest.trim())
}

/// A name of the zone file export written absolute (`@`, `svc` and `.` as Knot prints them).
fn absolute(name: &str) -> String {
    match name {
        "@" => "example.org.".to_string(),
        _ if name.ends_with('.') => name.to_string(),
        _ => format!("{name}.example.org."),
    }
}

/// Every SVCB and HTTPS record of a zone file export: owner, type and data, names absolute.
fn service_bindings(export: &str) -> Vec<(String, String, String)> {
    let mut records = Vec::new();
    let mut owner = String::new();
    for line in export.lines() {
        let trimmed = line.trim_start();
        if line.starts_with('$') || trimmed.starts_with(';') || trimmed.is_empty() {
            continue;
        }
        let mut rest = trimmed;
        if !line.starts_with(char::is_whitespace) {
            let (first, after) = fields(line, 1);
            owner = first[0].to_string();
            rest = after;
        }
        let (head, data) = fields(rest, 3);
        if head.len() < 3 || head[1] != "IN" || !["SVCB", "HTTPS"].contains(&head[2]) {
            continue;
        }
        let (priority_and_target, params) = fields(data, 2);
        let printed = format!(
            "{} {} {params}",
            priority_and_target[0],
            absolute(priority_and_target[1])
        );
        records.push((
            absolute(&owner),
            head[2].to_string(),
            printed.trim().to_string(),
        ));
    }
    records
}

/// `gslbctl zone import` of the fixture and `gslbctl zone export`: every SVCB and HTTPS
/// record comes out as `kdig` prints Knot's answer for the same file (canonical key order,
/// quoting and escapes), the keys Knot 3.2 cannot name apart.
#[test]
fn svcb_export_prints_as_knot_does() {
    let dir = TempDir::new("rtypes-export");
    let zone_path = dir.write("example.org.zone", ZONE);
    let knot = start_knot(&dir, &zone_path);

    eprintln!("phase: import gslb's copy through the API, export it");
    let mut node = ClusterNode::prepare(&dir, 1, Kind::Bootstrap, &[]);
    node.spawn_until_http();
    let api = format!("http://{}", node.http);
    let gslb_path = dir.write("gslb-example.org.zone", &gslb_zone());
    let gslb_path = gslb_path.display().to_string();
    ctl(
        &api,
        &["zone", "import", &gslb_path, "--zone", "example.org."],
    );
    let export = ctl(&api, &["zone", "export", "example.org."]);
    let records = service_bindings(&export);
    assert!(
        records.len() >= 12,
        "the export holds the fixture's SVCB and HTTPS records:\n{export}"
    );

    eprintln!("phase: compare each with kdig's print of Knot's answer");
    let mut differences = Vec::new();
    let mut owners: Vec<(&String, &String)> = records
        .iter()
        .map(|(owner, rtype, _)| (owner, rtype))
        .collect();
    owners.dedup();
    for (owner, rtype) in owners {
        let mut ours: Vec<&str> = records
            .iter()
            .filter(|(o, t, _)| o == owner && t == rtype)
            .map(|(_, _, data)| data.as_str())
            .collect();
        let reply = kdig(knot.address, &["+short", owner, rtype]);
        let mut knots: Vec<String> = reply
            .text
            .lines()
            .filter(|line| !line.trim().is_empty() && !line.starts_with(';'))
            .map(|line| {
                KNOT_UNNAMED_KEYS
                    .iter()
                    .fold(line.trim().to_string(), |text, (unnamed, named)| {
                        text.replace(unnamed, named)
                    })
            })
            .collect();
        ours.sort_unstable();
        knots.sort_unstable();
        if ours != knots {
            differences.push(format!("{owner} {rtype}: gslb {ours:#?}\nknot {knots:#?}"));
        }
    }
    assert!(differences.is_empty(), "{}", differences.join("\n\n"));
}

/// A character-string over 255 octets (RFC 1035 §3.3): gslb refuses it, in a zone file
/// and through the API, as `nsd-checkzone` and `named-checkzone` refuse the same file (Knot
/// and PowerDNS split it instead); the error names the line and says how to split it.
#[test]
fn long_strings_are_refused_as_nsd_and_bind_refuse_them() {
    let dir = TempDir::new("rtypes-long");
    let head: String = ZONE
        .lines()
        .take(5)
        .map(|line| format!("{line}\n"))
        .collect();
    let long = "x".repeat(256);
    let zone_path = dir.write("example.org.zone", &format!("{head}long TXT \"{long}\"\n"));
    let zone = zone_path.display().to_string();

    eprintln!("phase: the peers' zone checkers");
    for (checker, args) in [
        ("nsd-checkzone", ["example.org", zone.as_str()]),
        ("named-checkzone", ["example.org", zone.as_str()]),
    ] {
        let output = Command::new(checker)
            .args(args)
            .output()
            .unwrap_or_else(|error| panic!("run {checker} (Debian nsd, bind9-utils): {error}"));
        assert!(
            !output.status.success(),
            "{checker} took a 256-octet string: {}",
            common::output_text(&output)
        );
    }

    eprintln!("phase: gslb check-config on the same file");
    let config = dir.write(
        "gslb.toml",
        "[dns]\nlisten = [\"127.0.0.1:0\"]\n\n[[zones]]\nfile = \"example.org.zone\"\norigin = \"example.org.\"\n",
    );
    let output = Command::new(common::GSLB)
        .arg("check-config")
        .arg(&config)
        .output()
        .unwrap();
    let text = common::output_text(&output);
    assert!(
        !output.status.success(),
        "gslb check-config took it: {text}"
    );
    for wanted in [
        "example.org.zone:6",
        "TXT text is 256 octets",
        "at most 255",
        "split it into several quoted strings",
    ] {
        assert!(text.contains(wanted), "{wanted:?} in {text}");
    }

    eprintln!("phase: the API refuses it too, quoted or not, naming the field");
    let mut node = ClusterNode::prepare(&dir, 1, Kind::Bootstrap, &[]);
    node.spawn_until_http();
    let api = format!("http://{}", node.http);
    let ok_path = dir.write("ok.zone", &head);
    ctl(
        &api,
        &[
            "zone",
            "import",
            &ok_path.display().to_string(),
            "--zone",
            "example.org.",
        ],
    );
    for data in [long.clone(), format!("\\\"{long}\\\"")] {
        let apply = dir.write(
            "long.yaml",
            &format!(
                "records:\n  - zone: example.org.\n    name: long\n    type: TXT\n    data: [\"{data}\"]\n"
            ),
        );
        let output =
            common::dnssec_lab::ctl_output(&api, &["apply", "-f", &apply.display().to_string()]);
        let text = common::output_text(&output);
        assert!(!output.status.success(), "the API took {data:?}: {text}");
        for wanted in ["data[0]", "TXT text is 256 octets", "at most 255"] {
            assert!(text.contains(wanted), "{wanted:?} in {text}");
        }
    }
}

/// An RFC 2136 UPDATE for zone example.org adding one SVCB record at `owner` with the wire
/// RDATA `rdata` (unsigned; the zone allows loopback).
fn svcb_update(id: u16, owner: &str, rdata: &[u8]) -> Vec<u8> {
    // Opcode UPDATE (5); the question is the zone section.
    let mut packet = query_packet(id, 5 << 11, "example.org.", 6, 1);
    packet[9] = 1; // UPCOUNT
    for label in owner.trim_end_matches('.').split('.') {
        packet.push(label.len() as u8);
        packet.extend_from_slice(label.as_bytes());
    }
    packet.push(0);
    packet.extend_from_slice(&64u16.to_be_bytes());
    packet.extend_from_slice(&1u16.to_be_bytes());
    packet.extend_from_slice(&300u32.to_be_bytes());
    packet.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    packet.extend_from_slice(rdata);
    packet
}

/// SVCB data in RFC 2136 updates, which reach the model as wire data: `nsupdate` sends keys
/// 7-9 in `keyNNNNN` form (BIND 9.18 does not name them) and the zone exports them by name;
/// crafted updates with keys repeated or out of order are FORMERR, with a malformed value
/// or `mandatory` listing itself REFUSED, none applied, and the server keeps answering.
#[test]
fn svcb_updates_are_read_from_the_wire() {
    let dir = TempDir::new("rtypes-update");
    let mut node = ClusterNode::prepare(&dir, 1, Kind::Bootstrap, &[]);
    let dns = dns_listen_address();
    node.dns = Some(dns);
    node.dns_extra = "[dns.rrl]\nrate = 0\n".to_string();
    node.spawn_until_http();
    let api = format!("http://{}", node.http);
    let head: String = ZONE
        .lines()
        .take(5)
        .map(|line| format!("{line}\n"))
        .collect();
    let zone_path = dir.write("example.org.zone", &head).display().to_string();
    ctl(
        &api,
        &["zone", "import", &zone_path, "--zone", "example.org."],
    );
    ctl(
        &api,
        &[
            "zone",
            "allow-unsigned-updates",
            "example.org.",
            "127.0.0.0/8",
        ],
    );

    eprintln!("phase: nsupdate adds SVCB with keys 7-9 in keyNNNNN form");
    let script = format!(
        "server {} {}\nzone example.org\nupdate add s1.example.org 300 SVCB 1 . alpn=h2 \
         key8 key9=\"\\000\\029\\000\\023\" key7=\"/dns-query{{?dns}}\"\nsend\n",
        dns.ip(),
        dns.port()
    );
    let mut child = Command::new("nsupdate")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run nsupdate (Debian bind9-dnsutils)");
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), script.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "nsupdate: {}",
        common::output_text(&output)
    );

    eprintln!("phase: crafted updates with bad SvcParams");
    let header = |params: &str| {
        let mut rdata = vec![0, 1, 0];
        rdata.extend(hex::decode(params.replace(' ', "")).unwrap());
        rdata
    };
    for (index, (owner, params, rcode)) in [
        ("s2.example.org", "0003 0002 01bb 0003 0002 01bb", 1),
        ("s3.example.org", "0009 0002 001d 0003 0002 01bb", 1),
        ("s4.example.org", "0008 0001 1d", 5),
        ("s5.example.org", "0000 0002 0000", 5),
        ("s6.example.org", "0009 0003 001d00", 5),
    ]
    .into_iter()
    .enumerate()
    {
        let update = svcb_update(0x4000 + index as u16, owner, &header(params));
        let reply = udp_exchange(dns, &update, Duration::from_secs(10))
            .unwrap_or_else(|| panic!("no reply to the update of {owner}"));
        assert_eq!(reply_header(&reply).rcode, rcode, "{owner} {params}");
    }
    assert!(dig(dns, &["example.org.", "SOA"])
        .text
        .contains("status: NOERROR"));

    eprintln!("phase: the export holds the nsupdate record by name, none of the others");
    let export = ctl(&api, &["zone", "export", "example.org."]);
    assert_eq!(
        service_bindings(&export),
        [(
            "s1.example.org.".to_string(),
            "SVCB".to_string(),
            "1 . alpn=h2 dohpath=\"/dns-query{?dns}\" ohttp tls-supported-groups=29,23".to_string()
        )],
        "{export}"
    );
}
