#!/usr/bin/env python3
"""DNSSEC online signing benchmark: gslb against Knot (mod-onlinesign) and PowerDNS (live
signing, LUA records), queries per server-CPU-second with the DO bit clear and set.

Every server serves bench.py's generated zone (bench.test.) on 127.0.0.1, its own port,
one worker thread, pinned to CPU 0; dnsperf is pinned to CPU 1 and offers a fixed rate.
Each server signs the zone online with one ECDSA P-256 (algorithm 13) key:

  * gslb: a one-node cluster (a voter with [dns], RRL off) that imports the zone, gets the
    `w` (weighted) and `geo` GSLB records through the API (bench.py's batch) and is signed
    with `gslbctl dnssec enable bench.test.` (one CSK);
  * Knot: `mod-onlinesign` with a single-type-signing (CSK) ECDSA P-256 policy; Knot has no
    GSLB records, so it runs the static workload only;
  * PowerDNS: the bind backend with a DNSSEC database (`pdnsutil create-bind-db`,
    `secure-zone`: live signing), the zone with bench.py's LUA records `w`
    (pickwrandom) and `geo` (view() over the ECS networks).

Workloads, each asked with DO=0 (EDNS, payload 1232) then DO=1, all from wire-format query
files (dnsperf -B) that differ only in the DO bit:

  * static   bench.py's mix: 80 % answers, 10 % NODATA, 10 % NXDOMAIN (20,000 queries);
  * weighted every query asks w.bench.test A (one address of three, 50/30/20, per query);
  * geo      every query asks geo.bench.test A with an ECS /24 in one of 48 networks.

Before the measured runs a warm-up pass sends every query of the file once (dnsperf -n 1):
that pass is the cold cost (every signature made for the first time by gslb and PowerDNS,
whose caches then serve the measured runs; Knot signs every answer). Each measured run is
at a fixed offered rate; its server CPU (utime+stime of the process tree, /proc) divided
into the answers completed gives queries per server-CPU-second. Every (server, workload,
DO) is measured `--rounds` times (default 3), one round after the other on the same
server; the table reports the round with the median q/CPU-s (its other figures are that
round's) and the lowest and highest, so one disturbed run on a shared machine neither
makes nor breaks a ratio.

Loopback only; every server is killed on exit. Standard library only (bench.py's helpers).

  benches/dns/dnssec.sh [--rate 30000] [--seconds 10] [--rounds 3]
                        [--servers gslb,knot,pdns] [--workloads static,weighted,geo]
"""

