"""Text Embeddings Inference (TEI) 1.9.3 as the local endpoint's container (`serve --runtime tei`).

TEI's /embed (/invocations on SageMaker) with sentence-transformers' vectors: `[[f32...]...]`,
one per input, the model's modules without Normalize, cut to `dimensions`, normalised if asked.
Errors `{"error", "error_type"}` by 1.9.3's STATUS (router/src/http/server.rs; Validation was
413 up to 1.8), Overloaded past MAX_CONCURRENT_REQUESTS inputs, a batch's too. Batching as TEI's
queue: first in, first out, while longest x count fits MAX_BATCH_TOKENS.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from embeddings.server.contract import Answer, Contract
from embeddings.server.deployed import tei

if TYPE_CHECKING:
    import numpy as np

LOG = logging.getLogger("embeddings.server")

TEI_VERSION: Final = "1.9.3"
GATHER_SECONDS: Final = 0.002
PASS_OVERHEAD_TOKENS: Final = 64
"""A forward call's cost beyond its tokens, in tokens (~13 ms; a token ~0.16 ms on 2 cores)."""
STATUS: Final = {"Validation": 422, "Empty": 400, "Overloaded": 429, "Tokenizer": 422,
                 "Backend": 424}  # fmt: skip
TEXT: Final = "text/plain; charset=utf-8"


def tei_error(error_type: str, message: str, status: int | None = None) -> Answer:
    body = json.dumps({"error": message, "error_type": error_type}, ensure_ascii=False)
    return Answer(status or STATUS[error_type], body.encode())


def validation(message: str) -> Answer:
    return tei_error("Validation", message)


TEI_CONTRACT: Final = Contract(
    ping=Answer(200, b"", None),
    not_found=Answer(404, b"", None),
    method_not_allowed=Answer(405, b"", None),
    request_limit=tei.PAYLOAD_LIMIT,
    too_large=Answer(413, b"Failed to buffer the request body: length limit exceeded", TEXT),
    stopping=tei_error("Unhealthy", "the local endpoint is stopping", 503),
    ping_paths=("/ping", "/health"),
    ping_methods=("GET", "HEAD"),
    invocation_paths=("/invocations", "/embed"),
    invocation_methods=("POST",),
)


class EmbedRequest(BaseModel):
    """TEI's, unknown fields ignored as there; a description says what its field must be."""

    model_config = ConfigDict(strict=True)
    inputs: str | list[str] = Field(description="a text or a list of texts")
    truncate: bool | None = Field(None, description="true, false or null")
    truncation_direction: Literal["Left", "Right"] = Field("Right", description='"Left" or "Right"')
    prompt_name: None = Field(None, description="null (no prompts are served here)")
    normalize: bool = Field(True, description="true or false")
    dimensions: int | None = Field(None, description="a whole number, or null")


def refusal(error: ValidationError) -> Answer:
    """In plain text as axum's: 400 if the body is not JSON, else 422."""
    first = error.errors()[0]
    if first["type"] == "json_invalid":
        return Answer(400, f"not JSON: {first.get('ctx', {}).get('error')}".encode(), TEXT)
    name = str(first["loc"][0]) if first["loc"] else ""
    field = EmbedRequest.model_fields.get(name)
    text = f"`{name}` must be {field.description}" if field else 'send {"inputs": "a text"}'
    text = f"`{name}` is missing" if first["type"] == "missing" else text
    return Answer(422, text.encode(), TEXT)


@dataclass(eq=False)
class _Entry:
    """An input's tokens, waiting for its vector (the future cancelled: given up)."""

    ids: list[int]
    type_ids: list[int]
    future: asyncio.Future[Any]
    request: object


