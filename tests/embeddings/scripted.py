"""A sagemaker-runtime endpoint on loopback whose answers a test scripts, for faults botocore's
Stubber cannot show: hangs, slow answers, many requests at once."""

from __future__ import annotations

import hashlib
import json
import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import boto3

from embeddings import EmbeddingClient

if TYPE_CHECKING:
    import pytest

Answer = tuple[int, dict[str, str], bytes]
"""Status, headers, body."""
CUT_AFTER = "X-Scripted-Cut-After"
"""A header the server does not send: it sends that many bytes of the body, then hangs up."""
RAW = "X-Scripted-Raw"
"""A header the server does not send: the body is the whole answer, status line and all."""


def json_reply(text: str) -> Answer:
    """A 200 whose body is exactly `text`, for replies `json.dumps` would not write."""
    return 200, {"Content-Type": "application/json"}, text.encode()


def ok(value: Any) -> Answer:
    return json_reply(json.dumps(value))


def vector_of(text: str, dimension: int = 8) -> list[float]:
    """A unit vector that depends on the text alone, so that order can be checked."""
    digest = hashlib.sha256(text.encode()).digest()
    raw = [digest[i] - 127.5 for i in range(dimension)]
    norm = math.sqrt(sum(x * x for x in raw))
    return [x / norm for x in raw]


def pooled(body: dict[str, Any]) -> Answer:
    """What a pooling endpoint answers: one vector per text."""
    return ok([vector_of(text) for text in body["inputs"]])


SESSION = boto3.Session()
"""One session for every scripted client: botocore then loads the service model once."""


def client_at(url: str, monkeypatch: pytest.MonkeyPatch, **options: Any) -> EmbeddingClient:
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", url)
    return EmbeddingClient("scripted", "us-east-1", session=SESSION, **options)


def cut_off(answer: Answer, keep: int) -> Answer:
    """`answer` with its body cut after `keep` bytes and the connection closed."""
    status, headers, body = answer
    return status, {**headers, CUT_AFTER: str(keep)}, body


def service_error(status: int, code: str, message: str) -> Answer:
    body = json.dumps({"message": message}).encode()
    return status, {"Content-Type": "application/json", "x-amzn-ErrorType": code}, body


@dataclass
class ScriptedEndpoint:
    """Answers each InvokeEndpoint with `script(request_body)`; counts what it sees."""

    script: Callable[[dict[str, Any]], Answer]
    url: str = ""
    requests: int = 0
    in_flight: int = 0
    most_in_flight: int = 0
    bodies: list[dict[str, Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, raw: bytes) -> Answer:
        body = json.loads(raw)
        with self._lock:
            self.requests += 1
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            self.bodies.append(body)
        try:
            return self.script(body)
        finally:
            with self._lock:
                self.in_flight -= 1


@contextmanager
def scripted_endpoint(script: Callable[[dict[str, Any]], Answer]) -> Iterator[ScriptedEndpoint]:
    endpoint = ScriptedEndpoint(script)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status, headers, body = endpoint.handle(raw)
            cut = headers.pop(CUT_AFTER, None)
            if headers.pop(RAW, None) is not None:
                self.wfile.write(body)
                self.close_connection = True
                return
            try:
                self.send_response(status)
                for key, value in {**headers, "Content-Length": str(len(body))}.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body if cut is None else body[: int(cut)])
            except OSError:  # the client gave up waiting
                pass
            if cut is not None:
                self.close_connection = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    endpoint.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield endpoint
    finally:
        server.shutdown()
        server.server_close()


def raw(answer: bytes) -> Answer:
    """`answer` as the bytes the server sends back, however malformed, then the hang-up."""
    return 200, {RAW: ""}, answer


def hang(seconds: float) -> Callable[[dict[str, Any]], Answer]:
    """Answer nothing for `seconds` (longer than any client waits), then a late answer."""

    def script(_: dict[str, Any]) -> Answer:
        time.sleep(seconds)
        return ok([[0.0]])

    return script


def model_error(container_status: int, container_body: str) -> Answer:
    """SageMaker's 424 around a container's failure, with its status and body as the
    service reports them (OriginalStatusCode, OriginalMessage)."""
    kind = "client" if 400 <= container_status < 500 else "server"
    message = (
        f"Received {kind} error ({container_status}) from primary with message "
        f'"{container_body}". See the log for more information.'
    )
    body = json.dumps(
        {
            "message": message,
            "OriginalStatusCode": container_status,
            "OriginalMessage": container_body,
        }
    ).encode()
    return 424, {"Content-Type": "application/json", "x-amzn-ErrorType": "ModelError"}, body


TIMED_OUT = (
    "Your invocation timed out while waiting for a response from container primary. Review the "
    "latency metrics for each container in Amazon CloudWatch, resolve the issue, and try again."
)
"""SageMaker's words when the container has not answered within the invocation limit."""


def timed_out() -> Answer:
    """SageMaker's answer to an invocation the container did not answer in time."""
    return model_error(0, TIMED_OUT)
