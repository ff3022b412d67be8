"""Where a write's milliseconds go: reads `gslb_write_stage_seconds{stage}`,
`gslb_dns_plan_swap_seconds` and `gslb_dns_plan_lag_seconds` from the `/metrics` of every node
before and after a benchmark and prints p50 / p99 / mean per node and step for the window.

Used by `benches/update/update.py` and `benches/big_zone/edits.py` (standard library only):

    before = stages.scrape_all(nodes, token)     # nodes: {"voter-1": "127.0.0.1:8080", ...}
    ... the load ...
    stages.print_breakdown(before, stages.scrape_all(nodes, token))

Percentiles come from the histogram buckets, interpolated linearly inside the bucket that
holds them (bounds 50 µs .. 10 s, finer below 50 ms), so they are estimates within a bucket.
"""

import math
import re
import sys
import urllib.request

# One histogram series: family, labels, suffix, value.
SERIES = re.compile(r'^(gslb_write_stage_seconds|gslb_dns_plan_swap_seconds'
                    r'|gslb_dns_plan_lag_seconds)_(bucket|sum|count)(\{[^}]*\})? (\S+)$')
LABEL = re.compile(r'(\w+)="([^"]*)"')

# The steps in the order of the write path; a DNS node's plan histograms last.
ORDER = ["forward", "group_wait", "commit", "log_flush", "committed_save", "apply",
         "proposed_to_applied", "read_your_write", "plan_swap", "plan_lag", "report_post",
         "insync_fetch", "insync_wait"]


def scrape(address, token):
    """{step: (buckets {upper bound s: cumulative}, sum s, count)} of one node's /metrics."""
    request = urllib.request.Request("http://%s/metrics" % address,
                                     headers={"Authorization": "Bearer " + token})
    text = urllib.request.urlopen(request, timeout=10).read().decode()
    found = {}
    for line in text.splitlines():
        match = SERIES.match(line)
        if not match:
            continue
        family, suffix, labels, value = match.groups()
        labels = dict(LABEL.findall(labels or ""))
        if family == "gslb_write_stage_seconds":
            step = labels.get("stage", "?")
        else:
            step = "plan_swap" if "swap" in family else "plan_lag"
        buckets, total, count = found.get(step, ({}, 0.0, 0))
        if suffix == "bucket":
            bound = math.inf if labels["le"] == "+Inf" else float(labels["le"])
            buckets[bound] = int(float(value))
        elif suffix == "sum":
            total = float(value)
        else:
            count = int(float(value))
        found[step] = (buckets, total, count)
    return found


def scrape_all(nodes, token):
    """{node name: scrape} for {node name: API address}; a node that does not answer is
    left out (named on stderr)."""
    scraped = {}
    for name, address in nodes.items():
        try:
            scraped[name] = scrape(address, token)
        except OSError as error:
            print("# metrics of %s (%s) not read: %s" % (name, address, error), file=sys.stderr)
    return scraped


def quantile(buckets, count, fraction):
    """The `fraction` quantile (seconds) of a window's cumulative `buckets`, interpolated."""
    wanted = fraction * count
    lower_bound, lower_count = 0.0, 0
    for bound in sorted(buckets):
        cumulative = buckets[bound]
        if cumulative >= wanted:
            if math.isinf(bound):
                return lower_bound
            inside = cumulative - lower_count
            share = (wanted - lower_count) / inside if inside else 1.0
            return lower_bound + (bound - lower_bound) * share
        lower_bound, lower_count = bound, cumulative
    return lower_bound


def window(before, after):
    """{step: (n, p50 ms, p99 ms, mean ms)} between two scrapes of one node."""
    rows = {}
    for step, (buckets, total, count) in after.items():
        old_buckets, old_total, old_count = before.get(step, ({}, 0.0, 0))
        n = count - old_count
        if n <= 0:
            continue
        delta = {bound: value - old_buckets.get(bound, 0) for bound, value in buckets.items()}
        rows[step] = (n, quantile(delta, n, 0.5) * 1000, quantile(delta, n, 0.99) * 1000,
                      (total - old_total) * 1000 / n)
    return rows


def breakdown(before, after):
    """[(node, step, n, p50 ms, p99 ms, mean ms)] for every node and step seen in the window,
    nodes in their given order, steps in the order of the write path."""
    rows = []
    for node, scraped in after.items():
        if node not in before:
            continue
        steps = window(before[node], scraped)
        for step in sorted(steps, key=lambda s: ORDER.index(s) if s in ORDER else len(ORDER)):
            rows.append((node,) + (step,) + steps[step])
    return rows


def print_breakdown(before, after, out=sys.stdout):
    """Prints the breakdown as a Markdown table."""
    print("\n| node | step | n | p50 ms | p99 ms | mean ms |", file=out)
    print("|---|---|---:|---:|---:|---:|", file=out)
    for node, step, n, p50, p99, mean in breakdown(before, after):
        print("| %s | %s | %d | %.2f | %.2f | %.2f |" % (node, step, n, p50, p99, mean),
              file=out)
