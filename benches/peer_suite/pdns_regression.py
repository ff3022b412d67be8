#!/usr/bin/env python3
"""PowerDNS's authoritative regression suite run against gslb, NSD and Knot (issue 18).

The suite is PowerDNS's (GPL, theirs): this script only drives it. Give it the path of a
pdns checkout or `git archive HEAD regression-tests` extract; it copies
`regression-tests/` into a scratch directory, loads the zones listed in its `named.conf`
into each server on a loopback port, runs every test that applies to a plain
authoritative server (each test's own `command`, with the suite's `cleandig` reduced to
its `sdig | sort` part, as `runtests` does for the `bind` context without DNSSEC), diffs
the output against `expected_result.bind` or `expected_result` exactly as `runtests`
does, and prints per server passed/failed plus the tests gslb fails that NSD or Knot
passes.

    python3 benches/peer_suite/pdns_regression.py /path/to/pdns \
        [--gslb target/debug/gslb] [--servers gslb,nsd,knot] [--only TEST ...] [--diffs]

Needs `sdig` (Debian `pdns-tools`), `nsd`, `knotd`. A bench, not part of CI.
"""

import argparse
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

ADDR = "127.0.0.1"
PORTS = {"gslb": 15400, "nsd": 15401, "knot": 15402}

# The suite's own skip markers for the context we reproduce: PowerDNS's bind backend
# without DNSSEC (`start-test-stop PORT bind`: skipreasons "nodnssec nodyndns nometa
# noalias", plus "nolua" without a LUA build, and backend "bind").
SKIP_MARKERS = ["skip", "skip.nodnssec", "skip.nodyndns", "skip.nometa", "skip.noalias",
                "skip.nolua", "skip.bind"]

# Tests left out beyond the suite's own markers, each with why it does not apply to a
# plain authoritative server loaded from zone files.
EXCLUDED = {
    "bind-add-zone": "adds a zone at run time through pdns_control (PowerDNS control socket)",
    "pdnsutil-increase-serial": "pdnsutil, PowerDNS's zone tool",
    "pdnsutil-increase-serial-inception-epoch": "pdnsutil, PowerDNS's zone tool",
    "pdnsutil-zone-handling": "pdnsutil, PowerDNS's zone tool",
    "views": "PowerDNS views (pdnsutil view management, per-network zone variants)",
    "views-management": "PowerDNS views managed through pdnsutil",
    "zone-variants": "PowerDNS zone variants managed through pdnsutil",
    "verify-dnssec-zone": "validates signed zones with external tools; zones are unsigned here",
    "tkey-awareness": "TKEY (RFC 2930) through PowerDNS's tkey.py; none of the servers offers it",
    "tsig-axfr": "TSIG key from PowerDNS metadata (pdnsutil import-tsig-key)",
    "tsig-axfr-algorithm-mismatch": "TSIG key from PowerDNS metadata",
    "tsig-axfr-key-mismatch": "TSIG key from PowerDNS metadata",
    "tsig-ixfr": "TSIG key from PowerDNS metadata",
    "tsig-ixfr-algorithm-mismatch": "TSIG key from PowerDNS metadata",
    "tsig-ixfr-key-mismatch": "TSIG key from PowerDNS metadata",
    "5dyndns-restore-zone": "restores PowerDNS's database after its dyndns tests",
}

# `cleandig` without the validator side runs (drill, nsec3dig, q, unbound-host) whose
# output `runtests` never compares for these tests.
CLEANDIG = """#!/bin/sh
if [ "$2" != "AXFR" ]
then
\t$SDIG $nameserver $port "$1" $2 $3 $4 $5 $6 $7 $8 $9 | LC_ALL=C sort
else
\t$SAXFR $nameserver $port "$1" $3 $4 | LC_ALL=C sort
fi
"""


def zones_of(suite):
    """(origin, file name) of every zone in the suite's named.conf."""
    text = open(os.path.join(suite, "named.conf")).read()
    return re.findall(r'zone\s+"([^"]+)"\s*\{[^}]*?file\s+"([^"]+)"', text, re.S)


def applicable_tests(suite):
    tests, skipped = [], {}
    for name in sorted(os.listdir(os.path.join(suite, "tests"))):
        d = os.path.join(suite, "tests", name)
        if not os.access(os.path.join(d, "command"), os.X_OK):
            continue
        marker = next((m for m in SKIP_MARKERS if os.path.exists(os.path.join(d, m))), None)
        if marker:
            skipped[name] = "suite marker " + marker
        elif name in EXCLUDED:
            skipped[name] = EXCLUDED[name]
        else:
            tests.append(name)
    return tests, skipped


