"""The container's own server, multi-model-server, in front of the toolkit's handler.

What MMS adds to the handler's answers: the toolkit turns any failure into a 400 whose body MMS
writes as `{"code", "type": "InternalServerException", "message"}` (pretty-printed by Gson,
which escapes < > & = '), the answer's content type is the request's Accept, and an answer
over MMS's frame limit kills the worker ("Worker died.", 500). A request body over the same
limit is refused by MMS's HTTP layer with an empty 413.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Literal, Protocol

from embeddings.server.handler import ANY, JSON, UTF8_TYPES, Handler

LOG = logging.getLogger("embeddings.server")

MMS_MAX_BYTES: Final = 6_553_500
"""multi-model-server's max_request_size and max_response_size defaults (bytes)."""
WAKE_SECONDS: Final = 0.05
"""How often a request waiting for the model looks whether it is still wanted."""
_GSON_ESCAPES: Final = {char: f"\\u{ord(char):04x}" for char in "<>&='"}


@dataclass(frozen=True)
class ContainerAnswer:
    status: int
    body: bytes
    content_type: str | None = JSON


def mms_answer(status: int, value: dict[str, Any]) -> ContainerAnswer:
    """A JSON body as MMS writes it: 2-space indent, a newline, Gson's HTML-safe escapes."""
    text = json.dumps(value, indent=2, ensure_ascii=False) + "\n"
    for char, escaped in _GSON_ESCAPES.items():
        text = text.replace(char, escaped)
    return ContainerAnswer(status, text.encode())


def mms_error(status: int, kind: str, message: str) -> ContainerAnswer:
    return mms_answer(status, {"code": status, "type": kind, "message": message})


HEALTHY: Final = mms_answer(200, {"status": "Healthy"})
NOT_FOUND: Final = mms_error(
    404,
    "ResourceNotFoundException",
    "Requested resource is not found, please refer to API document.",
)
REQUEST_TOO_LARGE: Final = ContainerAnswer(413, b"", None)
CONTAINER_QUEUE: Final = 100
"""multi-model-server's job_queue_size default: requests to /invocations waiting at once."""
ANY_METHOD: Final = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


DEFAULT_THREADS: Final = 40
"""anyio's default number of worker threads."""


@dataclass(frozen=True)
class Contract:
    """What a container's own HTTP server answers around the model: these differ between the
    images (multi-model-server in the HuggingFace container, TEI's axum router), so the local
    endpoint takes them from the container it serves."""

    healthy: ContainerAnswer
    """GET /ping when the model is loaded."""
    not_found: ContainerAnswer
    """A path the server does not know."""
    method_not_allowed: ContainerAnswer
    request_limit: int
    """Request body bytes the server reads; past them: `request_too_large`."""
    request_too_large: ContainerAnswer
    queue_limit: int | None
    """Requests to /invocations in the container at once, past which `queue_full` answers;
    None where the server keeps no such count (the container limits itself)."""
    queue_full: ContainerAnswer
    stopping: ContainerAnswer
    """For a request still waiting when the local endpoint stops (a local answer, in the
    image's error format)."""
    ping_paths: tuple[str, ...]
    ping_methods: tuple[str, ...]
    invocation_paths: tuple[str, ...]
    invocation_methods: tuple[str, ...]
    repeated_header: Literal["first", "last"]
    """Which value of a repeated Content-Type or Accept the server reads."""
    threads: int = DEFAULT_THREADS
    """Requests that may wait inside the container at once, each on a worker thread (anyio's
    default is 40). TEI's needs room for all its permits, or its 429 could never come."""


MMS_CONTRACT: Final = Contract(
    healthy=HEALTHY,
    not_found=NOT_FOUND,
    method_not_allowed=NOT_FOUND,
    request_limit=MMS_MAX_BYTES,
    request_too_large=REQUEST_TOO_LARGE,
    queue_limit=CONTAINER_QUEUE,
    queue_full=mms_error(
        503,
        "ServiceUnavailableException",
        f"the local container's queue of {CONTAINER_QUEUE} requests is full",
    ),
    stopping=mms_error(503, "ServiceUnavailableException", "the local endpoint is stopping"),
    ping_paths=("/ping", "/ping/"),
    ping_methods=ANY_METHOD,
    invocation_paths=("/invocations", "/invocations/"),
    invocation_methods=ANY_METHOD,
    repeated_header="last",
)
"""multi-model-server's answers: any method, trailing slash or not, its JSON errors."""


