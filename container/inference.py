"""Sentence embeddings from the SageMaker HuggingFace container, instead of token vectors.

The container imports this file as `code/inference.py` from the model archive, also when
HF_MODEL_ID is set (the Hub model is downloaded next to `code/`), and uses its four functions in
place of its pipeline. The local endpoint (`python -m embeddings serve --sentence-embeddings`)
runs this very file the same way.

Answers: one flat array of floats for `{"inputs": "text"}`, one array per text for
`{"inputs": ["a", "b"]}`. Each is the attention-masked mean of the token vectors, L2-normalised,
with texts truncated at the model's maximum sequence length: what sentence-transformers'
`encode(normalize_embeddings=True)` returns for all-MiniLM-L6-v2. A request's "parameters" are
accepted and ignored (truncation is always applied).

Where the time goes: the model, fed batches of about EMBEDDING_TOKENS_PER_BATCH padded tokens
of texts sorted by length (a long text is not padded with short ones); and the answer, written
as the shortest decimal that reads back as the same float32 (`0.0425913`, not
`0.042591314762830734`) with numpy array operations, since formatting 384 floats a text in
Python costs as much as a GPU spends running the model.

What one request may ask for (the container answers a refusal 400, before any model pass):
at most EMBEDDING_TEXTS_PER_REQUEST texts and EMBEDDING_TOKENS_PER_REQUEST tokens, counted after
truncation; see TEXTS_PER_REQUEST and TOKENS_PER_REQUEST for why these defaults. A prediction
still running DEADLINE_SECONDS after it started stops before its next batch: its caller has had
SageMaker's timeout, and the container's toolkit cannot cancel it otherwise.

It runs on the container's Python 3.9, torch 1.13 and transformers 4.26 and on current ones, so
it uses only APIs all of them have (`.from_pretrained`, the tokenizer's `truncation`,
`max_length` and `pad`, the model's first output, `torch.inference_mode`, long-standing numpy).
"""

from __future__ import annotations

import json
import os
import time
from typing import Any, Union

import numpy as np
import torch
from transformers import AutoModel, AutoTokenizer

TOKENS_PER_BATCH_VARIABLE = "EMBEDDING_TOKENS_PER_BATCH"
CPU_TOKENS_PER_BATCH = 4096
"""On a CPU bigger batches gain little and cost memory: about 32 texts of 128 tokens."""
GPU_TOKENS_PER_BATCH = 65536
"""A GPU keeps gaining up to hundreds of texts a batch; MiniLM's activations for 64k tokens take
about 1 GB."""
MAX_SETTING = 1048576
"""The most any setting here allows: past it one batch's activations outgrow most GPUs' memory,
and one request's answer any payload limit."""
TEXTS_PER_REQUEST_VARIABLE = "EMBEDDING_TEXTS_PER_REQUEST"
TEXTS_PER_REQUEST = 512
"""The answer must fit SageMaker's payload limit, 4 MB on serverless: all-MiniLM-L6-v2's is
about 4.7 KB a text, so 2.4 MB for 512 texts (set 256 for a model of 768 floats a text).
Texts are cheap otherwise: 1,024 short ones took 2.1 s and 200 MB on 2 cores."""
TOKENS_PER_REQUEST_VARIABLE = "EMBEDDING_TOKENS_PER_REQUEST"
TOKENS_PER_REQUEST = 65536
"""256 texts at all-MiniLM-L6-v2's 256-token limit, or 512 of 128: 12 to 15 s and 210-250 MB
over the loaded model on 2 shared CPU cores (about 5,000 tokens a second, texts sorted by
length; 262,144 tokens took 46 s and 540 MB). SageMaker does not say how many cores a serverless
endpoint gets: at half that speed this still answers in half the 60 s, and 250 MB is a quarter
of its smallest memory, 1 GB. A model several times larger needs a limit several times smaller."""
DEADLINE_SECONDS = 60.0
"""SageMaker's limit for an invocation, realtime or serverless: past it nobody reads the answer."""
CHARACTERS_PER_TOKEN = 64
"""A text is cut at 64 characters a token of the model's limit (16,384 for 256) before it is
tokenized: the tokenizer holds every token of a text at once, 837 MB and 5.8 s for one text of
6 MB, while English needs about 5 characters a token. Only a text whose first 256 tokens span
more (runs of whitespace, words of over 100 letters, each one token) reads differently."""
TEXTS_PER_TOKENIZER_CALL = 32
"""512 texts of 12 KB tokenized at once took 203 MB, 32 at a time 21 MB, in the same 1.3 s."""
FALLBACK_MAX_LENGTH = 512
JSON_CONTENT_TYPE = "application/json"

