#!/usr/bin/env bash
# The main job: install what is missing, build `cirrus`, and run the local pipeline on
# generated data. Usage: scripts/demo.sh [N]   (N payloads to generate, default 300)
#
# A project made by `cirrus init` gets a second workflow; N generated Sentinel-2-like
# payloads (plus one garbage line) go through `cirrus process` and `cirrus run`: claims in
# the state DB, the Python `stamp` task run as a subprocess, published items, workflow
# events, and a chain (example -> archive) filtered by `chain_filter`.
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-300}"

bash scripts/install.sh
cargo build --release -p cirrus-cli
cirrus="$PWD/target/release/cirrus"
work="$PWD/target/demo"
rm -rf "$work" && mkdir -p "$work"

step() { printf '\n== %s\n' "$*" >&2; }

step "1. A payload from a template, validated, and its ID"
"$cirrus" payload template -x workflow cog-archive -x tile 17HQD \
  < docs/examples/payload.json.template > "$work/payload.json"
"$cirrus" payload validate "$work/payload.json"
"$cirrus" payload get-id "$work/payload.json"

step "2. A project: cirrus init, a second workflow, cirrus validate"
"$cirrus" init "$work/project"
cd "$work/project"
"$cirrus" create workflow archive --task stamp
"$cirrus" validate

step "3. $n generated payloads: example, then archive for sentinel-2b items only"
python3 "$OLDPWD/bench/gen_payloads.py" "$n" 7 "$work/generated.ndjson"
python3 - "$work/generated.ndjson" "$work/payloads.ndjson" <<'PY'
import json, sys
template = "/${collection}/${id}"
with open(sys.argv[1]) as src, open(sys.argv[2], "w") as out:
    for line in src:
        payload = json.loads(line)
        payload["process"] = [
            {"workflow": "example", "upload_options": {"path_template": template}},
            {"workflow": "archive", "upload_options": {"path_template": template},
             "chain_filter": "@.properties.platform == 'sentinel-2b'"},
        ]
        out.write(json.dumps(payload) + "\n")
    out.write("this line is not JSON\n")
PY

step "4. Enqueue them (cirrus process): the garbage line is rejected alone (exit 1)"
"$cirrus" process "$work/payloads.ndjson" > "$work/enqueued.txt" || echo "(exit $? as expected)" >&2
head -n 2 "$work/enqueued.txt"
tail -n 1 "$work/enqueued.txt"

step "5. Drain the queue (cirrus run --workers 4): process, run, update-state, publish, chain"
start=$(date +%s.%N)
# Exit 1 when a payload FAILED: a few generated items have no collection, which the
# path_template needs, so publishing fails for them (PublishError).
"$cirrus" run --workers 4 || echo "(exit $?: some payloads failed)" >&2
end=$(date +%s.%N)
python3 -c "import sys; print(f'{float(sys.argv[2])-float(sys.argv[1]):.1f} s')" "$start" "$end" >&2

step "6. The state DB: counts per workflow and state, the failures, and a timeline"
"$cirrus" state counts
"$cirrus" state query --state FAILED --limit 3
first=$(head -n 1 "$work/enqueued.txt" | cut -d' ' -f2)
"$cirrus" state get "$first"

step "7. Workflow events (the event log) and published items (the publish log)"
"$cirrus" state events --limit 6
python3 -c "import sys, json, collections; c=collections.Counter(json.loads(l)['attributes']['status']['StringValue'] for l in open(sys.argv[1])); print('published items by status:', dict(c))" .cirrus/published.ndjson >&2
find .cirrus/data -name "*.json" | sed -n 1,3p

step "8. Run one payload again and print its output (cirrus run-workflow --rerun)"
"$cirrus" run-workflow --rerun workflows/example/payload.json | cut -c 1-400

step "9. The archived input and output of that payload"
"$cirrus" payload get-output example/workflow-example/example-item-1 | cut -c 1-200

printf '\ndemo done: the project is %s\n' "$work/project" >&2
