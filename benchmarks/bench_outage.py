"""What a collector outage costs the application: latency, memory, time to exit.

Each configuration runs in its own fresh process that exports traces,
metrics and logs over OTLP/HTTP (``configure()`` defaults otherwise) to a
collector on 127.0.0.1 that is:

* ``healthy``: the test suite's real OTLP receiver (the baseline);
* ``refused``: a closed port (connection refused);
* ``black-holed``: a port that accepts connections and never answers;
* ``slow``: a receiver that answers each export after 2 s.

The process calls a ``@traced_tool`` function 20,000 times (one span, one
histogram point, one log record every 100 calls), then returns from its main
function, so the exit runs ``shutdown()`` as any application's would. Reported,
for each configuration against the healthy one measured in the same run:
per-call latency p50 and p99 (ratio), the growth of the process's peak memory
over the calls (MiB), the spans delivered, and the time from the end of the
calls to the process having exited, next to the shutdown deadline (5 s).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CALLS = 20_000

CHILD = textwrap.dedent(
    """
    import json, logging, resource, sys, time
    import otel_agentkit as agentkit

    agentkit.configure(service_name="outage-bench", otlp_endpoint=sys.argv[1],
                       otlp_protocol="http/protobuf", metrics_exporter="otlp",
                       prometheus_server=False)
    log = logging.getLogger("bench")

    @agentkit.traced_tool
    def step(i):
        if i % 100 == 0:
            log.warning("step %d", i)
        return i

    for i in range(200):  # warm up
        step(i)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    times = []
    clock = time.perf_counter
    for i in range({calls}):
        start = clock()
        step(i)
        times.append(clock() - start)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    times.sort()
    print(json.dumps({{
        "p50": times[len(times) // 2], "p99": times[int(len(times) * 0.99)],
        "memory_kib": after - before, "done_at": time.time(),
    }}), flush=True)
    """
).format(calls=CALLS)


class _Slow(BaseHTTPRequestHandler):
    delay = 2.0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        time.sleep(self.delay)
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _run(endpoint: str) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for name in list(env):
        if name.startswith(("OTEL_", "AGENTKIT_")):
            del env[name]
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, endpoint],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        text=True,
    )
    assert child.stdout is not None
    line = child.stdout.readline()
    child.wait(timeout=120)
    exited_at = time.time()
    result: dict[str, Any] = json.loads(line)
    result["exit_s"] = exited_at - result.pop("done_at")
    return result


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from tests.otlp_receiver import OTLPReceiver

    receiver = OTLPReceiver()
    receiver.start()
    refused = socket.socket()
    refused.bind(("127.0.0.1", 0))
    refused_port = refused.getsockname()[1]
    refused.close()
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(1024)
    slow = ThreadingHTTPServer(("127.0.0.1", 0), _Slow)
    threading.Thread(target=slow.serve_forever, daemon=True).start()
    modes = {
        "healthy": f"http://127.0.0.1:{receiver.http_port}",
        "refused": f"http://127.0.0.1:{refused_port}",
        "black-holed": f"http://127.0.0.1:{hole.getsockname()[1]}",
        "slow": f"http://127.0.0.1:{slow.server_address[1]}",
    }
    results = {}
    try:
        for name, endpoint in modes.items():
            before = sum(1 for _ in receiver.spans())
            results[name] = _run(endpoint)
            results[name]["delivered"] = (
                sum(1 for _ in receiver.spans()) - before if name == "healthy" else None
            )
    finally:
        receiver.stop()
        hole.close()
        slow.shutdown()
    base = results["healthy"]
    print(f"\nOutage: {CALLS} decorated calls, OTLP/HTTP, shutdown deadline 5 s")
    print(f"{'collector':<12} {'p50 ratio':>9} {'p99 ratio':>9} {'mem MiB':>8} {'exit s':>7}")
    for name, r in results.items():
        print(
            f"{name:<12} {r['p50'] / base['p50']:>9.2f} {r['p99'] / base['p99']:>9.2f} "
            f"{r['memory_kib'] / 1024:>8.1f} {r['exit_s']:>7.2f}"
        )
    print(f"healthy: {base['delivered']} spans delivered of {CALLS + 200}")


if __name__ == "__main__":
    main()
