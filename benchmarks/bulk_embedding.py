"""Embedding a corpus: the handler against sentence-transformers, and the client's concurrency.

    HF_HUB_OFFLINE=1 venv/bin/python benchmarks/bulk_embedding.py [--baseline-handler FILE]

All in one run, on the same texts (1,000 varied ones by default):

1. In this process, container/inference.py doing a whole request's work (input_fn,
   predict_fn, output_fn) against sentence-transformers' `encode(normalize_embeddings=True)`,
   on the same weights: texts/s and their ratio; the answer's bytes per text and the time to
   write it, against `json.dumps` of the same vectors (what the handler wrote before).
   `--baseline-handler` measures another copy of the handler the same way, e.g. an older one:
   `git show COMMIT:container/inference.py > /tmp/old_inference.py`.
   `--device cuda` runs both on the GPU (the handler takes it whenever torch sees one).
2. `EmbeddingClient(concurrency=N)` for N = 1, 2 and 4, texts/s: against the local endpoint
   (`serve --sentence-embeddings` in a subprocess), whose requests share this machine's CPUs,
   and against a scripted endpoint on loopback whose requests each take a fixed time on their
   own, as a serverless endpoint's do up to its MaxConcurrency.

Each figure is the best of `--repeats` runs, taken in turn, so a burst of noise on this shared
machine hits one run of one path rather than a whole path. Compare ratios, not absolute numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.embed_throughput import (  # noqa: E402
    add_model_argument,
    client_for,
    local_endpoint,
    model_or_packaged,
    varied_texts,
)
from container import INFERENCE_SCRIPT  # noqa: E402
from embeddings import EmbeddingClient  # noqa: E402
from embeddings.server.handler import Handler, load_handler  # noqa: E402
from tests.embeddings.scripted import Answer, ok, scripted_endpoint  # noqa: E402

CONCURRENCIES = (1, 2, 4)
SCRIPTED_TEXTS = 25
SCRIPTED_SECONDS = 0.1


def best_seconds(run: Callable[[], Any], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best


def whole_request(handler: Handler, loaded: Any, body: bytes) -> Callable[[], str]:
    """What the container does with one request, from its body to the answer's text."""

    def run() -> str:
        data = handler.input_fn(body, "application/json")
        return str(handler.output_fn(handler.predict_fn(data, loaded), "application/json"))

    return run