class ModelContainer(Protocol):
    """What the local endpoint needs of a container: its contract, the model behind
    /invocations, and a way to stop it. `Container` (the HuggingFace image) and
    `tei.TeiContainer` (Text Embeddings Inference) are the two."""

    @property
    def contract(self) -> Contract: ...

    @property
    def stop_deadline(self) -> float | None:
        """When stopping, the time (monotonic) by which work in progress is given up."""
        ...

    @property
    def busy(self) -> bool:
        """Whether the model is running now."""
        ...

    @property
    def waiting(self) -> int:
        """How much work waits for the model."""
        ...

    def stop(self, grace_seconds: float) -> None: ...

    def refuse_headers(self, content_type: str | None) -> ContainerAnswer | None:
        """What the container's server answers from the headers alone, before the body."""
        ...

    def invoke(
        self,
        body: bytes,
        content_type: str | None,
        accept: str | None,
        abandoned: threading.Event | None = None,
    ) -> ContainerAnswer | None:
        """POST /invocations: the answer, or None, without running the model, when the server
        is stopping or the request was `abandoned` before its turn came."""
        ...


class Turns:
    """The model, lent to one caller at a time in order of arrival (a plain lock lets late
    comers overtake, and a burst's unlucky first callers wait for seconds)."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._waiting: deque[object] = deque()
        self.busy = False

    def wait(self, give_up: Callable[[], bool]) -> bool:
        """Wait for this caller's turn: True once it has come, False if `give_up()` first."""
        me = object()
        with self._changed:
            self._waiting.append(me)
            while self.busy or self._waiting[0] is not me:
                if give_up():
                    self._waiting.remove(me)
                    self._changed.notify_all()
                    return False
                self._changed.wait(WAKE_SECONDS)
            self._waiting.popleft()
            self.busy = True
            return True

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def done(self) -> None:
        with self._changed:
            self.busy = False
            self._changed.notify_all()


class Container:
    """The loaded model behind the handler; one prediction at a time, as one MMS worker."""

    contract: Final = MMS_CONTRACT

    def __init__(self, handler: Handler, model_dir: str) -> None:
        self.handler = handler
        self.model = handler.model_fn(model_dir)
        self._turns = Turns()
        self._stopping = threading.Event()
        self.stop_deadline: float | None = None
        """When stopping, the time (monotonic) by which a prediction in progress is given up."""

    @property
    def busy(self) -> bool:
        """Whether a prediction is running now."""
        return self._turns.busy

    @property
    def waiting(self) -> int:
        """How many predictions wait for their turn."""
        return self._turns.waiting

    def stop(self, grace_seconds: float) -> None:
        """Run nothing more: requests still waiting for the model get None from `invoke` at
        once; the one running is given up after `grace_seconds`."""
        self.stop_deadline = time.monotonic() + grace_seconds
        self._stopping.set()

    def refuse_headers(self, content_type: str | None) -> ContainerAnswer | None:
        """MMS reads any body first."""
        return None

    def invoke(
        self,
        body: bytes,
        content_type: str | None,
        accept: str | None,
        abandoned: threading.Event | None = None,
    ) -> ContainerAnswer | None:
        """POST /invocations, answered as the toolkit's `handle` and MMS answer it; None,
        without running the model, when the server is stopping or the request was `abandoned`
        (its caller timed out or went away) before its turn came."""
        accept = accept if accept and accept != ANY else JSON

        def unwanted() -> bool:
            return self._stopping.is_set() or (abandoned is not None and abandoned.is_set())

        if not self._turns.wait(unwanted):
            return None
        try:
            if unwanted():  # given up just as its turn came
                return None
            data: str | bytes = body.decode("utf-8") if content_type in UTF8_TYPES else body
            response = self.handler.transform(self.model, data, content_type, accept)
        except Exception as error:  # the toolkit answers any failure so
            LOG.info("prediction failed: %s: %s", type(error).__name__, _one_line(error))
            return mms_error(400, "InternalServerException", str(error))
        finally:
            self._turns.done()
        encoded = response.encode() if isinstance(response, str) else bytes(response)
        if len(encoded) > MMS_MAX_BYTES:
            LOG.warning(
                "answer of %d bytes is over MMS's %d-byte frame", len(encoded), MMS_MAX_BYTES
            )
            return mms_error(500, "InternalServerException", "Worker died.")
        return ContainerAnswer(200, encoded, accept)


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text if len(text) <= 300 else text[:297] + "..."
