"""Group texts into as few requests as fit SageMaker's limits: 4 MB per request and per response
on serverless (real-time allows more), and 60 s for the container to answer. For the stock
container's token-level JSON (about 8 KB per token) the response binds; for pooled output (one
vector per text) the time does, which grows with the tokens. Token counts are estimated from the
characters, erring high; when an estimate is still wrong the service refuses the batch, or it
times out, and the client splits it."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

Layout = Literal["tokens", "pooled"]

PAYLOAD_LIMIT_BYTES: Final = 4 * 1024 * 1024
SAFETY_FACTOR: Final = 0.8
"""Fill requests and responses to 80% of the limit: estimates are estimates."""
BYTES_PER_FLOAT: Final = 22
"""A float as the container's JSON writes it, with its separator: `-0.05871383845806122, `."""
ASCII_CHARS_PER_TOKEN: Final = 3.0
"""English WordPiece averages about 4 characters a token; 3 keeps the estimate on the high side."""
TOKENS_PER_REQUEST: Final = 16384
"""Estimated tokens a request carries at most, so that it is answered well inside the 60 s
invocation limit on the smallest serverless memory size (1 GB, the least CPU). On 2 cores
shared with other work the local endpoint's handler took 3-8 s for 64 texts of 256 tokens, the
slowest request this allows, and about 2 s for 256 short texts (benchmarks/slow_batches.py
prints both); at a third of that speed a request still answers in under half the limit. The
handler's own limit (container/inference.py, EMBEDDING_TOKENS_PER_REQUEST) is 4 times this."""
TEXTS_PER_REQUEST: Final = 256
"""Texts a request carries at most (`max_texts_per_request`) however short: their answer stays
far inside the payload limit, and the handler takes twice as many (EMBEDDING_TEXTS_PER_REQUEST)."""


def estimate_tokens(text: str, max_length: int | None) -> int:
    """ASCII at 3 characters a token, others (CJK, emoji) one each, [CLS], [SEP]; capped."""
    ascii_chars = sum(char.isascii() for char in text)
    tokens = math.ceil(ascii_chars / ASCII_CHARS_PER_TOKEN) + len(text) - ascii_chars + 2
    return tokens if max_length is None else min(tokens, max_length)


def request_bytes(text: str) -> int:
    return len(json.dumps(text)) + 2


@dataclass(frozen=True)
class OutputModel:
    """The endpoint's answers as the client knows them: token-level (the larger) until seen."""

    layout: Layout = "tokens"
    dimension: int = 384

    def response_bytes(self, tokens: int) -> int:
        """The answer's size for a text of `tokens`: one vector, or one per token."""
        return (1 if self.layout == "pooled" else tokens) * self.dimension * BYTES_PER_FLOAT


def plan_batches(
    texts: Sequence[str],
    output: OutputModel,
    *,
    max_length: int | None,
    max_texts: int,
    max_tokens: int = TOKENS_PER_REQUEST,
    limit_bytes: int = PAYLOAD_LIMIT_BYTES,
) -> list[range]:
    """Consecutive ranges covering every text once, in order; a text too large alone still gets
    a batch: the endpoint decides, and its refusal is reported clearly."""
    budget = limit_bytes * SAFETY_FACTOR
    batches: list[range] = []
    start = sent = received = tokens = 0
    for index, text in enumerate(texts):
        cost = estimate_tokens(text, max_length)
        size, out = request_bytes(text), output.response_bytes(cost)
        full = index - start >= max_texts or tokens + cost > max_tokens
        if index > start and (full or sent + size > budget or received + out > budget):
            batches.append(range(start, index))
            start, sent, received, tokens = index, 0, 0, 0
        sent += size
        received += out
        tokens += cost
    if start < len(texts):
        batches.append(range(start, len(texts)))
    return batches
