"""A task in the Cirrus task CLI contract: `summarize.py run INPUT --output OUT --workdir DIR`.

Reads a payload, counts its items by band visibility, and writes the payload with a
`summary` member. Exits 1 with an `InvalidInput: …` line when the payload has no features,
which the engine turns into the task's error.
"""
import argparse
import json
import sys


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["run"])
    parser.add_argument("input")
    parser.add_argument("--output", required=True)
    parser.add_argument("--workdir")
    args = parser.parse_args()

    with open(args.input) as f:
        payload = json.load(f)
    bands = payload.get("bands") or []
    if not bands:
        print("InvalidInput: the payload has no bands to summarize", file=sys.stderr)
        return 1
    print(f"summarizing {len(bands)} bands", file=sys.stderr)
    payload["summary"] = {
        "visible": sum(1 for b in bands if b["visible"]),
        "other": sum(1 for b in bands if not b["visible"]),
    }
    with open(args.output, "w") as f:
        json.dump(payload, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
