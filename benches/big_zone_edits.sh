#!/usr/bin/env bash
# Small edits in a big zone (issue 17 item 5): one record set of a 1,000,000-record zone
# written 100 times a second through gslb's control plane (the demo, after `gslbctl zone
# import`), each timed to INSYNC, with the DNS learners' plan swap times; beside Knot's time
# to apply one change to the same zone (a knotc transaction) from the same run.
#
#   apt-get install knot knot-dnsutils bind9-dnsutils   # once (benches/dns/install-peers.sh)
#   cargo build --release -p gslb --bins                 # gslb and gslbctl under test
#   benches/big_zone_edits.sh                            # 1M records, 100 writes/s for 20 s
#   benches/big_zone_edits.sh --records 100000 --seconds 5
#
# Loopback only (127.0.0.1); every process is killed when it exits. See docs/perf.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export PATH="$PATH:/usr/sbin"
exec python3 "$here/big_zone/edits.py" "$@"
