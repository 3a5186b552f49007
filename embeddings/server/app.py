"""A local SageMaker endpoint: the sagemaker-runtime API in front of the container's contract.

Routes:
- `POST /endpoints/{name}/invocations`: InvokeEndpoint, what boto3 calls once
  `AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME` points here. Answers and errors have SageMaker's shape,
  so boto3 raises the same exceptions it raises against AWS.
- `POST /invocations` and `GET /ping`: the container contract SageMaker itself calls.

Each connection carries one request (HTTP/1.0 style), so a client that keeps a connection open
never holds a worker; a bounded pool serves requests concurrently while the model runs one
prediction at a time (tokenizers and pipelines are not safe to share across threads).
"""

from __future__ import annotations

import http.server
import json
import logging
import re
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from socket import socket
from typing import Any, Final

from embeddings.server.handler import Handler, RequestError

LOG = logging.getLogger("embeddings.server")

MAX_BODY_BYTES: Final = 6 * 1024 * 1024
"""InvokeEndpoint's request limit (real-time endpoints; serverless allows 4 MB)."""
_DISCARD_LIMIT: Final = 64 * 1024 * 1024
_UTF8_TYPES: Final = ("application/json", "text/csv", "text/plain")
_INVOKE_PATH: Final = re.compile(r"^/endpoints/(?P<name>[^/]+)/invocations$")
ACCOUNT_ID: Final = "000000000000"


@dataclass(frozen=True)
class ContainerAnswer:
    status: int
    body: bytes
    content_type: str = "application/json"


class ModelRuntime:
    """The loaded model and its handler; predictions run one at a time."""

    def __init__(self, handler: Handler, model_dir: str) -> None:
        self.handler = handler
        self.model = handler.model_fn(model_dir)
        self._lock = threading.Lock()

    def invoke(self, body: bytes, content_type: str, accept: str) -> ContainerAnswer:
        """What the container answers on /invocations, errors included."""
        try:
            data = self.handler.input_fn(_decoded(body, content_type), content_type)
            with self._lock:
                prediction = self.handler.predict_fn(data, self.model)
            encoded = self.handler.output_fn(prediction, accept or "application/json")
        except RequestError as error:
            return _container_error(error.status, "BadRequestException", error.message)
        except Exception as error:  # the toolkit answers 400 for any failure in user code too
            LOG.warning("prediction failed: %s: %s", type(error).__name__, error)
            return _container_error(400, "InternalServerException", f"{error}")
        if isinstance(encoded, str):
            encoded = encoded.encode()
        return ContainerAnswer(200, bytes(encoded))


def _decoded(body: bytes, content_type: str) -> str | bytes:
    """The toolkit hands text content types to input_fn as str, anything else as bytes."""
    media_type = content_type.split(";")[0].strip().lower()
    if media_type in _UTF8_TYPES:
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError as error:
            raise RequestError(400, f"the body is not UTF-8: {error}") from None
    return body


def _container_error(status: int, kind: str, message: str) -> ContainerAnswer:
    body = json.dumps({"code": status, "type": kind, "message": message}).encode()
    return ContainerAnswer(status, body)


