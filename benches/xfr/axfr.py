#!/usr/bin/env python3
"""AXFR benchmark: gslb against Knot serving the same 100,000-record zone, same run.

    cargo build --release -p gslb                  # the gslb under test
    benches/xfr/axfr.py                            # 100,000 records, 9 transfers each
    benches/xfr/axfr.py --records 20000 --rounds 5

Both servers run on 127.0.0.1 (gslb as a one-voter control plane that answers DNS, the zone
imported from the same file Knot loads), pinned to CPU 0 when taskset exists. Each round is
one full AXFR read by a small client (the messages are read and their records counted, not
printed), the two servers taking turns round by round (so load from elsewhere falls on both
alike); reported per server: median wall time of a transfer, mean server CPU time per
transfer (utime + stime of the server process over all rounds, from /proc), records and
messages, and the ratio gslb / Knot. Every process started is killed at exit.
"""

import argparse
import os
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request
import http.client

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TOKEN = "bench-api-token-0123456789"
SECRET = "bench-cluster-secret-0123456789"
ZONE = "bench.test."
CHILDREN = []


def free_port():
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u, socket.socket() as t:
            try:
                u.bind(("127.0.0.1", 0))
                port = u.getsockname()[1]
                t.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise SystemExit("no free port")


def write_zone(path, records):
    with open(path, "w") as f:
        f.write(f"$ORIGIN {ZONE}\n$TTL 300\n")
        f.write("@ 3600 IN SOA ns1 hostmaster 1 3600 600 86400 300\n")
        f.write("@ 3600 IN NS ns1\nns1 IN A 127.0.0.1\n")
        for n in range(records - 3):
            kind = n % 4
            if kind == 0:
                f.write(f"host-{n} IN A 10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}\n")
            elif kind == 1:
                # Two 16-bit groups: past 65,535 one group would not be an IPv6 address.
                f.write(f"host-{n} IN AAAA 2001:db8::{n >> 16:x}:{n & 0xffff:x}\n")
            elif kind == 2:
                f.write(f"txt-{n} IN TXT \"record number {n}\"\n")
            else:
                f.write(f"mx-{n} IN MX 10 mail-{n}.example.net.\n")


def spawn(args, log):
    pinned = ["taskset", "-c", "0"] + args if shutil.which("taskset") else args
    child = subprocess.Popen(pinned, stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                             start_new_session=True)
    CHILDREN.append(child)
    return child


def cleanup(*_):
    """Kills every process started; as a signal handler, exits too."""
    for child in CHILDREN:
        try:
            os.killpg(child.pid, signal.SIGKILL)
        except OSError:
            pass
    CHILDREN.clear()
    if _:
        sys.exit(1)


def cpu_seconds(pid):
    """utime + stime of `pid` and its threads, seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def server_pid(child):
    """The server process (below taskset, which execs, the pid is the same)."""
    return child.pid


def axfr(port):
    """One AXFR over TCP: (records, messages); raises on an error RCODE."""
    qname = b"".join(bytes([len(l)]) + l.encode() for l in ZONE.rstrip(".").split(".")) + b"\0"
    query = struct.pack(">HHHHHH", 0x1234, 0, 1, 0, 0, 0) + qname + struct.pack(">HH", 252, 1)
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(struct.pack(">H", len(query)) + query)
        reader = s.makefile("rb")
        records = messages = soas = 0
        while soas < 2:
            length = struct.unpack(">H", reader.read(2))[0]
            message = reader.read(length)
            messages += 1
            rcode = message[3] & 15
            if rcode:
                raise RuntimeError(f"AXFR answered with RCODE {rcode}")
            qd, an = struct.unpack(">HH", message[4:8])
            pos = 12
            for _ in range(qd):
                pos = skip_name(message, pos) + 4
            for _ in range(an):
                pos = skip_name(message, pos)
                rtype, _, _, rdlength = struct.unpack(">HHIH", message[pos:pos + 10])
                pos += 10 + rdlength
                records += 1
                if rtype == 6:
                    soas += 1
        return records, messages


def skip_name(message, pos):
    while True:
        length = message[pos]
        if length == 0:
            return pos + 1
        if length & 0xC0:
            return pos + 2
        pos += 1 + length


def measure(servers, rounds):
    """Transfers from each of `servers` ((name, child, port) each) `rounds` times, the
    servers taking turns round by round, so a change in the machine's load falls on both
    alike; one result per server."""
    for _, _, port in servers:
        axfr(port)  # warm up
    walls = {name: [] for name, _, _ in servers}
    counts = {}
    # /proc counts CPU in clock ticks (10 ms): take it over all rounds and divide.
    cpu = {name: 0.0 for name, _, _ in servers}
    for _ in range(rounds):
        for name, child, port in servers:
            pid = server_pid(child)
            cpu0 = cpu_seconds(pid)
            t0 = time.perf_counter()
            counts[name] = axfr(port)
            walls[name].append(time.perf_counter() - t0)
            cpu[name] += cpu_seconds(pid) - cpu0
    return [{
        "server": name,
        "wall_ms": statistics.median(walls[name]) * 1000,
        "cpu_ms": cpu[name] / rounds * 1000,
        "records": counts[name][0],
        "messages": counts[name][1],
    } for name, _, _ in servers]


def wait_for(reason, check, child, log, timeout=300):
    """Polls `check` until it holds; gives up when `child` exits (printing the end of its
    `log`, e.g. a refused zone file) or after `timeout` seconds."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if child.poll() is not None:
            with open(log) as f:
                tail = f.readlines()[-20:]
            raise SystemExit(f"server exited (status {child.returncode}) while waiting for "
                             f"{reason}; end of {log}:\n" + "".join(tail))
        try:
            if check():
                return
        # Before the server listens, a connect to a port in the ephemeral range can meet
        # itself (TCP simultaneous open) and read its own request back: not an answer yet.
        except (OSError, RuntimeError, http.client.HTTPException):
            pass
        time.sleep(0.2)
    raise SystemExit(f"timed out waiting for {reason}")


