#!/usr/bin/env python3
"""Rolling restart under load: lost queries per DNS node while every node of a cluster is
restarted one by one (issue 9 item 4).

    cargo build --release -p gslb
    benches/dns/rolling_restart.py                      # 10k QPS per DNS node, LB model
    benches/dns/rolling_restart.py --rate 5000 --direct # also count a node's own downtime
    benches/dns/rolling_restart.py --down 2             # each node down 2 s: leader elections
    benches/dns/rolling_restart.py --gslb-bin /tmp/gslb-release-XXXX --keep

What it does, all on 127.0.0.1, every step under a time limit, every process it started
stopped on exit (also on Ctrl-C / SIGTERM):

  1. starts a cluster the way `gslb demo` does: 3 voters (voter-1 imports the benchmark's
     zone `bench.test.` when it creates the cluster) and 2 DNS nodes (Raft learners with
     [dns], one UDP worker each); writes the GSLB records of bench.py's dynamic workloads
     (`w` weighted, `geo`) through the API and waits until both DNS nodes answer them;
  2. puts one dnsperf on each DNS node at a fixed rate (--rate, default 10,000 QPS each;
     the static mix of bench.py plus the two GSLB names), DNS nodes and dnsperf under
     SCHED_FIFO as in bench.py (--sched none to change), every node on CPU 0, dnsperf on 1;
  3. restarts voter-1, voter-2, voter-3, dns-1, dns-2 in turn: SIGTERM, wait for the exit
     (and --down seconds: a restart of the leader quicker than the election timeout finds
     it leader again, openraft keeps its committed vote; --down 2 forces an election), start
     it again with the same config and data dir, wait until `/readyz` says ready,
     not stale, with a leader (a voter: follower or leader again), and a DNS node answers
     DNS, then --pause seconds before the next;
  4. stops the load and reports, per DNS node, queries offered (rate × run time), sent,
     lost (no answer within dnsperf's 1 s timeout), not sent (dnsperf does not count a send
     the kernel refused while the port was closed) and answered with SERVFAIL or REFUSED;
     the figure is (offered − answered + SERVFAIL/REFUSED) / offered.

The load balancer model (default). In production a DNS node sits behind an L4 load
balancer whose health check (`/readyz`, or `externalTrafficPolicy: Local` with the
kube-proxy health check) takes a terminating pod out of rotation during its preStop delay,
before SIGTERM reaches it, and puts it back once it is ready. The script does what that
balancer does: load runs as back-to-back dnsperf runs of --segment seconds; before SIGTERM
to a DNS node the script lets that node's current run end (dnsperf stops sending at its time
limit and collects the answers in flight: stopping it with SIGINT would count its in-flight
queries as lost) and starts no other until the node's /readyz answers 200 again, the
moment a balancer's health check would put it back. So the figure measures what the product is responsible for: nothing lost on
a DNS node while any *other* node (voters included) restarts, no wrong or missing answers
right after a node says it is ready, and every query sent before the drain answered.

--direct keeps each dnsperf running through its own node's restart, as a client that
talks to one node's address with no balancer would see it: that node's downtime (exit +
start + catch-up) times the rate is lost by construction; reported separately.

Standard library only; shares the zone and query generators of bench.py.
"""

import argparse
import atexit
import datetime
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench  # noqa: E402  (zone, queries, dns_query, GSLB batch, dnsperf parsing)

ADDR = "127.0.0.1"
SECRET = "rolling-restart-cluster-secret"
TOKEN = "rolling-restart-token"
VOTER_HTTP = [15471, 15472, 15473]
DNS_PORTS = [15481, 15482]
DNS_HTTP = [15491, 15492]
RAFT_TIMING = '\n[control.raft]\nheartbeat = "100ms"\nelection_min = "500ms"\nelection_max = "1000ms"\n'

CHILDREN = {}   # name -> Popen (each in its own session)
LOADS = []      # Load threads (each may have a dnsperf running)


def log(msg):
    print("[%s] %s" % (datetime.datetime.now(datetime.timezone.utc).strftime("%H:%M:%S.%f")[:-3],
                       msg), flush=True)


