"""Drives cirrus-geo's own StateDB for the Rust interop test (tests/state_interop.rs).

Usage: cirrus_geo_statedb.py write|read, with a JSON request on stdin and a JSON answer on
stdout. boto3 finds moto through the AWS_* variables the test sets (AWS_ENDPOINT_URL, …).

  write: {"table": T, "ops": [{"op": "claim"|"processing"|"succeeded"|"failed"|"invalid"|
          "aborted"|"outputs", "payload_id": P, "at": ISO, "execution": ARN, "error": E,
          "outputs": [URL]}]}
         → {"version": V, "api": "v0"|"v2"}
  read:  {"table": T, "payload_ids": [P], "queries": [{"collections_workflow": CW,
          "state": S}]}
         → {"version": V, "api": …, "records": {P: {"dbitem": …, "item": …, "state": S} or
            {"state_error": …}}, "queries": [{"payload_ids": [P], "count": N}]}

cirrus-geo 1.0 moved StateDB from cirrus.lib2 to cirrus.lib and added the CLAIMED state;
2.0 renamed COMPLETED to SUCCEEDED. Each generic operation maps to the call that version's
`process` and `update-state` lambdas make.
"""

import json
import sys
from importlib.metadata import version

try:
    from cirrus.lib.statedb import StateDB

    API = "v2"
except ImportError:
    from cirrus.lib2.statedb import StateDB

    API = "v0"


def write(db, op):
    name, pid, at = op["op"], op["payload_id"], op["at"]
    if name == "claim":
        if API == "v2":
            db.claim_processing(pid, op["execution"], isotimestamp=at)
        else:
            # 0.x has no CLAIMED: the claim sets PROCESSING, the execution comes later.
            db.claim_processing(pid, isotimestamp=at)
    elif name == "processing":
        if API == "v2":
            db.set_processing(pid, isotimestamp=at)
        else:
            db.set_processing(pid, op["execution"], isotimestamp=at)
    elif name == "succeeded":
        if API == "v2":
            db.set_succeeded(pid, isotimestamp=at)
        else:
            db.set_completed(pid, isotimestamp=at)
    elif name == "failed":
        db.set_failed(pid, op["error"], isotimestamp=at)
    elif name == "invalid":
        db.set_invalid(pid, op["error"], isotimestamp=at)
    elif name == "aborted":
        db.set_aborted(pid, isotimestamp=at)
    elif name == "outputs":
        db.set_outputs(pid, op["outputs"], isotimestamp=at)
    else:
        raise ValueError(f"unknown operation {name!r}")


def plain(value):
    """DynamoDB values as JSON: sets and Decimals do not occur in state records."""
    return json.loads(json.dumps(value, default=str))


def read_record(db, pid):
    dbitem = db.get_dbitem(pid)
    answer = {"dbitem": plain(dbitem), "item": plain(db.dbitem_to_item(dbitem))}
    try:
        answer["state"] = str(db.get_state(pid))
    except ValueError as e:
        # 0.x knows neither CLAIMED nor SUCCEEDED.
        answer["state_error"] = f"{type(e).__name__}: {e}"
    return answer


def main():
    mode = sys.argv[1]
    request = json.load(sys.stdin)
    db = StateDB(request["table"])
    answer = {"version": version("cirrus-geo"), "api": API}
    if mode == "write":
        for op in request["ops"]:
            write(db, op)
    elif mode == "read":
        answer["records"] = {pid: read_record(db, pid) for pid in request["payload_ids"]}
        answer["queries"] = []
        for query in request["queries"]:
            cw, state = query["collections_workflow"], query["state"]
            items = db.get_items(cw, state=state)
            answer["queries"].append(
                {
                    "payload_ids": sorted(i["payload_id"] for i in items),
                    "count": db.get_counts(cw, state=state),
                }
            )
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    json.dump(answer, sys.stdout, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