def start_knot(d, port, tail):
    """Knot on 127.0.0.1@`port`, one worker of each kind, logging warnings, its state in
    `d`, with `tail` (keys, acls, zones) after that; the process (killed at exit)."""
    exe = shutil.which("knotd") or "/usr/sbin/knotd"
    with open(d + "/knot.conf", "w") as f:
        f.write(f"""server:
  rundir: "{d}"
  listen: 127.0.0.1@{port}
  udp-workers: 1
  tcp-workers: 1
  background-workers: 1
log:
  - target: stderr
    any: warning
database:
  storage: "{d}"
""" + tail)
    return spawn([exe, "-c", d + "/knot.conf"], open(d + "/knot.log", "w"))


def start_knot_primary(d, zone_file, port):
    """Knot serving `zone_file` to transfers from loopback."""
    return start_knot(d, port, f"""acl:
  - id: xfr
    address: 127.0.0.0/8
    action: transfer
zone:
  - domain: {ZONE}
    file: "{zone_file}"
    acl: xfr
    zonefile-sync: -1
    journal-content: none
""")


def start_gslb(d, gslb, gslbctl, zone_file, port):
    api_port = free_port()
    with open(d + "/node.toml", "w") as f:
        f.write(f"""[log]
level = "warn"

[control]
node_id = 1
data_dir = "data"
listen = "127.0.0.1:{api_port}"
cluster_secret = "{SECRET}"
api_token = "{TOKEN}"
role = "voter"
bootstrap = {{ voters = {{ 1 = "127.0.0.1:{api_port}" }} }}

[dns]
listen = ["127.0.0.1:{port}"]
udp_workers = 1

[[zones]]
file = "{zone_file}"
origin = "{ZONE}"
""")
    log = d + "/gslb.log"
    child = spawn([gslb, "serve", "--config", d + "/node.toml"], open(log, "w"))
    api = f"http://127.0.0.1:{api_port}"

    def zone_served():
        request = urllib.request.Request(api + f"/v1/zones/{ZONE}",
                                         headers={"Authorization": "Bearer " + TOKEN})
        return urllib.request.urlopen(request, timeout=5).status == 200

    wait_for("gslb to import the zone", zone_served, child, log)
    allow = subprocess.run([gslbctl, "--api", api, "--token", TOKEN, "--timeout", "300s",
                            "zone", "transfer", ZONE, "--allow", "127.0.0.0/8"],
                           capture_output=True, text=True)
    if allow.returncode:
        raise SystemExit(f"gslbctl zone transfer failed: {allow.stdout}{allow.stderr}")
    return child


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--gslb", default=os.path.join(ROOT, "target/release/gslb"))
    args = parser.parse_args()
    gslbctl = os.path.join(os.path.dirname(args.gslb), "gslbctl")
    signal.signal(signal.SIGTERM, cleanup)
    d = tempfile.mkdtemp(prefix="gslb-axfr-bench-")
    try:
        zone_file = d + "/bench.test.zone"
        write_zone(zone_file, args.records)
        knot_port, gslb_port = free_port(), free_port()
        knot = start_knot_primary(d, zone_file, knot_port)
        gslb = start_gslb(d, args.gslb, gslbctl, zone_file, gslb_port)
        wait_for("Knot to serve the zone", lambda: axfr(knot_port)[0] > 0, knot,
                 d + "/knot.log")
        wait_for("gslb to transfer the zone", lambda: axfr(gslb_port)[0] > 0, gslb,
                 d + "/gslb.log")
        results = measure([("knot", knot, knot_port), ("gslb", gslb, gslb_port)], args.rounds)
        print(f"AXFR of a {args.records}-record zone, median of {args.rounds} transfers")
        print(f"{'server':8} {'wall ms':>9} {'server CPU ms':>14} {'records':>9} {'messages':>9}")
        for r in results:
            print(f"{r['server']:8} {r['wall_ms']:9.1f} {r['cpu_ms']:14.1f} {r['records']:9} "
                  f"{r['messages']:9}")
        knot_r, gslb_r = results
        print(f"gslb / knot: wall {gslb_r['wall_ms'] / knot_r['wall_ms']:.2f}, "
              f"server CPU {gslb_r['cpu_ms'] / max(knot_r['cpu_ms'], 0.001):.2f}")
    finally:
        cleanup()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
