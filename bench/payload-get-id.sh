#!/usr/bin/env bash
# Benchmark: `cirrus payload get-id FILE` (Rust) against cirrus-geo's own
# payload-ID code on the same NDJSON file. See bench/README.md.
#
# Usage (from anywhere; paths are resolved from the repo root):
#   bash bench/payload-get-id.sh            # 100,000 payloads (~2.3 GB on disk)
#   N=10000 bash bench/payload-get-id.sh    # quick run
#
# Environment:
#   N=100000        number of payloads
#   SEED=1          generator seed
#   REPEAT=3        runs per side; the best one is kept
#   CIRRUS_BIN=...  use this binary instead of building target/release/cirrus
#   CG_PYTHON=...   interpreter for the cirrus-geo venv (default: the newest
#                   python >= 3.12 found, for cirrus-geo 2.x; else python3)
#
# Exit status: 0 ok; 1 ID mismatch; 2 build/setup failure; 3 the Rust binary
# has no working `payload get-id`.
set -euo pipefail

N="${N:-100000}"
SEED="${SEED:-1}"
REPEAT="${REPEAT:-3}"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH="$ROOT/bench"
WORK="$BENCH/.work"
VENV="$WORK/venv-cirrus-geo"
DATA="$WORK/payloads.ndjson"
STAMP="$WORK/payloads.stamp"
cd "$ROOT"
mkdir -p "$WORK"

log() { printf '\n== %s\n' "$*" >&2; }
die() {
    local code="$1"
    shift
    printf 'ERROR: %s\n' "$*" >&2
    exit "$code"
}

# ---------------------------------------------------------------- 1. build
if [[ -n "${CIRRUS_BIN:-}" ]]; then
    log "1. using CIRRUS_BIN=$CIRRUS_BIN (no build)"
else
    log "1. cargo build --release -p cirrus-cli"
    cargo build --release -p cirrus-cli ||
        die 2 "cargo build --release -p cirrus-cli failed"
    CIRRUS_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/cirrus"
fi
[[ -x "$CIRRUS_BIN" ]] || die 2 "no executable at $CIRRUS_BIN"

# ---------------------------------------------------------------- 2. data
log "2. payloads: N=$N SEED=$SEED -> $DATA"
gen_hash="$(sha256sum "$BENCH/gen_payloads.py" | cut -d' ' -f1)"
want_stamp="count=$N seed=$SEED generator=$gen_hash"
if [[ -f "$DATA" && -f "$STAMP" && "$(cat "$STAMP")" == "$want_stamp" ]]; then
    echo "reusing $DATA ($want_stamp)" >&2
else
    rm -f "$STAMP"
    echo "generating $N payloads (a 100,000-payload file takes a few minutes)" >&2
    python3 "$BENCH/gen_payloads.py" "$N" "$SEED" "$DATA"
    printf '%s\n' "$want_stamp" >"$STAMP"
fi
DATA_BYTES="$(stat -c %s "$DATA")"

# ---------------------------------------------------------------- 3. cirrus-geo venv
# cirrus-geo 2.x is the preferred reference but needs Python >= 3.12; try
# such an interpreter first and fall back to python3 with the newest
# cirrus-geo it can install (0.15.4 on Python 3.11).
python_candidates() {
    if [[ -n "${CG_PYTHON:-}" ]]; then
        printf '%s\n' "$CG_PYTHON"
        return
    fi
    local p d
    for p in python3.14 python3.13 python3.12; do
        command -v "$p" || true
    done
    if command -v pyenv >/dev/null 2>&1; then
        for d in "$(pyenv root)"/versions/3.1[2-9]*; do
            [[ -x "$d/bin/python3" ]] && printf '%s\n' "$d/bin/python3"
        done
    fi
    echo python3
}

make_venv() { # $1 = interpreter, $2 = pip requirement(s)...
    local py="$1"
    shift
    rm -rf "$VENV"
    "$py" -m venv "$VENV" &&
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$@" &&
        "$VENV/bin/python" -c 'import cirrus' 2>/dev/null
}

log "3. cirrus-geo venv: $VENV"
if [[ -x "$VENV/bin/python" ]] && "$VENV/bin/python" -c 'import cirrus' 2>/dev/null; then
    echo "reusing $VENV (delete it to reinstall)" >&2
else
    echo "cirrus-geo releases on PyPI that $(python3 -V 2>&1) can install:" >&2
    python3 -m pip index versions cirrus-geo 2>/dev/null | sed -n 2p >&2 || true
    ok=""
    while read -r py; do
        if "$py" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
            echo "trying cirrus-geo>=2 with $py ($("$py" -V 2>&1))" >&2
            # s3fs>=2025.5 only steers pip's resolver past an old s3fs/fsspec
            # pair it otherwise backtracks into and gives up on.
            if make_venv "$py" 'cirrus-geo>=2' 's3fs>=2025.5' </dev/null; then
                ok=1
                break
            fi
            echo "cirrus-geo 2.x could not be installed with $py" >&2
        fi
        if [[ "$py" == python3 || "$py" == "${CG_PYTHON:-}" ]]; then
            echo "installing the newest cirrus-geo that $py ($("$py" -V 2>&1)) accepts" \
                "(2.x needs Python >= 3.12)" >&2
            if make_venv "$py" cirrus-geo </dev/null; then
                ok=1
                break
            fi
        fi
    done < <(python_candidates | awk '!seen[$0]++')
    [[ -n "$ok" ]] || die 2 "could not install cirrus-geo into $VENV"
