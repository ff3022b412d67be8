#!/usr/bin/env bash
# DNSSEC online signing benchmark (docs/perf.md "DNSSEC online signing"): queries per
# server-CPU-second with DO=0 and DO=1 for gslb (one node with [control], the zone signed
# with `gslbctl dnssec enable`), Knot (mod-onlinesign) and PowerDNS (live signing, LUA
# records), static, weighted and geo (ECS) answers, at a fixed offered rate. See dnssec.py.
#
#   benches/dns/install-peers.sh                                  # once: Knot, PowerDNS, dnsperf
#   cargo build --release -p gslb --bin gslb --bin gslbctl        # the gslb under test
#   benches/dns/dnssec.sh                                         # all servers and workloads
#   benches/dns/dnssec.sh --servers gslb --workloads static --rate 50000 --seconds 5
#
# Everything runs on 127.0.0.1 only; servers are pinned to CPU 0, dnsperf to CPU 1
# (taskset); every server is killed when it exits.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export PATH="$PATH:/usr/sbin"
exec python3 "$here/dnssec.py" "$@"
