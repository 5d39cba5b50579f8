#!/usr/bin/env bash
# aviris-activate against GDAL's command-line tools on the same synthetic scene:
#   ours:  the task (warp north-up + fill + statistics, band-interleaved COG, preview, item)
#   gdal:  gdalwarp (north-up, nearest, same pixel size) && gdal_translate -of COG
#          (DEFLATE + predictor, like ours), no fill, no statistics, no preview.
# Usage: bench/hsi_activate.sh [WIDTH] [HEIGHT]   (default 512 512; 224 bands, float32 BIL)
set -euo pipefail
W=${1:-512}
H=${2:-512}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
cargo build --release -q -p cirrus-tasks --example activate
BIN=target/release/examples/activate
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
IMG=$("$BIN" synth "$WORK/scene" "$W" "$H")
RES=$(gdalinfo -json "$IMG" | /usr/bin/python3 -c 'import json,sys,math; g=json.load(sys.stdin)["geoTransform"]; print(math.hypot(g[1], g[4]))')
echo "scene: ${W}x${H}x224 float32 BIL, rotated 27 deg, $(du -h "$IMG" | cut -f1); pixel ${RES} m"
cat "$IMG" > /dev/null   # the same warm page cache for both
t0=$(date +%s.%N)
"$BIN" run "$WORK/scene" "$WORK/ours" > /dev/null
t1=$(date +%s.%N)
gdalwarp -q -r near -tr "$RES" "$RES" -wm 256 -multi -wo NUM_THREADS=ALL_CPUS \
  -co TILED=YES "$IMG" "$WORK/warped.tif"
gdal_translate -q -of COG -co COMPRESS=DEFLATE -co PREDICTOR=YES -co NUM_THREADS=ALL_CPUS \
  "$WORK/warped.tif" "$WORK/gdal_cog.tif"
t2=$(date +%s.%N)
/usr/bin/python3 - "$t0" "$t1" "$t2" <<'PY'
import sys
t0, t1, t2 = map(float, sys.argv[1:])
ours, gdal = t1 - t0, t2 - t1
print(f"aviris-activate:              {ours:7.2f} s")
print(f"gdalwarp + gdal_translate COG: {gdal:7.2f} s")
print(f"ratio (ours / gdal):          {ours / gdal:7.2f}")
PY
ls -l "$WORK/ours/"*.tif "$WORK/gdal_cog.tif" | awk '{print $5, $9}'
