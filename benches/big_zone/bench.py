#!/usr/bin/env python3
"""Big-zone benchmark, DNS node side: one zone of N A records (default 1,000,000:
`$ORIGIN big.test.`, SOA, NS, `hN A ...`) served by Knot, NSD and a gslb DNS node over
the zone file (`gslb serve --config` with `[[zones]] file`), each started alone on it.

For each server: the time from start to the first correct answer for the LAST name
(polled with dig, one query at a time), then its resident memory (VmRSS; VmHWM, the
peak; NSD forks, so its figure is the PSS sum of its processes, as VmRSS would count
shared pages twice). gslb also logs its start-up phases (read, parse, compile, first
answer, each with the resident memory after it): they are printed as a second table.

Plan swap for one edit: one A record of the running gslb node is changed in the file
(and the serial moved on), SIGHUP reloads it, and the time the node's follower took from
the new state to the new plan answering is read from its `plan swapped` debug line
(the incremental compile of the changed name); the wall time until dig sees the new
address is printed beside it (it includes re-reading the whole file).

Loopback only, every wait is bounded, every server is killed on exit. Standard
library only. Usage: benches/big_zone.sh --help.
"""

import argparse
import atexit
import importlib.util
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
ADDR = "127.0.0.1"
ORIGIN = "big.test."
STARTED = []


def load_peers():
    """benches/dns/bench.py, whose peer servers' config writers this bench reuses."""
    path = os.path.join(REPO, "benches", "dns", "bench.py")
    spec = importlib.util.spec_from_file_location("dns_bench", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


PEERS = load_peers()


def cleanup():
    for proc in STARTED:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()


atexit.register(cleanup)


def address(i):
    return "10.%d.%d.%d" % ((i >> 16) & 255, (i >> 8) & 255, i & 255)


def gen_zone(path, records, serial=1, changed=None):
    """The zone; `changed` = (index, address) replaces one record's address."""
    with open(path, "w") as f:
        f.write("$ORIGIN %s\n$TTL 3600\n" % ORIGIN)
        f.write("@ IN SOA ns1 hostmaster %d 7200 900 1209600 300\n" % serial)
        f.write("@ IN NS ns1\nns1 IN A 127.0.0.1\n")
        w = f.write
        for i in range(records):
            if changed and changed[0] == i:
                w("h%d IN A %s\n" % (i, changed[1]))
            else:
                w("h%d IN A %s\n" % (i, address(i)))


def dig(port, name, timeout=1):
    try:
        out = subprocess.run(
            ["dig", "+short", "+time=1", "+tries=1", "-p", str(port), "@" + ADDR, name, "A"],
            capture_output=True, text=True, timeout=timeout + 2).stdout
    except subprocess.TimeoutExpired:
        return ""
    return out.strip()


def wait_answer(port, name, expected, deadline_s, started):
    """Polls until `name` answers `expected`; seconds since `started`, or None."""
    while time.monotonic() - started < deadline_s:
        if dig(port, name) == expected:
            return time.monotonic() - started
        time.sleep(0.02)
    return None


def tree(pid):
    """pid and every descendant."""
    pids, frontier = [pid], [pid]
    while frontier:
        parent = frontier.pop()
        try:
            children = open("/proc/%d/task/%d/children" % (parent, parent)).read().split()
        except OSError:
            children = []
        for child in map(int, children):
            pids.append(child)
            frontier.append(child)
    return pids


def status_kib(pid, field):
    try:
        for line in open("/proc/%d/status" % pid):
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def pss_kib(pid):
    try:
        for line in open("/proc/%d/smaps_rollup" % pid):
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def memory(pid):
    """(resident MiB, peak MiB): one process's VmRSS/VmHWM; a forking server's PSS sum
    (its peak then is the largest VmHWM of its processes)."""
    pids = tree(pid)
    if len(pids) == 1:
        return status_kib(pid, "VmRSS") / 1024, status_kib(pid, "VmHWM") / 1024
    return (sum(pss_kib(p) for p in pids) / 1024,
            max(status_kib(p, "VmHWM") for p in pids) / 1024)


def start(argv, log, env=None):
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True, env=env)
    STARTED.append(proc)
    return proc


def stop(proc):
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def knot(d, zone, port):
    """Knot's argv over `zone`, its config written as benches/dns/bench.py writes it; None
    when knotd is not installed."""
    argv, _missing = PEERS.srv_knot(d, zone, port, None, origin=ORIGIN)
    return argv


def nsd(d, zone, port):
    """NSD's argv over `zone`, its config written as benches/dns/bench.py writes it; None
    when nsd is not installed."""
    argv, _missing = PEERS.srv_nsd(d, zone, port, None, origin=ORIGIN)
    return argv


def gslb(d, zone, port, exe):
    """gslb's argv over `zone`: benches/dns/bench.py's config, logging at info (the
    start-up phase lines)."""
    config = PEERS.gslb_config(d, zone, port, origin=ORIGIN, level="info")
    return [exe, "serve", "--config", config]


