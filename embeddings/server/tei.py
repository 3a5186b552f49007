"""Text Embeddings Inference (TEI) 1.8.2 as the local endpoint's container.

`serve --runtime tei` answers what the TEI image answers on SageMaker, taken from TEI's source at
tag v1.8.2 (router/src/http/server.rs and types.rs, router/src/lib.rs, core/src/tokenization.rs,
infer.rs and queue.rs), with the vectors computed by sentence-transformers:

- Routes: POST /invocations (= /embed, the model being an embedding model), GET /ping (=
  /health): 200 with an empty body. Other paths: axum's empty 404; other methods: its 405.
- The body: `Content-Type: application/json` (or `application/*+json`, parameters allowed), else
  415; at most PAYLOAD_LIMIT bytes, else 413; then read as `tei_json` reads it (400 and 422
  from axum, in plain text).
- The answer: `[[f32, ...], ...]`, one vector per input, also for a single string; f32 written
  at its shortest (float32_json; serde_json writes tiny values in exponent form where
  float32_json writes them out, the same numbers either way).
- Errors: `{"error", "error_type"}` with 1.8.2's statuses: Validation 413, Empty 400 (the
  empty batch, which serde never produces: `[]` is one empty input), Overloaded 429, Tokenizer
  422, Backend 424, Unhealthy 503; the texts are TEI's, in the order server.rs checks them.
- Limits: at most `max_client_batch_size` inputs per request; each input holds one of
  `max_concurrent_requests` permits until it has run: a single input that finds none gets 429,
  a batch's inputs wait for theirs (1.8.2; 1.9 refuses them too).
- Inputs: the model's max input length is sentence_bert_config.json's max_seq_length, else
  config.json's max_position_embeddings (less the position offset of RoBERTa-like models), as
  TEI reads them; longer inputs are cut (LongestFirst, Right or Left, by the tokenizers crate
  itself) when `truncate` (default: `auto_truncate`) is on, refused when it is off. Token ids
  are decoded and re-encoded without special tokens, as TEI does. `prompt_name` prepends the
  model's sentence-transformers prompt.
- Vectors: the model's own sentence-transformers modules (its Pooling) except Normalize; TEI
  L2-normalises only when the request asks (`normalize`, default true), after cutting to
  `dimensions`.
- Batching: as TEI's queue, one model thread takes queued inputs first in, first out, while the
  padded token count, longest x inputs, stays within `max_batch_tokens`; each input of a
  request is an entry of its own; an entry whose caller gave up is dropped unrun. TEI takes only
  what is queued when the model is free (and prefetches one batch while the model runs); here,
  after a pass shared by several requests, the thread waits up to `gather_seconds` (2 ms) for
  more, as answered clients send their next text within that time; a lone client never waits.
  A batch is computed in as few forward calls as keep padding low (`length_groups`): FIFO
  batches mix lengths, and on a CPU one 256-token input would make its 15 short companions
  cost 15 times as much. What a batch holds and answers is TEI's either way.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

from container.tei import (
    MAX_BATCH_TOKENS,
    MAX_CHAR_MULTIPLIER,
    MAX_CLIENT_BATCH_SIZE,
    MAX_CONCURRENT_REQUESTS,
    PAYLOAD_LIMIT,
)
from embeddings.server.container import ContainerAnswer, Contract
from embeddings.server.tei_json import (
    Direction,
    EmbedRequest,
    InputItem,
    RejectedBodyError,
    parse_embed_request,
)

if TYPE_CHECKING:
    import numpy as np

LOG = logging.getLogger("embeddings.server")

TEI_VERSION: Final = "1.8.2"
GATHER_SECONDS: Final = 0.002
PASS_OVERHEAD_TOKENS: Final = 64
"""What a forward call costs beyond its tokens, in padded tokens: about 13 ms against 0.16 ms
a token for this model on two CPU cores (`length_groups`)."""
WAKE_SECONDS: Final = 0.05
"""How often a request waiting for permits or vectors looks whether it is still wanted."""
JSON: Final = "application/json"
TEXT: Final = "text/plain; charset=utf-8"
ST_CONFIG_NAMES: Final = (
    "sentence_bert_config.json",
    "sentence_roberta_config.json",
    "sentence_distilbert_config.json",
    "sentence_camembert_config.json",
    "sentence_albert_config.json",
    "sentence_xlm-roberta_config.json",
    "sentence_xlnet_config.json",
)
"""Where TEI looks for max_seq_length, in order (core/src/download.rs)."""
ERROR_STATUS: Final = {
    "Unhealthy": 503,
    "Backend": 424,
    "Overloaded": 429,
    "Tokenizer": 422,
    "Validation": 413,
    "Empty": 400,
}
"""1.8.2's `From<&ErrorType> for StatusCode` (1.9 answers Validation with 422)."""
ErrorType = Literal["Unhealthy", "Backend", "Overloaded", "Tokenizer", "Validation", "Empty"]
_TOKEN_CHARS: Final = frozenset(
    b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)


