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

Runs on the container's libraries (Python 3.9, torch 1.13, transformers 4.26 in the default
image) and on current ones, so it uses only APIs both have: `AutoTokenizer` / `AutoModel`
`.from_pretrained`, calling the tokenizer with `padding`, `truncation`, `max_length` and
`return_tensors="pt"`, `BatchEncoding.to(device)`, the model's first output
(`last_hidden_state`), `torch.no_grad`, `torch.cuda.is_available` and
`torch.nn.functional.normalize`. No syntax newer than Python 3.9.
"""

from __future__ import annotations

import json
import os
from typing import Any

import torch
from transformers import AutoModel, AutoTokenizer

BATCH_SIZE = int(os.environ.get("EMBEDDING_BATCH_SIZE", "32"))
FALLBACK_MAX_LENGTH = 512
JSON_CONTENT_TYPE = "application/json"

Embedding = list[float]


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


def model_fn(model_dir: str) -> dict[str, Any]:
    """Tokenizer and model, on the GPU when the instance has one (realtime GPU endpoints)."""
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModel.from_pretrained(model_dir).to(device)
    model.eval()
    return {
        "tokenizer": tokenizer,
        "model": model,
        "device": device,
        "max_length": _max_seq_length(model_dir, tokenizer),
    }


def input_fn(request_body: str | bytes, content_type: str) -> Any:
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type != JSON_CONTENT_TYPE:
        raise ValueError(f"content type {content_type!r} is not supported; use application/json")
    if isinstance(request_body, bytes):
        request_body = request_body.decode("utf-8")
    return json.loads(request_body)


def _texts(data: Any) -> str | list[str]:
    if not isinstance(data, dict) or "inputs" not in data:
        raise ValueError('the body must be a JSON object with "inputs"')
    inputs = data["inputs"]
    if isinstance(inputs, str):
        if not inputs.strip():
            raise ValueError('"inputs" is empty')
        return inputs
    if not isinstance(inputs, list) or not inputs:
        raise ValueError('"inputs" must be a string or a non-empty list of strings')
    for index, text in enumerate(inputs):
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"inputs[{index}] is not a non-empty string")
    return inputs


def embed(texts: list[str], loaded: dict[str, Any]) -> list[Embedding]:
    """Mean-pooled, L2-normalised embeddings, in input order.

    Texts go through the model BATCH_SIZE at a time, longest first, as sentence-transformers
    does: a batch is padded to its longest text, so mixing one long text into short ones
    would multiply the work of the whole batch.
    """
    tokenizer, model = loaded["tokenizer"], loaded["model"]
    order = sorted(range(len(texts)), key=lambda index: -len(texts[index]))
    embeddings: list[Embedding] = [[] for _ in texts]
    for start in range(0, len(order), BATCH_SIZE):
        batch = order[start : start + BATCH_SIZE]
        encoded = tokenizer(
            [texts[index] for index in batch],
            padding=True,
            truncation=True,
            max_length=loaded["max_length"],
            return_tensors="pt",
        ).to(loaded["device"])
        with torch.no_grad():
            token_vectors = model(**encoded)[0]
        mask = encoded["attention_mask"].unsqueeze(-1).to(token_vectors.dtype)
        summed = (token_vectors * mask).sum(dim=1)
        counts = mask.sum(dim=1).clamp(min=1e-9)
        pooled = torch.nn.functional.normalize(summed / counts, p=2, dim=1).cpu()
        for index, vector in zip(batch, pooled.tolist()):
            embeddings[index] = vector
    return embeddings


def predict_fn(data: Any, loaded: dict[str, Any]) -> Embedding | list[Embedding]:
    texts = _texts(data)
    if isinstance(texts, str):
        return embed([texts], loaded)[0]
    return embed(texts, loaded)


def output_fn(prediction: Any, accept: str) -> str:
    """JSON only: the container labels the answer with `accept`, so another type is refused
    rather than mislabelled."""
    media_type = (accept or JSON_CONTENT_TYPE).split(";")[0].strip().lower()
    if media_type not in (JSON_CONTENT_TYPE, "*/*"):
        raise ValueError(f"accept type {accept!r} is not supported; use application/json")
    return json.dumps(prediction)