PHASES = [
    ("read", r"read zone file.*elapsed_ms=(\d+).*rss (\d+) MiB, peak (\d+) MiB"),
    ("parse", r"parsed zone file.*elapsed_ms=(\d+).*rss (\d+) MiB, peak (\d+) MiB"),
    ("compile", r"installed answer plan.*elapsed_ms=(\d+).*rss (\d+) MiB, peak (\d+) MiB"),
    ("first answer", r"answering.*since_start_ms=(\d+).*rss (\d+) MiB, peak (\d+) MiB"),
]


def phases(log_path):
    text = re.sub(r"\x1b\[[0-9;]*m", "", open(log_path).read())
    rows = []
    for phase, pattern in PHASES:
        match = re.search(pattern, text)
        if match:
            rows.append((phase,) + tuple(int(g) for g in match.groups()))
    return rows


def run_server(name, argv, port, records, deadline, log_path, env=None):
    last = "h%d.%s" % (records - 1, ORIGIN)
    with open(log_path, "w") as log:
        started = time.monotonic()
        proc = start(argv, log, env)
        took = wait_answer(port, last, address(records - 1), deadline, started)
        if took is None:
            stop(proc)
            return proc, None, None, None
        time.sleep(1)  # settle: start-up buffers freed
        rss, peak = memory(proc.pid)
        return proc, took, rss, peak


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--servers", default="knot,nsd,gslb")
    parser.add_argument("--gslb", default=os.path.join(REPO, "target/release/gslb"),
                        help="the gslb binary (cargo build --release)")
    parser.add_argument("--port", type=int, default=25353, help="first of three ports")
    parser.add_argument("--deadline", type=float, default=180, help="seconds per start")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="gslb-bigzone-")
    if not args.keep:
        atexit.register(shutil.rmtree, work, True)
    zone = os.path.join(work, "big.zone")
    gen_zone(zone, args.records)
    size_mb = os.path.getsize(zone) / 1e6
    print("zone: %d A records, %.1f MB, %s" % (args.records, size_mb, zone), flush=True)

    results = {}
    phase_rows = []
    swap = None
    for offset, name in enumerate(args.servers.split(",")):
        port = args.port + offset
        d = os.path.join(work, name)
        os.makedirs(d, exist_ok=True)
        env = None
        if name == "knot":
            argv = knot(d, zone, port)
        elif name == "nsd":
            argv = nsd(d, zone, port)
        elif name == "gslb":
            argv = gslb(d, zone, port, args.gslb)
            env = dict(os.environ, RUST_LOG="info,gslb_dns::follow=debug")
        else:
            sys.exit("unknown server %s" % name)
        if argv is None or not os.path.exists(argv[0]):
            print("%s: not installed, skipped" % name, flush=True)
            continue
        log_path = os.path.join(d, "server.log")
        proc, took, rss, peak = run_server(name, argv, port, args.records, args.deadline,
                                           log_path, env)
        if took is None:
            print("%s: no answer within %.0f s (log %s)" % (name, args.deadline, log_path),
                  flush=True)
            continue
        results[name] = (took, rss, peak)
        print("%s: first answer %.2f s, resident %.0f MiB, peak %.0f MiB"
              % (name, took, rss, peak), flush=True)
        if name == "gslb":
            phase_rows = phases(log_path)
            swap = measure_swap(proc, zone, port, args.records, log_path)
        stop(proc)

    print()
    print("| server | resident memory (MiB) | peak (MiB) | first answer (s) | memory / Knot | time / Knot |")
    print("|---|---|---|---|---|---|")
    knot_row = results.get("knot")
    for name, (took, rss, peak) in results.items():
        ratio = lambda a, b: ("%.2f" % (a / b)) if b else "-"
        print("| %s | %.0f | %.0f | %.2f | %s | %s |" % (
            name, rss, peak, took,
            ratio(rss, knot_row[1]) if knot_row else "-",
            ratio(took, knot_row[0]) if knot_row else "-"))
    if phase_rows:
        print()
        print("gslb start-up phases (from its log):")
        print("| phase | took (ms) | resident after (MiB) | peak so far (MiB) |")
        print("|---|---|---|---|")
        for phase, ms, rss, peak in phase_rows:
            label = "%s (since start)" % phase if phase == "first answer" else phase
            print("| %s | %d | %d | %d |" % (label, ms, rss, peak))
    if swap:
        print()
        print("gslb plan swap for one edited record (zone-file reload, SIGHUP): "
              "incremental compile + swap %.1f ms; reload to new answer %.2f s "
              "(re-reading the whole file)" % swap)


def measure_swap(proc, zone, port, records, log_path):
    """Edits one record, SIGHUPs the node, returns (swap ms, reload-to-answer s)."""
    index = records // 2
    fresh = "192.0.2.77"
    gen_zone(zone, records, serial=2, changed=(index, fresh))
    before = len(open(log_path).read())
    started = time.monotonic()
    os.kill(proc.pid, signal.SIGHUP)
    took = wait_answer(port, "h%d.%s" % (index, ORIGIN), fresh, 120, started)
    if took is None:
        return None
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        text = re.sub(r"\x1b\[[0-9;]*m", "", open(log_path).read()[before:])
        match = re.search(r"plan swapped.*version=2 swap_ms=([0-9.]+)", text)
        if match:
            return float(match.group(1)), took
        time.sleep(0.05)
    return None


if __name__ == "__main__":
    main()