Texts = Union[str, list[str]]
Loaded = dict[str, Any]


def _max_seq_length(model_dir: str, tokenizer: Any) -> int:
    """sentence-transformers' own limit when the model ships one (256 for all-MiniLM-L6-v2),
    else the tokenizer's, capped at 512 (BERT's position embeddings)."""
    config_path = os.path.join(model_dir, "sentence_bert_config.json")
    if os.path.isfile(config_path):
        with open(config_path, encoding="utf-8") as config_file:
            configured = json.load(config_file).get("max_seq_length")
        if isinstance(configured, int) and configured > 0:
            return configured
    model_max = getattr(tokenizer, "model_max_length", FALLBACK_MAX_LENGTH)
    return min(int(model_max), FALLBACK_MAX_LENGTH)


def _setting(variable: str, default: int, unit: str, defaults: str, environment: Any) -> int:
    """The variable's whole number (1 to MAX_SETTING) when set, else `default`."""
    raw = (os.environ if environment is None else environment).get(variable)
    if raw is None or not raw.strip():
        return default
    digits = raw.strip()
    value = int(digits) if digits.isascii() and digits.isdigit() else 0
    if not 1 <= value <= MAX_SETTING:
        raise ValueError(
            f"{variable}={raw!r} is not allowed: give a whole number of {unit} from 1 to "
            f"{MAX_SETTING} ({defaults})"
        )
    return value


def tokens_per_batch(on_gpu: bool, environment: Any = None) -> int:
    """The padded-token budget of one forward pass: EMBEDDING_TOKENS_PER_BATCH when set, else
    the device's default."""
    defaults = f"defaults: {CPU_TOKENS_PER_BATCH} on CPU, {GPU_TOKENS_PER_BATCH} on GPU"
    default = GPU_TOKENS_PER_BATCH if on_gpu else CPU_TOKENS_PER_BATCH
    return _setting(TOKENS_PER_BATCH_VARIABLE, default, "tokens", defaults, environment)


def request_limits(environment: Any = None) -> tuple[int, int]:
    """The texts and tokens one request may hold: EMBEDDING_TEXTS_PER_REQUEST and
    EMBEDDING_TOKENS_PER_REQUEST when set, else the defaults. The local endpoint applies them
    to the stock container's pipeline too."""
    texts, tokens = TEXTS_PER_REQUEST, TOKENS_PER_REQUEST
    return (
        _setting(TEXTS_PER_REQUEST_VARIABLE, texts, "texts", f"default: {texts}", environment),
        _setting(TOKENS_PER_REQUEST_VARIABLE, tokens, "tokens", f"default: {tokens}", environment),
    )


def check_texts(count: int, limit: int) -> None:
    """Refuses a request of more texts than `limit`, before anything is tokenized."""
    if count > limit:
        raise ValueError(
            f"{count} texts in one request, over the endpoint's limit of {limit} "
            f"({TEXTS_PER_REQUEST_VARIABLE}): send at most {limit} texts a request"
        )


def tokenize(tokenizer: Any, texts: list[str], max_length: int) -> dict[str, list[Any]]:
    """The texts' features, each cut at `max_length` tokens, in bounded memory (see
    CHARACTERS_PER_TOKEN and TEXTS_PER_TOKENIZER_CALL)."""
    cut = max_length * CHARACTERS_PER_TOKEN
    encoded: dict[str, list[Any]] = {}
    for start in range(0, len(texts), TEXTS_PER_TOKENIZER_CALL):
        part = [text[:cut] for text in texts[start : start + TEXTS_PER_TOKENIZER_CALL]]
        for name, rows in tokenizer(part, truncation=True, max_length=max_length).items():
            encoded.setdefault(name, []).extend(rows)
    return encoded


