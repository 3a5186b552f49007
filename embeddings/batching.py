"""Group texts into as few requests as fit SageMaker's payload limits: 4 MB per request and per
response on serverless (real-time allows more). The response binds: token-level JSON costs about
8 KB per token, pooled output one vector per text. Token counts are estimated from the characters,
erring high; when an estimate is still wrong the service refuses the batch and the client splits
it."""

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

    def response_bytes(self, text: str, max_length: int | None) -> int:
        tokens = 1 if self.layout == "pooled" else estimate_tokens(text, max_length)
        return tokens * self.dimension * BYTES_PER_FLOAT


def plan_batches(
    texts: Sequence[str],
    output: OutputModel,
    *,
    max_length: int | None,
    max_texts: int,
    limit_bytes: int = PAYLOAD_LIMIT_BYTES,
) -> list[range]:
    """Consecutive ranges covering every text once, in order; a text too large alone still gets
    a batch: the endpoint decides, and its refusal is reported clearly."""
    budget = limit_bytes * SAFETY_FACTOR
    batches: list[range] = []
    start = sent = received = 0
    for index, text in enumerate(texts):
        size, out = request_bytes(text), output.response_bytes(text, max_length)
        full = index - start >= max_texts or sent + size > budget or received + out > budget
        if index > start and full:
            batches.append(range(start, index))
            start, sent, received = index, 0, 0
        sent += size
        received += out
    if start < len(texts):
        batches.append(range(start, len(texts)))
    return batches