class _RequestHandler(http.server.BaseHTTPRequestHandler):
    server: LocalEndpointServer
    protocol_version = "HTTP/1.0"
    server_version = "alex-local-endpoint"

    def log_message(self, format: str, *args: Any) -> None:
        LOG.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        if self.path == "/ping":
            self._send(200, b"", "text/plain")
        else:
            self._send_json(404, {"message": f"no such route: GET {self.path}"})

    def do_POST(self) -> None:
        match = _INVOKE_PATH.match(self.path.split("?", 1)[0])
        if self.path == "/invocations":
            body = self._read_body()
            if body is None:
                self._send_json(413, {"message": "the body is over the 6 MB limit"})
                return
            answer = self.server.runtime.invoke(
                body, self.headers.get("Content-Type", ""), self.headers.get("Accept", "")
            )
            self._send(answer.status, answer.body, answer.content_type)
        elif match is not None:
            self._invoke_endpoint(match.group("name"))
        else:
            self._send_json(404, {"message": f"no such route: POST {self.path}"})

    def _invoke_endpoint(self, name: str) -> None:
        """InvokeEndpoint: SageMaker checks the request, then relays to the container."""
        body = self._read_body()
        request_id = str(uuid.uuid4())
        if body is None:
            self._service_error(413, "ValidationError", f"Request {request_id} has oversize body.")
            return
        if self.server.endpoint_name not in (None, name):
            self._service_error(
                400,
                "ValidationError",
                f"Endpoint {name} of account {ACCOUNT_ID} not found.",
            )
            return
        answer = self.server.runtime.invoke(
            body, self.headers.get("Content-Type", ""), self.headers.get("Accept", "")
        )
        if answer.status == 200:
            self._send(
                200,
                answer.body,
                answer.content_type,
                {"x-Amzn-Invoked-Production-Variant": "AllTraffic"},
            )
            return
        kind = "client" if answer.status < 500 else "server"
        message = (
            f"Received {kind} error ({answer.status}) from primary with message "
            f'"{answer.body.decode(errors="replace")}". See the local server\'s log for more '
            "information."
        )
        self._service_error(
            424,
            "ModelError",
            message,
            OriginalStatusCode=answer.status,
            OriginalMessage=answer.body.decode(errors="replace"),
            LogStreamArn=f"arn:aws:logs:local:{ACCOUNT_ID}:log-group:/aws/sagemaker/Endpoints/{name}",
        )

    def _read_body(self) -> bytes | None:
        """The body, or None when it is over the limit (read and dropped, to keep TCP sane)."""
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            remaining = min(length, _DISCARD_LIMIT)
            while remaining > 0:
                chunk = self.rfile.read(min(remaining, 1 << 20))
                if not chunk:
                    break
                remaining -= len(chunk)
            return None
        return self.rfile.read(length) if length else b""

    def _service_error(self, status: int, code: str, message: str, **fields: Any) -> None:
        LOG.info("%s %s: %s", status, code, message[:200])
        self._send_json(status, {"message": message, **fields}, {"x-amzn-ErrorType": code})

    def _send_json(self, status: int, value: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(value).encode(), "application/json", headers)

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)


class LocalEndpointServer(http.server.HTTPServer):
    """An HTTP server whose requests run on a bounded worker pool."""

    def __init__(
        self,
        address: tuple[str, int],
        runtime: ModelRuntime,
        *,
        workers: int = 4,
        endpoint_name: str | None = None,
    ) -> None:
        self.runtime = runtime
        self.endpoint_name = endpoint_name
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="invoke")
        # At most `workers` requests run and as many wait; past that, accepting pauses and
        # new connections queue in the kernel's backlog.
        self._slots = threading.BoundedSemaphore(workers * 2)
        super().__init__(address, _RequestHandler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def process_request(self, request: Any, client_address: Any) -> None:
        self._slots.acquire()
        self._pool.submit(self._process, request, client_address)

    def _process(self, request: socket, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)
            self._slots.release()

    def server_close(self) -> None:
        """Stop accepting, let requests in progress finish, then close the socket."""
        self._pool.shutdown(wait=True)
        super().server_close()


def start_in_thread(server: LocalEndpointServer) -> threading.Thread:
    """Serve from a background thread (for tests and embedding in other tools)."""
    thread = threading.Thread(target=server.serve_forever, name="local-endpoint", daemon=True)
    thread.start()
    return thread


def wait_until_answering(url: str, timeout_seconds: float = 30.0) -> None:
    """Poll GET /ping until it answers 200, for at most `timeout_seconds`."""
    import urllib.request

    deadline = time.monotonic() + timeout_seconds
    while True:
        try:
            with urllib.request.urlopen(f"{url}/ping", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not answer /ping within {timeout_seconds:.0f} s")
        time.sleep(0.2)