class TeiContainer:
    """The model behind TEI's /invocations, batched dynamically, on a thread of its own."""

    contract: Final = TEI_CONTRACT

    def __init__(
        self,
        model_dir: str,
        *,
        max_client_batch_size: int = tei.MAX_CLIENT_BATCH_SIZE,
        max_batch_tokens: int = tei.MAX_BATCH_TOKENS,
        max_concurrent_requests: int = tei.MAX_CONCURRENT_REQUESTS,
        auto_truncate: bool = True,
    ) -> None:
        import torch
        from sentence_transformers import SentenceTransformer
        from tokenizers import Tokenizer

        tokenizer_file = str(Path(model_dir) / "tokenizer.json")
        if not Path(tokenizer_file).is_file():  # TEI serves fast tokenizers only
            raise FileNotFoundError("no tokenizer.json: Text Embeddings Inference needs one")
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        model = SentenceTransformer(model_dir, device=self.device).eval()
        self._modules = [module for module in model if type(module).__name__ != "Normalize"]
        dimension = getattr(model, "get_embedding_dimension", None)  # sentence-transformers 6
        self.dimension = int((dimension or model.get_sentence_embedding_dimension)() or 0)
        self.max_input_length = model.max_seq_length or 512
        self._tokenizer = Tokenizer.from_file(tokenizer_file)
        self._tokenizer.no_padding()
        self._tokenizer.no_truncation()
        self._torch = torch
        self.max_client_batch_size, self.max_batch_tokens = max_client_batch_size, max_batch_tokens
        self.auto_truncate, self._free_permits = auto_truncate, max_concurrent_requests
        self._queue: deque[_Entry] = deque()
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="tei-model")
        self._batcher: asyncio.Task[None] | None = None
        self._arrived = asyncio.Event()
        self._stopping = self.busy = self._shared_last = False
        self.counts = [0, 0]
        """Model passes, and the texts in them."""

    @property
    def waiting(self) -> int:
        return len(self._queue)

    def stop(self) -> None:
        self._stopping = True
        for entry in self._queue:
            if not entry.future.done():
                entry.future.set_result(None)
        self._queue.clear()
        per_pass = self.counts[1] / max(self.counts[0], 1)
        LOG.info("TEI: %d model passes, %d texts, %.1f texts per pass", *self.counts, per_pass)

    async def invoke(self, body: bytes, content_type: str | None, accept: str | None) -> Answer:
        kind, _, subtype = (content_type or "").split(";")[0].strip().lower().partition("/")
        if kind != "application" or not (subtype == "json" or subtype.endswith("+json")):
            return Answer(415, b"send JSON, with Content-Type: application/json", TEXT)
        try:
            request = EmbedRequest.model_validate_json(body)
        except ValidationError as error:
            return refusal(error)
        items = [request.inputs] if isinstance(request.inputs, str) else request.inputs
        if len(items) > self.max_client_batch_size:
            limit = self.max_client_batch_size
            return validation(f"batch size {len(items)} > maximum allowed batch size {limit}")
        if request.dimensions is not None and not 0 < request.dimensions <= self.dimension:
            return validation(f"`dimensions` must be from 1 to {self.dimension}")
        if self._stopping:
            return self.contract.stopping
        if len(items) > self._free_permits:
            return tei_error("Overloaded", "Model is overloaded")
        self._free_permits -= len(items)
        try:
            loop = asyncio.get_running_loop()
            encoded = await loop.run_in_executor(None, self._encode, items, request)
            if isinstance(encoded, Answer) or self._stopping:
                return encoded if isinstance(encoded, Answer) else self.contract.stopping
            entries = [_Entry(*tokens, loop.create_future(), request) for tokens in encoded]
            self._queue.extend(entries)
            self._wake(loop)
            vectors = await asyncio.gather(*(entry.future for entry in entries))
        finally:
            self._free_permits += len(items)
        failure = next((vector for vector in vectors if isinstance(vector, str)), None)
        if any(vector is None for vector in vectors):
            return self.contract.stopping
        return tei_error("Backend", failure) if failure else self._answer(vectors, request)

    def _encode(self, texts: list[str], request: EmbedRequest) -> list[tuple[Any, Any]] | Answer:
        """Each text's token ids and type ids, or the refusal."""
        truncate = self.auto_truncate if request.truncate is None else request.truncate
        tokenizer, direction = self._tokenizer, request.truncation_direction.lower()
        room = self.max_input_length - tokenizer.num_special_tokens_to_add(False)
        encoded = []
        for index, text in enumerate(texts or [""]):
            if not text:  # `[]` too, as TEI reads it: one empty list of token ids
                return tei_error("Empty", f"input {index} is empty")
            try:  # truncated as the tokenizers library truncates, before its special tokens
                encoding = tokenizer.encode(text, add_special_tokens=False)
                if truncate:
                    encoding.truncate(room, direction=direction)
                encoding = tokenizer.post_process(encoding)
            except Exception as error:  # the tokenizers library's
                return tei_error("Tokenizer", f"input {index}: {error}")
            if len(encoding.ids) > self.max_input_length:
                return validation(
                    f"input {index} has {len(encoding.ids)} tokens, over the model's "
                    f'{self.max_input_length}: shorten it or send "truncate": true'
                )
            encoded.append((encoding.ids, encoding.type_ids))
        return encoded

    def _answer(self, vectors: list[Any], request: EmbedRequest) -> Answer:
        import numpy as np

        from embeddings.server.deployed import inference

        matrix = np.stack(vectors).astype(np.float32)[:, : request.dimensions]
        if request.normalize:  # as TEI: the scale in f64, applied in f32
            norms = np.sqrt(np.square(matrix.astype(np.float64)).sum(axis=1, keepdims=True))
            matrix = matrix * (1.0 / norms).astype(np.float32)
        return Answer(200, inference.float32_json(matrix).encode())

    def _wake(self, loop: asyncio.AbstractEventLoop) -> None:
        """Tell the batcher of new entries, starting one for this event loop if need be."""
        if self._batcher is None or self._batcher.get_loop() is not loop or self._batcher.done():
            self._arrived = asyncio.Event()
            self._batcher = loop.create_task(self._batch_forever())
        self._arrived.set()

    async def _batch_forever(self) -> None:
        """After a pass shared by several requests, wait GATHER_SECONDS for more: answered
        clients send their next text within that time."""
        loop = asyncio.get_running_loop()
        while not self._stopping:
            if not self._queue:
                self._arrived.clear()
                await self._arrived.wait()
                continue
            longest = max(len(entry.ids) for entry in self._queue)
            if self._shared_last and longest * len(self._queue) <= self.max_batch_tokens:
                await asyncio.sleep(GATHER_SECONDS)  # room for more in this pass
            batch: list[_Entry] = []
            longest = 0
            while self._queue:  # first in, first out, while longest x count fits the budget
                entry = self._queue[0]
                width = max(longest, len(entry.ids))
                if batch and width * (len(batch) + 1) > self.max_batch_tokens:
                    break  # the first goes even alone over it
                self._queue.popleft()
                if not entry.future.done():  # its caller gave up: dropped unrun
                    batch.append(entry)
                    longest = width
            if not batch:
                continue
            self.busy = True
            try:
                vectors = await loop.run_in_executor(self._thread, self._run, batch)
            finally:
                self.busy = False
            self._shared_last = len({id(entry.request) for entry in batch}) > 1
            self.counts = [self.counts[0] + 1, self.counts[1] + len(batch)]
            for entry, vector in zip(batch, vectors, strict=True):
                if not entry.future.done():
                    entry.future.set_result(vector)

    def _run(self, batch: list[_Entry]) -> list[Any]:
        """The batch's vectors in order, in groups of like length (on a CPU a long input makes
        each short one padded to it cost as much); a failure fails its own group only."""
        vectors: list[Any] = [None] * len(batch)
        for group in length_groups([len(entry.ids) for entry in batch]):
            try:
                rows: Any = self._forward([batch[index] for index in group])
            except Exception as failure:
                LOG.warning("model pass failed: %s: %s", type(failure).__name__, failure)
                rows = [f"{type(failure).__name__}: {failure}"] * len(group)
            for index, row in zip(group, rows, strict=True):
                vectors[index] = row
        return vectors

    def _forward(self, batch: list[_Entry]) -> np.ndarray:
        """One padded pass through the model's modules."""
        torch = self._torch

        def padded(rows: list[list[int]]) -> Any:
            tensors = [torch.tensor(row, dtype=torch.long) for row in rows]
            return torch.nn.utils.rnn.pad_sequence(tensors, batch_first=True).to(self.device)

        features = {
            "input_ids": padded([entry.ids for entry in batch]),
            "token_type_ids": padded([entry.type_ids for entry in batch]),
            "attention_mask": padded([[1] * len(entry.ids) for entry in batch]),
        }
        with torch.inference_mode():
            for module in self._modules:
                features = module(features)
        result: np.ndarray = features["sentence_embedding"].float().cpu().numpy()
        return result


def length_groups(lengths: list[int], overhead: int = PASS_OVERHEAD_TOKENS) -> list[list[int]]:
    """Input indices grouped shortest first: one joins the group before unless padding that
    group to it costs more than a forward call of its own."""
    groups: list[list[int]] = []
    longest = 0
    for index in sorted(range(len(lengths)), key=lengths.__getitem__):
        if groups and len(groups[-1]) * (lengths[index] - longest) <= overhead:
            groups[-1].append(index)
        else:
            groups.append([index])
        longest = lengths[index]
    return groups
