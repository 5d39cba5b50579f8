#!/usr/bin/env bash
# The whole test suite, as CI runs it: lint gate, unit/integration/doc tests, rustdoc, and the
# fuzz target built and run over its seeds.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install.sh

echo "== cargo fmt --check" >&2
cargo fmt --all --check
echo "== cargo clippy" >&2
cargo clippy --workspace --all-targets -- -D warnings
echo "== cargo doc" >&2
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet
echo "== fuzz target (build, then run once over the seeds)" >&2
cargo build --quiet --release --manifest-path fuzz/Cargo.toml
fuzz/target/release/payload -runs=0 fuzz/seeds/ 2>&1 | tail -n 2
echo "== cargo test" >&2
cargo test --workspace --all-targets
cargo test --workspace --doc
