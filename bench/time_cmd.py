#!/usr/bin/env python3
"""Time a command and report its peak memory.

Usage: time_cmd.py [--repeat R] [--json OUT.json] --stdout FILE -- CMD [ARGS...]

Runs CMD R times with its stdout sent to FILE (truncated each run) and its
stderr passed through. Wall time is time.perf_counter() around
subprocess.run; peak RSS is resource.getrusage(RUSAGE_CHILDREN).ru_maxrss,
i.e. the largest resident set of any run (this driver starts no other
child). Exits with the command's status if any run fails.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--stdout", required=True)
    ap.add_argument("--json")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        ap.error("no command given")

    times = []
    for _ in range(args.repeat):
        with open(args.stdout, "wb") as out:
            t0 = time.perf_counter()
            proc = subprocess.run(cmd, stdout=out, check=False)
            dt = time.perf_counter() - t0
        if proc.returncode != 0:
            print(f"time_cmd: {cmd!r} exited with status {proc.returncode}", file=sys.stderr)
            return proc.returncode if proc.returncode > 0 else 1
        times.append(dt)

    # Linux reports ru_maxrss in KiB.
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result = {"best_seconds": min(times), "runs": times, "peak_rss_kib": peak_kib}
    print(
        f"time_cmd: best {min(times):.3f} s of {len(times)} run(s); peak RSS {peak_kib / 1024:.1f} MiB",
        file=sys.stderr,
    )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as j:
            json.dump(result, j)
    return 0


if __name__ == "__main__":
    sys.exit(main())
