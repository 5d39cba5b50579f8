"""The `{{name}}` task: takes a Cirrus process payload, returns one.

Task CLI contract: `task.py run INPUT --output OUT --workdir DIR [more options]`.
INPUT is the payload file, OUT where to write the output payload, DIR a scratch folder.
A failure exits non-zero after an `ErrorName: message` line on stderr; the error name
`InvalidInput` makes the payload INVALID, any other FAILED.

Parameters come from the payload: `process[0].workflow_options`, overridden by
`process[0].tasks["{{name}}"]`.

This one records itself in each item's `processing:software` property (STAC processing
extension). Replace `process_item` with the task's work.
"""
import argparse
import json
import sys

NAME = "{{name}}"
VERSION = "0.1.0"


def parameters(payload: dict) -> dict:
    process = payload.get("process") or [{}]
    first = process[0] if isinstance(process, list) else process
    params = dict(first.get("workflow_options") or {})
    params.update((first.get("tasks") or {}).get(NAME) or {})
    return params


def process_item(item: dict, params: dict) -> dict:
    properties = item.setdefault("properties", {})
    software = properties.setdefault("processing:software", {})
    software[NAME] = params.get("version", VERSION)
    return item


def main() -> int:
    parser = argparse.ArgumentParser(prog=NAME)
    parser.add_argument("command", choices=["run"])
    parser.add_argument("input")
    parser.add_argument("--output", required=True)
    parser.add_argument("--workdir")
    # Other options of the contract (--local, --logging LEVEL, …) are accepted and ignored.
    args, _ = parser.parse_known_args()

    with open(args.input) as f:
        payload = json.load(f)
    features = payload.get("features")
    if not isinstance(features, list) or not features:
        print("InvalidInput: the payload has no features", file=sys.stderr)
        return 1
    params = parameters(payload)
    payload["features"] = [process_item(item, params) for item in features]
    print(f"{NAME}: processed {len(features)} item(s)", file=sys.stderr)
    with open(args.output, "w") as f:
        json.dump(payload, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