def check_tokens(count: int, limit: int, max_length: int) -> None:
    """Refuses a request of more tokens than `limit`, before any model pass."""
    if count > limit:
        raise ValueError(
            f"{count} tokens in one request (each text cut at {max_length}), over the "
            f"endpoint's limit of {limit} ({TOKENS_PER_REQUEST_VARIABLE}): send fewer or "
            "shorter texts a request"
        )


def model_fn(model_dir: str) -> Loaded:
    """Tokenizer and model, on the GPU when the instance has one (realtime GPU endpoints)."""
    on_gpu = torch.cuda.is_available()
    budget = tokens_per_batch(on_gpu)  # a bad setting fails here, at start, not per request
    texts_per_request, tokens_per_request = request_limits()
    device = torch.device("cuda" if on_gpu else "cpu")
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    # Texts are tokenized once, for all of a request, to sort them by token count; the batches
    # are then padded. transformers 4.x advises against padding after tokenizing with a fast
    # tokenizer, which would mean tokenizing twice here: say the advice was given.
    getattr(tokenizer, "deprecation_warnings", {})["Asking-to-pad-a-fast-tokenizer"] = True
    model = AutoModel.from_pretrained(model_dir).to(device)
    model.eval()
    return {
        "tokenizer": tokenizer,
        "model": model,
        "device": device,
        "max_length": _max_seq_length(model_dir, tokenizer),
        "tokens_per_batch": budget,
        "texts_per_request": texts_per_request,
        "tokens_per_request": tokens_per_request,
        "seconds_per_request": DEADLINE_SECONDS,
    }


def input_fn(request_body: str | bytes, content_type: str) -> Any:
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type != JSON_CONTENT_TYPE:
        raise ValueError(f"content type {content_type!r} is not supported; use application/json")
    if isinstance(request_body, bytes):
        request_body = request_body.decode("utf-8")
    return json.loads(request_body)


def _texts(data: Any, limit: int) -> Texts:
    if not isinstance(data, dict) or "inputs" not in data:
        raise ValueError('the body must be a JSON object with "inputs"')
    inputs = data["inputs"]
    if isinstance(inputs, str):
        if not inputs.strip():
            raise ValueError('"inputs" is empty')
        return inputs
    if not isinstance(inputs, list) or not inputs:
        raise ValueError('"inputs" must be a string or a non-empty list of strings')
    check_texts(len(inputs), limit)
    for index, text in enumerate(inputs):
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"inputs[{index}] is not a non-empty string")
    return inputs


def plan_batches(token_counts: list[int], budget: int) -> list[list[int]]:
    """Text indices in batches, longest first, each at most `budget` padded tokens (its count
    times its longest text's tokens); a text longer than the budget goes alone.

    Longest first, as sentence-transformers does: a batch is padded to its longest text, so
    texts of like length go together and the first batch shows the peak memory at once."""
    order = sorted(range(len(token_counts)), key=lambda index: -token_counts[index])
    batches: list[list[int]] = []
    for index in order:
        if batches and (len(batches[-1]) + 1) * token_counts[batches[-1][0]] <= budget:
            batches[-1].append(index)
        else:
            batches.append([index])
    return batches