def tei_error(error_type: ErrorType, message: str) -> ContainerAnswer:
    """TEI's ErrorResponse, as serde_json writes it (compact, non-ASCII as is)."""
    body = json.dumps(
        {"error": message, "error_type": error_type}, ensure_ascii=False, separators=(",", ":")
    )
    return ContainerAnswer(ERROR_STATUS[error_type], body.encode(), JSON)


def validation(message: str) -> ContainerAnswer:
    """core's TextEmbeddingsError::Validation: "Input validation error: ..."."""
    return tei_error("Validation", f"Input validation error: {message}")


OVERLOADED: Final = tei_error("Overloaded", "Model is overloaded")
NOT_JSON: Final = ContainerAnswer(
    415, b"Expected request with `Content-Type: application/json`", TEXT
)
TOO_LARGE: Final = ContainerAnswer(
    413, b"Failed to buffer the request body: length limit exceeded", TEXT
)

TEI_CONTRACT: Final = Contract(
    healthy=ContainerAnswer(200, b"", None),
    not_found=ContainerAnswer(404, b"", None),
    method_not_allowed=ContainerAnswer(405, b"", None),
    request_limit=PAYLOAD_LIMIT,
    request_too_large=TOO_LARGE,
    queue_limit=None,
    queue_full=OVERLOADED,
    stopping=tei_error("Unhealthy", "the local endpoint is stopping"),
    ping_paths=("/ping", "/health"),
    ping_methods=("GET", "HEAD"),
    invocation_paths=("/invocations", "/embed"),
    invocation_methods=("POST",),
    repeated_header="first",
    threads=MAX_CONCURRENT_REQUESTS + MAX_CLIENT_BATCH_SIZE,
)
"""axum's answers around TEI's handlers. No queue limit: TEI's permits decide (429)."""


def is_json_content_type(value: str | None) -> bool:
    """axum 0.7.9's test (`json_content_type`) with mime 0.3.17's parser: the first
    Content-Type, visible ASCII, parsed as `type/subtype[+suffix][;params]` with no space
    before a `;`; JSON when the type is application and the subtype or suffix json (any case)."""
    if value is None or not all(32 <= ord(char) < 127 or char == "\t" for char in value):
        return False
    data = value.encode("ascii")
    slash = data.find(b"/")
    if slash <= 0 or not all(byte in _TOKEN_CHARS for byte in data[:slash]):
        return False
    start, plus, end = slash + 1, None, len(data)
    for index in range(start, len(data)):
        byte = data[index]
        if byte == ord("+") and index > start:
            plus = index
        elif byte == ord(";") and index > start:
            end = index
            break
        elif byte not in _TOKEN_CHARS:
            return False
    if end < len(data) and not _mime_parameters(data, end):
        return False
    subtype = data[start : plus if plus is not None else end].lower()
    suffix = data[plus + 1 : end].lower() if plus is not None else None
    return data[:slash].lower() == b"application" and (subtype == b"json" or suffix == b"json")


def _mime_parameters(data: bytes, semicolon: int) -> bool:
    """Whether mime 0.3.17 accepts the parameters after `semicolon`."""
    index = semicolon + 1
    while index < len(data):
        if data[index] == ord(" "):
            index += 1
            continue
        name_start = index
        while index < len(data) and data[index] in _TOKEN_CHARS:
            index += 1
        if index >= len(data) or data[index] != ord("=") or index == name_start:
            return False
        index += 1
        if index < len(data) and data[index] == ord('"'):
            index += 1
            while index < len(data) and data[index] != ord('"'):
                if data[index] < 32 or data[index] == 127:
                    return False
                index += 1
            if index >= len(data) or index == semicolon:
                return False
            index += 1
            while index < len(data) and data[index] == ord(" "):
                index += 1
            if index < len(data):
                if data[index] != ord(";"):
                    return False
                index += 1
            continue
        value_start = index
        while index < len(data) and data[index] in _TOKEN_CHARS:
            index += 1
        if index < len(data):
            if data[index] != ord(";") or index == value_start:
                return False
            index += 1
    return True


