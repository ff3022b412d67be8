#!/usr/bin/env bash
# Run the DNS benchmark: gslb against Knot, NSD, gdnsd, PowerDNS and Hickory DNS
# (static zone), or against gdnsd plugins and PowerDNS LUA records (dynamic answers).
#
#   benches/dns/install-peers.sh               # once: peers, dnsperf, hickory-dns
#   cargo build --release -p gslb              # the gslb under test
#   benches/dns/run.sh                         # all servers, 10 s runs, fixed rate 50k QPS
#   benches/dns/run.sh --servers gslb,knot --rate 100000 --seconds 5
#   benches/dns/run.sh --workload weighted     # GSLB weighted vs gdnsd weighted, PowerDNS LUA
#   benches/dns/run.sh --workload geo          # GSLB geo + ECS per query vs gdnsd geoip, LUA
#   benches/dns/run.sh --workload geo --servers gslb,gdnsd --rounds 3   # medians of 3 rounds
#   benches/dns/run.sh --servers gslb-rrl-on,gslb-rrl-off --rate 100000 --seconds 5 \
#       --no-saturation                        # server CPU per query with RRL on vs off
#
# Everything runs on 127.0.0.1 only; servers are pinned to CPU 0, dnsperf to
# CPU 1 (taskset); all servers are killed when it exits. See bench.py --help.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export PATH="$PATH:/usr/sbin:$HOME/.cargo/bin"
exec python3 "$here/bench.py" "$@"
