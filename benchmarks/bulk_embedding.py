"""Embedding a corpus: the handler against sentence-transformers, and the client's concurrency.

    HF_HUB_OFFLINE=1 venv/bin/python benchmarks/bulk_embedding.py [--texts 300] [--repeats 5]

The handler's input_fn, predict_fn and output_fn in process against sentence-transformers'
`encode(normalize_embeddings=True)` (`--device cuda` on a GPU); then EmbeddingClient(concurrency=N)
for N = 1, 2, 4 against `serve --sentence-embeddings` and a scripted endpoint whose requests take
a fixed time each, as a serverless endpoint's do. Within each comparison one run of each path in
turn, `--repeats` times; figures: the median of a path's runs, their range beside it.
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import (
    Rate,
    add_options,
    client_for,
    interleaved,
    local_endpoints,
    packaged_model,
    varied_texts,
)
from container import INFERENCE_SCRIPT
from tests.embeddings.scripted import Answer, ok, scripted_endpoint

CONCURRENCIES = (1, 2, 4)
SCRIPTED_TEXTS, SCRIPTED_SECONDS = 25, 0.1


def in_process(texts: list[str], model: str, device: str, repeats: int) -> None:
    from sentence_transformers import SentenceTransformer

    from embeddings.server.huggingface import load_handler

    handler = load_handler("feature-extraction", INFERENCE_SCRIPT)
    loaded, body = handler.model_fn(model), json.dumps({"inputs": texts}).encode()

    def whole_request() -> str:
        data = handler.input_fn(body, "application/json")
        return str(handler.output_fn(handler.predict_fn(data, loaded), "application/json"))

    encoder = SentenceTransformer(model, device=device)

    def encode() -> Any:
        return encoder.encode(texts, normalize_embeddings=True)

    print(f"In process, {len(texts)} texts a run, {device}:")
    runs: dict[str, Callable[[], Any]] = {"handler": whole_request, "sentence-transformers": encode}
    for run in runs.values():
        run()  # warm up
    rates = interleaved(runs, len(texts), repeats)
    ratio = rates["handler"].median / rates["sentence-transformers"].median
    size = len(whole_request()) / len(texts)
    print(f"handler / sentence-transformers {ratio:.2f} (goal >= 1); {size:,.0f} bytes a text")


def after_a_while(body: dict[str, Any]) -> Answer:
    time.sleep(SCRIPTED_SECONDS)
    return ok([[0.05] * 384 for _ in body["inputs"]])


def sweep(url: str, texts: list[str], repeats: int, **options: Any) -> dict[int, Rate]:
    clients = {n: client_for(url, concurrency=n, **options)[0] for n in CONCURRENCIES}
    for client in clients.values():
        client.embed(texts[:8])  # warm up, and learn the answer's layout
    runs: dict[str, Callable[[], Any]] = {
        f"concurrency {n}": partial(client.embed, texts) for n, client in clients.items()
    }
    return dict(zip(CONCURRENCIES, interleaved(runs, len(texts), repeats).values(), strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    add_options(parser)
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    args = parser.parse_args()
    if args.device == "cpu":  # the handler takes a GPU whenever torch sees one: hide it
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
    model, texts = packaged_model(args.model), varied_texts(args.texts)
    in_process(texts, model, args.device, args.repeats)
    with local_endpoints(model, [("--sentence-embeddings",)], args.port) as (endpoint,):
        print(f"EmbeddingClient(concurrency=N).embed, local endpoint, {len(texts)} texts a run:")
        local = sweep(endpoint.url, texts, args.repeats)
    with scripted_endpoint(after_a_while) as scripted_at:
        print(f"The same, scripted endpoint ({SCRIPTED_TEXTS} texts a request, each answered after")
        print(f"{SCRIPTED_SECONDS * 1000:.0f} ms on its own):")
        options = {"max_texts_per_request": SCRIPTED_TEXTS}
        scripted = sweep(scripted_at.url, texts, args.repeats, **options)
    print(f"\nEmbeddingClient.embed, texts/s: median of {args.repeats} (range), x concurrency 1")
    print(f"  {'concurrency':<13}{'local endpoint':>24}{'x':>6}{'scripted endpoint':>24}{'x':>6}")
    for n in CONCURRENCIES:
        cells = (f"{r[n].cell:>24}{r[n].median / r[1].median:>6.2f}" for r in (local, scripted))
        print(f"  {n:<13}{''.join(cells)}")


if __name__ == "__main__":
    main()