import argparse
import atexit
import datetime
import os
import random
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (the DNS benchmark's zone, queries, servers and dnsperf runner)

ADDR = bench.ADDR
ORIGIN = bench.ORIGIN
TYPES = {"A": 1, "NS": 2, "SOA": 6, "MX": 15, "TXT": 16, "AAAA": 28, "DNSKEY": 48}
GSLB_HTTP_PORT = 15379
WORKLOADS = ("static", "weighted", "geo")


# --------------------------------------------------------------------------
# queries

def gen_wire_queries(work, workload, dnssec_ok):
    """The workload's queries as a dnsperf -B file (EDNS, DO as given); returns its path
    and the number of distinct questions in it (what a cold cache must sign once)."""
    path = os.path.join(work, "%s-do%d.bin" % (workload, int(dnssec_ok)))
    questions = []
    if workload == "static":
        text = os.path.join(work, "static.txt")
        bench.gen_queries(text)
        with open(text) as f:
            for line in f:
                name, qtype = line.split()
                questions.append((name, TYPES[qtype], None))
    else:
        rnd = random.Random(1)
        nets = bench.client_nets()
        for _ in range(20000):
            if workload == "weighted":
                questions.append((bench.WEIGHTED_NAME, 1, None))
            else:
                ecs, _net = bench.random_client(rnd, nets)
                questions.append((bench.GEO_NAME, 1, ecs))
    with open(path, "wb") as f:
        for name, qtype, ecs in questions:
            q = bench.wire_query(name, qtype, ecs, dnssec_ok=dnssec_ok)
            f.write(struct.pack(">H", len(q)) + q)
    return path, len(set(questions))


def signed_reply(port, name, qtype, ecs=None, timeout=1.0):
    """One DO=1 query: (rcode, answer count, RRSIGs anywhere in the reply)."""
    r = bench.dyn_query(port, name, ecs, timeout, qtype=qtype, dnssec_ok=True)
    return r["rcode"], r["an"], r["rrsigs"]


def check_signed(port, workloads):
    """Problems with the DO=1 answers (empty when every kind is answered and signed)."""
    asks = [("a7." + ORIGIN, "A", None), ("a7." + ORIGIN, "AAAA", None),
            ("nx1." + ORIGIN, "A", None), (ORIGIN, "DNSKEY", None)]
    if "weighted" in workloads:
        asks.append((bench.WEIGHTED_NAME, "A", None))
    if "geo" in workloads:
        asks.append((bench.GEO_NAME, "A", ("24.0.1.0", 24)))
    problems = []
    for name, qtype, ecs in asks:
        try:
            rcode, an, rrsigs = signed_reply(port, name, TYPES[qtype], ecs)
        except Exception as e:  # noqa: BLE001
            problems.append("%s %s: %s" % (name, qtype, e))
            continue
        if rcode not in (0, 3) or rrsigs == 0:
            problems.append("%s %s DO=1: rcode %d, %d answers, %d RRSIGs" % (
                name, qtype, rcode, an, rrsigs))
    return problems


def wait_signed(port, timeout=30.0):
    """True once the zone's DNSKEY RRset is answered signed."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            rcode, an, rrsigs = signed_reply(port, ORIGIN, TYPES["DNSKEY"], timeout=0.3)
            if rcode == 0 and an > 0 and rrsigs > 0:
                return True
        except Exception:  # noqa: BLE001
            pass
        time.sleep(0.2)
    return False


# --------------------------------------------------------------------------
# the servers: each writes its config into d and returns (argv, env or None), or
# (None, why not); `ready` (after the server answers) finishes the setup.

def srv_gslb(d, zone, port, args):
    exe = args.gslb_bin
    if not os.path.exists(exe):
        return None, "%s missing (cargo build --release -p gslb --bin gslb --bin gslbctl)" % exe
    bench.GSLB_HTTP_PORT = GSLB_HTTP_PORT  # gslb_cluster_config reads it
    path = bench.gslb_cluster_config(d, zone, port)  # its API token: bench.GSLB_TOKEN
    with open(path, "a") as f:
        f.write("\n[dns.rrl]\nrate = 0\n")
    env = dict(os.environ, RUST_LOG=os.environ.get("GSLB_BENCH_LOG", "warn"))
    return [exe, "serve", "--config", path], env


def ready_gslb(d, port, args):
    err = bench.gslb_load_records(GSLB_HTTP_PORT, bench.GSLB_TOKEN, port)
    if err:
        return err
    env = dict(os.environ, GSLB_API="http://%s:%d" % (ADDR, GSLB_HTTP_PORT),
               GSLB_TOKEN=bench.GSLB_TOKEN)
    done = subprocess.run([args.gslbctl_bin, "dnssec", "enable", ORIGIN], env=env,
                          capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        return "gslbctl dnssec enable: %s" % (done.stderr or done.stdout).strip()
    return None if wait_signed(port) else "the zone was not answered signed within 30 s"


def srv_knot(d, zone, port, args):
    """bench.py's Knot, the zone signed online by mod-onlinesign with one ECDSA P-256 CSK."""
    argv, why = bench.srv_knot(d, zone, port, args)
    if argv is None:
        return None, why
    with open(d + "/knot.conf") as f:
        conf = f.read()
    signing = """policy:
  - id: csk
    algorithm: ecdsap256sha256
    single-type-signing: on
mod-onlinesign:
  - id: signed
    policy: csk
"""
    conf = conf.replace("template:", signing + "template:", 1)
    conf = conf.rstrip("\n") + "\n    module: mod-onlinesign/signed\n"
    with open(d + "/knot.conf", "w") as f:
        f.write(conf)
    return argv, None


def ready_knot(_d, port, _args):
    return None if wait_signed(port) else "Knot did not answer the zone signed within 30 s"


def srv_pdns(d, zone, port, args):
    lua = argparse.Namespace(**vars(args))
    lua.workload = "weighted"  # bench.srv_pdns adds the LUA records w and geo
    argv, env = bench.srv_pdns(d, zone, port, lua)
    if argv is None:
        return None, env
    pdnsutil = shutil.which("pdnsutil")
    if not pdnsutil:
        return None, "pdnsutil not installed (pdns-server)"
    db = d + "/dnssec.db"
    with open(d + "/pdns.conf", "w") as f:  # what pdnsutil reads; the server gets flags too
        f.write("launch=bind\nbind-config=%s/named.conf\nbind-dnssec-db=%s\n"
                "enable-lua-records=yes\ndefault-ksk-algorithm=ecdsa256\n"
                "default-zsk-algorithm=\n" % (d, db))
    for step in (["create-bind-db", db], ["secure-zone", ORIGIN.rstrip(".")]):
        done = subprocess.run([pdnsutil, "--config-dir=" + d] + step, capture_output=True,
                              text=True, timeout=60)
        if done.returncode != 0:
            return None, "pdnsutil %s: %s" % (step[0], (done.stderr or done.stdout).strip())
    return argv + ["--bind-dnssec-db=" + db], env


def ready_pdns(_d, port, _args):
    return None if wait_signed(port) else "PowerDNS did not answer the zone signed within 30 s"


SERVERS = [  # name, start, finish setup, DNS port, workloads it can serve
    ("gslb", srv_gslb, ready_gslb, 15370, WORKLOADS),
    ("knot", srv_knot, ready_knot, 15371, ("static",)),
    ("pdns", srv_pdns, ready_pdns, 15372, WORKLOADS),
]


# --------------------------------------------------------------------------

def cold_pass(server, port, qfile, args):
    """Sends every query of `qfile` once (dnsperf -n 1, 100 outstanding); returns the
    server CPU seconds it took and the answers completed."""
    before = bench.cpu_ticks_tree(server.pid)
    argv = bench.nice_prefix(args) + [
        "taskset", "-c", str(args.client_cpu), "dnsperf", "-s", ADDR, "-p", str(port),
        "-d", qfile, "-B", "-n", "1", "-c", "1", "-T", "1", "-q", "100", "-t", "2"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300,
                          start_new_session=True)
    cpu = (bench.cpu_ticks_tree(server.pid) - before) / bench.CLK_TCK
    return cpu, bench.parse_dnsperf(done.stdout)["completed"]


def measure_server(name, start, ready, port, workloads, zone, files, args):
    """Starts one server and measures each workload with DO=0 then DO=1."""
    print("\n## %s (%s:%d)" % (name, ADDR, port), flush=True)
    p, err = bench.start_server(name, start, port, zone, args.work, args)
    if p is None:
        print("SKIPPED: " + err, flush=True)
        return None, err.split("\n")[0]
    results = {}
    try:
        err = ready(os.path.join(args.work, name), port, args)
        problems = [err] if err else check_signed(port, workloads)
        if problems:
            print("WRONG ANSWERS:\n  " + "\n  ".join(problems), flush=True)
            return None, "; ".join(problems)
        for workload in workloads:
            for dnssec_ok in (False, True):
                qfile, distinct = files[(workload, dnssec_ok)]
                cold_cpu, cold_done = cold_pass(p, port, qfile, args)
                print("%-8s DO=%d: first pass %.2f s CPU for %d answers (%d distinct)" % (
                    workload, dnssec_ok, cold_cpu, cold_done, distinct), flush=True)
                rounds = []
                for number in range(1, args.rounds + 1):
                    r = bench.measure(p, port, qfile, args, rate=args.rate)
                    rounds.append(r)
                    print("%-8s DO=%d round %d/%d: at %d QPS offered: %.0f QPS, server CPU "
                          "%.0f%%, %.0f q/CPU-s (%.2f µs/q), loss %.3f%%, reply %d octets, "
                          "rcodes %s" % (
                              workload, dnssec_ok, number, args.rounds, args.rate, r["qps"],
                              r["server_cpu_pct"], r["q_per_cpu_s"], r["us_per_q"],
                              r["loss_pct"], r["resp_size"], r["rcodes"]), flush=True)
                r = median_round(rounds)
                r["cold_cpu"], r["cold_done"], r["distinct"] = cold_cpu, cold_done, distinct
                results[(workload, dnssec_ok)] = r
        if p.poll() is not None:
            return None, "exited during the run (code %s)" % p.returncode
    finally:
        bench.stop_server(p)
    return results, None


def median_round(rounds):
    """The round with the median q/CPU-s (the lower middle one of an even count), with
    `q_low` and `q_high`: the lowest and highest q/CPU-s of all rounds."""
    ordered = sorted(rounds, key=lambda r: r["q_per_cpu_s"])
    r = dict(ordered[(len(ordered) - 1) // 2])
    r["q_low"], r["q_high"] = ordered[0]["q_per_cpu_s"], ordered[-1]["q_per_cpu_s"]
    return r


def spread(r):
    """`median (low–high)` of a measured result's q/CPU-s."""
    return "%.0f (%.0f–%.0f)" % (r["q_per_cpu_s"], r["q_low"], r["q_high"])


def summary(table, args):
    print("\n## Queries per server-CPU-second at %d QPS offered (%d s runs, median of %d "
          "rounds, lowest–highest in brackets)\n" % (args.rate, args.seconds, args.rounds))
    hdr = ["workload", "server", "DO=0 q/CPU-s", "DO=1 q/CPU-s", "DO=1 / DO=0",
           "DO=1 µs CPU/q", "DO=1 reply octets", "DO=1 loss %", "first DO=1 pass µs/answer",
           "gslb DO=1 / this DO=1"]
    print("| " + " | ".join(hdr) + " |")
    print("|" + "|".join(["---"] * 2 + ["---:"] * (len(hdr) - 2)) + "|")
    flags = []
    for workload in args.workloads:
        ours = table.get("gslb", {}).get((workload, True))
        for name, *_ in SERVERS:
            plain = table.get(name, {}).get((workload, False))
            signed = table.get(name, {}).get((workload, True))
            if not signed or not plain:
                continue
            cold = 1e6 * signed["cold_cpu"] / signed["cold_done"] if signed["cold_done"] else 0
            row = [workload, name, spread(plain), spread(signed),
                   bench.fmt_ratio(signed["q_per_cpu_s"], plain["q_per_cpu_s"]),
                   "%.2f" % signed["us_per_q"], "%.0f" % signed["resp_size"],
                   "%.3f" % signed["loss_pct"], "%.1f" % cold,
                   "–" if name == "gslb" or not ours
                   else bench.fmt_ratio(ours["q_per_cpu_s"], signed["q_per_cpu_s"])]
            print("| " + " | ".join(row) + " |")
            for label, r in (("DO=0", plain), ("DO=1", signed)):
                if r["qps"] < 0.95 * args.rate:
                    flags.append("%s %s %s: reached %.0f of %d QPS offered (server CPU %.0f%%): "
                                 "its q/CPU-s is its saturated cost" % (
                                     name, workload, label, r["qps"], args.rate,
                                     r["server_cpu_pct"]))
    print()
    for flag in flags:
        print("FLAG: " + flag)
    gslb = table.get("gslb", {})
    if ("static", True) in gslb and ("static", False) in gslb:
        ratio = gslb[("static", True)]["q_per_cpu_s"] / gslb[("static", False)]["q_per_cpu_s"]
        print("target gslb static DO=1 / DO=0: %.2f× (want ≥ 0.80×) %s" % (
            ratio, "MET" if ratio >= 0.8 else "NOT MET"))
    for workload in args.workloads:
        ours = gslb.get((workload, True))
        for peer in ("knot", "pdns"):
            theirs = table.get(peer, {}).get((workload, True))
            if ours and theirs:
                ratio = ours["q_per_cpu_s"] / max(theirs["q_per_cpu_s"], 1e-9)
                print("target gslb ahead of %s, %s DO=1: %.2f× %s" % (
                    peer, workload, ratio, "MET" if ratio > 1 else "NOT MET"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--servers", default="gslb,knot,pdns")
    ap.add_argument("--workloads", default=",".join(WORKLOADS))
    ap.add_argument("--rate", type=int, default=30000, help="fixed offered QPS")
    ap.add_argument("--seconds", type=int, default=10, help="length of each run (max 30)")
    ap.add_argument("--rounds", type=int, default=3,
                    help="measured runs per server, workload and DO bit; the median is reported")
    ap.add_argument("--outstanding", type=int, default=300, help="dnsperf -q")
    ap.add_argument("--server-cpu", type=int, default=0)
    ap.add_argument("--client-cpu", type=int, default=1)
    ap.add_argument("--gslb-bin", default=os.path.join(bench.REPO, "target/release/gslb"))
    ap.add_argument("--gslbctl-bin", default=os.path.join(bench.REPO, "target/release/gslbctl"))
    ap.add_argument("--start-timeout", type=float, default=30.0)
    ap.add_argument("--sched", choices=["fifo", "nice", "none"], default="fifo",
                    help="as bench.py: chrt -f 1 (default), nice -n -10, or none")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args = ap.parse_args()
    args.seconds = max(1, min(args.seconds, 30))
    args.rounds = max(1, args.rounds)
    args.workloads = [w for w in args.workloads.split(",") if w]
    args.workload = "dnssec"  # bench.run_dnsperf: wire-format (-B) query files
    wanted = [s for s in args.servers.split(",") if s]
    for w in args.workloads:
        if w not in WORKLOADS:
            sys.exit("unknown workload %s (want %s)" % (w, ",".join(WORKLOADS)))
    if not shutil.which("dnsperf") or not shutil.which("taskset"):
        sys.exit("dnsperf and taskset are needed: benches/dns/install-peers.sh")

    atexit.register(bench.kill_all)
    signal.signal(signal.SIGTERM, bench.on_signal)
    signal.signal(signal.SIGINT, bench.on_signal)
    work = tempfile.mkdtemp(prefix="gslb-dnsbench-dnssec.")
    args.work = work
    os.chmod(work, 0o755)
    if not args.keep:
        atexit.register(shutil.rmtree, work, True)
    zone = os.path.join(work, "bench.test.zone")
    bench.gen_zone(zone)
    os.chmod(zone, 0o644)
    files = {(w, do): gen_wire_queries(work, w, do) for w in args.workloads for do in (False, True)}

    print("$ benches/dns/dnssec.sh " + " ".join(sys.argv[1:]))
    print("# DNSSEC online signing benchmark %s UTC, %s, %d CPUs; servers on CPU %d, dnsperf on "
          "CPU %d; %d rounds of %d s runs at %d QPS offered, -q %d; load average %s" % (
              datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M"),
              os.uname().release, os.cpu_count(), args.server_cpu, args.client_cpu,
              args.rounds, args.seconds, args.rate, args.outstanding,
              " ".join("%.2f" % x for x in os.getloadavg())), flush=True)
    table, skipped = {}, {}
    for name, start, ready, port, serves in SERVERS:
        if name not in wanted:
            continue
        workloads = [w for w in args.workloads if w in serves]
        results, why = measure_server(name, start, ready, port, workloads, zone, files, args)
        if results is None:
            skipped[name] = why
        else:
            table[name] = results
    summary(table, args)
    for name, why in skipped.items():
        print("NOT MEASURED: %s: %s" % (name, why))
    print("# load average at the end: %s" % " ".join("%.2f" % x for x in os.getloadavg()))
    if args.keep:
        print("work directory kept: " + work)


if __name__ == "__main__":
    main()
