#!/usr/bin/env bash
# Lambda `bootstrap`: zip size and cold start.
#
#   bash bench/lambda_cold_start.sh [RUNS]      (default 20 runs per function)
#
# Builds `bootstrap` in release mode (cargo build --release -p cirrus-deploy --bin bootstrap),
# zips it as `cirrus deploy --package` would (zip -9, one file), and prints its size against
# the 15 MB target.
#
# Cold start = the time from spawning a fresh `bootstrap` process to the response of its
# first event reaching the Lambda Runtime API. The Runtime API is emulated on 127.0.0.1 by
# the Python script below: it serves one event on /2018-06-01/runtime/invocation/next,
# takes the answer on /2018-06-01/runtime/invocation/<id>/response (or /error, which counts
# as a failure), and then stops. The environment is what Lambda gives a function
# (AWS_LAMBDA_RUNTIME_API, AWS_LAMBDA_FUNCTION_NAME, memory size, log group, region,
# credentials) plus the deployment's CIRRUS_* variables. The events need no network call,
# so the figure is the binary's own start-up: loading, logging set-up, the AWS SDK
# configuration and clients for every backend, the runtime client, and one handler call.
#   - update-state: a RUNNING status change (parsed, then ignored);
#   - pre-batch: a {"url"} reference (answered with url / url_out).
# Target: under 50 ms. Not a test: a shared machine makes the times noisy.
set -euo pipefail

RUNS="${1:-20}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

cargo build --release -p cirrus-deploy --bin bootstrap >&2
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/bootstrap"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

cp "$BIN" "$WORK/bootstrap"
(cd "$WORK" && zip -q -9 bootstrap.zip bootstrap)
python3 - "$WORK/bootstrap" "$WORK/bootstrap.zip" <<'EOF'
import os, sys
binary, archive = sys.argv[1:]
mb = lambda n: n / 1_000_000
size = os.path.getsize(archive)
print(f"bootstrap: {mb(os.path.getsize(binary)):.1f} MB; bootstrap.zip (zip -9): {mb(size):.1f} MB "
      f"(target < 15 MB: {'met' if size < 15_000_000 else 'NOT met'})")
EOF

python3 - "$BIN" "$RUNS" "$ROOT/deploy/tests/fixtures/events/status-running.json" <<'EOF'
import http.server, json, os, socket, statistics, subprocess, sys, threading, time

binary, runs, running_event = sys.argv[1], int(sys.argv[2]), sys.argv[3]
EVENTS = {
    "update-state": json.load(open(running_event)),
    "pre-batch": {"url": "s3://bench-dev-payloads/cirrus/tmp/batch/c/workflow-w/a/x.json"},
}

def one_run(function, event):
    """Spawns bootstrap against a fresh emulator; returns seconds to the first response."""
    done = threading.Event()
    result = {}

    class Api(http.server.BaseHTTPRequestHandler):
        served = False
        def log_message(self, *args):
            pass
        def do_GET(self):
            if self.path != "/2018-06-01/runtime/invocation/next" or Api.served:
                # Only one event per process: hold later polls until the run ends.
                done.wait(5)
                self.send_response(500); self.end_headers(); return
            Api.served = True
            body = json.dumps(event).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Lambda-Runtime-Aws-Request-Id", "bench-request-1")
            self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 60_000))
            self.send_header("Lambda-Runtime-Invoked-Function-Arn",
                             f"arn:aws:lambda:us-east-1:123456789012:function:bench-dev-{function}")
            self.send_header("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
            self.end_headers()
            self.wfile.write(body)
        def do_POST(self):
            length = int(self.headers.get("Content-Length", 0))
            payload = self.rfile.read(length)
            result["at"] = time.perf_counter()
            result["ok"] = self.path.endswith("/response")
            result["body"] = payload.decode(errors="replace")
            self.send_response(202); self.end_headers()
            done.set()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Api)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{port}",
        "AWS_LAMBDA_FUNCTION_NAME": f"bench-dev-{function}",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/bench-dev-{function}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2024/01/01/[$LATEST]bench",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_SESSION_TOKEN": "bench",
        "CIRRUS_FUNCTION": function,
        "CIRRUS_PREFIX": "bench-dev-",
        "CIRRUS_STATE_DB": "bench-dev-state",
        "CIRRUS_PAYLOAD_BUCKET": "bench-dev-payloads",
        "CIRRUS_DATA_BUCKET": "bench-dev-data",
        "CIRRUS_PROCESS_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/bench-dev-process",
        "CIRRUS_PUBLISH_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:bench-dev-publish",
        "CIRRUS_WORKFLOW_EVENT_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:bench-dev-workflow-event",
        "CIRRUS_BASE_WORKFLOW_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:bench-dev-",
        "CIRRUS_LOG_LEVEL": "warn",
    }
    start = time.perf_counter()
    process = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    finished = done.wait(30)
    process.kill()
    _, stderr = process.communicate()
    server.shutdown(); server.server_close()
    if not finished or not result.get("ok"):
        sys.exit(f"{function}: no response: {result.get('body')!r}\n{stderr.decode(errors='replace')[-2000:]}")
    return result["at"] - start, result["body"]

for function, event in EVENTS.items():
    times = []
    for _ in range(runs):
        seconds, body = one_run(function, event)
        times.append(seconds * 1000)
    median = statistics.median(times)
    print(f"cold start {function:13s}: median {median:.1f} ms, min {min(times):.1f}, max {max(times):.1f} "
          f"over {runs} fresh processes (target < 50 ms: {'met' if median < 50 else 'NOT met'}); "
          f"response {body[:80]}")
EOF
