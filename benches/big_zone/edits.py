#!/usr/bin/env python3
"""Small edits in a big zone (issue 17 item 5): one record set written over and over in a
zone of N A records (default 1,000,000), on Knot and through gslb's control plane.

Knot: the zone file loaded (time to the first answer for the last name), then EDITS changes
of one record, each a `knotc` transaction (zone-begin, zone-unset, zone-set, zone-commit),
timed from the transaction's start until dig sees the new address.

gslb: the demo (3 voters, 2 DNS learners, release build), the same file imported with
`gslbctl zone import` (waited to INSYNC), then one client writes one record set
(`PUT /v1/zones/big.test./records/hK.big.test./A`) RATE times a second for SECONDS seconds,
on a fixed schedule through a pool of 32 keep-alive connections (under the API's
per-source cap of 64), each timed from when it was due until `GET /v1/changes/{version}`
says INSYNC (`?wait_ms=5000`: the API answers once INSYNC, on the same connection). The
DNS learners' `gslb_dns_plan_swap_seconds` histogram is scraped before and after the
writes: the swaps of that window, their mean and the bucket holding their median and p99.

Prints one table with the targets (write → INSYNC p99 ≤ 50 ms at 100 writes/s, plan swap
≤ 50 ms) and the ratio to Knot's time for one change from the same run, then where the
time went: p50 / p99 of each step of the write path on every node over the write window
(`benches/stages.py`, read from `/metrics`). Loopback only,
every wait bounded, every process killed on exit. Usage: benches/big_zone_edits.sh --help.
"""

import argparse
import http.client
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import tomllib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench import (  # noqa: E402
    ADDR, ORIGIN, REPO, address, gen_zone, knot, start, stop, wait_answer)
import stages  # noqa: E402

