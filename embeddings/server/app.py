"""The local endpoint's HTTP API: SageMaker's runtime and control plane in front of the container.

Routes:
- `POST /endpoints/{name}/invocations`: InvokeEndpoint, what boto3 calls once `AWS_ENDPOINT_URL`
  (or `AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME`) points here. Answers and errors have SageMaker's
  shape, so boto3 raises the exceptions it raises against AWS.
- `POST /` with `X-Amz-Target: SageMaker.Describe...`: the control-plane calls `status`, `wait`
  and `verify` make (DescribeEndpoint, DescribeEndpointConfig, DescribeModel).
- `POST /invocations`, `GET /ping`: the container contract, answered as the container does.

Requests are read as they arrive (chunked bodies too) and refused past the limit; predictions
run in worker threads, the model one at a time, and further requests wait their turn.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any, Final

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from embeddings.server import control_plane
from embeddings.server.container import (
    HEALTHY,
    MMS_MAX_BYTES,
    NOT_FOUND,
    REQUEST_TOO_LARGE,
    Container,
    ContainerAnswer,
)

LOG = logging.getLogger("embeddings.server")
ACCESS_LOG = logging.getLogger("embeddings.server.access")

MB: Final = 1024 * 1024
REALTIME_LIMIT: Final = 6 * MB
"""InvokeEndpoint's request and response limit on a realtime endpoint."""
SERVERLESS_LIMIT: Final = 4 * MB
"""...and on a serverless one."""
ACCOUNT_ID: Final = control_plane.ACCOUNT_ID


@dataclass(frozen=True)
class Endpoint:
    """What the local endpoint serves, and as what."""

    container: Container
    model_id: str
    task: str
    endpoint_name: str | None = None
    """Answer only this name, as SageMaker would; None answers any."""
    serverless: bool = False
    workers: int = 4

    @property
    def limit(self) -> int:
        return SERVERLESS_LIMIT if self.serverless else REALTIME_LIMIT


class TooLargeError(Exception):
    """A body past the limit (read to its end and dropped, so the client sees the answer)."""


DISCARD_LIMIT: Final = 64 * MB
"""Past this, a too-large body is not even read: the connection is closed."""


async def read_body(request: Request, limit: int) -> bytes:
    """The body, streamed (Content-Length or chunked). Past `limit` it is refused; the rest is
    read and dropped (up to DISCARD_LIMIT), as a client that sends all before it reads would
    otherwise see a broken pipe instead of the refusal."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size <= limit:
            chunks.append(chunk)
        elif size > DISCARD_LIMIT:
            break
    if size > limit:
        raise TooLargeError
    return b"".join(chunks)


def _respond(answer: ContainerAnswer, headers: dict[str, str] | None = None) -> Response:
    return Response(answer.body, answer.status, headers=headers, media_type=answer.content_type)


def _service_error(status: int, code: str, message: str, **fields: Any) -> Response:
    """An error as SageMaker's runtime sends it: botocore reads the code from the header."""
    LOG.info("%s %s: %s", status, code, message[:200])
    headers = {"x-amzn-ErrorType": code, "x-amzn-RequestId": str(uuid.uuid4())}
    if status == 413:
        headers["Connection"] = "close"  # what is left of the body is not read
    return JSONResponse({"message": message, **fields}, status, headers=headers)


def build_app(endpoint: Endpoint) -> Starlette:
    """The ASGI application serving `endpoint`."""
    workers = anyio.CapacityLimiter(endpoint.workers)

    async def run(body: bytes, content_type: str | None, accept: str | None) -> ContainerAnswer:
        return await anyio.to_thread.run_sync(
            endpoint.container.invoke, body, content_type, accept, limiter=workers
        )

    async def ping(request: Request) -> Response:
        return _respond(HEALTHY)

    async def invocations(request: Request) -> Response:
        try:
            body = await read_body(request, MMS_MAX_BYTES)
        except TooLargeError:
            return _respond(REQUEST_TOO_LARGE, {"Connection": "close"})
        headers = request.headers
        return _respond(await run(body, headers.get("content-type"), headers.get("accept")))

    async def invoke_endpoint(request: Request) -> Response:
        name = request.path_params["name"]
        request_id = str(uuid.uuid4())
        try:
            body = await read_body(request, endpoint.limit)
        except TooLargeError:
            return _service_error(
                413, "ValidationError", f"Request {request_id} has oversize body."
            )
        if endpoint.endpoint_name not in (None, name):
            return _service_error(
                400, "ValidationError", f"Endpoint {name} of account {ACCOUNT_ID} not found."
            )
        headers = request.headers
        answer = await run(body, headers.get("content-type"), headers.get("accept"))
        if answer.status == 200 and len(answer.body) > endpoint.limit:
            # AWS does not document its text for this; the shape is that of a model failure.
            answer = ContainerAnswer(
                500,
                f"the model's answer of {len(answer.body)} bytes is over InvokeEndpoint's "
                f"{endpoint.limit // MB} MB limit".encode(),
            )
        if answer.status == 200:
            return _respond(
                answer,
                {"x-Amzn-Invoked-Production-Variant": "AllTraffic", "x-amzn-RequestId": request_id},
            )
        original = answer.body.decode(errors="replace")
        kind = "client" if answer.status < 500 else "server"
        return _service_error(
            424,
            "ModelError",
            f"Received {kind} error ({answer.status}) from primary with message "
            f'"{original}". See the local server\'s log for more information.',
            OriginalStatusCode=answer.status,
            OriginalMessage=original,
            LogStreamArn=f"arn:aws:logs:local:{ACCOUNT_ID}:log-group:/aws/sagemaker/Endpoints/{name}",
        )

    async def sagemaker_api(request: Request) -> Response:
        target = request.headers.get("x-amz-target", "")
        try:
            payload = await read_body(request, MB)
        except TooLargeError:
            return _service_error(413, "ValidationException", "the request is too large")
        status, answer = control_plane.answer(target, payload, endpoint)
        return JSONResponse(
            answer,
            status,
            media_type="application/x-amz-json-1.1",
            headers={"x-amzn-RequestId": str(uuid.uuid4())},
        )

    async def not_found(request: Request, _: Exception) -> Response:
        return _respond(NOT_FOUND)

    app = Starlette(
        routes=[
            Route("/ping", ping, methods=["GET"]),
            Route("/invocations", invocations, methods=["POST"]),
            Route("/endpoints/{name}/invocations", invoke_endpoint, methods=["POST"]),
            Route("/", sagemaker_api, methods=["POST"]),
        ],
        exception_handlers={404: not_found, 405: not_found},
    )
    return AccessLog(app)  # type: ignore[return-value]


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class AccessLog:
    """One line per request: client, method, path, status, bytes sent, time taken."""

    def __init__(self, app: Starlette) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status, sent = time.perf_counter(), 0, 0

        async def counting(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, counting)
        finally:
            client = scope.get("client") or ("-", 0)
            ACCESS_LOG.info(
                '%s:%s "%s %s" %s %d %.1f ms',
                client[0],
                client[1],
                scope["method"],
                scope["path"],
                status or "-",
                sent,
                1000 * (time.perf_counter() - started),
            )