def node_configs(work, zone):
    """name -> (config path, http port, dns port or None)."""
    bootstrap = ", ".join('%d = "%s:%d"' % (i + 1, ADDR, p) for i, p in enumerate(VOTER_HTTP))
    seeds = ", ".join('"%s:%d"' % (ADDR, p) for p in VOTER_HTTP)
    with open(os.path.join(work, "api-token"), "w") as f:
        f.write(TOKEN + "\n")
    nodes = {}

    def control(name, node_id, http):
        return ('[log]\nformat = "text"\nlevel = "info"\n\n[control]\nnode_id = %d\n'
                'data_dir = "%s.data"\nlisten = "%s:%d"\ncluster_secret = "%s"\n'
                'api_token_file = "api-token"\n' % (node_id, name, ADDR, http, SECRET))
    for i, http in enumerate(VOTER_HTTP):
        name = "voter-%d" % (i + 1)
        text = control(name, i + 1, http) + 'role = "voter"\nbootstrap = { voters = { %s } }\n' % bootstrap
        text += RAFT_TIMING
        if i == 0:
            text += '\n[[zones]]\nfile = "%s"\norigin = "%s"\n' % (zone, bench.ORIGIN)
        nodes[name] = (text, http, None)
    geo = "".join('\n[[dns.geo.networks]]\ncidr = "%s"\ncountry = "%s"\ncontinent = "%s"\n'
                  % (cidr, country, continent)
                  for cidr, continent, country, _dc in bench.client_nets() if continent)
    for i, (port, http) in enumerate(zip(DNS_PORTS, DNS_HTTP)):
        name = "dns-%d" % (i + 1)
        text = control(name, 4 + i, http) + 'role = "learner"\nseeds = [%s]\n' % seeds + RAFT_TIMING
        text += '\n[dns]\nlisten = ["%s:%d"]\nudp_workers = 1\n\n[dns.geo]\n%s' % (ADDR, port, geo)
        nodes[name] = (text, http, port)
    out = {}
    for name, (text, http, port) in nodes.items():
        path = os.path.join(work, name + ".toml")
        with open(path, "w") as f:
            f.write(text)
        out[name] = (path, http, port)
    return out


def start_node(name, cfg, args):
    path = cfg[0]
    logf = open(os.path.join(args.work, name + ".log"), "a")
    # Every node on CPU 0, dnsperf on CPU 1; DNS nodes with the data path's scheduling.
    argv = (sched(args) if cfg[2] else []) + ["taskset", "-c", "0", args.gslb_bin, "serve",
                                              "--config", path]
    p = subprocess.Popen(argv, stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                         cwd=args.work, start_new_session=True,
                         env=dict(os.environ, RUST_LOG="info"))
    CHILDREN[name] = p
    return p


def stop_node(name, timeout=15.0):
    """SIGTERM and wait; SIGKILL after timeout. Returns seconds to exit."""
    p = CHILDREN.get(name)
    if p is None or p.poll() is not None:
        return 0.0
    t0 = time.time()
    os.killpg(p.pid, signal.SIGTERM)
    try:
        p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        log("%s did not exit within %.0fs after SIGTERM: SIGKILL" % (name, timeout))
        os.killpg(p.pid, signal.SIGKILL)
        p.wait(timeout=5)
    return time.time() - t0


