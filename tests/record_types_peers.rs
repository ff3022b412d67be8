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

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{dig, dns_listen_address, Server, TempDir};

/// The zone every server loads.
const ZONE: &str = include_str!("fixtures/record_types.zone");

/// A peer server process, killed on drop.
struct Peer {
    child: Child,
    address: SocketAddr,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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
    let peer = Peer { child, address };
    wait_for_soa(program, address);
    peer
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
];

/// Which peers gslb's reply must equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Agree {
    /// NSD and Knot.
    Both,
    /// Knot; NSD leaves out the SVCB/HTTPS target addresses.
    KnotOnly,
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
    let zone_path = zone_path.display();
    let root = dir.0.display();

    eprintln!("phase: start gslb, NSD and Knot on the same zone file");
    let gslb_address = dns_listen_address();
    let config = dir.write(
        "gslb.toml",
        &format!(
            "[log]\nlevel = \"info\"\n\n[dns]\nlisten = [\"{gslb_address}\"]\nudp_workers = 1\n\n\
             [dns.rrl]\nrate = 0\n\n[[zones]]\nfile = \"example.org.zone\"\norigin = \"example.org.\"\n"
        ),
    );
    let gslb = Server::spawn(TempDir::new("rtypes-gslb"), &config);
    let nsd_address = dns_listen_address();
    let nsd_config = dir.write(
        "nsd.conf",
        &format!(
            "server:\n  ip-address: {ip}@{port}\n  username: \"\"\n  chroot: \"\"\n  \
             zonesdir: {root}\n  database: \"\"\n  zonelistfile: {root}/zone.list\n  \
             pidfile: {root}/nsd.pid\n  xfrdfile: {root}/xfrd.state\n  xfrdir: {root}\n  \
             server-count: 1\n  minimal-responses: yes\n  rrl-ratelimit: 0\n\
             remote-control:\n  control-enable: no\n\
             zone:\n  name: example.org\n  zonefile: {zone_path}\n",
            ip = nsd_address.ip(),
            port = nsd_address.port(),
        ),
    );
    let nsd = start_peer(
        "nsd",
        &["-d", "-c", &nsd_config.display().to_string()],
        &dir.0,
        nsd_address,
    );
    let knot_address = dns_listen_address();
    std::fs::create_dir_all(dir.0.join("knot")).unwrap();
    let knot_config = dir.write(
        "knot.conf",
        &format!(
            "server:\n    listen: {ip}@{port}\n    rundir: {root}/knot\n\
             database:\n    storage: {root}/knot\n\
             zone:\n  - domain: example.org\n    file: {zone_path}\n    storage: {root}/knot\n",
            ip = knot_address.ip(),
            port = knot_address.port(),
        ),
    );
    let knot = start_peer(
        "knotd",
        &["-c", &knot_config.display().to_string()],
        &dir.0,
        knot_address,
    );
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
            Agree::Both | Agree::Rfc(_) => {}
        }
    }
    assert!(differences.is_empty(), "{}", differences.join("\n\n"));
}
