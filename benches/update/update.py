#!/usr/bin/env python3
"""RFC 2136 UPDATE benchmark: acknowledgement latency at a fixed rate, gslb beside Knot.

    cargo build --release -p gslb --bin gslb --bin gslbctl   # the gslb under test
    benches/update/update.py                     # 100 updates/s for 30 s against each
    benches/update/update.py --rate 50 --seconds 10 --servers gslb

gslb runs as the smallest cluster with DNS: a voter (no DNS) that imports the zone and a
DNS learner that takes the updates. The learner forwards each update to the leader and
acknowledges it only once every DNS node applied it (INSYNC, the default), so the latency
measured is the client's whole wait: forward, Raft commit, apply, the learner's new plan.
Knot 3 serves the same zone file and applies the same updates to its own zone (its journal
on disk, as in production) before it answers.

The client (standard library only) is open-loop: update i is due at start + i / rate, sent
over UDP, signed with TSIG HMAC-SHA256 by a key the server knows, and its latency is taken
from when it was due to when its NOERROR answer arrived, so a server that falls behind
shows it in the tail instead of slowing the client down. Each update adds a TXT record at a
new name (`u-<i>.bench.test.`), as an ACME client adds its challenge. Reported per server:
p50, p90, p99 and max latency, answers that were not NOERROR, updates never answered
(5 s), and the p99 ratio gslb / Knot; then, for gslb, where the time went: p50 / p99 of
each step of the write path on each node over the run (`benches/stages.py`, read from
`/metrics`). Every process started is killed at exit.
"""

import argparse
import base64
import hmac
import os
import random
import selectors
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

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "benches", "xfr"))
sys.path.insert(0, os.path.join(ROOT, "benches"))
sys.dont_write_bytecode = True  # no __pycache__ left in benches/xfr
# The AXFR bench's process helpers: free ports, pinned children killed at exit, waits that
# notice a child that died.
from axfr import cleanup, free_port, spawn, start_knot, wait_for  # noqa: E402
import stages  # noqa: E402

TOKEN = "bench-api-token-0123456789"
SECRET = "bench-cluster-secret-0123456789"
ZONE = "bench.test."
KEY = "bench-key."
NEVER = 5.0  # seconds after which an update counts as never answered


def wire_name(name):
    return b"".join(bytes([len(label)]) + label.encode()
                    for label in name.rstrip(".").split(".")) + b"\0"


def update_message(message_id, index, key_secret):
    """UPDATE of ZONE adding `u-<index> 60 TXT "update <index>"`, signed (RFC 8945 §4.3)."""
    header = struct.pack(">HHHHHH", message_id, 5 << 11, 1, 0, 1, 0)
    zone = wire_name(ZONE) + struct.pack(">HH", 6, 1)
    text = f"update {index}".encode()
    rdata = bytes([len(text)]) + text
    record = (wire_name(f"u-{index}.{ZONE}") + struct.pack(">HHIH", 16, 1, 60, len(rdata))
              + rdata)
    unsigned = header + zone + record
    algorithm = wire_name("hmac-sha256.")
    now = int(time.time())
    signed_time = struct.pack(">HIH", now >> 32, now & 0xFFFFFFFF, 300)
    variables = wire_name(KEY) + struct.pack(">HI", 255, 0) + algorithm + signed_time \
        + struct.pack(">HH", 0, 0)
    mac = hmac.new(key_secret, unsigned + variables, "sha256").digest()
    tsig_rdata = algorithm + signed_time + struct.pack(">H", len(mac)) + mac \
        + struct.pack(">HHH", message_id, 0, 0)
    tsig = wire_name(KEY) + struct.pack(">HHIH", 250, 255, 0, len(tsig_rdata)) + tsig_rdata
    message = bytearray(unsigned + tsig)
    message[10:12] = struct.pack(">H", 1)
    return bytes(message)


