"""Turn whatever the endpoint returned into one sentence embedding per input text.

The stock HuggingFace container runs the `feature-extraction` pipeline, which returns one vector
per token: `[1][tokens][dim]` per input. The model's own sentence embedding is the mean over the
token axis, L2-normalised (keeping only the first token's vector, as the reference app did, gives
a vector with a cosine of about 0.5 to the real one). Endpoints with a pooling handler return
`[dim]` per input instead, possibly wrapped as `{"embeddings": ...}`. All of these are accepted;
anything else is an error that shows what came back.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any, Final, Literal

from embeddings.errors import UnexpectedResponseError

Vector = list[float]
Layout = Literal["tokens", "pooled"]

_PREVIEW_CHARS: Final = 160


_SHAPE_LEVELS: Final = 6
"""Levels of nesting a shape shows before it says how many more there are."""


def describe_shape(value: Any) -> str:
    """A compact shape such as `[2][1][7][384] of float`, following the first element."""
    dims = []
    while isinstance(value, list):
        dims.append(f"[{len(value)}]")
        if not value:
            break
        value = value[0]
    if len(dims) > _SHAPE_LEVELS:
        dims[_SHAPE_LEVELS:] = [f"...({len(dims) - _SHAPE_LEVELS} more levels)"]
    if isinstance(value, dict):
        leaf = "object with keys " + ", ".join(sorted(map(str, value)))[:80]
    else:
        leaf = type(value).__name__
    return "".join(dims) + f" of {leaf}" if dims else leaf


def _unexpected(body: Any, expected: str) -> UnexpectedResponseError:
    try:
        preview = json.dumps(body)[:_PREVIEW_CHARS]
    except (RecursionError, ValueError):
        preview = "(which cannot be shown: nested too deeply, or a number too long)"
    return UnexpectedResponseError(
        f"the endpoint returned {describe_shape(body)}, expected {expected}; "
        f"the response began: {preview}"
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_vector(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(_is_number(x) for x in value)


def _is_matrix(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(_is_vector(row) for row in value)


def l2_normalize(vector: Sequence[float]) -> Vector:
    if not all(math.isfinite(x) for x in vector):
        raise UnexpectedResponseError(
            "the endpoint returned a vector with values that are not finite"
        )
    norm = math.sqrt(math.fsum(x * x for x in vector))
    if norm == 0.0 or not math.isfinite(norm):
        raise UnexpectedResponseError(f"the endpoint returned a vector of norm {norm}")
    return [x / norm for x in vector]


def mean_pool(tokens: Sequence[Sequence[float]]) -> Vector:
    """The mean over the token axis; every token vector must have the same dimension."""
    try:
        columns = zip(*tokens, strict=True)
        return [math.fsum(column) / len(tokens) for column in columns]
    except ValueError:
        raise UnexpectedResponseError(
            "the endpoint returned token vectors of different dimensions: "
            f"{sorted({len(row) for row in tokens})}"
        ) from None


def sentence_embedding(item: Any) -> tuple[Vector, Layout]:
    """One input's output: token vectors `[1][T][D]` or `[T][D]`, or a pooled `[D]`."""
    if _is_vector(item):
        return l2_normalize(item), "pooled"
    if isinstance(item, list) and len(item) == 1 and _is_matrix(item[0]):
        item = item[0]
    if _is_matrix(item):
        return l2_normalize(mean_pool(item)), "tokens"
    raise _unexpected(item, "[1][tokens][dim] token vectors or a [dim] embedding per text")


def sentence_embeddings(body: Any, expected_count: int) -> tuple[list[Vector], Layout]:
    """One normalised embedding per text, in order, and whether the endpoint sent token vectors
    or pooled ones."""
    if isinstance(body, dict) and "embeddings" in body:
        body = body["embeddings"]
    # A lone text may come without the batch dimension: `[D]` pooled or `[T][D]` tokens. A
    # one-row matrix is a batch of one pooled vector: token output always has [CLS] and [SEP].
    if expected_count == 1 and (_is_vector(body) or (_is_matrix(body) and len(body) > 1)):
        try:
            vector, layout = sentence_embedding(body)
        except OverflowError:
            raise _unexpected(body, "numbers a float can hold") from None
        return [vector], layout
    if not isinstance(body, list) or len(body) != expected_count:
        raise _unexpected(body, f"one result for each of the {expected_count} texts sent")
    vectors: list[Vector] = []
    layouts: set[Layout] = set()
    for item in body:
        try:
            vector, layout = sentence_embedding(item)
        except OverflowError:  # an integer literal past any float
            raise _unexpected(item, "numbers a float can hold") from None
        vectors.append(vector)
        layouts.add(layout)
    dimensions = {len(vector) for vector in vectors}
    if len(dimensions) > 1:
        raise _unexpected(body, f"embeddings of one dimension, not {sorted(dimensions)}")
    return vectors, "tokens" if "tokens" in layouts else "pooled"