def soa_query(origin):
    qname = b"".join(bytes([len(l)]) + l.encode() for l in origin.strip(".").split(".")) + b"\0"
    return struct.pack(">HHHHHH", 0x4242, 0, 1, 0, 0, 0) + qname + struct.pack(">HH", 6, 1)


def answers_soa(port, origin):
    """True once the server answers `origin SOA` authoritatively with NOERROR."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.5)
        try:
            s.sendto(soa_query(origin), (ADDR, port))
            reply = s.recv(4096)
        except OSError:
            return False
    return len(reply) > 12 and reply[3] & 0x0F == 0 and reply[2] & 0x04 != 0


def config_gslb(d, zones, port):
    text = "[dns]\nlisten = [\"%s:%d\"]\nudp_workers = 1\n" % (ADDR, port)
    text += "\n[dns.rrl]\nrate = 0\n"
    for origin, path in zones:
        text += '\n[[zones]]\nfile = "%s"\norigin = "%s"\n' % (path, origin)
    with open(d + "/gslb.toml", "w") as f:
        f.write(text)
    return d + "/gslb.toml"


def start_gslb(exe, d, zones, port):
    """gslb standalone over the zone files; a zone it still refuses is left out (its tests
    then fail) so the others can be tested."""
    loadable = [(o, p) for o, p in zones
                if subprocess.run([exe, "check-config", config_gslb(d, [(o, p)], port)],
                                  capture_output=True).returncode == 0]
    cfg = config_gslb(d, loadable, port)
    log = open(d + "/gslb.log", "w")
    return subprocess.Popen([exe, "serve", "--config", cfg], stdout=log, stderr=log,
                            start_new_session=True)


def start_nsd(_exe, d, zones, port):
    text = """server:
    ip-address: {a}@{p}
    do-ip6: no
    server-count: 1
    username: ""
    chroot: ""
    zonesdir: "{d}"
    database: ""
    pidfile: "{d}/nsd.pid"
    xfrdfile: "{d}/xfrd.state"
    zonelistfile: "{d}/zone.list"
    logfile: "{d}/nsd.log"
    verbosity: 1
    rrl-ratelimit: 0
    minimal-responses: yes
remote-control:
    control-enable: no
""".format(a=ADDR, p=port, d=d)
    for origin, path in zones:
        text += 'zone:\n    name: "%s"\n    zonefile: "%s"\n' % (origin, path)
    with open(d + "/nsd.conf", "w") as f:
        f.write(text)
    log = open(d + "/nsd.out", "w")
    exe = shutil.which("nsd") or "/usr/sbin/nsd"
    return subprocess.Popen([exe, "-d", "-c", d + "/nsd.conf"], stdout=log, stderr=log,
                            start_new_session=True)


def start_knot(_exe, d, zones, port, launch=True):
    os.makedirs(d + "/db", exist_ok=True)
    text = """server:
    rundir: "{d}"
    listen: {a}@{p}
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
log:
  - target: stderr
    any: warning
database:
    storage: "{d}/db"
template:
  - id: default
    storage: "{d}"
    semantic-checks: off
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
zone:
""".format(a=ADDR, p=port, d=d)
    for origin, path in zones:
        text += '  - domain: "%s"\n    file: "%s"\n' % (origin, path)
    with open(d + "/knot.conf", "w") as f:
        f.write(text)
    if not launch:
        return None
    log = open(d + "/knot.log", "w")
    exe = shutil.which("knotd") or "/usr/sbin/knotd"
    return subprocess.Popen([exe, "-c", d + "/knot.conf"], stdout=log, stderr=log,
                            start_new_session=True)


def stop(proc):
    """Ends a server this script started (its own process group)."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


STARTERS = {"gslb": start_gslb, "nsd": start_nsd, "knot": start_knot}


def bad_lines_nsd(_exe, _d, origin, path):
    r = subprocess.run(["nsd-checkzone", origin, path], capture_output=True, text=True)
    return {int(n) for n in re.findall(r"error: [^\n]*?:(\d+): ", r.stdout + r.stderr)}, r