def soa_answers(port):
    """True when the server answers ZONE's SOA with NOERROR and an answer."""
    query = struct.pack(">HHHHHH", 0x4242, 0, 1, 0, 0, 0) + wire_name(ZONE) \
        + struct.pack(">HH", 6, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(1)
        s.sendto(query, ("127.0.0.1", port))
        reply = s.recv(4096)
    return reply[3] & 15 == 0 and struct.unpack(">H", reply[6:8])[0] > 0


def run_updates(port, key_secret, rate, seconds):
    """Sends rate * seconds updates open-loop; per update its latency (s) or None."""
    total = int(rate * seconds)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setblocking(False)
    sock.connect(("127.0.0.1", port))
    selector = selectors.DefaultSelector()
    selector.register(sock, selectors.EVENT_READ)
    ids = random.sample(range(65536), total) if total <= 65536 else None
    pending = {}  # message id -> (index, due)
    latencies = [None] * total
    rcodes = {}
    start = time.perf_counter() + 0.1
    sent = 0
    last_due = start + (total - 1) / rate
    while True:
        now = time.perf_counter()
        while sent < total and start + sent / rate <= now:
            message_id = ids[sent] if ids else sent & 0xFFFF
            pending[message_id] = (sent, start + sent / rate)
            sock.send(update_message(message_id, sent, key_secret))
            sent += 1
        if sent == total and (not pending or now > last_due + NEVER):
            break
        wait = (start + sent / rate - now) if sent < total else 0.05
        for _ in selector.select(timeout=max(wait, 0)):
            while True:
                try:
                    reply = sock.recv(4096)
                except BlockingIOError:
                    break
                arrived = time.perf_counter()
                message_id = struct.unpack(">H", reply[:2])[0]
                entry = pending.pop(message_id, None)
                if entry is None:
                    continue
                index, due = entry
                rcode = reply[3] & 15
                rcodes[rcode] = rcodes.get(rcode, 0) + 1
                if rcode == 0:
                    latencies[index] = arrived - due
    sock.close()
    return latencies, rcodes


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def write_zone(path):
    with open(path, "w") as f:
        f.write(f"$ORIGIN {ZONE}\n$TTL 300\n")
        f.write("@ 3600 IN SOA ns1 hostmaster 1 3600 600 86400 300\n")
        f.write("@ 3600 IN NS ns1\nns1 IN A 127.0.0.1\nwww IN A 192.0.2.10\n")


def start_knot_updatable(d, zone_file, port, secret_b64):
    """Knot serving `zone_file`, taking updates signed with KEY (`secret_b64`)."""
    # Knot's storage (`d`) holds the journal updates are written to.
    child = start_knot(d, port, f"""key:
  - id: {KEY.rstrip('.')}
    algorithm: hmac-sha256
    secret: {secret_b64}
acl:
  - id: update
    key: {KEY.rstrip('.')}
    action: update
zone:
  - domain: {ZONE}
    file: "{zone_file}"
    acl: update
    zonefile-sync: -1
""")
    wait_for("Knot to serve the zone", lambda: soa_answers(port), child, d + "/knot.log")
    return child


def start_gslb(d, gslb, gslbctl, zone_file, dns_port, per_source_cap):
    voter_api, learner_api = free_port(), free_port()
    raft = '[control.raft]\nheartbeat = "100ms"\nelection_min = "500ms"\n' \
        'election_max = "1000ms"\n'
    if per_source_cap:
        raft = f"[control.limits]\nmax_connections_per_source = {per_source_cap}\n\n" + raft
    os.makedirs(d + "/voter"), os.makedirs(d + "/learner")
    with open(d + "/voter/node.toml", "w") as f:
        f.write(f"""[log]
level = "warn"

[[zones]]
file = "{zone_file}"
origin = "{ZONE}"

[control]
node_id = 1
data_dir = "data"
listen = "127.0.0.1:{voter_api}"
cluster_secret = "{SECRET}"
api_token = "{TOKEN}"
role = "voter"
bootstrap = {{ voters = {{ 1 = "127.0.0.1:{voter_api}" }} }}

{raft}""")
    with open(d + "/learner/node.toml", "w") as f:
        f.write(f"""[log]
level = "warn"

[dns]
listen = ["127.0.0.1:{dns_port}"]
udp_workers = 1

[control]
node_id = 2
data_dir = "data"
listen = "127.0.0.1:{learner_api}"
cluster_secret = "{SECRET}"
api_token = "{TOKEN}"
role = "learner"
seeds = ["127.0.0.1:{voter_api}"]

{raft}""")
    voter_log, learner_log = d + "/voter.log", d + "/learner.log"
    voter = spawn([gslb, "serve", "--config", d + "/voter/node.toml"], open(voter_log, "w"))
    api = f"http://127.0.0.1:{voter_api}"

    def zone_imported():
        request = urllib.request.Request(api + f"/v1/zones/{ZONE}",
                                         headers={"Authorization": "Bearer " + TOKEN})
        return urllib.request.urlopen(request, timeout=5).status == 200

    wait_for("the gslb voter to import the zone", zone_imported, voter, voter_log)
    learner = spawn([gslb, "serve", "--config", d + "/learner/node.toml"],
                    open(learner_log, "w"))
    wait_for("the gslb DNS learner to serve the zone", lambda: soa_answers(dns_port), learner,
             learner_log)
    created = subprocess.run([gslbctl, "--api", api, "--token", TOKEN, "tsig", "create",
                              KEY.rstrip("."), "--update", ZONE, "-o", "json"],
                             capture_output=True, text=True)
    if created.returncode:
        raise SystemExit(f"gslbctl tsig create failed: {created.stdout}{created.stderr}")
    secret = created.stdout.split('"secret":')[1].split('"')[1]
    nodes = {"voter (leader)": f"127.0.0.1:{voter_api}",
             "dns learner": f"127.0.0.1:{learner_api}"}
    return [voter, learner], base64.b64decode(secret), nodes


def report(name, latencies, rcodes):
    """One row of the table: counts and latency percentiles (ms) of the NOERROR answers."""
    answered = [latency for latency in latencies if latency is not None]
    never = len(latencies) - sum(rcodes.values())
    errors = {rcode: count for rcode, count in rcodes.items() if rcode}
    row = {"server": name, "updates": len(latencies), "ok": len(answered),
           "errors": errors, "never": never}
    if answered:
        row.update(p50=percentile(answered, 0.5) * 1000, p90=percentile(answered, 0.9) * 1000,
                   p99=percentile(answered, 0.99) * 1000, max=max(answered) * 1000,
                   mean=statistics.mean(answered) * 1000)
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=100.0, help="updates per second")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--servers", default="knot,gslb")
    parser.add_argument("--gslb", default=os.path.join(ROOT, "target/release/gslb"))
    parser.add_argument("--per-source-cap", type=int, default=0,
                        help="gslb's control.max_connections_per_source (default: its own)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the working directory (configs, logs) and print it")
    args = parser.parse_args()
    gslbctl = os.path.join(os.path.dirname(args.gslb), "gslbctl")
    signal.signal(signal.SIGTERM, cleanup)
    d = tempfile.mkdtemp(prefix="gslb-update-bench-")
    rows = []
    breakdown = []
    try:
        zone_file = d + "/bench.test.zone"
        for server in args.servers.split(","):
            write_zone(zone_file)
            port = free_port()
            nodes = {}
            if server == "knot":
                secret = os.urandom(32)
                children = [start_knot_updatable(d, zone_file, port,
                                                 base64.b64encode(secret).decode())]
            elif server == "gslb":
                children, secret, nodes = start_gslb(d, args.gslb, gslbctl, zone_file, port,
                                                     args.per_source_cap)
            else:
                raise SystemExit(f"unknown server {server}")
            before = stages.scrape_all(nodes, TOKEN)
            latencies, rcodes = run_updates(port, secret, args.rate, args.seconds)
            rows.append(report(server, latencies, rcodes))
            if nodes:
                # Where gslb's time went, per node and step, over the same window.
                breakdown.append((server, before, stages.scrape_all(nodes, TOKEN)))
            for child in children:
                os.killpg(child.pid, signal.SIGKILL)
        print(f"RFC 2136 UPDATE over UDP with TSIG, {args.rate:g}/s for {args.seconds:g} s, "
              "latency from due time to NOERROR (ms)")
        print(f"{'server':8} {'updates':>8} {'ok':>6} {'p50':>8} {'p90':>8} {'p99':>8} "
              f"{'max':>8}  not ok")
        for row in rows:
            if "p50" in row:
                print(f"{row['server']:8} {row['updates']:8} {row['ok']:6} {row['p50']:8.1f} "
                      f"{row['p90']:8.1f} {row['p99']:8.1f} {row['max']:8.1f}  "
                      f"rcodes {row['errors'] or '-'}, never answered {row['never']}")
            else:
                print(f"{row['server']:8} {row['updates']:8} {row['ok']:6} (no answer ok)  "
                      f"rcodes {row['errors'] or '-'}, never answered {row['never']}")
        by_name = {row["server"]: row for row in rows}
        if "p99" in by_name.get("gslb", {}) and "p99" in by_name.get("knot", {}):
            print(f"gslb / knot p99: {by_name['gslb']['p99'] / by_name['knot']['p99']:.2f}")
        for server, before, after in breakdown:
            print(f"\n{server}: time per step of the write path over the run "
                  "(gslb_write_stage_seconds, gslb_dns_plan_*; bucket-interpolated)")
            stages.print_breakdown(before, after)
    finally:
        cleanup()
        if args.keep:
            print(f"kept {d}")
        else:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
