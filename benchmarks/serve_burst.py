"""Bursts against `python -m embeddings serve`: errors, latency and throughput, idle sockets.

    HF_HUB_OFFLINE=1 venv/bin/python benchmarks/serve_burst.py [--clients 40] [--requests 10]

Times GET /ping past idle connections, then CLIENTS threads send REQUESTS InvokeEndpoint calls
each, a new connection each: with --max-concurrency CLIENTS (all served) and 4 (SageMaker's
default: the rest throttled). Anything else is an error (a refused or reset connection...).
"""

from __future__ import annotations

import argparse
import http.client
import socket
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import local_endpoint, packaged_model


def call(port: int, method: str, path: str, body: bytes | None = None) -> tuple[str, float]:
    """The outcome (ok, throttled, or what went wrong) and the seconds it took."""
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request(method, path, body, {"Content-Type": "application/json"})
        response = connection.getresponse()
        response.read()
        outcome = {200: "ok", 400: "throttled"}.get(response.status, f"HTTP {response.status}")
    except OSError as error:
        outcome = type(error).__name__
    finally:
        connection.close()
    return outcome, time.perf_counter() - started


def burst(port: int, clients: int, requests: int) -> str:
    outcomes: list[tuple[str, float]] = []
    body = b'{"inputs": "a short sentence to embed"}'

    def client() -> None:
        for _ in range(requests):
            outcomes.append(call(port, "POST", "/endpoints/local/invocations", body))

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    wall = time.perf_counter() - started
    served = sorted(seconds for outcome, seconds in outcomes if outcome == "ok")
    errors = [outcome for outcome, _ in outcomes if outcome not in ("ok", "throttled")]
    p50, p99 = statistics.median(served), served[int(0.99 * (len(served) - 1))]
    throttled = len(outcomes) - len(served) - len(errors)
    return (
        f"{len(served):>8}{throttled:>10}{len(errors):>8} {sorted(set(errors)) or ''}"
        f"{1000 * p50:>8.0f}{1000 * p99:>8.0f}{len(served) / wall:>8.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--clients", type=int, default=40)
    parser.add_argument("--requests", type=int, default=10, help="per client")
    parser.add_argument("--idle", type=int, default=100, help="idle connections held open")
    parser.add_argument("--model", help="Hub id or directory (default: the packaged weights)")
    args = parser.parse_args()
    model = packaged_model(args.model)
    print(f"{args.clients} clients x {args.requests} requests, a connection each")
    print(f"{'--max-concurrency':<18}{'served':>8}{'throttled':>10}{'errors':>8}", end="")
    print(f"{'p50 ms':>9}{'p99 ms':>8}{'req/s':>8}")
    for limit in (args.clients, 4):
        with local_endpoint(model, "--max-concurrency", str(limit)) as url:
            port = int(url.rsplit(":", 1)[1])
            idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(args.idle)]
            ping = call(port, "GET", "/ping")
            for sock in idle:
                sock.close()
            print(f"{limit:<18}{burst(port, args.clients, args.requests)}")
    print(f"GET /ping with {args.idle} idle connections open: {ping[0]} in {1000 * ping[1]:.1f} ms")


if __name__ == "__main__":
    main()
