"""The three serving modes through EmbeddingClient against in-process sentence-transformers.

    HF_HUB_OFFLINE=1 venv/bin/python benchmarks/embed_throughput.py [--texts 300] [--repeats 5]

The three local endpoints run at once; each run embeds the texts through one of them or in
process, one path after another, `--repeats` times: texts/s as the median of a path's runs (their
range beside it), requests and bytes received a text. Compare ratios, not runs.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import (
    add_options,
    client_for,
    interleaved,
    local_endpoints,
    packaged_model,
    varied_texts,
)

MODES = {
    "stock container (token vectors)": ("--no-sentence-embeddings",),
    "--sentence-embeddings": ("--sentence-embeddings",),
    "--runtime tei": ("--runtime", "tei"),
}
IN_PROCESS = "sentence-transformers, in process"
NONE = f"{'-':>10}{'-':>12}"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    add_options(parser)
    args = parser.parse_args()
    model, texts = packaged_model(args.model), varied_texts(args.texts)
    from sentence_transformers import SentenceTransformer

    encoder = SentenceTransformer(model, device="cpu")
    encoder.encode(texts[:32])  # warm up
    with local_endpoints(model, list(MODES.values()), args.port) as endpoints:
        clients = {mode: client_for(e.url) for mode, e in zip(MODES, endpoints, strict=True)}
        for client, _ in clients.values():
            client.embed(texts[:40])  # warm up, and learn TEI's 32 texts a request

        def through(mode: str) -> None:
            client, sizes = clients[mode]
            sizes.clear()
            client.requests_sent = 0
            client.embed(texts)

        paths: dict[str, Callable[[], Any]] = {mode: partial(through, mode) for mode in MODES}
        paths[IN_PROCESS] = lambda: encoder.encode(texts, batch_size=32, normalize_embeddings=True)
        print(f"EmbeddingClient.embed of {len(texts)} varied texts through each local endpoint,")
        print(f"and in process; {os.cpu_count()} CPUs, model {model}")
        rates = interleaved(paths, len(texts), args.repeats)
    ceiling = rates[IN_PROCESS].median
    per_text = {mode: sum(sizes) / len(texts) for mode, (_, sizes) in clients.items()}
    counts = {
        mode: f"{c.requests_sent:>10}{per_text[mode]:>12,.0f}" for mode, (c, _) in clients.items()
    }
    print(f"\n{'path':<34}{'texts/s (range)':>20}{'requests':>10}{'bytes/text':>12}{'x':>6}")
    for name, rate in rates.items():
        print(f"{name:<34}{rate.cell:>20}{counts.get(name, NONE)}{rate.median / ceiling:>6.2f}")
    tokens, pooled, tei = (rates[mode].median for mode in MODES)
    token_bytes, pooled_bytes, _ = per_text.values()
    print(
        f"\n--sentence-embeddings against token vectors: {pooled / tokens:.1f}x texts/s, "
        f"{token_bytes / pooled_bytes:.0f}x fewer bytes a text; TEI against "
        f"--sentence-embeddings: {tei / pooled:.2f}x texts/s"
    )


if __name__ == "__main__":
    main()
