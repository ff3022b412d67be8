#!/usr/bin/env bash
# Install the DNS servers the benchmark compares gslb with, plus dnsperf.
# Idempotent: re-running only installs what is missing.
#
#   benches/dns/install-peers.sh            # apt packages + hickory-dns
#   SKIP_HICKORY=1 benches/dns/install-peers.sh   # apt packages only
#   TOOLS=DIR benches/dns/install-peers.sh    # hickory-dns into DIR/bin (default ~/.cargo/bin)
#
# Debian's postinst scripts start knot, nsd, gdnsd and pdns on 0.0.0.0:53 where
# systemd runs; we stop and disable those units (and kill any daemon that came
# up anyway) so the benchmark's private instances on 127.0.0.1 are alone.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
TOOLS=${TOOLS:-${CARGO_HOME:-$HOME/.cargo}}
HICKORY_VERSION=${HICKORY_VERSION:-0.26.3}

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi

pkgs=(knot nsd gdnsd pdns-server pdns-backend-bind dnsperf bind9-dnsutils)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    # Keep services from starting during install where policy-rc.d is honoured.
    rcd_created=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
        $SUDO chmod +x /usr/sbin/policy-rc.d
        rcd_created=1
    fi
    $SUDO apt-get update -qq || true
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" || rc=$?
    if [ "$rcd_created" = 1 ]; then $SUDO rm -f /usr/sbin/policy-rc.d; fi
    [ "${rc:-0}" = 0 ] || exit "$rc"
else
    echo "apt packages already installed: ${pkgs[*]}"
fi

# Nothing of theirs may hold :53 or run in the background.
units=(knot nsd gdnsd pdns)
if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    for u in "${units[@]}"; do
        $SUDO systemctl stop "$u" 2>/dev/null || true
        $SUDO systemctl disable "$u" 2>/dev/null || true
    done
else
    for u in "${units[@]}"; do
        [ -x "/etc/init.d/$u" ] && $SUDO "/etc/init.d/$u" stop >/dev/null 2>&1 || true
    done
fi
# Daemons started by postinst without systemd: end them by their own pids, only those
# running the system's own configuration (no config argument, or one under /etc). A
# daemon given a private config (a benchmark or a test fixture of anyone on the machine)
# is not ours to stop.
for exe in /usr/sbin/knotd /usr/sbin/nsd /usr/sbin/gdnsd /usr/sbin/pdns_server; do
    for pid in $(pgrep -x "$(basename "$exe")" 2>/dev/null || true); do
        args=$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null || true)
        case "$args" in
            *" -c /etc/"*|*" --config /etc/"*|*"--config-dir=/etc/"*) system=1 ;;
            *" -c "*|*" --config "*|*"--config-dir="*|*" -C "*) system=0 ;;
            *) system=1 ;;
        esac
        if [ "$system" = 1 ]; then
            echo "stopping system $exe (pid $pid)"; $SUDO kill "$pid" 2>/dev/null || true
        fi
    done
done

# Hickory DNS from crates.io (Debian does not package the server).
if [ -z "${SKIP_HICKORY:-}" ]; then
    if [ -x "$TOOLS/bin/hickory-dns" ] || command -v hickory-dns >/dev/null; then
        echo "hickory-dns already installed: $(command -v hickory-dns || echo "$TOOLS/bin/hickory-dns")"
    else
        echo "building hickory-dns $HICKORY_VERSION into $TOOLS (cargo -j 1; takes a while)"
        cargo install hickory-dns --version "$HICKORY_VERSION" --locked -j 1 --root "$TOOLS"
    fi
fi
echo "peers ready"