def compare_in_process(
    texts: list[str], model: str, device: str, repeats: int, baseline: Path | None
) -> None:
    import numpy as np
    import torch
    from sentence_transformers import SentenceTransformer

    handlers = {"handler": INFERENCE_SCRIPT}
    if baseline is not None:
        handlers["baseline handler"] = baseline
    body = json.dumps({"inputs": texts}).encode()
    runs: dict[str, Callable[[], Any]] = {}
    for name, script in handlers.items():
        handler = load_handler("feature-extraction", script)
        loaded = handler.model_fn(model)
        runs[name] = whole_request(handler, loaded, body)
        runs[name]()  # warm up
    encoder = SentenceTransformer(model, device=device)
    runs["sentence-transformers"] = lambda: encoder.encode(texts, normalize_embeddings=True)
    runs["sentence-transformers"]()

    seconds = {name: float("inf") for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            seconds[name] = min(seconds[name], best_seconds(run, 1))
    ceiling = seconds["sentence-transformers"]
    card = torch.cuda.get_device_name() if device == "cuda" else f"{os.cpu_count()} CPUs"
    print(f"In process, {len(texts)} texts, {device} ({card}), best of {repeats}:")
    print(f"{'path':<40}{'texts/s':>10}{'x sentence-transformers':>26}")
    for name, value in seconds.items():
        print(f"{name:<40}{len(texts) / value:>10.1f}{ceiling / value:>26.2f}")

    vectors = encoder.encode(texts, normalize_embeddings=True).astype(np.float32)
    from container.inference import float32_json

    ours = float32_json(vectors)
    theirs = json.dumps(vectors.tolist())
    write_ours = best_seconds(lambda: float32_json(vectors), repeats)
    write_theirs = best_seconds(lambda: json.dumps(vectors.tolist()), repeats)
    print()
    print(f"{'answer for the same vectors':<40}{'bytes/text':>12}{'ms per 1,000 texts':>20}")
    for name, text, spent in (
        ("json.dumps (the handler before)", theirs, write_theirs),
        ("float32 shortest (the handler now)", ours, write_ours),
    ):
        print(
            f"{name:<40}{len(text) / len(texts):>12,.0f}{spent * 1000 * 1000 / len(texts):>20.1f}"
        )
    print(
        f"bytes per text: {len(ours) / len(theirs):.2f} of before; "
        f"writing: {write_theirs / write_ours:.1f}x faster"
    )


def compare_concurrency(texts: list[str], model: str, repeats: int) -> None:
    with local_endpoint(model, "--sentence-embeddings") as url:
        clients = {n: client_for(url, concurrency=n)[0] for n in CONCURRENCIES}
        local = concurrency_sweep(clients, texts, repeats)
    with scripted_endpoint(answer_after(SCRIPTED_SECONDS)) as endpoint:
        clients = {
            n: client_for(endpoint.url, concurrency=n, max_texts_per_request=SCRIPTED_TEXTS)[0]
            for n in CONCURRENCIES
        }
        scripted = concurrency_sweep(clients, texts, repeats)
    print()
    print(f"EmbeddingClient.embed of the {len(texts)} texts, best of {repeats}:")
    print(f"{'concurrency':<14}{'local endpoint':>16}{'x':>6}{'scripted endpoint':>20}{'x':>6}")
    for n in CONCURRENCIES:
        print(
            f"{n:<14}{len(texts) / local[n]:>16.1f}{local[1] / local[n]:>6.2f}"
            f"{len(texts) / scripted[n]:>20.1f}{scripted[1] / scripted[n]:>6.2f}"
        )
    print(
        "(texts/s. local endpoint: `serve --sentence-embeddings` on this machine's CPUs, which "
        "every request shares;\nscripted endpoint: answers each request of "
        f"{SCRIPTED_TEXTS} texts after {SCRIPTED_SECONDS * 1000:.0f} ms on its own, as "
        "serverless capacity does up to MaxConcurrency.)"
    )


def concurrency_sweep(
    clients: dict[int, EmbeddingClient], texts: list[str], repeats: int
) -> dict[int, float]:
    """Best seconds to embed `texts` for each client, the clients taken in turn."""
    for client in clients.values():
        client.embed(texts[:8])  # warm up, and learn the answer's layout
    seconds = {n: float("inf") for n in clients}
    for _ in range(repeats):
        for n, client in clients.items():
            seconds[n] = min(seconds[n], best_seconds(partial(client.embed, texts), 1))
    return seconds


def answer_after(delay: float) -> Callable[[dict[str, Any]], Answer]:
    """Pooled vectors (all the same: only the timing matters here) after `delay` seconds."""

    def script(body: dict[str, Any]) -> Answer:
        time.sleep(delay)
        return ok([[0.05] * 384 for _ in body["inputs"]])

    return script


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--baseline-handler", type=Path, help="another inference.py to measure")
    parser.add_argument("--skip-endpoint", action="store_true", help="in-process figures only")
    add_model_argument(parser)
    args = parser.parse_args()
    args.model = model_or_packaged(args.model)
    if args.device == "cpu":  # the handler takes a GPU whenever torch sees one: hide it
        assert "torch" not in sys.modules, "torch was imported before the GPU could be hidden"
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
    texts = varied_texts(args.texts)
    compare_in_process(texts, args.model, args.device, args.repeats, args.baseline_handler)
    if not args.skip_endpoint:
        compare_concurrency(texts, args.model, args.repeats)


if __name__ == "__main__":
    main()
