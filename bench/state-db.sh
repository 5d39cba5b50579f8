#!/usr/bin/env bash
# Benchmark: the SQLite state DB with 1,000,000 records over 20 workflows, 5% FAILED.
# See bench/README.md. Every figure is printed next to the raw SQLite insert rate measured
# in the same process.
#
# Usage (from anywhere):
#   bash bench/state-db.sh                              # 1,000,000 records
#   CIRRUS_BENCH_RECORDS=100000 bash bench/state-db.sh  # quick run
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
exec cargo bench -p cirrus-core --bench state_sqlite