TOKEN = "bench-token-0123456789abcdef"
# The demo runs 3 voters and 2 DNS learners.
DEMO_DNS_NODES = 2


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def knot_edits(work, zone, port, records, edits):
    """Knot's load time and the times (ms) of `edits` one-record changes, or None."""
    argv = knot(work + "/knot", zone, port)
    if argv is None:
        print("# knotd not found: Knot skipped", file=sys.stderr)
        return None
    socket = work + "/knot/knot.sock"
    with open(work + "/knot/knot.conf", "a") as f:
        f.write("control:\n    listen: \"%s\"\n" % socket)
    log = open(work + "/knot.log", "w")
    started = time.monotonic()
    proc = start(argv, log)
    last = "h%d.%s" % (records - 1, ORIGIN)
    if wait_answer(port, last, address(records - 1), 600, started) is None:
        print("# Knot did not answer within 600 s", file=sys.stderr)
        stop(proc)
        return None
    load_s = time.monotonic() - started
    knotc = shutil.which("knotc") or "/usr/sbin/knotc"
    name = "h%d" % (records // 2)
    times, commits = [], []
    for k in range(edits):
        fresh = "192.0.2.%d" % (k % 250 + 1)
        started = time.monotonic()
        for command in (["zone-begin", ORIGIN],
                        ["zone-unset", ORIGIN, name, "A"],
                        ["zone-set", ORIGIN, name, "300", "A", fresh],
                        ["zone-commit", ORIGIN]):
            if command[0] == "zone-commit":
                committing = time.monotonic()
            subprocess.run([knotc, "-s", socket] + command, check=True,
                           capture_output=True, timeout=60)
        if wait_answer(port, "%s.%s" % (name, ORIGIN), fresh, 60, started) is None:
            print("# Knot did not answer the change within 60 s", file=sys.stderr)
            break
        answered = time.monotonic()
        times.append((answered - started) * 1000)
        commits.append((answered - committing) * 1000)
    stop(proc)
    return load_s, times, commits


class Api:
    """One keep-alive HTTP connection to a node's API (one per thread: a new TCP connection
    per poll, hundreds a second, measures the loopback's accept queue, not gslb)."""

    def __init__(self, address):
        self.base = "http://" + address
        self.address = address
        self.connection = None

    def call(self, method, path, body=None, timeout=60):
        host, port = self.address.rsplit(":", 1)
        for attempt in (0, 1):
            if self.connection is None:
                self.connection = http.client.HTTPConnection(host, int(port), timeout=timeout)
            try:
                self.connection.request(
                    method, path, body=None if body is None else json.dumps(body).encode(),
                    headers={"Authorization": "Bearer " + TOKEN,
                             "Content-Type": "application/json"})
                reply = self.connection.getresponse()
                data = reply.read()
            except (http.client.HTTPException, OSError):
                self.connection.close()
                self.connection = None
                # A kept-alive connection the server closed meanwhile: once more, afresh.
                if attempt or method != "GET":
                    raise
                continue
            if reply.status >= 400:
                raise OSError("%s %s: HTTP %d %s" % (method, path, reply.status, data[:200]))
            return data

    def json(self, method, path, body=None):
        return json.loads(self.call(method, path, body))


def swap_histogram(api):
    """{upper bound (s): cumulative count}, sum, count of gslb_dns_plan_swap_seconds."""
    text = api.call("GET", "/metrics").decode()
    buckets, total, count = {}, 0.0, 0
    for line in text.splitlines():
        match = re.match(r'gslb_dns_plan_swap_seconds_bucket\{le="([^"]+)"\} (\S+)', line)
        if match:
            buckets[float(match.group(1))] = int(float(match.group(2)))
        elif line.startswith("gslb_dns_plan_swap_seconds_sum "):
            total = float(line.split()[1])
        elif line.startswith("gslb_dns_plan_swap_seconds_count "):
            count = int(float(line.split()[1]))
    return buckets, total, count


def swap_summary(before, after):
    """(swaps, mean ms, median bucket bound ms, p99 bucket bound ms) between two scrapes."""
    (b0, s0, c0), (b1, s1, c1) = before, after
    swaps = c1 - c0
    if swaps <= 0:
        return 0, 0.0, 0.0, 0.0
    bounds = sorted(b1)
    delta = [(bound, b1[bound] - b0.get(bound, 0)) for bound in bounds]

    def bucket_of(fraction):
        wanted = fraction * swaps
        for bound, cumulative in delta:
            if cumulative >= wanted:
                return bound * 1000
        return float("inf")

    return swaps, (s1 - s0) * 1000 / swaps, bucket_of(0.5), bucket_of(0.99)


# The most connections the writer holds to the API at once. The API's listener takes at most
# `control.limits.max_connections_per_source` (64 by default) from one address and closes
# any connection over that at once (the client sees `Connection reset by peer`); a thread and
# a new connection per write, as this bench had, went over it whenever the tail of
# write -> INSYNC passed 64 / rate seconds. A fixed pool of keep-alive connections stays under.
WRITERS = 32
# How soon a writer asks again when the API answered PENDING without holding the answer.
INSYNC_POLL_S = 0.005


def write_load(api, name, rate, seconds):
    """Writes `name` A `rate` times a second for `seconds` on a fixed schedule, each waited
    to INSYNC, through `WRITERS` keep-alive connections; returns the latencies (ms, from
    when the write was due, so falling behind shows; inf for a failed write)."""
    latencies, lock = [], threading.Lock()
    path = "/v1/zones/%s/records/%s/A" % (ORIGIN, name)
    due = queue.Queue()

    def one(connection, k, due_at):
        try:
            body = {"name": name, "type": "A", "ttl": 60,
                    "data": ["198.51.100.%d" % (k % 250 + 1)]}
            version = connection.json("PUT", path, body)["version"]
            deadline = due_at + 30
            # A long poll: the API holds the answer until INSYNC (or 5 s); a server that
            # answers PENDING at once (one from before `wait_ms`) is asked again shortly.
            while connection.json("GET", "/v1/changes/%d?wait_ms=5000" % version)[
                    "status"] != "INSYNC":
                if time.monotonic() > deadline:
                    raise TimeoutError("version %d not INSYNC within 30 s" % version)
                time.sleep(INSYNC_POLL_S)
            return (time.monotonic() - due_at) * 1000
        except (OSError, ValueError, KeyError, http.client.HTTPException) as error:
            print("# write %d failed: %s" % (k, error), file=sys.stderr)
            return float("inf")

    def writer():
        connection = Api(api.address)
        while True:
            item = due.get()
            if item is None:
                return
            k, due_at = item
            delay = due_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            took = one(connection, k, due_at)
            with lock:
                latencies.append((k, took))

    begin = time.monotonic()
    write_load.began_at = time.time()
    count = int(rate * seconds)
    for k in range(count):
        due.put((k, begin + k / rate))
    threads = [threading.Thread(target=writer, daemon=True) for _ in range(min(WRITERS, count))]
    for thread in threads:
        due.put(None)
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 120)
    # In the order the writes were due, so a slice of the list is a slice of the window.
    return [took for _k, took in sorted(latencies)], time.monotonic() - begin


