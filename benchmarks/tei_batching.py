"""Dynamic batching of the TEI-mode local endpoint against in-process batched encoding, in one run.

    HF_HUB_OFFLINE=1 venv/bin/python benchmarks/tei_batching.py

Embeds the same varied texts three ways and prints texts/s and the ratios between them:
sentence-transformers in this process (`encode(texts, batch_size=32)`, the ceiling on this
machine); then `python -m embeddings serve --runtime tei` in a subprocess, called by 1 and by 16
concurrent clients (threads, each with its own boto3 client) that send one text per
InvokeEndpoint request, as many independent callers of a TEI endpoint do. The server batches
what arrives together into shared model passes; its log says how many texts each pass held.
The goal is 16 clients at 0.7 of the ceiling or better. The machines this runs on are shared
and noisy: compare the ratios of one run, not absolute numbers across runs.
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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.embed_throughput import (  # noqa: E402
    add_model_argument,
    local_endpoint,
    model_or_packaged,
    varied_texts,
)

ENDPOINT = "alex-embedding-endpoint"
PASSES = re.compile(r"TEI model thread: (\d+) passes, (\d+) texts, ([\d.]+) texts per pass")


@dataclass
class Result:
    texts: int
    seconds: float

    @property
    def texts_per_second(self) -> float:
        return self.texts / self.seconds


@dataclass
class Passes:
    """The server's count of model passes (from its log line on stopping)."""

    passes: int = 0
    texts: int = 0


@contextmanager
def tei_endpoint(model: str, clients: int, passes: Passes) -> Iterator[str]:
    """The TEI-mode local endpoint, throttling nobody of `clients`; `passes` is filled in
    from its log when it stops."""
    with tempfile.TemporaryDirectory() as scratch:
        log = Path(scratch) / "serve.log"
        try:
            with local_endpoint(
                model, "--runtime", "tei", "--max-concurrency", str(max(16, clients)), log=log
            ) as url:
                yield url
        finally:
            found = PASSES.findall(log.read_text()) if log.exists() else []
            if found:
                passes.passes, passes.texts = int(found[-1][0]), int(found[-1][1])


def runtime_client(url: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "sagemaker-runtime",
        region_name="us-east-1",
        endpoint_url=url,
        aws_access_key_id="benchmark",
        aws_secret_access_key="benchmark",
        config=Config(retries={"max_attempts": 0}, max_pool_connections=2),
    )


def one_text_per_request(url: str, texts: list[str], clients: int) -> Result:
    """`clients` threads take the next text in turn and send it alone; each has its own boto3
    client, warmed up first. Checks every answer is one 384-float vector."""
    runtimes = [runtime_client(url) for _ in range(clients)]
    for runtime in runtimes:
        runtime.invoke_endpoint(
            EndpointName=ENDPOINT, ContentType="application/json", Body=b'{"inputs":"warm up"}'
        )
    next_index = iter(range(len(texts)))
    taking = threading.Lock()
    failures: list[BaseException] = []
    start = threading.Barrier(clients + 1)

    def client(runtime: Any) -> None:
        start.wait()
        try:
            while True:
                with taking:
                    index = next(next_index, None)
                if index is None:
                    return
                body = json.dumps({"inputs": texts[index]}).encode()
                answer = runtime.invoke_endpoint(
                    EndpointName=ENDPOINT, ContentType="application/json", Body=body
                )
                rows = json.loads(answer["Body"].read())
                if len(rows) != 1 or len(rows[0]) != 384:
                    raise AssertionError(f"unexpected answer of {len(rows)} rows")
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=client, args=(runtime,)) for runtime in runtimes]
    for thread in threads:
        thread.start()
    start.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise failures[0]
    return Result(len(texts), elapsed)


def in_process(model_path: str, texts: list[str]) -> Result:
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(model_path, device="cpu")
    model.encode(texts[:64], batch_size=32)  # warm up
    started = time.perf_counter()
    model.encode(texts, batch_size=32, normalize_embeddings=True)
    return Result(len(texts), time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--texts", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=16)
    add_model_argument(parser)
    args = parser.parse_args()
    args.model = model_or_packaged(args.model)
    texts = varied_texts(args.texts)

    ceiling = in_process(args.model, texts)  # first, alone on the machine
    rows: list[tuple[str, Result, Passes | None]] = [
        ("in-process encode(batch_size=32)", ceiling, None)
    ]
    for clients in (1, args.clients):
        passes = Passes()
        with tei_endpoint(args.model, clients, passes) as url:
            result = one_text_per_request(url, texts, clients)
        name = f"TEI endpoint, {clients} client{'s' * (clients > 1)}, 1 text/request"
        rows.append((name, result, passes))

    print(f"{len(texts)} varied texts, {os.cpu_count()} CPUs, model {args.model}")
    print(f"{'path':<46}{'texts/s':>9}{'x in-process':>14}{'texts/pass':>12}")
    for name, result, counted in rows:
        per_pass = f"{counted.texts / counted.passes:.1f}" if counted and counted.passes else "-"
        ratio = result.texts_per_second / ceiling.texts_per_second
        print(f"{name:<46}{result.texts_per_second:>9.1f}{ratio:>14.2f}{per_pass:>12}")
    one, many = rows[1][1], rows[2][1]
    print()
    print(
        f"{args.clients} clients vs in-process batches: "
        f"{many.texts_per_second / ceiling.texts_per_second:.2f} (goal 0.7); "
        f"vs 1 client: {many.texts_per_second / one.texts_per_second:.1f}x"
    )


if __name__ == "__main__":
    main()
