#!/usr/bin/env bash
# The main job: install what is missing, build `cirrus`, and run a payload demo on generated
# data. Usage: scripts/demo.sh [N]   (N payloads to generate, default 2000)
#
# Until the local pipeline exists (later issues), the demo exercises the payload tools
# (templating, validation, IDs, chaining with fan-out and chain_filter, the JSON Schema) and
# the local workflow engine (an ASL state machine with a Map and a subprocess task).
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-2000}"

bash scripts/install.sh
cargo build --release -p cirrus-cli
cirrus=target/release/cirrus
work=target/demo
rm -rf "$work" && mkdir -p "$work"

step() { printf '\n== %s\n' "$*" >&2; }

step "1. Fill a payload template (cirrus payload template)"
"$cirrus" payload template -x workflow cog-archive -x tile 17HQD \
  < docs/examples/payload.json.template > "$work/payload.json"
cat "$work/payload.json"

step "2. Validate it (exit 0 = valid)"
"$cirrus" payload validate "$work/payload.json"

step "3. Its ID"
"$cirrus" payload get-id "$work/payload.json"

step "4. An invalid payload: every problem, with its JSON path (exit 1)"
"$cirrus" payload validate docs/examples/invalid-payload.json || echo "(exit $? as expected)" >&2

step "5. The next payloads of a chain: fan-out with a chain_filter"
"$cirrus" payload next docs/examples/chained-output.json

step "6. IDs of $n generated payloads (NDJSON, 1-5 items each), streamed"
python3 bench/gen_payloads.py "$n" 7 "$work/payloads.ndjson"
start=$(date +%s.%N)
"$cirrus" payload get-id "$work/payloads.ndjson" > "$work/ids.txt"
end=$(date +%s.%N)
head -n 3 "$work/ids.txt"
python3 -c "import sys; n=int(sys.argv[1]); s=float(sys.argv[3])-float(sys.argv[2]); print(f'{n} IDs in {s:.2f} s ({n/s:,.0f} payloads/s)')" \
  "$(wc -l < "$work/ids.txt")" "$start" "$end" >&2

step "7. Validate them all as JSON Lines, and count by status"
"$cirrus" payload validate --format json "$work/payloads.ndjson" \
  | python3 -c "import sys, json, collections; print(dict(collections.Counter(json.loads(l)['status'] for l in sys.stdin)))"

step "8. The payload JSON Schema (first lines)"
"$cirrus" payload schema | head -n 12

project=docs/examples/workflow
cirrus_abs="$PWD/$cirrus"
work_abs="$PWD/$work"

step "9. Validate an ASL workflow (cirrus workflow validate)"
(cd "$project" && "$cirrus_abs" workflow validate workflow.json)

step "10. Run it locally: a Map classifies bands, a Python subprocess task summarizes them"
(cd "$project" && "$cirrus_abs" workflow exec workflow.json --input input.json --history \
  2> "$work_abs/history.ndjson")
python3 -c "import sys, json, collections; print('history:', dict(collections.Counter(json.loads(l)['type'] for l in open(sys.argv[1]))))" \
  "$work/history.ndjson" >&2

step "11. A failing run: the error and cause on stdout (exit 1)"
echo '{"scene": "empty", "bands": []}' \
  | (cd "$project" && "$cirrus_abs" workflow exec workflow.json --input -) || echo "(exit $? as expected)" >&2

step "12. The workflow drawn as Mermaid (first lines)"
"$cirrus" workflow graph --mermaid "$project/workflow.json" | head -n 8

printf '\ndemo done: outputs in %s\n' "$work" >&2
