#!/usr/bin/env bash
# The whole test suite, as CI runs it: lint gate, unit/integration/doc tests, rustdoc, and the
# fuzz targets built and run over their seeds.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install.sh

echo "== cargo fmt --check" >&2
cargo fmt --all --check
echo "== cargo clippy" >&2
cargo clippy --workspace --all-targets -- -D warnings
echo "== cargo doc" >&2
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet
echo "== fuzz targets (build, then run once over the seeds)" >&2
cargo build --quiet --release --manifest-path fuzz/Cargo.toml
fuzz/target/release/payload -runs=0 fuzz/seeds/ 2>&1 | tail -n 2
fuzz/target/release/workflow -runs=0 fuzz/seeds-workflow/ 2>&1 | tail -n 2
echo "== cargo test (unit, integration, end-to-end and doc tests)" >&2
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --workspace 2>&1 | tee "$log"
# One closing line for the whole run (the last crate alone may have no test).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i; if ($(i+1) ~ /^ignored/) s += $i } }
     END { printf "summary: %d passed, %d failed, %d skipped\n", p, f, s; if (p == 0 || f > 0) exit 1 }' "$log"
