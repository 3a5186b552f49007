"""A hostile corpus at concurrency 8 against the local endpoint (sentence-embedding mode): every
vector comes back, in order, equal to sentence-transformers'.

    HF_HUB_OFFLINE=1 venv/bin/python benchmarks/slow_batches.py [--texts 2000] [--repeats 1]

The texts mix one-line English, CJK, emoji, right-to-left scripts, zero-width characters and, one
in twenty, 10,000-character texts. With 256 texts a request whatever their length, such a job on
2 cores met SageMaker's 60 s invocation timeout in 3 of 4 runs and lost the job; the client now
sizes requests by estimated tokens (embeddings/batching.py) and splits a request that times out.
Printed: how long one request of the client's token budget takes (the figure its docstring
gives), then each run's time, the requests sent, and the lowest cosine to sentence-transformers'
`encode(normalize_embeddings=True)`.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import add_options, client_for, local_endpoints, packaged_model
from embeddings.batching import (
    TEXTS_PER_REQUEST,
    TOKENS_PER_REQUEST,
    OutputModel,
    estimate_tokens,
    plan_batches,
)

CONCURRENCY = 8
PIECES = [
    "Quarterly revenue beat estimates as margins widened.",
    "市场在央行宣布后上涨，投资者对利率前景保持谨慎。",
    "🚀📈 Earnings day! 🎉🔥 shares up 12% 💰",
    "ارتفعت الأسهم بعد إعلان البنك المركزي عن أسعار الفائدة",
    "המניות עלו לאחר ההודעה של הבנק המרכזי",
    "zero\u200bwidth\u200cjoiners\u200dhere\ufeff and there",
    "Les marchés ont progressé après l'annonce de la banque centrale.",
    "株価は中央銀行の発表後に上昇した。",
    "Ünïcödé àccents, ligatures ﬁ ﬂ, and math ∑∫√ symbols",
]


def hostile_texts(count: int) -> list[str]:
    """Deterministic: one text in twenty of 10,000 characters, the rest a piece or two."""
    texts = []
    for index in range(count):
        piece = PIECES[index % len(PIECES)]
        if index % 20 == 0:
            text = (f"{index} {piece} " * 10_000)[:10_000]
        else:
            text = f"{index}: {piece} {PIECES[(index * 7) % len(PIECES)]}"
        texts.append(text)
    return texts


def cosine(a: list[float], b: list[float]) -> float:
    return math.fsum(x * y for x, y in zip(a, b, strict=True))


def full_requests(texts: list[str]) -> dict[str, list[str]]:
    """The first request of long texts, and of short ones, as the client plans them."""
    long, short = texts[::20], [text for index, text in enumerate(texts) if index % 20]
    pooled = OutputModel(layout="pooled")
    return {
        kind: group[
            : len(plan_batches(group, pooled, max_length=256, max_texts=TEXTS_PER_REQUEST)[0])
        ]
        for kind, group in (("long", long), ("short", short))
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_options(parser)
    parser.set_defaults(texts=2000, repeats=1)
    args = parser.parse_args()
    model, texts = packaged_model(args.model), hostile_texts(args.texts)
    from sentence_transformers import SentenceTransformer

    started = time.perf_counter()
    expected = SentenceTransformer(model).encode(texts, normalize_embeddings=True).tolist()
    print(f"sentence-transformers: {len(texts)} texts in {time.perf_counter() - started:.1f} s")
    with local_endpoints(model, [["--sentence-embeddings"]], args.port) as [endpoint]:
        probe, _ = client_for(endpoint.url)
        probe.embed_one("warm up")
        for kind, batch in full_requests(texts).items():
            tokens = sum(estimate_tokens(text, 256) for text in batch)
            took = []
            for _ in range(3):
                started = time.perf_counter()
                probe.invoke_raw(probe.payload(batch))
                took.append(time.perf_counter() - started)
            print(
                f"one request of {len(batch)} {kind} texts, {tokens:,} estimated tokens (at most "
                f"{TEXTS_PER_REQUEST} and {TOKENS_PER_REQUEST:,}): "
                f"{min(took):.1f}-{max(took):.1f} s in 3 tries",
                flush=True,
            )
        for run in range(1, args.repeats + 1):
            client, _ = client_for(endpoint.url, concurrency=CONCURRENCY)
            started = time.perf_counter()
            vectors = client.embed(texts)
            elapsed = time.perf_counter() - started
            assert len(vectors) == len(texts), (len(vectors), len(texts))
            lowest = min(cosine(v, e) for v, e in zip(vectors, expected, strict=True))
            print(
                f"run {run}/{args.repeats}: {len(texts)} texts, concurrency {CONCURRENCY}, "
                f"{elapsed:.1f} s ({len(texts) / elapsed:.1f} texts/s), {client.requests_sent} "
                f"requests sent, in flight at the end {client.in_flight.limit}, lowest cosine "
                f"{lowest:.8f}",
                flush=True,
            )
    timed_out = endpoint.output.count("timed out")
    print(f"the local endpoint's log: {timed_out} invocation timeout(s)")


if __name__ == "__main__":
    main()
