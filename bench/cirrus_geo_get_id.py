#!/usr/bin/env python3
"""Reference ("peer") for the `cirrus payload get-id` benchmark: cirrus-geo's
own payload-ID code driven by the fastest honest loop a skilled cirrus-geo
user would write.

Usage: cirrus_geo_get_id.py [--processes N] [--repeat R] [--json OUT.json] INPUT OUTPUT

INPUT is NDJSON (one payload per line). For each line: json.loads, then
cirrus-geo computes the ID exactly as it does for a payload that has none
(`<Payload class>(payload, set_id_if_missing=True)["id"]`), and the ID is
written to OUTPUT, one per line, in input order.

Why not cirrus-geo's CLI (`cirrus payload get-id` in 1.x/2.x)? It reads ONE
payload per process from stdin, so driving it over 100,000 payloads would
mostly measure interpreter start-up and imports (~1 s each). That would be
a straw man; this loop pays the import once and is what a user batch job
would look like.

--processes 1 is a plain single-process loop. --processes N>1 uses
multiprocessing.Pool(N).imap(chunksize=256) over the raw lines (each worker
does json.loads + the ID code), results kept in input order; pool start-up
is inside the timed region, as process start-up is for the Rust binary.

Each mode runs R times; the best wall time (time.perf_counter) is kept.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

# The ID code moved between cirrus-geo releases; use whichever imports,
# newest first. All take `set_id_if_missing=True` and store the ID in "id".
try:  # cirrus-geo 1.x / 2.x
    from cirrus.lib.cirrus_payload import CirrusPayload as _Payload

    ID_CODE = "cirrus.lib.cirrus_payload.CirrusPayload(p, set_id_if_missing=True)['id']"
except ImportError:
    try:  # early 1.x
        from cirrus.lib.process_payload import ProcessPayload as _Payload

        ID_CODE = "cirrus.lib.process_payload.ProcessPayload(p, set_id_if_missing=True)['id']"
    except ImportError:  # 0.x (e.g. 0.15.4)
        from cirrus.lib2.process_payload import ProcessPayload as _Payload

        ID_CODE = "cirrus.lib2.process_payload.ProcessPayload(p, set_id_if_missing=True)['id']"

_loads = json.loads


def get_id(line: bytes) -> str:
    return _Payload(_loads(line), set_id_if_missing=True)["id"]


def cirrus_geo_version() -> str:
    try:
        from importlib.metadata import version

        return version("cirrus-geo")
    except Exception:  # pragma: no cover - metadata missing
        return "unknown"


def run_single(inp: str, out: str) -> int:
    n = 0
    with open(inp, "rb") as f, open(out, "w", encoding="utf-8", newline="\n") as o:
        write = o.write
        for line in f:
            write(get_id(line))
            write("\n")
            n += 1
    return n


def run_pool(inp: str, out: str, processes: int) -> int:
    import multiprocessing

    n = 0
    with multiprocessing.Pool(processes) as pool, open(inp, "rb") as f, open(
        out, "w", encoding="utf-8", newline="\n"
    ) as o:
        write = o.write
        for pid in pool.imap(get_id, f, chunksize=256):
            write(pid)
            write("\n")
            n += 1
    return n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--processes", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", help="write the result as JSON to this file")
    args = ap.parse_args()

    size = os.path.getsize(args.input)
    best = None
    n = 0
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        if args.processes <= 1:
            n = run_single(args.input, args.output)
        else:
            n = run_pool(args.input, args.output, args.processes)
        dt = time.perf_counter() - t0
        best = dt if best is None or dt < best else best

    assert best is not None
    result = {
        "impl": "cirrus-geo",
        "version": cirrus_geo_version(),
        "python": sys.version.split()[0],
        "id_code": ID_CODE,
        "processes": args.processes,
        "payloads": n,
        "bytes": size,
        "best_seconds": best,
        "payloads_per_s": n / best,
        "mb_per_s": size / best / 1e6,
    }
    print(
        f"cirrus-geo {result['version']} (python {result['python']}, "
        f"{args.processes} process{'es' if args.processes > 1 else ''}): "
        f"{n} payloads in {best:.3f} s (best of {args.repeat}) = "
        f"{result['payloads_per_s']:.0f} payloads/s, {result['mb_per_s']:.1f} MB/s",
        flush=True,
    )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as j:
            json.dump(result, j)
    return 0


if __name__ == "__main__":
    sys.exit(main())
