#!/usr/bin/env bash
# The main job: install what is missing (GDAL included), build `cirrus`, and run the local
# pipeline on generated data. Usage: scripts/demo.sh [N]   (N payloads to generate, default 300)
#
# Part 1 (steps 1-9): a project made by `cirrus init` gets a second workflow; N generated
# Sentinel-2-like payloads (plus one garbage line) go through `cirrus process` and
# `cirrus run`: claims in the state DB, the Python `stamp` task run as a subprocess,
# published items, workflow events, and a chain (example -> archive) filtered by
# `chain_filter`.
#
# Part 2 (steps 10-13), hyperspectral: a project made by `cirrus init --hsi`, two synthetic
# AVIRIS scenes (`cirrus hsi synth`), and the chain aviris-to-products run locally:
# activation (north-up COG, preview, STAC item), then indices and detection in parallel
# payloads, on the built-in GDAL tasks. It ends with the state counts and the products.
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

step "10. An HSI project: cirrus init --hsi, cirrus validate, the built-in tasks"
"$cirrus" init --hsi "$work/hsi"
cd "$work/hsi"
"$cirrus" validate
"$cirrus" task list

size="${HSI_SIZE:-256}"
step "11. Two synthetic ${size}x${size} scenes: AVIRIS-Classic int16 BIP, rotated, with planted oil; AVIRIS-NG float32 BIL"
"$cirrus" hsi synth --sensor aviris-classic --width "$size" --height "$size" --interleave bip \
  --dtype int16 --rotation 15 --target oil --seed 1 --out scenes/classic
"$cirrus" hsi synth --sensor aviris-ng --width "$size" --height "$size" --interleave bil \
  --dtype float32 --seed 2 --out scenes/ng

step "12. The chain aviris-to-products, one payload per scene: process, then run until the queue is empty"
# The chain is the one of the project's example payload: aviris-to-products (activation),
# then the fan-out [hsi-indices, hsi-detection].
python3 - <<'PY' > payloads.ndjson
import json
chain = json.load(open("workflows/aviris-to-products/payload.json"))["process"]
for scene in ["scenes/classic", "scenes/ng"]:
    item = json.load(open(f"{scene}/item.json"))
    print(json.dumps({"type": "FeatureCollection", "features": [item], "process": chain}))
PY
"$cirrus" process payloads.ndjson
start=$(date +%s.%N)
"$cirrus" run --until-empty --workers 2
end=$(date +%s.%N)
python3 -c "import sys; print(f'{float(sys.argv[2])-float(sys.argv[1]):.1f} s')" "$start" "$end" >&2

step "13. The state counts, and where the products are (the data store, .cirrus/data)"
"$cirrus" state counts
data="$PWD/.cirrus/data"
printf '\nproducts under %s:\n' "$data"
(cd "$data" && find . -type f \( -name '*.tif' -o -name '*.png' -o -name '*.json' \) | sed 's|^\./|  |' | sort)
python3 - "$data" <<'PY'
import glob, json, sys
for path in sorted(glob.glob(f"{sys.argv[1]}/*-cog/*/*.json")):
    item = json.load(open(path))
    p = item["properties"]
    print(f"{item['id']}: {len(item['assets']['cog'].get('eo:bands', []))} bands, "
          f"{p.get('hsi:wavelength_min')}-{p.get('hsi:wavelength_max')} um, {p.get('proj:code')}, "
          f"{p.get('proj:shape')} north-up")
for path in sorted(glob.glob(f"{sys.argv[1]}/*-detect/*/*.json")):
    item = json.load(open(path))
    detection = item["properties"].get("cirrus:detection", {})
    scores = ", ".join(f"{m} max {s['max']:.3g}" for m, s in detection.get("scores", {}).items())
    print(f"{item['id']}: target {detection.get('target')}: {scores}")
PY

printf '\ndemo done: the projects are %s and %s\n' "$work/project" "$work/hsi" >&2
