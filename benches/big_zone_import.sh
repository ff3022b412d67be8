#!/usr/bin/env bash
# benches/big_zone_import.sh — a big zone through the control plane, beside Knot.
#
# Generates big.test. with N A records (`hN A ...`, default 1,000,000), then in one run:
#   1. Knot: load time of the file (start → first answer for the last name);
#   2. the demo (3 voters, 2 DNS learners, release build): `gslbctl zone import` of the
#      same file, timed until INSYNC on both DNS nodes (gslbctl waits for it);
#      elections during the import (gslb_raft_elections_total on every voter, before and
#      after); p99 of write → INSYNC of small writes another client makes meanwhile (one
#      every 100 ms into the demo's sample zone); the last name checked on both DNS nodes.
#   3. with the zone in place: a new DNS learner (a copy of dns-2's config under a new id
#      and ports) started and timed until it answers the last name (snapshot install,
#      compile); then dns-1 stopped and started again, timed the same way (its own
#      snapshot and log, compile), beside Knot's start.
# Then, 10 s after the last of them answered, the settled RSS of the three DNS learners
# (dns-2 through the log, the joined one, dns-1 restarted), anonymous and file-backed.
# Prints one table, then each node's per-phase log lines (import, slow applies, snapshots,
# log purges, plan installs). Targets (issue 17): import → INSYNC ≤ 10 s, 0 elections, p99 ≤ 100 ms,
# voter RSS ≤ 2× Knot's, a joining learner answers within 15 s, a restarted DNS node within
# 2× Knot's start.
#
# Usage: cargo build --release --bins && benches/big_zone_import.sh [N]
# Needs knotd and kdig (benches/dns/install-peers.sh), python3, curl.
set -euo pipefail

