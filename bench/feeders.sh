#!/usr/bin/env bash
# Feeder benchmark: 25,000 items from a local STAC API (stac-server's memory backend, the
# test harness, in its own process) turned into payloads on the local SQLite queue by the
# stac-api feeder, one item a payload, pages of 1,000. Runs the feed twice, over 2,500 and
# over 25,000 items, and prints items a second and the feed process's peak RSS for each:
# memory must stay flat, and the target is >= 5,000 items a second.
#
#   bash bench/feeders.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p cirrus-feeders --features testing --example stac_server --example bench_feed
bin=target/release/examples
"$bin/stac_server" 25000 > /tmp/cirrus-bench-stac.url &
server=$!
trap 'kill $server 2>/dev/null' EXIT
for _ in $(seq 100); do [ -s /tmp/cirrus-bench-stac.url ] && break; sleep 0.1; done
url=$(cat /tmp/cirrus-bench-stac.url)
# The items are spread evenly over 2019-01-01 .. 2023-12-31: the first half year is ~2,500.
small=$("$bin/bench_feed" "$url" "2019-01-01T00:00:00Z/2019-07-02T12:00:00Z")
large=$("$bin/bench_feed" "$url")
echo "2,500 items:  $small"
echo "25,000 items: $large"
python3 - "$small" "$large" <<'PY'
import json, sys
s, l = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"items/s at 25,000: {l['items_per_second']:.0f} (target 5,000: {l['items_per_second'] / 5000:.2f}x)")
print(f"peak RSS: {s['peak_rss_mb']} MB at {s['items']} items, {l['peak_rss_mb']} MB at {l['items']} items (ratio {l['peak_rss_mb'] / s['peak_rss_mb']:.2f})")
PY