def max_input_length(model_dir: Path) -> int:
    """TEI's limit on tokens per input: a Sentence Transformers config's max_seq_length, else
    config.json's max_position_embeddings less the position offset (router/src/lib.rs)."""
    for name in ST_CONFIG_NAMES:
        path = model_dir / name
        if path.is_file():
            try:
                return int(json.loads(path.read_text())["max_seq_length"])
            except (ValueError, KeyError, TypeError):
                raise ValueError(f"Failed to parse `{name}`") from None  # TEI's words
    try:
        config = json.loads((model_dir / "config.json").read_text())
        offset = 0
        if config.get("model_type") in ("xlm-roberta", "camembert", "roberta"):
            offset = int(config.get("pad_token_id", 0)) + 1
        return int(config["max_position_embeddings"]) - offset
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ValueError("Failed to parse `config.json`") from None


def sentence_transformers_prompts(model_dir: Path) -> dict[str, str] | None:
    """config_sentence_transformers.json's `prompts`, None when it has none (TEI tells the
    two apart in its error texts; sentence-transformers itself fills in defaults)."""
    path = model_dir / "config_sentence_transformers.json"
    if not path.is_file():
        return None
    prompts = json.loads(path.read_text()).get("prompts")
    return None if prompts is None else {str(k): str(v) for k, v in prompts.items()}


def apply_char_limit(text: str, limit: int) -> str:
    """core's `apply_limit`: cut at byte `limit` when that is a character boundary (else keep
    the text whole, as Rust's `is_char_boundary` check does)."""
    data = text.encode("utf-8")
    if limit >= len(data) or (data[limit] & 0xC0) == 0x80:
        return text
    return data[:limit].decode("utf-8")


def _rust_keys(keys: list[str]) -> str:
    """`{:?}` of a HashMap's keys: ["a", "b"] (in the config's order here; Rust's is random)."""
    return "[" + ", ".join(json.dumps(key, ensure_ascii=False) for key in keys) + "]"


def _pooling_name(modules: list[Any]) -> str:
    """The Pooling module's mode, for the log: "mean", "cls", ... (sentence-transformers 3 to 6
    name it differently in their configs)."""
    for module in modules:
        if type(module).__name__ == "Pooling" and hasattr(module, "get_config_dict"):
            config = module.get_config_dict()
            if isinstance(config.get("pooling_mode"), str):
                return str(config["pooling_mode"])
            modes = [
                key.removeprefix("pooling_mode_").removesuffix("_tokens").removesuffix("_token")
                for key, value in config.items()
                if key.startswith("pooling_mode_") and value is True
            ]
            return "+".join(modes) or "the model's"
    return "the model's"


@dataclass(eq=False)
class _Request:
    """One invocation's inputs in the queue."""

    abandoned: threading.Event | None
    remaining: int
    done: threading.Event = field(default_factory=threading.Event)
    error: str | None = None
    cancelled: bool = False
    """Refused or given up after some of its inputs were queued."""

    @property
    def gone(self) -> bool:
        """Whether nobody waits for its vectors any more."""
        return self.cancelled or (self.abandoned is not None and self.abandoned.is_set())


@dataclass(eq=False)
class _Entry:
    """One input, tokenized, waiting for its vector."""

    ids: list[int]
    type_ids: list[int]
    request: _Request
    state: Literal["queued", "running", "done", "dropped"] = "queued"
    vector: Any = None


@dataclass
class PassStats:
    """What the model thread has run: batches (TEI's passes), texts, the latest batch sizes,
    and the forward calls that computed them (one per group of similar lengths)."""

    passes: int = 0
    texts: int = 0
    sizes: deque[int] = field(default_factory=lambda: deque(maxlen=10_000))
    calls: int = 0
    busy_seconds: float = 0.0
    """Time spent in model passes."""


