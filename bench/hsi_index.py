#!/usr/bin/env python3
"""Benchmark: `cirrus task run hsi-index` against numpy + GDAL's Python bindings, and a plain
sequential read of the scene as the floor.

Scene: AVIRIS-Classic-like, 1,024 x 1,024 x 224, float32, BIL (939 MB), synthesised once by
`cirrus hsi synth` into the cache folder. Products: ndvi, ndwi, ndmi (four distinct bands).

Each side produces the same three files: float32 COGs (DEFLATE, predictor, 512 tiles,
average overviews), nodata -9999. Timed wall-clock, as a user would run them, as
subprocesses (process start-up included):
1. ours:   cirrus task run hsi-index PAYLOAD --local --workdir DIR
2. numpy:  this script's `numpy` mode (a skilled user's script): np.memmap of the BIL file,
           only the four needed bands copied out as float32, -9999 masked, the indices in
           float32, each written through a MEM dataset and GDAL's COG driver (same options).
           Also the `gdal` mode: the same, reading the bands with GDAL's ENVI driver
           (Band.ReadAsArray) instead of memmap. The faster of the two is the peer.
3. floor:  cat SCENE > /dev/null

Cold runs drop the page cache first (sync; echo 3 > /proc/sys/vm/drop_caches), when the
machine allows it (root); warm runs follow a warming run. Best of --repeat runs.

Usage: python3 bench/hsi_index.py [--cirrus target/release/cirrus] [--cache DIR] [--repeat 3]
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INDICES = {
    "ndvi": (860, 670),
    "ndwi": (860, 1240),
    "ndmi": (860, 1650),
}
COG_OPTIONS = [
    "COMPRESS=DEFLATE",
    "PREDICTOR=YES",
    "BLOCKSIZE=512",
    "OVERVIEWS=AUTO",
    "OVERVIEW_RESAMPLING=AVERAGE",
    "BIGTIFF=IF_SAFER",
    "NUM_THREADS=ALL_CPUS",
]


# ---------------------------------------------------------------- the numpy side (peer)


def parse_header(path):
    text = Path(path).read_text(errors="replace")
    fields = {}
    for m in re.finditer(r"^\s*([^=;\n]+?)\s*=\s*(\{[^}]*\}|[^\n]*)", text, re.M):
        fields[m.group(1).strip().lower()] = m.group(2).strip()
    wavelengths = [float(v) for v in fields["wavelength"].strip("{}").split(",") if v.strip()]
    bbl = None
    if "bbl" in fields:
        bbl = [float(v) for v in fields["bbl"].strip("{}").split(",") if v.strip()]
    return fields, wavelengths, bbl


def numpy_indices(image, header, out_dir, reader):
    """Computes the indices; returns (seconds to arrays, seconds total)."""
    import numpy as np
    from osgeo import gdal

    gdal.UseExceptions()
    start = time.perf_counter()
    fields, wavelengths, bbl = parse_header(header)
    samples, lines, bands = (int(fields[k]) for k in ("samples", "lines", "bands"))
    centres = np.array(wavelengths)
    good = np.ones(bands, bool) if bbl is None else np.array(bbl) != 0

    def nearest(nm):
        return int(np.argmin(np.where(good, np.abs(centres - nm), np.inf)))

    needed = sorted({nearest(nm) for pair in INDICES.values() for nm in pair})
    if reader == "memmap":
        cube = np.memmap(image, dtype="<f4", mode="r", shape=(lines, bands, samples))
        data = {b: np.array(cube[:, b, :], dtype=np.float32) for b in needed}
    else:
        ds = gdal.Open(str(image))
        data = {b: ds.GetRasterBand(b + 1).ReadAsArray().astype(np.float32, copy=False) for b in needed}
    for array in data.values():
        array[array == -9999.0] = np.nan
    results = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        for name, (a, b) in INDICES.items():
            x, y = data[nearest(a)], data[nearest(b)]
            r = (x - y) / (x + y)
            r[~np.isfinite(r)] = -9999.0
            results[name] = r
    arrays = time.perf_counter() - start
    source = gdal.Open(str(image))
    for name, r in results.items():
        mem = gdal.GetDriverByName("MEM").Create("", samples, lines, 1, gdal.GDT_Float32)
        mem.SetGeoTransform(source.GetGeoTransform())
        mem.SetProjection(source.GetProjection())
        band = mem.GetRasterBand(1)
        band.SetNoDataValue(-9999.0)
        band.WriteArray(r)
        band.ComputeStatistics(False)
        gdal.GetDriverByName("COG").CreateCopy(str(Path(out_dir) / f"{name}.tif"), mem, options=COG_OPTIONS)
    return arrays, time.perf_counter() - start


# ---------------------------------------------------------------- the harness


def can_drop_caches():
    try:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return True
    except OSError:
        return False


def drop_caches():
    subprocess.run(["sync"], check=True)
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


def timed(command, **kwargs):
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"failed: {' '.join(map(str, command))}\n{result.stdout}\n{result.stderr}")
    return elapsed, result.stdout


def python_with_numpy():
    for candidate in ["/usr/bin/python3", sys.executable, "python3"]:
        ok = subprocess.run([candidate, "-c", "import numpy, osgeo.gdal"], capture_output=True)
        if ok.returncode == 0:
            return candidate
    sys.exit("no python3 with numpy and osgeo.gdal (Debian: python3-numpy python3-gdal)")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cirrus", default=str(ROOT / "target/release/cirrus"))
    parser.add_argument("--cache", default=str(ROOT / "bench/.work/hsi_index"))
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--numpy", nargs=4, metavar=("IMAGE", "HEADER", "OUT", "READER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.numpy:
        image, header, out, reader = args.numpy
        arrays, total = numpy_indices(image, header, out, reader)
        print(json.dumps({"arrays": arrays, "total": total}))
        return

    cache = Path(args.cache)
    scene_dir = cache / f"classic-{args.size}-bil-f32"
    item_path = scene_dir / "item.json"
    if not item_path.exists():
        print(f"synthesising the {args.size}x{args.size}x224 scene into {scene_dir} ...", file=sys.stderr)
        timed([args.cirrus, "hsi", "synth", "--sensor", "aviris-classic", "--width", str(args.size),
               "--height", str(args.size), "--interleave", "bil", "--dtype", "float32", "--no-bbl",
               "--seed", "1", "--out", str(scene_dir)])
    item = json.loads(item_path.read_text())
    image = Path(item["assets"]["data"]["href"].removeprefix("file://"))
    header = image.with_suffix(".hdr")
    size_mb = image.stat().st_size / 1e6
    payload = cache / "payload.json"
    payload.write_text(json.dumps({
        "type": "FeatureCollection",
        "features": [item],
        "process": [{"workflow": "hsi-index-bench", "tasks": {"hsi-index": {"indices": list(INDICES)}}}],
    }))
    python = python_with_numpy()
    cold_possible = can_drop_caches()

    def ours():
        with tempfile.TemporaryDirectory(dir=cache) as work:
            elapsed, _ = timed([args.cirrus, "task", "run", "hsi-index", str(payload), "--output",
                                str(Path(work) / "out.json"), "--local", "--workdir", work])
            return elapsed

    def peer(reader):
        def run():
            with tempfile.TemporaryDirectory(dir=cache) as work:
                elapsed, out = timed([python, __file__, "--numpy", str(image), str(header), work, reader])
                run.arrays = json.loads(out)["arrays"]
                return elapsed
        run.arrays = None
        return run

    def floor():
        elapsed, _ = timed(["sh", "-c", f"cat '{image}' > /dev/null"])
        return elapsed

    sides = {"hsi-index": ours, "numpy+memmap": peer("memmap"), "numpy+gdal": peer("gdal"), "cat": floor}
    results = {}
    for cache_state in (["cold", "warm"] if cold_possible else ["warm"]):
        for name, side in sides.items():
            times, arrays = [], []
            if cache_state == "warm":
                side()
            for _ in range(args.repeat):
                if cache_state == "cold":
                    drop_caches()
                times.append(side())
                arrays.append(getattr(side, "arrays", None))
            best = min(times)
            results[(cache_state, name)] = best
            extra = ""
            if arrays[0] is not None:
                extra = f"  (to arrays: {min(a for a in arrays if a is not None):.3f} s)"
            print(f"{cache_state:4} {name:13} best {best:7.3f} s  of {', '.join(f'{t:.3f}' for t in times)}{extra}")
    print(f"\nscene: {image.name}, {size_mb:.0f} MB, {args.size}x{args.size}x224 float32 BIL; "
          f"products: {', '.join(INDICES)}; {os.cpu_count()} cores")
    for cache_state in (["cold", "warm"] if cold_possible else ["warm"]):
        ours_t = results[(cache_state, "hsi-index")]
        numpy_t = min(results[(cache_state, "numpy+memmap")], results[(cache_state, "numpy+gdal")])
        cat_t = results[(cache_state, "cat")]
        print(f"{cache_state}: hsi-index {ours_t:.3f} s, numpy {numpy_t:.3f} s, cat {cat_t:.3f} s "
              f"({size_mb / cat_t:.0f} MB/s) -> numpy/ours {numpy_t / ours_t:.2f}x (target >= 2), "
              f"ours/cat {ours_t / cat_t:.2f}x (target <= 2)")
    if not cold_possible:
        print("(cold cache not measured: cannot write /proc/sys/vm/drop_caches)")


if __name__ == "__main__":
    main()