def embed(texts: list[str], loaded: Loaded) -> np.ndarray:
    """Mean-pooled, L2-normalised float32 embeddings, one row per text in input order."""
    deadline = time.monotonic() + loaded["seconds_per_request"]
    tokenizer, model, device = loaded["tokenizer"], loaded["model"], loaded["device"]
    encoded = tokenize(tokenizer, texts, loaded["max_length"])
    names = list(encoded.keys())
    order: list[int] = []
    parts: list[np.ndarray] = []
    token_counts = [len(ids) for ids in encoded["input_ids"]]
    check_tokens(sum(token_counts), loaded["tokens_per_request"], loaded["max_length"])
    batches = plan_batches(token_counts, loaded["tokens_per_batch"])
    for done, batch in enumerate(batches):
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"stopped after {loaded['seconds_per_request']:g} s, SageMaker's limit for an "
                f"invocation, with {done} of {len(batches)} batches done: send fewer texts a "
                "request"
            )
        features = tokenizer.pad(
            {name: [encoded[name][index] for index in batch] for name in names},
            return_tensors="pt",
        ).to(device)
        with torch.inference_mode():
            token_vectors = model(**features)[0]
            mask = features["attention_mask"].unsqueeze(-1).to(token_vectors.dtype)
            summed = (token_vectors * mask).sum(dim=1)
            counts = mask.sum(dim=1).clamp(min=1e-9)
            pooled = torch.nn.functional.normalize(summed / counts, p=2, dim=1)
        order.extend(batch)
        parts.append(pooled.float().cpu().numpy())
    by_batch = np.concatenate(parts)
    embeddings = np.empty_like(by_batch)
    embeddings[order] = by_batch
    return embeddings


def predict_fn(data: Any, loaded: Loaded) -> np.ndarray:
    texts = _texts(data, loaded["texts_per_request"])
    if isinstance(texts, str):
        return embed([texts], loaded).reshape(-1)
    return embed(texts, loaded)


def output_fn(prediction: Any, accept: str) -> str:
    """JSON only: the container labels the answer with `accept`, so another type is refused
    rather than mislabelled."""
    media_type = (accept or JSON_CONTENT_TYPE).split(";")[0].strip().lower()
    if media_type not in (JSON_CONTENT_TYPE, "*/*"):
        raise ValueError(f"accept type {accept!r} is not supported; use application/json")
    return float32_json(prediction)


# float32 JSON. A float32 needs at most 9 significant digits to read back exactly, often 7 or
# 8; json.dumps writes the 17 of the double it was widened to. Embedding values (an L2-normalised
# vector's, so below 1) are written here as "0." and their digits, found with array operations;
# anything else (0, 1 and beyond, below 1e-7) with numpy's own shortest formatting, one by one.

_FLOAT32_DIGITS = 9
_FRACTION_COLUMNS = 15
"""Fraction digits written positionally: values down to 1e-7 with their 9 significant digits."""
_SMALLEST_POSITIONAL = 1e-7
_POWERS_OF_TEN = np.array([10.0**power for power in range(_FRACTION_COLUMNS + 1)])
"""Exact doubles up to 1e15, so `m / 10**k` is the double nearest the decimal, as a reader
parses it."""
_NUMBER_COLUMNS = 19
"""The widest number: "-0." and 15 fraction digits, or numpy's "-1234567800000000.0"."""


def float32_json(prediction: Any) -> str:
    """A vector, or a list of vectors, as JSON with each float32 at its shortest exact form."""
    values = np.ascontiguousarray(prediction, dtype=np.float32)
    if not np.isfinite(values).all():
        raise ValueError("the model produced values that are not finite numbers (NaN or inf)")
    if values.ndim not in (1, 2) or values.size == 0:
        return json.dumps(values.tolist())
    flat = values.reshape(-1)
    mantissas, fraction_digits, positional = _shortest_fractions(flat)

    # The characters are laid out one column per character position and one entry per number,
    # NUL where a number has no such character: ",[" before a vector's first number, the number,
    # "," or "]" after it. Read number by number with the NULs dropped, that is the JSON.
    count = flat.size
    first_in_row = np.arange(count) % values.shape[-1] == 0
    columns = np.zeros((2 + _NUMBER_COLUMNS + 1, count), dtype=np.uint8)
    columns[0, first_in_row] = ord(",")
    columns[0, 0] = 0
    columns[1, first_in_row] = ord("[")
    columns[2, flat < 0] = ord("-")
    columns[3] = ord("0")
    columns[4] = ord(".")
    columns[5 : 5 + _FRACTION_COLUMNS] = _fraction_digits(mantissas, fraction_digits)
    columns[-1] = np.where(np.roll(first_in_row, -1), ord("]"), ord(","))
    chars = np.ascontiguousarray(columns.T)
    number = chars[:, 2 : 2 + _NUMBER_COLUMNS]
    for index in np.flatnonzero(~positional):
        text = _general_number(flat[index]).encode("ascii")
        number[index] = 0
        number[index, : len(text)] = np.frombuffer(text, dtype=np.uint8)

    body: str = chars[chars != 0].tobytes().decode("ascii")
    return body if values.ndim == 1 else "[" + body + "]"