def bad_lines_knot(_exe, d, origin, path):
    start_knot(None, d, [(origin, path)], PORTS["knot"], launch=False)
    r = subprocess.run(["knotc", "-c", d + "/knot.conf", "zone-check", origin],
                       capture_output=True, text=True)
    out = r.stdout + r.stderr
    lines = {int(n) for n in re.findall(r"error: .*?, line (\d+) ", out)}
    # Knot's semantic check names the node, not the line: drop that node's CNAME, as NSD
    # drops the CNAME line in the same case.
    for node in re.findall(r"node (\S+)\., another record exists beside CNAME", out):
        relative = re.escape(node[:-len(origin) - 1] if node.endswith("." + origin) else node)
        owner = re.compile(r"^(%s|%s\.)\s.*\bCNAME\b" % (relative, re.escape(node)), re.I)
        lines |= {n for n, text in enumerate(open(path), 1) if owner.match(text)}
    return lines, r


def bad_lines_gslb(exe, d, origin, path):
    cfg = config_gslb(d, [(origin, path)], PORTS["gslb"])
    r = subprocess.run([exe, "check-config", cfg], capture_output=True, text=True)
    text = (r.stdout + r.stderr).replace(path, "ZONEFILE")
    return {int(n) for n in re.findall(r"ZONEFILE:(\d+)", text)}, r


CHECKERS = {"gslb": bad_lines_gslb, "nsd": bad_lines_nsd, "knot": bad_lines_knot}


def drop_broken_records(server, exe, d, zones):
    """Each server's own copy of the zones with the records it cannot load commented out,
    as the suite's PowerDNS runs with `bind-ignore-broken-records=yes`: one bad record then
    costs the tests that use it, not every test of its zone. Returns the copies and
    {origin: [dropped line numbers, or a reason when the zone still does not load]}."""
    zdir = os.path.join(d, "zones")
    os.makedirs(zdir, exist_ok=True)
    copies, dropped = [], {}
    for origin, path in zones:
        copy = os.path.join(zdir, os.path.basename(path))
        shutil.copy(path, copy)
        for _ in range(10):
            lines, result = CHECKERS[server](exe, d, origin, copy)
            if not lines:
                if result.returncode != 0:
                    out = (result.stderr or result.stdout).strip().splitlines()
                    dropped.setdefault(origin, []).append("not loaded: " + (out[-1] if out else "?"))
                break
            text = open(copy).read().split("\n")
            for n in lines:
                text[n - 1] = "; dropped by pdns_regression.py: " + text[n - 1]
                dropped.setdefault(origin, []).append(n)
            with open(copy, "w") as f:
                f.write("\n".join(text))
        copies.append((origin, copy))
    return copies, dropped


