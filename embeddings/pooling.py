"""One sentence embedding per text from whatever the endpoint returned. The stock container's
`feature-extraction` pipeline gives `[1][tokens][dim]` per input, whose mean over the tokens,
L2-normalised, is the model's own embedding (the reference app's first-token vector has a cosine
of about 0.5 to it); endpoints that pool give `[dim]`, possibly as `{"embeddings": ...}`.
Anything else is an error that shows what came back."""

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
    return f"{shape} of {type(value).__name__}" if dims else type(value).__name__


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
    if isinstance(item, list) and len(item) == 1 and _is_matrix(item[0]):
        item = item[0]
    pooled = _is_vector(item)
    if not (pooled or _is_matrix(item)):
        raise _unexpected(item, "[1][tokens][dim] token vectors or a [dim] embedding per text")
    try:  # a ragged matrix does not zip, an integer past any float overflows, inf - inf fails
        if pooled:
            return _unit([float(x) for x in item]), "pooled"
        mean = [math.fsum(map(float, column)) / len(item) for column in zip(*item, strict=True)]
        return _unit(mean), "tokens"
    except (OverflowError, ValueError):
        raise _unexpected(item, "vectors of one dimension and numbers a float holds") from None


def sentence_embeddings(body: Any, count: int) -> tuple[list[Vector], Layout]:
    """One unit vector per text, in order, and whether the endpoint sent tokens or pooled."""
    if isinstance(body, dict) and "embeddings" in body:
        body = body["embeddings"]
    # A lone text may come as one `[D]` vector without the batch dimension. Nothing else is
    # unwrapped: `[2][D]` for one text is two embeddings, not token vectors to average.
    if count == 1 and _is_vector(body):
        body = [body]
    if not isinstance(body, list) or len(body) != count:
        raise _unexpected(body, f"one result for each of the {count} texts sent")
    vectors, layouts = zip(*map(_embedding, body), strict=True)
    if len({len(vector) for vector in vectors}) > 1:
        dimensions = sorted({len(vector) for vector in vectors})
        raise _unexpected(body, f"embeddings of one dimension, not {dimensions}")
    if len(set(layouts)) > 1:
        raise _unexpected(body, "one kind of result for every text, token vectors or embeddings")
    return list(vectors), layouts[0]
