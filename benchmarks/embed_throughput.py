"""The three serving modes through EmbeddingClient against in-process sentence-transformers.

    HF_HUB_OFFLINE=1 venv/bin/python benchmarks/embed_throughput.py [--texts 1000]

texts/s, requests and bytes received a text, all in one run: compare ratios, not runs.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import client_for, local_endpoint, packaged_model, seconds, varied_texts

MODES = {
    "stock container (token vectors)": ("--no-sentence-embeddings",),
    "--sentence-embeddings": ("--sentence-embeddings",),
    "--runtime tei": ("--runtime", "tei"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--texts", type=int, default=1000)
    parser.add_argument("--model", help="Hub id or directory (default: the packaged weights)")
    args = parser.parse_args()
    model, texts = packaged_model(args.model), varied_texts(args.texts)
    rows: dict[str, tuple[float, int, float]] = {}
    for mode, extra in MODES.items():
        with local_endpoint(model, *extra) as url:
            client, sizes = client_for(url)
            client.embed_one("warm up")  # the first request pays for lazy initialisation
            sizes.clear()
            client.requests_sent = 0
            spent = seconds(lambda client=client: client.embed(texts))  # type: ignore[misc]
            rows[mode] = (len(texts) / spent, client.requests_sent, sum(sizes) / len(texts))
    from sentence_transformers import SentenceTransformer

    encoder = SentenceTransformer(model, device="cpu")
    encoder.encode(texts[:32])
    ceiling = len(texts) / seconds(
        lambda: encoder.encode(texts, batch_size=32, normalize_embeddings=True)
    )
    print(f"{len(texts)} varied texts, {os.cpu_count()} CPUs, model {model}")
    print(f"{'path':<56}{'texts/s':>9}{'requests':>10}{'bytes/text':>12}{'x in-process':>14}")
    for mode, (rate, requests, size) in rows.items():
        name = f"EmbeddingClient.embed, {mode}"
        print(f"{name:<56}{rate:>9.1f}{requests:>10}{size:>12,.0f}{rate / ceiling:>14.2f}")
    name = "sentence-transformers encode, in process"
    print(f"{name:<56}{ceiling:>9.1f}{'-':>10}{'-':>12}{1:>14.2f}")
    tokens, pooled, tei = rows.values()
    print(
        f"\n--sentence-embeddings against token vectors: {pooled[0] / tokens[0]:.1f}x texts/s, "
        f"{tokens[2] / pooled[2]:.0f}x fewer bytes a text; TEI against --sentence-embeddings: "
        f"{tei[0] / pooled[0]:.2f}x texts/s ({tei[1]} requests of at most 32 texts)"
    )


if __name__ == "__main__":
    main()