def length_groups(
    lengths: list[int], overhead_tokens: int = PASS_OVERHEAD_TOKENS
) -> list[list[int]]:
    """A batch's inputs (their indices) in groups of similar length, shortest first. An input
    joins the group before it unless padding that group to its length would cost more tokens
    than a forward call of its own (`overhead_tokens`): a pass over a padded batch costs about
    as much as its padded token count, and TEI's batches mix lengths as they arrive."""
    groups: list[list[int]] = []
    longest = 0
    for index in sorted(range(len(lengths)), key=lengths.__getitem__):
        if groups and len(groups[-1]) * (lengths[index] - longest) <= overhead_tokens:
            groups[-1].append(index)
        else:
            groups.append([index])
        longest = lengths[index]
    return groups


class TeiContainer:
    """The model behind TEI's /invocations, batched dynamically by one model thread."""

    contract: Final = TEI_CONTRACT

    def __init__(
        self,
        model_dir: str,
        *,
        max_client_batch_size: int = MAX_CLIENT_BATCH_SIZE,
        max_batch_tokens: int = MAX_BATCH_TOKENS,
        max_concurrent_requests: int = MAX_CONCURRENT_REQUESTS,
        auto_truncate: bool = True,
        gather_seconds: float = GATHER_SECONDS,
        device: str | None = None,
    ) -> None:
        import torch
        from sentence_transformers import SentenceTransformer
        from tokenizers import Tokenizer

        directory = Path(model_dir)
        if not (directory / "tokenizer.json").is_file():  # TEI's words (it panics)
            raise FileNotFoundError(
                "tokenizer.json not found. text-embeddings-inference only supports fast tokenizers"
            )
        self.max_client_batch_size = max_client_batch_size
        self.max_batch_tokens = max_batch_tokens
        self.auto_truncate = auto_truncate
        self.gather_seconds = gather_seconds
        self.max_input_length = max_input_length(directory)
        self.prompts = sentence_transformers_prompts(directory)
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        model = SentenceTransformer(model_dir, device=self.device)
        model.eval()
        # TEI pools with the model's Pooling config and normalises only on request: its
        # Normalize module is left out.
        self._modules = [module for module in model if type(module).__name__ != "Normalize"]
        dimension = getattr(model, "get_embedding_dimension", None)  # sentence-transformers 6
        dimension = dimension or model.get_sentence_embedding_dimension
        self.dimension = int(dimension() or 0)
        self.pooling = _pooling_name(self._modules)
        self._tokenizers: dict[tuple[bool, Direction], Any] = {}
        configurations: tuple[tuple[bool, Direction], ...] = (
            (False, "Right"),
            (True, "Right"),
            (True, "Left"),
        )
        for truncate, direction in configurations:
            tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
            tokenizer.no_padding()
            if truncate:
                tokenizer.enable_truncation(
                    self.max_input_length, strategy="longest_first", direction=direction.lower()
                )
            else:
                tokenizer.no_truncation()
            self._tokenizers[truncate, direction] = tokenizer
        self._tokenizers[False, "Left"] = self._tokenizers[False, "Right"]
        self._torch = torch
        self._permits = threading.Semaphore(max_concurrent_requests)
        self._changed = threading.Condition()
        self._queue: deque[_Entry] = deque()
        self._stopping = threading.Event()
        self._running = False
        self._shared_last = False
        self.stats = PassStats()
        self.stop_deadline: float | None = None
        """When stopping, the time (monotonic) by which a pass in progress is given up."""
        self._thread = threading.Thread(target=self._model_loop, name="tei-model", daemon=True)
        self._thread.start()

    @property
    def busy(self) -> bool:
        """Whether a model pass is running now."""
        return self._running

    @property
    def waiting(self) -> int:
        """How many inputs wait in the queue."""
        return len(self._queue)

    def stop(self, grace_seconds: float) -> None:
        """Start nothing more: requests with inputs still queued get None from `invoke` at
        once; those in the pass running are given up after `grace_seconds`."""
        self.stop_deadline = time.monotonic() + grace_seconds
        self._stopping.set()
        with self._changed:
            self._changed.notify_all()
        sizes = self.stats.sizes
        LOG.info(
            "TEI model thread: %d passes, %d texts, %.1f texts per pass, largest %d, in %d "
            "forward calls, %.1f s",
            self.stats.passes,
            self.stats.texts,
            self.stats.texts / self.stats.passes if self.stats.passes else 0.0,
            max(sizes, default=0),
            self.stats.calls,
            self.stats.busy_seconds,
        )

    def refuse_headers(self, content_type: str | None) -> ContainerAnswer | None:
        """What axum answers from the headers alone, before reading the body."""
        return None if is_json_content_type(content_type) else NOT_JSON

    def invoke(
        self,
        body: bytes,
        content_type: str | None,
        accept: str | None,
        abandoned: threading.Event | None = None,
    ) -> ContainerAnswer | None:
        """POST /invocations, answered as TEI's `embed` handler; None, without running the
        model, when the server is stopping or the request was `abandoned` (its caller timed
        out or went away) before its inputs ran."""
        refusal = self.refuse_headers(content_type)
        if refusal is not None:
            return refusal
        if len(body) > self.contract.request_limit:
            return TOO_LARGE
        try:
            request = parse_embed_request(body)
        except RejectedBodyError as rejected:
            return ContainerAnswer(rejected.status, rejected.text.encode(), TEXT)
        return self.embed(request, abandoned)

    def embed(
        self, request: EmbedRequest, abandoned: threading.Event | None = None
    ) -> ContainerAnswer | None:
        """server.rs's `embed` and core's `embed_pooled`, in their order of checks.

        Each input takes a permit, which the model thread gives back once the input has run
        (or was dropped): a single input that finds none is refused (429), a batch's inputs
        wait for theirs, in order. A batch's inputs enter the queue together, so that one
        pass can take them all; under permit pressure, those that have permits go first, so
        that a batch larger than the permits still completes, as in TEI."""
        inputs = request.inputs
        if request.single:
            if not self._permits.acquire(blocking=False):
                return OVERLOADED
        else:
            if not inputs:
                return tei_error("Empty", "`inputs` cannot be empty")
            if len(inputs) > self.max_client_batch_size:
                return tei_error(
                    "Validation",
                    f"batch size {len(inputs)} > maximum allowed batch size "
                    f"{self.max_client_batch_size}",
                )
        waiting = _Request(abandoned, len(inputs))
        entries: list[_Entry] = []
        pending: list[_Entry] = []
        try:
            for index, item in enumerate(inputs):
                needs_permit = index > 0 or not request.single  # a single one has its own
                if needs_permit and not self._permits.acquire(blocking=False):
                    self._enqueue(pending)
                    if not self._acquire_waiting(waiting):
                        return None
                refusal = self._check(request, item)
                if isinstance(refusal, ContainerAnswer):
                    self._permits.release()
                    return refusal  # the first input to fail, as join_all's results are read
                pending.append(_Entry(*refusal, waiting))
                entries.append(pending[-1])
            self._enqueue(pending)
        finally:
            if len(entries) < len(inputs) or self._unwanted(abandoned):
                self._give_up(waiting, pending)
        while not waiting.done.wait(WAKE_SECONDS):
            if waiting.gone or (
                self._stopping.is_set() and any(entry.state == "queued" for entry in entries)
            ):
                return None
        if waiting.error is not None:
            return tei_error("Backend", f"Backend error: {waiting.error}")
        return self._answer([entry.vector for entry in entries], request)

    def _acquire_waiting(self, waiting: _Request) -> bool:
        """A permit for the next input of a batch, waited for (False: unwanted meanwhile)."""
        while not self._permits.acquire(timeout=WAKE_SECONDS):
            if waiting.gone or self._stopping.is_set():
                return False
        return True

    def _enqueue(self, pending: list[_Entry]) -> None:
        if pending:
            with self._changed:
                self._queue.extend(pending)
                self._changed.notify_all()
            pending.clear()

    def _give_up(self, waiting: _Request, pending: list[_Entry]) -> None:
        """The request ends unanswered or refused: its queued inputs are dropped unrun (the
        model thread gives their permits back), those not queued give theirs back now."""
        waiting.cancelled = True
        self._release(len(pending))
        pending.clear()

    def _release(self, count: int) -> None:
        for _ in range(count):
            self._permits.release()

    def _unwanted(self, abandoned: threading.Event | None) -> bool:
        return self._stopping.is_set() or (abandoned is not None and abandoned.is_set())

    def _check(
        self, request: EmbedRequest, item: InputItem
    ) -> tuple[list[int], list[int]] | ContainerAnswer:
        """One input through `embed_pooled`'s checks and `encode_input`: its tokens, or the
        answer that refuses it."""
        if request.dimensions == 0:
            return validation("`dimensions` should be positive")
        truncate = self.auto_truncate if request.truncate is None else request.truncate
        encoded = self._encode(item, truncate, request.truncation_direction, request)
        if (
            not isinstance(encoded, ContainerAnswer)
            and request.dimensions is not None
            and request.dimensions > self.dimension
        ):  # found after the pass in TEI; the same answer without running it
            return validation(
                "`dimensions` should be smaller than the maximum embedding dimension."
            )
        return encoded

    def _encode(
        self, item: InputItem, truncate: bool, direction: Direction, request: EmbedRequest
    ) -> tuple[list[int], list[int]] | ContainerAnswer:
        """core's `encode_input`: the checks, then the tokens."""
        if not item:
            return validation("`inputs` cannot be empty")
        prompt: str | None = None
        if request.prompt_name is not None:
            name = request.prompt_name
            if self.prompts is None:
                return validation(
                    f"`default-prompt-name` is set to `{name}` but no prompts were found in "
                    "the Sentence Transformers configuration"
                )
            if name not in self.prompts:
                return validation(
                    f"`default-prompt-name` is set to `{name}` but it was not found in the "
                    "Sentence Transformers prompts. Available prompts: "
                    f"{_rust_keys(list(self.prompts))}"
                )
            prompt = self.prompts[name]
        limit = self.max_input_length * MAX_CHAR_MULTIPLIER
        if len(item) > limit:
            if not truncate:
                return validation(
                    f"`inputs` must have less than {limit} characters. Given: {len(item)}"
                )
            if isinstance(item, str):
                item = apply_char_limit(item, limit)
        tokenizer = self._tokenizers[truncate, direction]
        try:
            if isinstance(item, str):
                encoding = tokenizer.encode((prompt or "") + item, add_special_tokens=True)
            elif prompt is not None:
                text = prompt + tokenizer.decode(item, skip_special_tokens=True)
                encoding = tokenizer.encode(text, add_special_tokens=True)
            else:
                text = tokenizer.decode(item, skip_special_tokens=False)
                encoding = tokenizer.encode(text, add_special_tokens=False)
        except Exception as error:  # the tokenizers crate's errors, as TEI reports them
            return tei_error("Tokenizer", f"tokenizer error {error}")
        ids: list[int] = encoding.ids
        if not ids:  # token ids that decode to nothing: no pass can take an empty sequence
            return validation("`inputs` cannot be empty")
        if len(ids) > self.max_input_length:
            return validation(
                f"`inputs` must have less than {self.max_input_length} tokens. Given: {len(ids)}"
            )
        return ids, encoding.type_ids

    def _answer(self, vectors: list[Any], request: EmbedRequest) -> ContainerAnswer:
        """infer.rs's `embed_pooled` after the pass: cut to `dimensions`, then normalise as
        TEI does (the scale in f64, applied in f32)."""
        import numpy as np

        from container.inference import float32_json

        matrix = np.stack(vectors).astype(np.float32, copy=False)
        if request.dimensions is not None:
            matrix = matrix[:, : request.dimensions]
        if request.normalize:
            with np.errstate(divide="ignore", invalid="ignore"):
                norms = np.sqrt(np.square(matrix.astype(np.float64)).sum(axis=1))
                scale = (1.0 / norms).astype(np.float32)
                matrix = matrix * scale[:, None]
        if np.isfinite(matrix).all():
            body = float32_json(matrix)
        else:  # serde_json writes a NaN or infinite f32 as null
            body = json.dumps(
                [[float(x) if math.isfinite(x) else None for x in row] for row in matrix.tolist()]
            )
        return ContainerAnswer(200, body.encode(), JSON)

    # The model thread.

    def _model_loop(self) -> None:
        while True:
            with self._changed:
                batch = self._next_batch()
                if batch is None:
                    return
                for entry in batch:
                    entry.state = "running"
                self._running = True
            started = time.perf_counter()
            try:
                vectors = self._run(batch)
                error = None
            except Exception as failure:  # answered to each caller as TEI's Backend error
                LOG.warning("model pass failed: %s: %s", type(failure).__name__, failure)
                vectors, error = None, " ".join(str(failure).split()) or type(failure).__name__
            with self._changed:
                self._running = False
                self.stats.busy_seconds += time.perf_counter() - started
                self.stats.passes += 1
                self.stats.texts += len(batch)
                self.stats.sizes.append(len(batch))
                self._shared_last = len({id(entry.request) for entry in batch}) > 1
                for index, entry in enumerate(batch):
                    entry.state = "done"
                    self._permits.release()
                    result = vectors[index] if vectors is not None else error
                    if isinstance(result, str):
                        entry.request.error = result
                    else:
                        entry.vector = result
                    self._finish(entry.request)

    def _finish(self, request: _Request) -> None:
        request.remaining -= 1
        if request.remaining == 0:
            request.done.set()

    def _next_batch(self) -> list[_Entry] | None:
        """Under the lock: wait for work, gather briefly after a shared pass, then take
        entries as queue.rs does. None once stopping."""
        while True:
            while not self._queue and not self._stopping.is_set():
                self._changed.wait()
            if self._stopping.is_set():
                return None
            if self._shared_last and self.gather_seconds > 0:
                deadline = time.monotonic() + self.gather_seconds
                while not self._stopping.is_set() and not self._fits_no_more():
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._changed.wait(left)
            batch = self._take()
            if batch:
                return batch
            if self._queue:  # one input over the whole token budget: it runs alone
                entry = self._queue.popleft()
                if not entry.request.gone:
                    return [entry]
                entry.state = "dropped"
                self._permits.release()

    def _take(self) -> list[_Entry]:
        """queue.rs's `next_batch` for a padded model: first in, first out, while
        max(longest, next) x (count + 1) stays within max_batch_tokens; a dropped caller's
        entries are skipped."""
        batch: list[_Entry] = []
        longest = 0
        while self._queue:
            entry = self._queue[0]
            if entry.request.gone:
                self._queue.popleft()
                entry.state = "dropped"
                self._permits.release()
                continue
            tokens = max(longest, len(entry.ids)) * (len(batch) + 1)
            if tokens > self.max_batch_tokens:
                break
            self._queue.popleft()
            longest = max(longest, len(entry.ids))
            batch.append(entry)
        return batch

    def _fits_no_more(self) -> bool:
        """Whether the queue already holds more than one pass takes."""
        count, longest = 0, 0
        for entry in self._queue:
            if entry.request.gone:
                continue
            longest = max(longest, len(entry.ids))
            count += 1
            if longest * count > self.max_batch_tokens:
                return True
        return False

    def _run(self, batch: list[_Entry]) -> list[np.ndarray | str]:
        """The batch's vectors, in its order: one forward call per group of similar lengths,
        so that one long input does not pad a pass of short ones to its length. A call that
        fails gives its own entries the error's text, and no other entry."""
        vectors: list[Any] = [None] * len(batch)
        for group in length_groups([len(entry.ids) for entry in batch]):
            try:
                results = list(self._forward([batch[i] for i in group]))
            except Exception as failure:  # answered to those callers as TEI's Backend error
                LOG.warning("model pass failed: %s: %s", type(failure).__name__, failure)
                results = [" ".join(str(failure).split()) or type(failure).__name__] * len(group)
            for index, result in zip(group, results, strict=True):
                vectors[index] = result
            self.stats.calls += 1
        return vectors

    def _forward(self, batch: list[_Entry]) -> np.ndarray:
        """One padded pass through the model's modules (Normalize left out)."""
        import numpy as np

        torch = self._torch
        width = max(len(entry.ids) for entry in batch)
        ids = np.zeros((len(batch), width), dtype=np.int64)
        types = np.zeros((len(batch), width), dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.int64)
        for row, entry in enumerate(batch):
            ids[row, : len(entry.ids)] = entry.ids
            types[row, : len(entry.type_ids)] = entry.type_ids
            mask[row, : len(entry.ids)] = 1
        features: dict[str, Any] = {
            "input_ids": torch.from_numpy(ids).to(self.device),
            "token_type_ids": torch.from_numpy(types).to(self.device),
            "attention_mask": torch.from_numpy(mask).to(self.device),
        }
        with torch.inference_mode():
            for module in self._modules:
                features = module(features)
            pooled = features["sentence_embedding"]
        result: np.ndarray = pooled.float().cpu().numpy()
        return result