fi
CG_VERSION="$("$VENV/bin/python" -c 'from importlib.metadata import version; print(version("cirrus-geo"))')"
echo "cirrus-geo $CG_VERSION on $("$VENV/bin/python" -V 2>&1)" >&2

# ---------------------------------------------------------------- 4. peer
log "4. cirrus-geo $CG_VERSION, 1 process (best of $REPEAT)"
"$VENV/bin/python" "$BENCH/cirrus_geo_get_id.py" --processes 1 --repeat "$REPEAT" \
    --json "$WORK/result-cg-1.json" "$DATA" "$WORK/ids-cirrus-geo.txt"
log "4b. cirrus-geo $CG_VERSION, multiprocessing.Pool(2) (best of $REPEAT)"
"$VENV/bin/python" "$BENCH/cirrus_geo_get_id.py" --processes 2 --repeat "$REPEAT" \
    --json "$WORK/result-cg-2.json" "$DATA" "$WORK/ids-cirrus-geo-2.txt"
cmp -s "$WORK/ids-cirrus-geo.txt" "$WORK/ids-cirrus-geo-2.txt" ||
    die 1 "cirrus-geo's 1-process and 2-process outputs differ (bug in the peer script)"

# ---------------------------------------------------------------- 5. rust
log "5. cirrus payload get-id ($CIRRUS_BIN, best of $REPEAT)"
head -n 3 "$DATA" >"$WORK/smoke.ndjson"
if ! "$CIRRUS_BIN" payload get-id "$WORK/smoke.ndjson" >"$WORK/smoke.out" 2>"$WORK/smoke.err"; then
    head -n 20 "$WORK/smoke.err" | sed 's/^/    /' >&2
    die 3 "$CIRRUS_BIN does not support 'payload get-id FILE' yet (it failed on a 3-payload file, output above); the Rust side cannot be measured"
fi
python3 "$BENCH/time_cmd.py" --repeat "$REPEAT" --stdout "$WORK/ids-rust.txt" \
    --json "$WORK/result-rust.json" -- "$CIRRUS_BIN" payload get-id "$DATA" ||
    die 3 "$CIRRUS_BIN payload get-id failed on $DATA"

# ---------------------------------------------------------------- 6. correctness
log "6. comparing IDs"
if ! cmp -s "$WORK/ids-cirrus-geo.txt" "$WORK/ids-rust.txt"; then
    python3 - "$WORK/ids-cirrus-geo.txt" "$WORK/ids-rust.txt" <<'EOF'
import sys
with open(sys.argv[1], "rb") as a, open(sys.argv[2], "rb") as b:
    for n, (x, y) in enumerate(zip(a, b), 1):
        if x != y:
            print(f"first difference at line {n}:\n  cirrus-geo: {x!r}\n  rust:       {y!r}")
            break
    else:
        ra, rb = a.read(), b.read()
        print(f"one file is a prefix of the other; cirrus-geo has {len(ra)} more bytes,"
              f" rust {len(rb)} more bytes (first extra line: {(ra or rb).splitlines()[:1]!r})")
EOF
    die 1 "the Rust IDs differ from cirrus-geo's ($WORK/ids-rust.txt vs $WORK/ids-cirrus-geo.txt)"
fi
echo "IDs identical: $(wc -l <"$WORK/ids-rust.txt") lines" >&2

# ---------------------------------------------------------------- 7. summary
log "7. summary"
python3 - "$N" "$DATA_BYTES" "$WORK" <<'EOF'
import json, sys
n, size, work = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
load = lambda name: json.load(open(f"{work}/{name}", encoding="utf-8"))
cg1, cg2, rs = load("result-cg-1.json"), load("result-cg-2.json"), load("result-rust.json")
rust_pps = n / rs["best_seconds"]
rust_mbs = size / rs["best_seconds"] / 1e6
rss_mib = rs["peak_rss_kib"] / 1024
label = f"cirrus-geo {cg1['version']}"
w = max(len(label) + 15, 16)
print(f"payloads: {n} ({size / 1e9:.2f} GB), items/payload 1-5; cirrus-geo on Python {cg1['python']}")
print(f"{label + ' (1 process):':<{w}} {cg1['payloads_per_s']:8.0f} payloads/s {cg1['mb_per_s']:7.1f} MB/s")
print(f"{label + ' (2 processes):':<{w}} {cg2['payloads_per_s']:8.0f} payloads/s {cg2['mb_per_s']:7.1f} MB/s")
print(f"{'cirrus (rust):':<{w}} {rust_pps:8.0f} payloads/s {rust_mbs:7.1f} MB/s  peak RSS {rss_mib:.1f} MiB")
r1 = rust_pps / cg1["payloads_per_s"]
r2 = rust_pps / cg2["payloads_per_s"]
print(f"ratio vs 1 process: {r1:.1f}x   ratio vs 2 processes: {r2:.1f}x   "
      f"(target >= 20x; peak RSS target < 50 MB)")
print(f"targets: ratio {'met' if r1 >= 20 else 'NOT met'}; "
      f"peak RSS {'met' if rss_mib * 1.048576 < 50 else 'NOT met'}")
EOF
