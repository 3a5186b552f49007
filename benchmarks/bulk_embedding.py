"""Embedding a corpus: the handler against sentence-transformers, and the client's concurrency.

    HF_HUB_OFFLINE=1 venv/bin/python benchmarks/bulk_embedding.py [--texts 1000] [--repeats 3]

The handler's input_fn, predict_fn and output_fn in process against sentence-transformers'
`encode(normalize_embeddings=True)` (`--device cuda` on a GPU); then EmbeddingClient(concurrency=N)
for N = 1, 2, 4 against `serve --sentence-embeddings` and a scripted endpoint whose requests take
a fixed time each, as a serverless endpoint's do. Figures: the best of `--repeats` runs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import client_for, local_endpoint, packaged_model, seconds, varied_texts
from container import INFERENCE_SCRIPT
from tests.embeddings.scripted import Answer, ok, scripted_endpoint

CONCURRENCIES = (1, 2, 4)
SCRIPTED_TEXTS, SCRIPTED_SECONDS = 25, 0.1


def best_in_turn(runs: dict[Any, Any], repeats: int) -> dict[Any, float]:
    """Best seconds of each, taken in turn (noise then hits one run of one path)."""
    best = {name: float("inf") for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            best[name] = min(best[name], seconds(run))
    return best


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

    runs = {"handler": whole_request, "sentence-transformers": encode}
    for run in runs.values():
        run()  # warm up
    best = best_in_turn(runs, repeats)
    print(f"In process, {len(texts)} texts, {device}, best of {repeats}:")
    for name, spent in best.items():
        print(f"  {name:<24}{len(texts) / spent:>9.1f} texts/s")
    ratio = best["sentence-transformers"] / best["handler"]
    size = len(whole_request()) / len(texts)
    print(f"  handler / sentence-transformers {ratio:.2f} (goal >= 1); {size:,.0f} bytes a text")


def after_a_while(body: dict[str, Any]) -> Answer:
    time.sleep(SCRIPTED_SECONDS)
    return ok([[0.05] * 384 for _ in body["inputs"]])


def sweep(url: str, texts: list[str], repeats: int, **options: Any) -> dict[int, float]:
    clients = {n: client_for(url, concurrency=n, **options)[0] for n in CONCURRENCIES}
    for client in clients.values():
        client.embed(texts[:8])  # warm up, and learn the answer's layout
    runs = {n: (lambda client=client: client.embed(texts)) for n, client in clients.items()}
    return {n: len(texts) / best for n, best in best_in_turn(runs, repeats).items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--texts", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--model", help="Hub id or directory (default: the packaged weights)")
    args = parser.parse_args()
    if args.device == "cpu":  # the handler takes a GPU whenever torch sees one: hide it
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
    model, texts = packaged_model(args.model), varied_texts(args.texts)
    in_process(texts, model, args.device, args.repeats)
    with local_endpoint(model, "--sentence-embeddings") as url:
        local = sweep(url, texts, args.repeats)
    with scripted_endpoint(after_a_while) as endpoint:
        scripted = sweep(endpoint.url, texts, args.repeats, max_texts_per_request=SCRIPTED_TEXTS)
    print(f"\nEmbeddingClient.embed, texts/s (scripted: {SCRIPTED_TEXTS} texts a request, each")
    print(f"answered after {SCRIPTED_SECONDS * 1000:.0f} ms on its own), best of {args.repeats}:")
    print(f"  {'concurrency':<14}{'local endpoint':>16}{'x':>6}{'scripted endpoint':>20}{'x':>6}")
    for n in CONCURRENCIES:
        print(f"  {n:<14}{local[n]:>16.1f}{local[n] / local[1]:>6.2f}", end="")
        print(f"{scripted[n]:>20.1f}{scripted[n] / scripted[1]:>6.2f}")


if __name__ == "__main__":
    main()
