#!/usr/bin/env bash
# Runs schemathesis (PyPI) with all its checks against a live one-voter `gslb serve` holding
# one zone (fuzz.test.): every route of /openapi.json is fuzzed; the run fails on any 5xx,
# schema violation, wrong status or content type, schema-valid request rejected or
# schema-violating request accepted (schemathesis.toml: which 422s a valid write may get).
# Needs the debug binaries built (cargo build -p gslb --bins), python3 and curl.
#
# Usage: gslb-api/scripts/schemathesis.sh [SECONDS]   (default 150)
# Env: GSLB_BIN (the gslb binary), SCHEMATHESIS_VENV (a venv that has schemathesis; else one
# is made and filled from PyPI), SCHEMATHESIS_PORT (default 18061).
# `cargo test --test schemathesis` runs it (tests/schemathesis.rs); .ci/run prepares the venv.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
budget="${1:-150}"
work="$(mktemp -d)"
venv="${SCHEMATHESIS_VENV:-$work/venv}"
port="${SCHEMATHESIS_PORT:-18061}"
token="schemathesis-admin-token-0123"
if [ ! -x "$venv/bin/schemathesis" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q schemathesis
fi
cat > "$work/voter.toml" <<TOML
[log]
format = "text"
level = "warn"

[control]
node_id = 1
data_dir = "$work/data"
listen = "127.0.0.1:$port"
cluster_secret = "schemathesis-cluster-secret-0123"
api_token = "$token"
role = "voter"
bootstrap = { voters = { 1 = "127.0.0.1:$port" } }

# The fuzzer sends many requests without a token on purpose (missing header, ignored auth);
# the per-address auth-failure throttle (429, documented on every protected route and tested
# in gslb-api/tests) would then refuse the valid requests too and hide them from the checks.
[control.limits]
auth_failure_burst = 1000000
auth_failures_per_minute = 1000000
TOML
"${GSLB_BIN:-$root/target/debug/gslb}" serve --config "$work/voter.toml" > "$work/server.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true' EXIT
# A zone to fuzz inside (schemathesis.toml names it for every `{zone}` but the zone delete):
# without one, every route under /v1/zones/{zone} would only ever answer 404.
api="http://127.0.0.1:$port"
for _ in $(seq 1 300); do
    curl -fsS -o /dev/null "$api/readyz" 2>/dev/null && break
    sleep 0.1
done
curl -fsS -o /dev/null -X POST -H "Authorization: Bearer $token" \
    -H 'Content-Type: application/json' "$api/v1/zones" \
    -d '{"apex": "fuzz.test.", "soa": {"mname": "ns1.fuzz.test.", "rname": "hostmaster.fuzz.test."},
         "records": [{"name": "@", "type": "NS", "data": ["ns1.fuzz.test."]},
                     {"name": "www", "type": "A", "data": ["192.0.2.1"]}]}'
"$venv/bin/schemathesis" --config-file "$root/gslb-api/scripts/schemathesis.toml" run "http://127.0.0.1:$port/openapi.json" \
    --wait-for-schema 30 \
    -H "Authorization: Bearer $token" \
    --checks all \
    --phases examples,coverage,fuzzing \
    --max-time "$budget"
if grep -q panicked "$work/server.log"; then
    echo "the server panicked; see $work/server.log" >&2
    exit 1
fi
