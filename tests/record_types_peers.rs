//! Record types answered the way NSD and Knot answer them: one zone file
//! (`tests/fixtures/record_types.zone`: SVCB/HTTPS, NAPTR, DS at a delegation, DNSKEY/CDS/
//! CDNSKEY, DNAME, LOC, URI, RP, CERT, OPENPGPKEY, EUI48/64) served by the real `gslb serve`,
//! NSD 4 and Knot 3 side by side on loopback, each question asked of all three with `dig`,
//! and the replies (rcode, flags, section counts, every record as dig prints it) compared.
//!
//! The one difference allowed, and checked as such: NSD adds no addresses for SVCB/HTTPS
//! targets, while Knot and gslb do (RFC 9460 §4 says SHOULD).

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
    for line in reply.text.lines() {
        let keep = line.starts_with(";; flags:")
            || line.starts_with(";; WARNING")
            || (!line.starts_with(';') && !line.trim().is_empty());
        if keep {
            lines.push(line.split_whitespace().collect::<Vec<_>>().join(" "));
        }
    }
    lines
}

/// Every question the fixture is asked, with the peers that must agree byte for byte.
const QUESTIONS: &[(&str, &str, Agree)] = &[
    ("example.org.", "HTTPS", Agree::KnotOnly),
    ("_s.example.org.", "SVCB", Agree::KnotOnly),
    ("self.example.org.", "HTTPS", Agree::Both),
    ("_t.example.org.", "SVCB", Agree::Both),
    ("n.example.org.", "NAPTR", Agree::Both),
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
            Agree::Both => {}
        }
    }
    assert!(differences.is_empty(), "{}", differences.join("\n\n"));
}