def run_tests(suite, tests, port, out_dir, env_base):
    """{test: (passed, diff text)} with the suite's comparison: `diff -u` (plus `-i` when
    the test ships expected_result.i) against expected_result.bind, else expected_result."""
    results = {}
    env = dict(env_base, port=str(port), nameserver=ADDR, context="bind", backend="bind",
               testsdir="./tests", skipreasons=" ".join(m[5:] for m in SKIP_MARKERS[1:]))
    for name in tests:
        d = os.path.join(suite, "tests", name)
        env["testname"] = name
        try:
            real = subprocess.run([d + "/command"], cwd=suite, env=env, capture_output=True,
                                  timeout=60).stdout
        except subprocess.TimeoutExpired:
            real = b"harness: command timed out after 60 s\n"
        real_path = os.path.join(out_dir, name + ".real")
        with open(real_path, "wb") as f:
            f.write(real)
        expected, opts = os.path.join(d, "expected_result"), ["-u"]
        if os.path.exists(expected + ".i"):
            expected, opts = expected + ".i", ["-u", "-i"]
        if os.path.exists(os.path.join(d, "expected_result.bind")):
            expected = os.path.join(d, "expected_result.bind")
        diff = subprocess.run(["diff"] + opts + [expected, real_path], capture_output=True,
                              text=True, errors="replace").stdout
        results[name] = (diff == "", diff)
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("pdns", help="pdns checkout, bare clone, or extract holding regression-tests/")
    ap.add_argument("--gslb", default="target/debug/gslb", help="gslb binary")
    ap.add_argument("--servers", default="gslb,nsd,knot")
    ap.add_argument("--only", nargs="*", help="run only these tests")
    ap.add_argument("--diffs", action="store_true", help="print gslb's diff for each failure")
    ap.add_argument("--keep", help="scratch directory to use and keep (default: a temp dir)")
    args = ap.parse_args()

    for tool in ("sdig", "saxfr"):
        if not shutil.which(tool):
            sys.exit("%s not found: apt-get install pdns-tools" % tool)
    work = args.keep or tempfile.mkdtemp(prefix="pdns-regression-")
    os.makedirs(work, exist_ok=True)
    suite = os.path.join(work, "regression-tests")
    shutil.rmtree(suite, ignore_errors=True)
    src = os.path.join(args.pdns, "regression-tests")
    if os.path.isdir(src):
        shutil.copytree(src, suite, symlinks=True)
    else:  # a bare clone (or any git dir): take HEAD's regression-tests
        archive = subprocess.run(["git", "-C", args.pdns, "archive", "HEAD", "regression-tests"],
                                 capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", work], input=archive, check=True)
    bindir = os.path.join(work, "bin")
    os.makedirs(bindir, exist_ok=True)
    for path in (os.path.join(bindir, "cleandig"), os.path.join(suite, "cleandig")):
        with open(path, "w") as f:
            f.write(CLEANDIG)
        os.chmod(path, 0o755)
    # The dyndns zones ship as *.orig (start-test-stop copies them into place).
    for name in os.listdir(os.path.join(suite, "zones")):
        if name.endswith(".orig"):
            shutil.copy(os.path.join(suite, "zones", name),
                        os.path.join(suite, "zones", name[:-5]))
    zones = [(o, os.path.join(suite, "zones", f)) for o, f in zones_of(suite)]
    tests, skipped = applicable_tests(suite)
    if args.only:
        tests = [t for t in tests if t in args.only]
    env_base = dict(os.environ, PATH=bindir + ":" + os.environ["PATH"] + ":/usr/sbin",
                    SDIG="timeout 5 sdig", SAXFR="timeout 30 saxfr")
    gslb_exe = os.path.abspath(args.gslb)

    all_results, refused_zones = {}, {}
    for server in args.servers.split(","):
        d = os.path.join(work, server)
        os.makedirs(d, exist_ok=True)
        out_dir = os.path.join(d, "results")
        os.makedirs(out_dir, exist_ok=True)
        port = PORTS[server]
        own_zones, refused_zones[server] = drop_broken_records(server, gslb_exe, d, zones)
        proc = STARTERS[server](gslb_exe, d, own_zones, port)
        try:
            deadline = time.monotonic() + 120
            while not answers_soa(port, "example.com"):
                if proc.poll() is not None or time.monotonic() > deadline:
                    sys.exit("%s did not come up; see %s" % (server, d))
                time.sleep(0.2)
            all_results[server] = run_tests(suite, tests, port, out_dir, env_base)
        finally:
            stop(proc)

    commit = subprocess.run(["git", "-C", args.pdns, "rev-parse", "HEAD"], capture_output=True,
                            text=True).stdout.strip() or "unknown (not a git checkout)"
    print("PowerDNS regression suite, commit %s: %d tests applicable, %d left out"
          % (commit, len(tests), len(skipped)))
    print()
    print("| server | passed | failed |")
    print("|---|---|---|")
    for server, res in all_results.items():
        ok = sum(1 for p, _ in res.values() if p)
        print("| %s | %d | %d |" % (server, ok, len(res) - ok))
    print("\nRecords each server could not load (zone: zone-file lines dropped):")
    for server, refused in refused_zones.items():
        print("  %s: %s" % (server, "; ".join("%s %s" % (o, ",".join(map(str, why)))
                                             for o, why in refused.items()) or "none"))
    if "gslb" in all_results:
        g = all_results["gslb"]
        peers = [s for s in all_results if s != "gslb"]
        print("\nTests gslb fails:")
        for name in tests:
            if g[name][0]:
                continue
            passing = [s for s in peers if all_results[s][name][0]]
            print("  %-50s %s" % (name, ("passed by " + ",".join(passing)) if passing
                                   else "failed by every peer too"))
            if args.diffs:
                print("    " + g[name][1].replace("\n", "\n    "))
    for server in all_results:
        if server == "gslb":
            continue
        fails = [n for n, (p, _) in all_results[server].items() if not p]
        print("\n%s fails: %s" % (server, " ".join(fails) or "none"))
    print("\nScratch directory (outputs per server in */results): " + work)


if __name__ == "__main__":
    main()