N=${1:-1000000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
GSLB=$ROOT/target/release/gslb
GSLBCTL=$ROOT/target/release/gslbctl
WORK=$(mktemp -d /tmp/gslb-big-zone.XXXXXX)
TOKEN=bench-token-0123456789abcdef
API_PORT=$((20000 + RANDOM % 10000))
DNS_PORT=$((API_PORT + 1))
KNOT_PORT=$((API_PORT + 2))
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    # KEEP_WORK=1 keeps the zone, configs and every node's log for a look afterwards.
    if [ -n "${KEEP_WORK:-}" ]; then echo "# kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

[ -x "$GSLB" ] && [ -x "$GSLBCTL" ] || { echo "build first: cargo build --release --bins" >&2; exit 2; }

now_ms() { date +%s%3N; }

# Polls `cmd` every 50 ms until it succeeds; fails after $1 seconds.
wait_for() {
    local limit=$1; shift
    local deadline=$(( $(now_ms) + limit * 1000 ))
    until "$@" >/dev/null 2>&1; do
        [ "$(now_ms)" -lt "$deadline" ] || { echo "timed out: $*" >&2; return 1; }
        sleep 0.05
    done
}

echo "# generating big.test. with $N A records" >&2
python3 - "$N" "$WORK/big.test.zone" <<'EOF'
import sys
n, path = int(sys.argv[1]), sys.argv[2]
with open(path, "w") as f:
    f.write("$ORIGIN big.test.\n$TTL 300\n@ 3600 IN SOA ns1 hostmaster 1 3600 600 86400 60\n"
            "@ 3600 IN NS ns1\nns1 IN A 192.0.2.53\n")
    f.writelines(f"h{k} IN A 10.{k >> 16 & 255}.{k >> 8 & 255}.{k & 255}\n" for k in range(n))
EOF
LAST=h$((N - 1)).big.test.
answers() { kdig @127.0.0.1 -p "$1" +short +timeout=1 +retry=0 "$LAST" A | grep -q '^10\.'; }

echo "# knot: load time" >&2
mkdir -p "$WORK/knot/db"
cat > "$WORK/knot/knot.conf" <<EOF
server:
    rundir: "$WORK/knot"
    listen: 127.0.0.1@$KNOT_PORT
log:
  - target: stderr
    any: error
database:
    storage: "$WORK/knot/db"
template:
  - id: default
    storage: "$WORK"
    semantic-checks: off
    zonefile-sync: -1
    journal-content: none
zone:
  - domain: big.test.
    file: "$WORK/big.test.zone"
EOF
started=$(now_ms)
knotd -c "$WORK/knot/knot.conf" & KNOT=$!; PIDS+=("$KNOT")
wait_for 300 answers "$KNOT_PORT"
KNOT_MS=$(( $(now_ms) - started ))
KNOT_RSS=$(awk '/VmRSS/ {print $2}' "/proc/$KNOT/status")
kill "$KNOT"; wait "$KNOT" 2>/dev/null || true

echo "# gslb demo" >&2
"$GSLB" demo --data-dir "$WORK/demo" --token "$TOKEN" --api "127.0.0.1:$API_PORT" \
    --dns "127.0.0.1:$DNS_PORT" > "$WORK/demo.log" 2>&1 & PIDS+=("$!")
export GSLB_API="http://127.0.0.1:$API_PORT" GSLB_TOKEN="$TOKEN"
# The banner comes once every node runs and answers. Read the DNS nodes' addresses from it,
# by name: the demo writes dns-1's config only after every other node listens, so reading
# dns-*.toml as soon as the API answered found dns-2's alone, and the restart below polled
# dns-2 while timing dns-1 (the "answered 27 ms after the restart" of earlier runs).
wait_for 180 grep -q '^  data dir ' "$WORK/demo.log"
wait_for 180 "$GSLBCTL" cluster status
VOTERS=$(grep -h '^listen = ' "$WORK"/demo/voter-*.toml | sed 's/listen = "\(.*\)"/\1/')
dns_address() { sed -n "s/^  node $1 pid [0-9]* dns udp+tcp \([^ ]*\) .*/\1/p" "$WORK/demo.log"; }
DNS1=$(dns_address dns-1)
DNS2=$(dns_address dns-2)
[ -n "$DNS1" ] && [ -n "$DNS2" ] || { echo "no dns-1/dns-2 address in the demo's banner" >&2; exit 1; }
DNS_NODES="$DNS1 $DNS2"
SAMPLE_ZONE=$(ls "$WORK"/demo/*.zone | head -1 | xargs basename | sed 's/\.zone$//')
wait_for 180 bash -c "for d in $DNS_NODES; do kdig @\${d%:*} -p \${d##*:} +short $SAMPLE_ZONE SOA | grep -q . || exit 1; done"

elections() {
    local total=0
    for voter in $VOTERS; do
        local value
        value=$(curl -sf -H "Authorization: Bearer $TOKEN" "http://$voter/metrics" \
            | awk '/^gslb_raft_elections_total / {print int($2)}')
        total=$((total + ${value:-0}))
    done
    echo "$total"
}

# Small writes from another client: one every 100 ms, each timed from the PUT to INSYNC.
python3 - "127.0.0.1:$API_PORT" "$TOKEN" "$SAMPLE_ZONE" "$WORK/small-writes.txt" "$WORK/stop" <<'EOF' &
import json, os, sys, time, urllib.request
api, token, zone, out, stop = sys.argv[1:6]
def call(method, path, body=None):
    request = urllib.request.Request(f"http://{api}{path}", method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as reply:
        return json.load(reply)
latencies, k = [], 0
while not os.path.exists(stop):
    k += 1
    started = time.monotonic()
    try:
        name = f"small-{k % 50}.{zone}."
        written = call("PUT", f"/v1/zones/{zone}./records/{name}/A",
                       {"name": name, "type": "A", "ttl": 60, "data": [f"192.0.2.{k % 250 + 1}"]})
        while call("GET", f"/v1/changes/{written['version']}")["status"] != "INSYNC":
            time.sleep(0.002)
        latencies.append((time.monotonic() - started) * 1000)
    except Exception as error:
        latencies.append(float("inf"))
        print(f"small write failed: {error}", file=sys.stderr)
    time.sleep(max(0.0, 0.1 - (time.monotonic() - started)))
with open(out, "w") as f:
    f.write("\n".join(str(x) for x in latencies))
EOF
WRITER=$!; PIDS+=("$WRITER")
sleep 1

before=$(elections)
started=$(now_ms)
"$GSLBCTL" --timeout 600s zone import "$WORK/big.test.zone" --zone big.test. > "$WORK/import.txt" 2>&1 \
    || { cat "$WORK/import.txt" >&2; exit 1; }
IMPORT_MS=$(( $(now_ms) - started ))
after=$(elections)
touch "$WORK/stop"; wait "$WRITER" || true
for d in $DNS_NODES; do answers "${d##*:}" || { echo "dns $d does not answer $LAST" >&2; exit 1; }; done
voter_rss() {
    for pid in $(pgrep -f "serve --config $WORK/demo/voter" || true); do
        awk '/VmRSS/ {print $2}' "/proc/$pid/status"; done | sort -n | tail -1
}
VOTER_RSS_AT_INSYNC=$(voter_rss)
# Steady state: every node takes a snapshot of the imported zone one to five seconds after
# the commit (raft::snapshot_trigger, staggered by node id), then gives the memory that took
# back. Read the RSS once each node logged it (or after 120 s).
snapshots_built() {
    for log in "$WORK"/demo/voter-*.log "$WORK"/demo/dns-*.log "$WORK"/demo/prober-*.log; do
        grep -q 'snapshot built' "$log" || return 1
    done
}
wait_for 120 snapshots_built || echo "# not every node built a snapshot within 120 s" >&2
VOTER_RSS=$(voter_rss)

echo "# a new DNS learner joins" >&2
JOIN_DNS_PORT=$((API_PORT + 3))
JOIN_CONTROL_PORT=$((API_PORT + 4))
sed -e 's/^node_id = .*/node_id = 20/' -e 's/dns-2/dns-3/g' \
    -e "s/^listen = \"[^\"]*\"/listen = \"127.0.0.1:$JOIN_CONTROL_PORT\"/" \
    -e "s/^listen = \[.*\]/listen = [\"127.0.0.1:$JOIN_DNS_PORT\"]/" \
    "$WORK/demo/dns-2.toml" > "$WORK/demo/dns-3.toml"
started=$(now_ms)
"$GSLB" serve --config "$WORK/demo/dns-3.toml" > "$WORK/dns-3.log" 2>&1 & PIDS+=("$!")
wait_for 300 answers "$JOIN_DNS_PORT" || { tail -20 "$WORK/dns-3.log" >&2; exit 1; }
JOIN_MS=$(( $(now_ms) - started ))
JOIN_PID=${PIDS[-1]}

echo "# dns-1 restarts" >&2
DNS1_PID=$(pgrep -f "serve --config $WORK/demo/dns-1.toml")
kill "$DNS1_PID"
wait_for 60 bash -c "! kill -0 $DNS1_PID"
# Time the restart only when nothing answers or is bound on dns-1's port once it is gone,
# and only if the answer came after the restarted node opened its listeners.
RESTART_VALID=yes
if answers "${DNS1##*:}"; then
    RESTART_VALID="no: ${DNS1} still answered after dns-1 exited"
fi
if ss -lunpH "sport = :${DNS1##*:}" 2>/dev/null | grep -q .; then
    echo "# udp ${DNS1} is still bound after dns-1 exited:" >&2
    ss -lunp "sport = :${DNS1##*:}" >&2 || true
    RESTART_VALID="no: udp ${DNS1} still bound after dns-1 exited"
fi
started=$(now_ms)
"$GSLB" serve --config "$WORK/demo/dns-1.toml" > "$WORK/dns-1-restart.log" 2>&1 & PIDS+=("$!")
wait_for 300 answers "${DNS1##*:}" || { tail -20 "$WORK/dns-1-restart.log" >&2; exit 1; }
RESTART_MS=$(( $(now_ms) - started ))
RESTART_PID=${PIDS[-1]}
rss_mib() { echo $(( $(awk '/VmRSS/ {print $2}' "/proc/$1/status") / 1024 )); }
JOIN_RSS=$(rss_mib "$JOIN_PID")
RESTART_RSS=$(rss_mib "$RESTART_PID")
# The answer must come from the restarted node: it logs `answering from the replicated
# state` when it opens its listeners, before any answer can leave them.
if ! grep -q 'answering from the replicated state' "$WORK/dns-1-restart.log"; then
    RESTART_VALID="no: ${DNS1} answered before the restarted dns-1 opened its listeners"
    ss -lunp "sport = :${DNS1##*:}" >&2 || true
fi
# Settled memory of the three DNS learners, each of which got the zone another way: dns-2
# applied the import's chunks through the log, dns-3 joined afterwards, dns-1 restarted from
# its snapshot. Read 10 s after the last of them answered (each has built or installed its
# snapshot and trimmed by then), split as smaps_rollup does: anonymous (heap) and the rest
# (file-backed: the binary's pages).
sleep 10
DNS2_PID=$(pgrep -f "serve --config $WORK/demo/dns-2.toml")
settled() {
    local rss anon
    rss=$(awk '/^Rss:/ {print $2}' "/proc/$1/smaps_rollup")
    anon=$(awk '/^Anonymous:/ {print $2}' "/proc/$1/smaps_rollup")
    echo "$((rss / 1024)) MiB ($(awk "BEGIN {printf \"%.2f\", $rss / $KNOT_RSS}")× Knot): anonymous $((anon / 1024)) MiB, file $(((rss - anon) / 1024)) MiB"
}
DNS2_SETTLED=$(settled "$DNS2_PID")
JOIN_SETTLED=$(settled "$JOIN_PID")
RESTART_SETTLED=$(settled "$RESTART_PID")
P99=$(python3 -c "
import sys
values = sorted(float(x) for x in open('$WORK/small-writes.txt').read().split())
print('n/a' if not values else f'{values[min(len(values) - 1, int(len(values) * 0.99))]:.0f} ms (n={len(values)})')")

echo
echo "big.test. with $N A records, $(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg)"
printf '%-46s %s\n' "Knot: load → first answer" "${KNOT_MS} ms, RSS $((KNOT_RSS / 1024)) MiB"
printf '%-46s %s\n' "gslb demo: zone import → INSYNC on both DNS" "${IMPORT_MS} ms (target ≤ 10000; $(awk "BEGIN {printf \"%.1f\", $IMPORT_MS / $KNOT_MS}")× Knot's load)"
printf '%-46s %s\n' "elections during the import (all voters)" "$((after - before)) (target 0)"
printf '%-46s %s\n' "small writes → INSYNC during it, p99" "$P99 (target ≤ 100 ms)"
printf '%-46s %s\n' "largest voter RSS at INSYNC" "$(( ${VOTER_RSS_AT_INSYNC:-0} / 1024 )) MiB ($(awk "BEGIN {printf \"%.2f\", ${VOTER_RSS_AT_INSYNC:-0} / $KNOT_RSS}")× Knot)"
printf '%-46s %s\n' "largest voter RSS after the import, settled" "$(( ${VOTER_RSS:-0} / 1024 )) MiB ($(awk "BEGIN {printf \"%.2f\", ${VOTER_RSS:-0} / $KNOT_RSS}")× Knot; target ≤ 2×)"
printf '%-46s %s\n' "new DNS learner: start → last name answered" "${JOIN_MS} ms (target ≤ 15000); RSS ${JOIN_RSS} MiB"
if [ "$RESTART_VALID" = yes ]; then
    printf '%-46s %s\n' "dns-1 restarted: start → last name answered" "${RESTART_MS} ms ($(awk "BEGIN {printf \"%.1f\", $RESTART_MS / $KNOT_MS}")× Knot's start; target ≤ 2×); RSS ${RESTART_RSS} MiB"
else
    printf '%-46s %s\n' "dns-1 restarted: start → last name answered" "not measured ($RESTART_VALID)"
fi
printf '%-46s %s\n' "settled RSS, dns-2 (the import through the log)" "$DNS2_SETTLED"
printf '%-46s %s\n' "settled RSS, dns-3 (joined after the import)" "$JOIN_SETTLED"
printf '%-46s %s\n' "settled RSS, dns-1 (restarted)" "$RESTART_SETTLED"
echo "gslbctl: $(tail -1 "$WORK/import.txt")"
echo
echo "# per-phase log lines (demo nodes, then the joining learner, then dns-1 restarted)"
for log in "$WORK"/demo/voter-*.log "$WORK"/demo/dns-*.log "$WORK/dns-3.log" "$WORK/dns-1-restart.log"; do
    grep -HE 'import: |slow apply|snapshot (built|installed)|snapshot after big|purging the log below|start: |raft node started|caught up|installed answer plan|prepared the plan|staged commit: |answering' \
        "$log" | sed "s|^$WORK/||" | cut -c1-260 || true
done
