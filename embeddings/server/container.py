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
from dataclasses import dataclass
from typing import Any, Final

from embeddings.server.handler import ANY, JSON, UTF8_TYPES, Handler

LOG = logging.getLogger("embeddings.server")

MMS_MAX_BYTES: Final = 6_553_500
"""multi-model-server's max_request_size and max_response_size defaults (bytes)."""
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


class Container:
    """The loaded model behind the handler; one prediction at a time, as one MMS worker."""

    def __init__(self, handler: Handler, model_dir: str) -> None:
        self.handler = handler
        self.model = handler.model_fn(model_dir)
        self._worker = threading.Lock()

    def invoke(self, body: bytes, content_type: str | None, accept: str | None) -> ContainerAnswer:
        """POST /invocations, answered as the toolkit's `handle` and MMS answer it."""
        accept = accept if accept and accept != ANY else JSON
        try:
            data: str | bytes = body.decode("utf-8") if content_type in UTF8_TYPES else body
            with self._worker:
                response = self.handler.transform(self.model, data, content_type, accept)
        except Exception as error:  # the toolkit answers any failure so
            LOG.info("prediction failed: %s: %s", type(error).__name__, error)
            return mms_error(400, "InternalServerException", str(error))
        encoded = response.encode() if isinstance(response, str) else bytes(response)
        if len(encoded) > MMS_MAX_BYTES:
            LOG.warning(
                "answer of %d bytes is over MMS's %d-byte frame", len(encoded), MMS_MAX_BYTES
            )
            return mms_error(500, "InternalServerException", "Worker died.")
        return ContainerAnswer(200, encoded, accept)
