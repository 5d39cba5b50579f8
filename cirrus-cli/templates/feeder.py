"""The `{{name}}` feeder: prints Cirrus process payloads, one JSON object per line (NDJSON).

    python3 feeders/{{name}}/feeder.py --workflow WORKFLOW ITEM_ID... | cirrus process -

Each ITEM_ID becomes one payload with one STAC item, to be run by WORKFLOW. Replace
`items` with a search of the real source (a STAC API, a bucket listing, …). Logs go to
stderr: stdout holds only payloads.
"""
import argparse
import json
import sys


def items(ids: list, collection: str):
    for item_id in ids:
        yield {
            "type": "Feature",
            "stac_version": "1.0.0",
            "id": item_id,
            "collection": collection,
            "geometry": None,
            "properties": {"datetime": None},
            "links": [],
            "assets": {},
        }


def main() -> int:
    parser = argparse.ArgumentParser(prog="{{name}}")
    parser.add_argument("--workflow", required=True, help="the workflow that runs each payload")
    parser.add_argument("--collection", default="{{name}}", help="the items' collection")
    parser.add_argument("ids", nargs="+", help="item IDs")
    args = parser.parse_args()
    count = 0
    for item in items(args.ids, args.collection):
        payload = {
            "type": "FeatureCollection",
            "features": [item],
            "process": [{"workflow": args.workflow}],
        }
        print(json.dumps(payload), flush=True)
        count += 1
    print(f"{{name}}: {count} payload(s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
