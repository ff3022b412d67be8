#!/usr/bin/env bash
# Server CPU per query for DO=0 and DO=1 queries to the same signed zone, at a fixed rate
# (docs/perf.md "DNSSEC online signing"). One gslb node (control plane + one UDP worker)
# pinned to CPU 0, dnsperf pinned to CPU 1; the server's utime+stime is read from
# /proc/PID/stat around each run. Needs target/release/gslb, target/release/gslbctl
# (or GSLB / GSLBCTL), dnsperf and taskset.
#
#   benches/dns/dnssec.sh [RATE] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
RATE="${1:-30000}"
SECONDS_PER_RUN="${2:-10}"
GSLB="${GSLB:-target/release/gslb}"
GSLBCTL="${GSLBCTL:-target/release/gslbctl}"
DIR="$(mktemp -d /tmp/gslb-dnssec-bench.XXXXXX)"
API_PORT=18653
DNS_PORT=15360
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$DIR"
}
trap cleanup EXIT INT TERM

{
  echo '$ORIGIN bench.test.'
  echo '$TTL 300'
  echo '@ 3600 IN SOA ns1 hostmaster 1 3600 600 86400 60'
  echo '@ 3600 IN NS ns1'
  echo 'ns1 IN A 192.0.2.1'
  for i in $(seq 0 1999); do echo "host$i IN A 10.0.$((i / 250)).$((i % 250))"; done
} > "$DIR/bench.zone"
for i in $(seq 0 15999); do echo "host$((i % 2000)).bench.test A"; done > "$DIR/queries"
for i in $(seq 0 1999); do echo "host$i.bench.test AAAA"; done >> "$DIR/queries"
for i in $(seq 0 1999); do echo "nothere$i.bench.test A"; done >> "$DIR/queries"
shuf --random-source=<(yes) "$DIR/queries" -o "$DIR/queries"

cat > "$DIR/node.toml" <<TOML
[log]
level = "warn"
[control]
node_id = 1
data_dir = "$DIR/data"
listen = "127.0.0.1:$API_PORT"
cluster_secret = "bench-cluster-secret-0123456"
api_token = "bench-admin-token-0123456"
role = "voter"
bootstrap = { voters = { 1 = "127.0.0.1:$API_PORT" } }
[dns]
listen = ["127.0.0.1:$DNS_PORT"]
udp_workers = 1
[dns.rrl]
rate = 0
[[zones]]
file = "$DIR/bench.zone"
origin = "bench.test."
TOML
taskset -c 0 "$GSLB" serve --config "$DIR/node.toml" 2>"$DIR/server.log" &
SERVER_PID=$!
export GSLB_API="http://127.0.0.1:$API_PORT" GSLB_TOKEN="bench-admin-token-0123456"
for _ in $(seq 1 100); do
  if dig +short +time=1 +tries=1 -p "$DNS_PORT" @127.0.0.1 host1.bench.test A | grep -q 10.0; then break; fi
  sleep 0.2
done
"$GSLBCTL" dnssec enable bench.test. >/dev/null

cpu_ticks() { awk '{print $14 + $15}' "/proc/$SERVER_PID/stat"; }
run() {
  local label="$1"; shift
  # warm-up: every name once (fills the signature and signed-reply caches for DO=1)
  dnsperf -s 127.0.0.1 -p "$DNS_PORT" -d "$DIR/queries" -n 1 "$@" >/dev/null 2>&1
  local before after
  before=$(cpu_ticks)
  local out
  out=$(taskset -c 1 dnsperf -s 127.0.0.1 -p "$DNS_PORT" -d "$DIR/queries" -c 1 -T 1 -q 300 \
    -l "$SECONDS_PER_RUN" -Q "$RATE" "$@" 2>&1)
  after=$(cpu_ticks)
  local completed qps lost
  completed=$(echo "$out" | awk '/Queries completed:/ {print $3}')
  lost=$(echo "$out" | awk '/Queries lost:/ {print $3}')
  qps=$(echo "$out" | awk '/Queries per second:/ {print $4}')
  local ticks=$((after - before)) hz
  hz=$(getconf CLK_TCK)
  python3 -c "
ticks=$ticks; hz=$hz; done=$completed
cpu=ticks/hz
print(f'| $label | {float($qps):.0f} | $lost | {cpu:.2f} s | {done/cpu if cpu else 0:,.0f} |')"
}
echo "| queries | QPS | lost | server CPU | queries per server-CPU-second |"
echo "|---|---:|---:|---:|---:|"
run "DO=0 (EDNS)" -e
run "DO=1" -D
