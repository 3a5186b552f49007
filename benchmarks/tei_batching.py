"""TEI mode's dynamic batching against in-process batched encoding, in one run.

    HF_HUB_OFFLINE=1 venv/bin/python benchmarks/tei_batching.py [--texts 300] [--clients 16]

`encode(texts, batch_size=32)` in this process (the ceiling), and two `serve --runtime tei`, one
called by 1 client and one by 16 (threads, a boto3 client each), sending one text a request as
independent callers do; one run of each path in turn, `--repeats` times; each server's log says
how many texts a model pass held. Goal: 16 clients at 0.7 of the ceiling or better.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import (
    add_options,
    interleaved,
    local_endpoints,
    packaged_model,
    varied_texts,
)

JSON = "application/json"
IN_PROCESS = "in-process encode(batch_size=32)"
PASSES = re.compile(r"TEI: (\d+) model passes, (\d+) texts")


def runtimes(url: str, clients: int) -> list[Any]:
    """`clients` boto3 clients of the endpoint, each with its connection open."""
    config = Config(retries={"max_attempts": 0}, max_pool_connections=2)
    os.environ.update(AWS_ACCESS_KEY_ID="benchmark", AWS_SECRET_ACCESS_KEY="benchmark")
    made = [
        boto3.client("sagemaker-runtime", "us-east-1", endpoint_url=url, config=config)
        for _ in range(clients)
    ]
    for client in made:
        client.invoke_endpoint(EndpointName="e", ContentType=JSON, Body=b'{"inputs":"hi"}')
    return made


def one_text_per_request(clients: list[Any], texts: list[str]) -> None:
    """The clients, each a thread, sending the texts one by one, each answer checked."""
    remaining = iter(texts)
    taking = threading.Lock()

    def client_loop(client: Any) -> None:
        while True:
            with taking:
                text = next(remaining, None)
            if text is None:
                return
            body = json.dumps({"inputs": text}).encode()
            answer = client.invoke_endpoint(EndpointName="e", ContentType=JSON, Body=body)
            rows = json.loads(answer["Body"].read())
            if [len(row) for row in rows] != [384]:
                raise AssertionError(f"unexpected answer of {len(rows)} rows")

    with ThreadPoolExecutor(len(clients)) as pool:
        for done in [pool.submit(client_loop, client) for client in clients]:
            done.result()  # a client's failure, raised


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    add_options(parser)
    parser.add_argument("--clients", type=int, default=16)
    args = parser.parse_args()
    model, texts = packaged_model(args.model), varied_texts(args.texts)
    from sentence_transformers import SentenceTransformer

    encoder = SentenceTransformer(model, device="cpu")
    encoder.encode(texts[:64], batch_size=32)  # warm up
    counts = (1, args.clients)
    modes = [("--runtime", "tei", "--max-concurrency", str(max(16, n))) for n in counts]
    with local_endpoints(model, modes, args.port) as endpoints:
        callers = [runtimes(endpoint.url, n) for endpoint, n in zip(endpoints, counts, strict=True)]
        paths: dict[str, Callable[[], Any]] = {
            IN_PROCESS: lambda: encoder.encode(texts, batch_size=32, normalize_embeddings=True)
        }
        for n, clients in zip(counts, callers, strict=True):
            name = f"TEI endpoint, {n} client{'s' if n > 1 else ''}"
            paths[name] = partial(one_text_per_request, clients, texts)
        print(f"{len(texts)} varied texts a run, 1 a request; {os.cpu_count()} CPUs, model {model}")
        rates = interleaved(paths, len(texts), args.repeats)
    per_pass = ["-"]
    for endpoint in endpoints:
        passes, ran = map(int, PASSES.findall(endpoint.output)[-1])
        per_pass.append(f"{ran / passes:.1f}")
    ceiling, one, many = (rate.median for rate in rates.values())
    print(f"\n{'path':<34}{'texts/s (range)':>20}{'x in-process':>14}{'texts/pass':>12}")
    for (name, rate), held in zip(rates.items(), per_pass, strict=True):
        print(f"{name:<34}{rate.cell:>20}{rate.median / ceiling:>14.2f}{held:>12}")
    print(f"\n{args.clients} clients against in-process batches: {many / ceiling:.2f} (goal 0.7)")
    print(f"{args.clients} clients against 1: {many / one:.1f}x")


if __name__ == "__main__":
    main()