def http_json(port, path, timeout=1.0, body=None):
    req = urllib.request.Request("http://%s:%d%s" % (ADDR, port, path), data=body,
                                 method="POST" if body else "GET",
                                 headers={"Authorization": "Bearer " + TOKEN,
                                          "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, json.load(resp)
    except urllib.error.HTTPError as e:
        try:
            return e.code, json.load(e)
        except ValueError:
            return e.code, None


def wait_ready(name, cfg, timeout, on_ready=None):
    """Polls /readyz and, on a DNS node, DNS (bench.test SOA) until both hold. Returns
    (seconds to /readyz 200, seconds to DNS answering or None). `on_ready` is called the
    moment /readyz first answers 200: that is all a load balancer's health check sees, so
    the balancer model puts load back on the node then, not when the script has seen DNS
    answer. Before the next node goes, a node must also be in the cluster again: not
    stale, with a known role, and leader contact (a quorum ack on a leader) since this
    start, less than 1 s ago."""
    _path, http, dns_port = cfg
    t0 = time.time()
    deadline = t0 + timeout
    last = None
    ready_at = dns_at = None
    in_cluster = False
    while time.time() < deadline:
        p = CHILDREN[name]
        if p.poll() is not None:
            raise RuntimeError("%s exited (code %s); see %s.log" % (name, p.returncode, name))
        if not in_cluster:
            try:
                status, body = http_json(http, "/readyz", timeout=0.5)
                last = (status, body)
                if status == 200 and ready_at is None:
                    ready_at = time.time() - t0
                    if on_ready:
                        on_ready()
                contact = body.get("millis_since_leader_contact") if body else None
                in_cluster = status == 200 and not body.get("stale") and \
                    body.get("role") in ("leader", "follower", "learner") and \
                    contact is not None and contact < 1000
            except Exception as e:  # noqa: BLE001
                last = str(e)
        if dns_port and dns_at is None:
            try:
                r = bench.dns_query(dns_port, "bench.test", "SOA", timeout=0.1)
                if r["rcode"] == 0 and r["an"] == 1:
                    dns_at = time.time() - t0
            except Exception:  # noqa: BLE001
                pass
        if in_cluster and (dns_at is not None or not dns_port):
            return ready_at, dns_at
        time.sleep(0.02)
    raise RuntimeError("%s not ready within %.0fs (last /readyz: %s)" % (name, timeout, last))


def write_records(cfgs):
    body = json.dumps(bench.gslb_dyn_batch()).encode()
    deadline = time.time() + 30
    while True:
        try:
            status, resp = http_json(cfgs["voter-1"][1], "/v1/changes", timeout=5, body=body)
            if status < 300:
                return resp
            err = "HTTP %d %s" % (status, resp)
        except OSError as e:
            err = str(e)
        if time.time() > deadline:
            raise RuntimeError("cannot write the GSLB records: %s" % err)
        time.sleep(0.2)


def wait_gslb_answers(port, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if bench.dyn_query(port, bench.WEIGHTED_NAME, timeout=0.3)["addrs"]:
                return
        except Exception:  # noqa: BLE001
            pass
        time.sleep(0.1)
    raise RuntimeError("DNS on %d does not answer %s" % (port, bench.WEIGHTED_NAME))


class Load(threading.Thread):
    """dnsperf on one DNS node in back-to-back segments of --segment seconds, each ending
    by its time limit (dnsperf then waits for the answers in flight, up to its 1 s
    timeout), so no query is cut off by stopping the client. `pause` lets the current
    segment end and starts no other (the balancer took the node out); `resume` puts it
    back."""

    def __init__(self, name, port, args):
        super().__init__(daemon=True)
        self.node, self.port, self.args = name, port, args
        self.results = []
        self.paused = False
        self.finish = False
        self.proc = None
        self.busy = False
        self.seq = 0

    def run(self):
        while not self.finish:
            if self.paused:
                time.sleep(0.005)
                continue
            self.busy = True
            try:
                self.results.append(self.segment())
            finally:
                self.busy = False

    def segment(self):
        out = os.path.join(self.args.work, "dnsperf-%s-%d.out" % (self.node, self.seq))
        self.seq += 1
        argv = sched(self.args) + ["taskset", "-c", "1", "dnsperf", "-s", ADDR, "-p", str(self.port),
                                   "-d", self.args.qfile, "-l", str(self.args.segment), "-c", "1",
                                   "-T", "1", "-q", "500", "-t", "1", "-Q", str(self.args.rate)]
        with open(out, "w") as f:
            self.proc = subprocess.Popen(argv, stdout=f, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            self.proc.wait(timeout=self.args.segment + 15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        with open(out) as f:
            text = f.read()
        r = bench.parse_dnsperf(text)
        r["raw"] = text
        r["bad_rcodes"] = 0
        for rc in ("SERVFAIL", "REFUSED", "FORMERR", "NOTIMP"):
            m = re.search(r"%s (\d+)" % rc, r["rcodes"])
            if m:
                r["bad_rcodes"] += int(m.group(1))
        return r

    def pause(self):
        self.paused = True
        deadline = time.time() + self.args.segment + 20
        while self.busy and time.time() < deadline:
            time.sleep(0.005)

    def resume(self):
        self.paused = False

    def stop(self):
        self.pause()
        self.finish = True
        self.join(timeout=5)

    def kill(self):
        self.finish = True
        self.paused = True
        p = self.proc
        if p is not None and p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except OSError:
                pass


def sched(args):
    """SCHED_FIFO for the data path (DNS nodes, dnsperf), as bench.py does, so that other
    engineers' compiles on the same two cores do not stall it for a second (dnsperf's
    timeout): such a stall would count as lost queries that the product did not lose."""
    return ["chrt", "-f", "1"] if args.sched == "fifo" else []


def cleanup():
    for load in list(LOADS):
        load.kill()
    LOADS.clear()
    for name, p in list(CHILDREN.items()):
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except OSError:
                pass
    deadline = time.time() + 10
    for name, p in list(CHILDREN.items()):
        try:
            p.wait(timeout=max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except OSError:
                pass
            p.wait()
    CHILDREN.clear()


def on_signal(signum, _frame):
    cleanup()
    sys.exit(128 + signum)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rate", type=int, default=10000, help="QPS per DNS node (max 20000)")
    ap.add_argument("--pause", type=float, default=3.0,
                    help="seconds of load between one node ready and the next restart")
    ap.add_argument("--direct", action="store_true",
                    help="no balancer model: dnsperf keeps sending to a node while it restarts")
    ap.add_argument("--gslb-bin", default=os.path.join(bench.REPO, "target/release/gslb"))
    ap.add_argument("--ready-timeout", type=float, default=30.0)
    ap.add_argument("--down", type=float, default=0.0,
                    help="seconds each node stays stopped before it is started again (above "
                         "the 0.5-1 s election timeout, restarting the leader forces an election)")
    ap.add_argument("--segment", type=int, default=5, help="seconds per dnsperf run")
    ap.add_argument("--sched", choices=["fifo", "none"], default="fifo",
                    help="fifo: DNS nodes and dnsperf under chrt -f 1 (default)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    args = ap.parse_args()
    args.rate = max(100, min(args.rate, 20000))
    args.max_seconds = 300  # no restart starts after this; every dnsperf run is bounded too
    args.segment = max(1, min(args.segment, 30))
    args.down = max(0.0, min(args.down, 30.0))
    if not os.path.exists(args.gslb_bin):
        sys.exit("%s missing: cargo build --release -p gslb" % args.gslb_bin)
    if not shutil.which("dnsperf"):
        sys.exit("dnsperf missing: benches/dns/install-peers.sh")
    for port in VOTER_HTTP + DNS_HTTP + DNS_PORTS:
        if not bench.port_free(port):
            sys.exit("port %d on %s is busy" % (port, ADDR))

    atexit.register(cleanup)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    args.work = tempfile.mkdtemp(prefix="gslb-rolling.")
    if not args.keep:
        atexit.register(shutil.rmtree, args.work, True)
    zone = os.path.join(args.work, "bench.test.zone")
    bench.gen_zone(zone)
    args.qfile = os.path.join(args.work, "queries.txt")
    bench.gen_queries(args.qfile)
    with open(args.qfile, "a") as f:  # GSLB answers in the mix too (no ECS: default branch)
        f.write("w.bench.test A\ngeo.bench.test A\n" * 1000)

    started = time.time()
    print("$ benches/dns/rolling_restart.py " + " ".join(sys.argv[1:]))
    log("rolling restart, %s, %d CPUs, load average %s; %d QPS per DNS node, %s" % (
        os.uname().release, os.cpu_count(), " ".join("%.2f" % x for x in os.getloadavg()),
        args.rate, "direct (no balancer)" if args.direct else "balancer model"))
    cfgs = node_configs(args.work, zone)
    for name, cfg in cfgs.items():
        start_node(name, cfg, args)
    for name, cfg in cfgs.items():
        log("%s ready after %.2fs" % (name, wait_ready(name, cfg, args.ready_timeout)[0]))
    write_records(cfgs)
    for port in DNS_PORTS:
        wait_gslb_answers(port)
    log("GSLB records answered on both DNS nodes")

    dns_names = ["dns-1", "dns-2"]
    loads = {}
    for n in dns_names:
        loads[n] = Load(n, cfgs[n][2], args)
        LOADS.append(loads[n])
        loads[n].start()
    time.sleep(args.pause)
    events = []
    for name in ["voter-1", "voter-2", "voter-3", "dns-1", "dns-2"]:
        if time.time() - started > args.max_seconds:
            log("time limit reached: no more restarts")
            break
        t0 = time.time()
        if name in loads and not args.direct:
            loads[name].pause()
            log("%s: out of rotation (its dnsperf segment ended with its answers in)" % name)
        try:
            role = http_json(cfgs[name][1], "/readyz", timeout=0.5)[1].get("role")
        except Exception:  # noqa: BLE001
            role = "?"
        exit_s = stop_node(name)
        log("%s (%s): SIGTERM, exited after %.2fs" % (name, role, exit_s))
        if args.down:
            time.sleep(args.down)
        start_node(name, cfgs[name], args)
        resume = None
        if name in loads and not args.direct:
            resume = loads[name].resume  # the balancer: back in rotation on /readyz 200
        ready_s, dns_s = wait_ready(name, cfgs[name], args.ready_timeout, resume)
        log("%s: started again, /readyz 200 after %.2fs%s%s" % (
            name, ready_s, "" if dns_s is None else ", DNS answering after %.2fs" % dns_s,
            ", back in rotation at /readyz 200" if resume else ""))
        events.append(("%s (%s)" % (name, role), exit_s, ready_s, dns_s, time.time() - t0))
        time.sleep(args.pause)
    for load in loads.values():
        load.stop()
    runs = {n: loads[n].results for n in dns_names}
    elapsed = time.time() - started

    print()
    print("## Restarts\n")
    # A DNS node answers nothing from SIGTERM until its new process answers; with a
    # balancer, /readyz 200 before DNS answers is the window that costs queries.
    print("| node | SIGTERM → exit s | start → /readyz 200 s | start → DNS answers s "
          "| no DNS from SIGTERM s | /readyz 200 before DNS s | whole step s |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, exit_s, ready_s, dns_s, step in events:
        if dns_s is None:
            print("| %s | %.2f | %.2f | – | – | – | %.2f |" % (name, exit_s, ready_s, step))
        else:
            print("| %s | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |" % (
                name, exit_s, ready_s, dns_s, exit_s + args.down + dns_s,
                max(0.0, dns_s - ready_s), step))
    print()
    print("## Load per DNS node (%s, %d QPS offered)\n" % (
        "direct: dnsperf kept sending through the node's own restart" if args.direct
        else "balancer model: no load on a node between its SIGTERM and its ready", args.rate))
    print("| DNS node | dnsperf runs | offered | sent | answered | lost | not sent | SERVFAIL/REFUSED "
          "| unanswered+failed % of offered | target < 0.01 % |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    worst = 0.0
    for name in dns_names:
        sent = sum(r["sent"] for r in runs[name])
        done = sum(r["completed"] for r in runs[name])
        lost = sum(r["lost"] for r in runs[name])
        bad = sum(r["bad_rcodes"] for r in runs[name])
        # dnsperf does not count a send the kernel refused (ICMP port unreachable from a
        # stopped node, on loopback) as sent: count the shortfall against the rate.
        offered = args.rate * args.segment * len(runs[name])
        unsent = max(0, offered - sent)
        pct = 100.0 * (offered - done + bad) / offered if offered else 100.0
        worst = max(worst, pct)
        print("| %s | %d | %d | %d | %d | %d | %d | %d | %.4f | %s |" % (
            name, len(runs[name]), offered, sent, done, lost, unsent, bad, pct,
            "met" if pct < 0.01 else "**missed**"))
    print()
    for name in dns_names:
        for i, r in enumerate(runs[name]):
            print("%s run %d: %.1fs, %.0f QPS, rcodes %s" % (name, i, r["runtime"], r["qps"], r["rcodes"]))
    print("(dnsperf keeps at most 500 queries outstanding: while a node answers nothing it "
          "loses ~500 per second of its 1 s timeout, then catches up on the rate, so its loss "
          "during an outage is a floor; rate × the no-DNS window is what a client population "
          "sending straight to the node would lose)")
    log("done in %.0fs; worst DNS node %.4f %% lost or failed" % (elapsed, worst))
    if args.keep:
        print("work directory kept: " + args.work)


if __name__ == "__main__":
    main()
