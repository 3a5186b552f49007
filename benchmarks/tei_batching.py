"""TEI mode's dynamic batching against in-process batched encoding, in one run.

    HF_HUB_OFFLINE=1 venv/bin/python benchmarks/tei_batching.py [--texts 1000] [--clients 16]

`encode(texts, batch_size=32)` in this process (the ceiling), then `serve --runtime tei` called
by 1 and by 16 clients (threads, a boto3 client each) sending one text a request, as independent
callers do; its log says how many texts a model pass held. Goal: 16 clients at 0.7 or better.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import local_endpoint, packaged_model, seconds, varied_texts

JSON = "application/json"
PASSES = re.compile(r"TEI: (\d+) model passes, (\d+) texts")


def one_text_per_request(url: str, texts: list[str], clients: int) -> float:
    """texts/s of `clients` threads sending the texts one by one, each answer checked."""
    config = Config(retries={"max_attempts": 0}, max_pool_connections=2)
    os.environ.update(AWS_ACCESS_KEY_ID="benchmark", AWS_SECRET_ACCESS_KEY="benchmark")
    runtimes = [
        boto3.client("sagemaker-runtime", "us-east-1", endpoint_url=url, config=config)
        for _ in range(clients)
    ]
    for client in runtimes:
        client.invoke_endpoint(EndpointName="e", ContentType=JSON, Body=b'{"inputs":"hi"}')
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

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        for done in [pool.submit(client_loop, client) for client in runtimes]:
            done.result()  # a client's failure, raised
    return len(texts) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--texts", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--model", help="Hub id or directory (default: the packaged weights)")
    args = parser.parse_args()
    model, texts = packaged_model(args.model), varied_texts(args.texts)
    from sentence_transformers import SentenceTransformer

    encoder = SentenceTransformer(model, device="cpu")
    encoder.encode(texts[:64], batch_size=32)  # warm up; measured first, alone on the machine
    ceiling = len(texts) / seconds(
        lambda: encoder.encode(texts, batch_size=32, normalize_embeddings=True)
    )
    rows = [("in-process encode(batch_size=32)", ceiling, "-")]
    for clients in (1, args.clients):
        with tempfile.TemporaryDirectory() as scratch:
            log = Path(scratch) / "serve.log"
            extra = ("--runtime", "tei", "--max-concurrency", str(max(16, clients)))
            with local_endpoint(model, *extra, log=log) as url:
                rate = one_text_per_request(url, texts, clients)
            passes, ran = map(int, PASSES.findall(log.read_text())[-1])
        rows.append(
            (f"TEI endpoint, {clients} client(s), 1 text a request", rate, f"{ran / passes:.1f}")
        )
    print(f"{len(texts)} varied texts, {os.cpu_count()} CPUs, model {model}")
    print(f"{'path':<46}{'texts/s':>9}{'x in-process':>14}{'texts/pass':>12}")
    for name, rate, per_pass in rows:
        print(f"{name:<46}{rate:>9.1f}{rate / ceiling:>14.2f}{per_pass:>12}")
    one, many = rows[1][1], rows[2][1]
    print(f"\n{args.clients} clients against in-process batches: {many / ceiling:.2f} (goal 0.7)")
    print(f"{args.clients} clients against 1: {many / one:.1f}x")


if __name__ == "__main__":
    main()
