"""Turn whatever the endpoint returned into one sentence embedding per input text.

The stock HuggingFace container runs the `feature-extraction` pipeline, which returns one vector
per token: `[1][tokens][dim]` per input. The model's own sentence embedding is the mean over the
token axis, L2-normalised (the reference app's first-token vector has a cosine of about 0.5 to
it). Endpoints that pool (our handler, TEI) return `[dim]` per input, possibly wrapped as
`{"embeddings": ...}`. Anything else is an error that shows what came back.
"""

from __future__ import annotations

import json
import math
from typing import Any

from embeddings.batching import Layout
from embeddings.errors import UnexpectedResponseError

Vector = list[float]


def describe_shape(value: Any) -> str:
    """A compact shape such as `[2][1][7][384] of float`, following the first element (at most
    six levels shown: an answer may nest far deeper)."""
    dims = []
    while isinstance(value, list):
        dims.append(f"[{len(value)}]")
        if not value:
            break
        value = value[0]
    shape = "".join(dims[:6]) + (f"...({len(dims) - 6} more levels)" if len(dims) > 6 else "")
    if isinstance(value, dict):
        leaf = "object with keys " + ", ".join(sorted(map(str, value)))[:80]
    else:
        leaf = type(value).__name__
    return f"{shape} of {leaf}" if dims else leaf


def _unexpected(body: Any, expected: str) -> UnexpectedResponseError:
    try:
        preview = json.dumps(body)[:160]
    except (RecursionError, ValueError):
        preview = "(too deeply nested, or a number too long, to show)"
    return UnexpectedResponseError(
        f"the endpoint returned {describe_shape(body)}, expected {expected}; "
        f"the response began: {preview}"
    )


def _is_vector(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(type(x) in (int, float) for x in value)


def _is_matrix(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(map(_is_vector, value))


def _unit(vector: Vector) -> Vector:
    norm = math.sqrt(math.fsum(x * x for x in vector))
    if not (math.isfinite(norm) and norm > 0):
        raise UnexpectedResponseError(
            f"the endpoint returned a vector of norm {norm} (values not finite, or all zero)"
        )
    return [x / norm for x in vector]


def _embedding(item: Any) -> tuple[Vector, Layout]:
    """One input's output: token vectors `[1][T][D]` or `[T][D]`, or a pooled `[D]`."""
    pooled = _is_vector(item)
    if not pooled and isinstance(item, list) and len(item) == 1 and _is_matrix(item[0]):
        item = item[0]
    elif not pooled and not _is_matrix(item):
        raise _unexpected(item, "[1][tokens][dim] token vectors or a [dim] embedding per text")
    if not pooled and len({len(row) for row in item}) > 1:
        raise UnexpectedResponseError(
            "the endpoint returned token vectors of different dimensions: "
            f"{sorted({len(row) for row in item})}"
        )
    try:  # an integer literal past any float overflows; inf and -inf do not add up
        if pooled:
            return _unit([float(x) for x in item]), "pooled"
        mean = [math.fsum(map(float, column)) / len(item) for column in zip(*item, strict=True)]
        return _unit(mean), "tokens"
    except (OverflowError, ValueError):
        raise _unexpected(item, "finite numbers a float can hold") from None


def sentence_embeddings(body: Any, count: int) -> tuple[list[Vector], Layout]:
    """One unit-length embedding per text, in order, and whether the endpoint sent token vectors
    or pooled ones."""
    if isinstance(body, dict) and "embeddings" in body:
        body = body["embeddings"]
    # A lone text may come without the batch dimension: `[D]` pooled or `[T][D]` tokens. A
    # one-row matrix is a batch of one pooled vector: token output always has [CLS] and [SEP].
    if count == 1 and (_is_vector(body) or (_is_matrix(body) and len(body) > 1)):
        body = [body]
    if not isinstance(body, list) or len(body) != count:
        raise _unexpected(body, f"one result for each of the {count} texts sent")
    vectors, layouts = zip(*map(_embedding, body), strict=True)
    if len({len(vector) for vector in vectors}) > 1:
        dimensions = sorted({len(vector) for vector in vectors})
        raise _unexpected(body, f"embeddings of one dimension, not {dimensions}")
    return list(vectors), "tokens" if "tokens" in layouts else "pooled"