def _shortest_fractions(values: np.ndarray) -> Any:
    """For each float32 value in (-1, 1) and at least 1e-7 in size: the fewest significant
    digits whose decimal, read as a double and narrowed to float32 (what a JSON reader and numpy
    do), is the same value. Returns the decimals as |m| / 10**k, and which values have one.

    7 digits are tried first, on every value at once; then fewer on those that passed (a
    decimal that reads back keeps doing so with more digits) and 8, then 9, on those that did
    not. About 2 passes over the data in all for an embedding."""
    target = np.abs(values)
    size = target.astype(np.float64)
    positional = (size >= _SMALLEST_POSITIONAL) & (size < 1)
    exponents = np.floor(np.log10(np.where(positional, size, 0.5))).astype(np.int64)

    def rounded(where: Any, digits: int) -> Any:
        power = digits - 1 - exponents[where]
        scale = _POWERS_OF_TEN[power]
        mantissa = np.rint(size[where] * scale)
        exact = (mantissa / scale).astype(np.float32) == target[where]
        return mantissa, power, exact & (mantissa < scale)  # and still below 1

    everything = slice(None)
    mantissas, powers, exact = rounded(everything, 7)
    exact &= positional
    shorter = np.flatnonzero(exact)
    for digits in range(6, 0, -1):  # fewer, on those that passed
        if shorter.size == 0:
            break
        mantissa, power, passed = rounded(shorter, digits)
        shorter = shorter[passed]
        mantissas[shorter] = mantissa[passed]
        powers[shorter] = power[passed]
    for digits in (8, _FLOAT32_DIGITS):  # more, on those that did not
        longer = np.flatnonzero(positional & ~exact)
        mantissa, power, passed = rounded(longer, digits)
        mantissas[longer[passed]] = mantissa[passed]
        powers[longer[passed]] = power[passed]
        exact[longer[passed]] = True

    # Below 10**9 where exact; unsigned division by 10 is fast.
    whole = np.where(exact, mantissas, 0).astype(np.uint32)
    # A decimal that rounded up to the next power of ten (9.9999997e-5 to 1 digit: 10e-5) has
    # trailing zeros; drop them (0.0001, not 0.00010).
    ten = np.uint32(10)
    carried = np.flatnonzero(exact & (whole % ten == 0))
    while carried.size:
        whole[carried] //= ten
        powers[carried] -= 1
        carried = carried[whole[carried] % ten == 0]
    return whole, powers, exact


def _fraction_digits(mantissas: np.ndarray, fraction_digits: np.ndarray) -> np.ndarray:
    """The fraction of m / 10**k as 15 character rows: m written with k digits, zero-padded
    on the left, starting after 15 - k NULs."""
    rows = np.full((_FRACTION_COLUMNS, mantissas.size), ord("0"), dtype=np.uint8)
    remaining = mantissas.copy()
    ten = np.uint32(10)
    for row in range(_FRACTION_COLUMNS - 1, _FRACTION_COLUMNS - 1 - _FLOAT32_DIGITS, -1):
        quotient = remaining // ten
        rows[row] += (remaining - quotient * ten).astype(np.uint8)
        remaining = quotient
    start = _FRACTION_COLUMNS - fraction_digits
    rows[np.arange(_FRACTION_COLUMNS)[:, None] < start] = 0
    return rows


def _general_number(value: np.float32) -> str:
    """The shortest exact form, by numpy, of a value the fast path does not write."""
    if value == 0:
        return "-0.0" if np.signbit(value) else "0.0"
    if 1e-4 <= abs(value) < 1e16:
        return np.format_float_positional(value, unique=True, trim="0")
    return np.format_float_scientific(value, unique=True, trim="-")
