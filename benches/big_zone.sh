#!/usr/bin/env bash
# Big-zone benchmark, DNS node side: Knot, NSD and a gslb zone-file node started on one
# zone of 1,000,000 A records; prints resident memory, first-answer time and the ratio to
# Knot, gslb's start-up phases, and the plan swap time of a one-record edit.
#
#   apt-get install knot nsd bind9-dnsutils      # once (benches/dns/install-peers.sh too)
#   cargo build --release -p gslb                # the gslb under test
#   benches/big_zone.sh                          # 1M records, all three servers
#   benches/big_zone.sh --records 200000 --servers knot,gslb
#
# Loopback only (127.0.0.1); every server is killed when it exits. See docs/perf.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export PATH="$PATH:/usr/sbin"
exec python3 "$here/big_zone/bench.py" "$@"