def gslb_edits(work, zone, records, rate, seconds, bin_dir):
    exe, ctl = bin_dir + "/gslb", bin_dir + "/gslbctl"
    for path in (exe, ctl):
        if not os.path.exists(path):
            sys.exit("build first: cargo build --release -p gslb --bins (%s missing)" % path)
    base = 20000 + os.getpid() % 10000
    api_address, dns_address = "%s:%d" % (ADDR, base), "%s:%d" % (ADDR, base + 1)
    log = open(work + "/demo.log", "w")
    start([exe, "demo", "--data-dir", work + "/demo", "--token", TOKEN, "--api", api_address,
           "--dns", dns_address], log)
    env = dict(os.environ, GSLB_API="http://" + api_address, GSLB_TOKEN=TOKEN)
    deadline = time.monotonic() + 300
    while subprocess.run([ctl, "cluster", "status"], env=env, capture_output=True).returncode:
        if time.monotonic() > deadline:
            sys.exit("the demo did not come up within 300 s (see %s/demo.log)" % work)
        time.sleep(0.2)
    # Every DNS node serving (the demo's sample zone answers), as a script that waits for
    # the demo would: the import then starts on a settled cluster.
    # The demo writes each node's config as it starts it, the DNS nodes last.
    while True:
        names = sorted(c for c in os.listdir(work + "/demo")
                       if c.startswith("dns-") and c.endswith(".toml"))
        if len(names) >= DEMO_DNS_NODES:
            break
        if time.monotonic() > deadline:
            sys.exit("the demo's DNS nodes did not start within 300 s")
        time.sleep(0.2)
    configs = []
    for name in names:
        with open(os.path.join(work, "demo", name), "rb") as f:
            configs.append(tomllib.load(f))
    sample = [z for z in os.listdir(work + "/demo") if z.endswith(".zone")][0][:-len("zone")]
    for config in configs:
        port = int(config["dns"]["listen"][0].rsplit(":", 1)[1])
        while not subprocess.run(["dig", "+short", "+time=1", "+tries=1", "-p", str(port),
                                  "@" + ADDR, sample, "SOA"],
                                 capture_output=True, text=True).stdout.strip():
            if time.monotonic() > deadline:
                sys.exit("DNS node on port %d not serving within 300 s" % port)
            time.sleep(0.2)
    print("# importing %d records with gslbctl zone import" % records, file=sys.stderr)
    started = time.monotonic()
    imported = subprocess.run([ctl, "--timeout", "1200s", "zone", "import", zone,
                               "--zone", ORIGIN], env=env, capture_output=True, text=True)
    import_s = time.monotonic() - started
    if imported.returncode:
        sys.exit("zone import failed: %s" % (imported.stderr or imported.stdout))
    dns_apis = [Api(config["control"]["listen"]) for config in configs]
    print("# DNS nodes' APIs: %s" % " ".join(dns.base for dns in dns_apis), file=sys.stderr)
    api = Api(api_address)
    name = "h%d.%s" % (records // 2, ORIGIN)
    # One write before the measured window: the DNS nodes' first patch over the imported
    # zone, and the client's first connection, are not what a steady write costs.
    write_load(api, name, rate, 0.05)
    before = [swap_histogram(dns) for dns in dns_apis]
    # Every node with an API (voters, DNS nodes, probers), for where the time goes per step.
    nodes = {}
    for config in sorted(c for c in os.listdir(work + "/demo") if c.endswith(".toml")):
        with open(os.path.join(work, "demo", config), "rb") as f:
            listen = tomllib.load(f).get("control", {}).get("listen")
        if listen:
            nodes[config[:-len(".toml")]] = listen
    stages_before = stages.scrape_all(nodes, TOKEN)
    print("# %d writes/s of %s for %d s" % (rate, name, seconds), file=sys.stderr)
    latencies, took = write_load(api, name, rate, seconds)
    after = [swap_histogram(dns) for dns in dns_apis]
    swaps = [swap_summary(b, a) for b, a in zip(before, after)]
    breakdown = (stages_before, stages.scrape_all(nodes, TOKEN))
    return import_s, latencies, took, swaps, breakdown


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--rate", type=float, default=100.0, help="gslb writes per second")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the write load")
    parser.add_argument("--knot-edits", type=int, default=20, help="Knot changes timed")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--bin-dir", default=REPO + "/target/release",
                        help="where gslb and gslbctl are (default: the release build)")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="gslb-big-zone-edits.")
    try:
        run(args, work)
        sys.stdout.flush()
    finally:
        if args.keep:
            print("# kept %s" % work, file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


def run(args, work):
    load = open("/proc/loadavg").read().split()[0]
    print("# generating %s with %d A records in %s" % (ORIGIN, args.records, work),
          file=sys.stderr)
    zone = work + "/big.test.zone"
    gen_zone(zone, args.records)
    knot_result = knot_edits(work, zone, 20000 + (os.getpid() + 7) % 10000, args.records,
                             args.knot_edits)
    import_s, latencies, took, swaps, breakdown = gslb_edits(work, zone, args.records, args.rate,
                                                  args.seconds, args.bin_dir)
    ok = [x for x in latencies if x != float("inf")]
    if args.keep:
        # Each write's due time (UTC, as the nodes' logs print it) and latency, to line the
        # slow ones up with what the nodes logged then.
        with open(work + "/writes.tsv", "w") as f:
            for k, took_ms in enumerate(latencies):
                due = write_load.began_at + k / args.rate
                f.write("%s.%03dZ\t%.1f\n" % (time.strftime("%H:%M:%S", time.gmtime(due)),
                                              int(due * 1000) % 1000, took_ms))
    sys.stderr.flush()
    print()
    print("%s with %d A records; %d CPUs; load average %s at the start, %s at the end; %s"
          % (ORIGIN, args.records, os.cpu_count(), load,
             open("/proc/loadavg").read().split()[0], time.strftime("%Y-%m-%d %H:%M UTC",
                                                                   time.gmtime())))
    print()
    print("| measure | result | target |")
    print("|---|---|---|")
    knot_p50 = None
    if knot_result:
        load_s, times, commits = knot_result
        print("| Knot: load → first answer | %.2f s | (reference) |" % load_s)
        if times:
            knot_p50 = percentile(times, 0.5)
            print("| Knot: one change (knotc begin/unset/set/commit) → answered, p50 / p99 "
                  "(n = %d) | %.1f / %.1f ms | (reference) |"
                  % (len(times), knot_p50, percentile(times, 0.99)))
            print("| Knot: the same from `knotc zone-commit` → answered, p50 / p99 | "
                  "%.1f / %.1f ms | (reference) |"
                  % (percentile(commits, 0.5), percentile(commits, 0.99)))
    print("| gslb demo: `gslbctl zone import` → INSYNC | %.1f s | (item 2) |" % import_s)
    if ok:
        p50, p99 = percentile(ok, 0.5), percentile(latencies, 0.99)
        ratio = " (%.1f× Knot's change p50)" % (p50 / knot_p50) if knot_p50 else ""
        print("| gslb: write → INSYNC at %g/s for %g s, p50 / p99 (n = %d, %d failed, %.0f "
              "writes/s sent) | %.1f / %.1f ms%s | p99 ≤ 50 ms: %s |"
              % (args.rate, args.seconds, len(latencies), len(latencies) - len(ok),
                 len(latencies) / took, p50, p99, ratio, "met" if p99 <= 50 else "MISSED"))
        print("| gslb: the same, p99 of the writes that reached INSYNC | %.1f ms | |"
              % percentile(ok, 0.99))
        # Where in the window the tail lies (e.g. every node's snapshot after the import).
        per_slice = int(args.rate * 5) or 1
        slices = ["%d–%d s: %.1f" % (start // args.rate, (start + per_slice) // args.rate,
                                      percentile(latencies[start:start + per_slice], 0.99))
                  for start in range(0, len(latencies), per_slice)]
        print("| gslb: p99 per 5 s of the window (ms) | %s | |" % "; ".join(slices))
    for index, (count, mean, median, p99) in enumerate(swaps, 1):
        print("| gslb DNS node %d: plan swaps in the window, mean; median and p99 within "
              "the bucket up to | %d swaps, mean %.2f ms; ≤ %g ms, ≤ %g ms | ≤ 50 ms: %s |"
              % (index, count, mean, median, p99, "met" if count and p99 <= 50 else "MISSED"))
    print()
    print("gslb: time per step of the write path over the write window, per node "
          "(gslb_write_stage_seconds, gslb_dns_plan_*; bucket-interpolated)")
    stages.print_breakdown(*breakdown)


if __name__ == "__main__":
    main()
