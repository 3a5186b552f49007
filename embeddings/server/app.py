"""The local endpoint's HTTP API: SageMaker's runtime and control plane in front of the container.

Routes:
- `POST /endpoints/{name}/invocations`: InvokeEndpoint, what boto3 calls once `AWS_ENDPOINT_URL`
  (or `AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME`) points here. Answers and errors have SageMaker's
  shape, so boto3 raises the exceptions it raises against AWS.
- `POST /` with `X-Amz-Target: SageMaker.Describe...`: the control-plane calls `status`, `wait`
  and `verify` make (DescribeEndpoint, DescribeEndpointConfig, DescribeModel).
- `/invocations` and `/ping`: the container contract, answered as the container's own server
  does (its `Contract`): multi-model-server's (any method, trailing slash or not) for the
  HuggingFace image, TEI's router's (POST /invocations or /embed, GET /ping or /health) for
  Text Embeddings Inference. TEI's own `POST /` is not served: `/` is the control plane here.

What SageMaker's front end does, this does too: at most `max_concurrency` invocations at once
(more are throttled), bodies read as they arrive and refused past the limit, and 60 s for the
container to answer. Predictions run one at a time in worker threads; a request whose caller
timed out or went away before its turn is dropped, not computed.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
import uuid
import weakref
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import anyio
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from embeddings.server import control_plane
from embeddings.server.container import (
    ANY_METHOD,
    CONTAINER_QUEUE,
    DEFAULT_THREADS,
    ContainerAnswer,
    ModelContainer,
)
from embeddings.server.protocol import HEADER_TIMEOUT_SECONDS

LOG = logging.getLogger("embeddings.server")
ACCESS_LOG = logging.getLogger("embeddings.server.access")

MB: Final = 1024 * 1024
REALTIME_LIMIT: Final = 6 * MB
"""InvokeEndpoint's request and response limit on a realtime endpoint."""
SERVERLESS_LIMIT: Final = 4 * MB
"""...and on a serverless one."""
DISCARD_LIMIT: Final = 64 * MB
"""Past this, a too-large body is not even read: the connection is closed."""
INVOCATION_TIMEOUT_SECONDS: Final = 60.0
"""How long SageMaker waits for the container to answer an invocation."""
BODY_IDLE_SECONDS: Final = HEADER_TIMEOUT_SECONDS
"""How long a request body may pause between two pieces."""
__all__ = ["CONTAINER_QUEUE", "Endpoint", "build_app"]
ACCOUNT_ID: Final = control_plane.ACCOUNT_ID
CLIENT_GONE: Final = 499
"""The access log's status for a request whose client left before the answer (nginx's)."""
TIMED_OUT_MESSAGE: Final = (
    "Your invocation timed out while waiting for a response from container primary. Review "
    "the latency metrics for each container in Amazon CloudWatch, resolve the issue, and try "
    "again."
)
WATCH_SECONDS: Final = 0.1
"""How often a request in progress looks whether the server is stopping."""


@dataclass
class Endpoint:
    """What the local endpoint serves, and as what."""

    container: ModelContainer
    model_id: str
    task: str
    """The pipeline task (the HuggingFace image's HF_TASK); unused with TEI, which has none."""
    endpoint_name: str | None = None
    """Answer only this name, as SageMaker would; None answers any."""
    serverless: bool = False
    max_concurrency: int = 4
    """Invocations in progress at once, running or waiting their turn; more are throttled."""
    runtime: Literal["huggingface", "tei"] = "huggingface"
    """The image emulated, as DescribeModel reports it."""
    revision: str | None = None
    in_progress: int = field(default=0, init=False)

    @property
    def limit(self) -> int:
        return SERVERLESS_LIMIT if self.serverless else REALTIME_LIMIT


class TooLargeError(Exception):
    """A body past the limit (read to its end and dropped, so the client sees the answer)."""


class BodyTimeoutError(Exception):
    """The client stopped sending its body."""


async def read_body(request: Request, limit: int) -> bytes:
    """The body, streamed (Content-Length or chunked). Past `limit` it is refused; the rest is
    read and dropped (up to DISCARD_LIMIT), as a client that sends all before it reads would
    otherwise see a broken pipe instead of the refusal. A body declared too large is refused
    before a byte of it is read when the client waits to be told to send it (Expect:
    100-continue) or when it is past DISCARD_LIMIT anyway."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        waits = request.headers.get("expect", "").lower() == "100-continue"
        if waits or int(declared) > DISCARD_LIMIT:
            raise TooLargeError
    chunks, size = [], 0
    stream = request.stream().__aiter__()
    while True:
        with anyio.move_on_after(BODY_IDLE_SECONDS) as idle:
            try:
                chunk = await stream.__anext__()
            except StopAsyncIteration:
                break
        if idle.cancelled_caught:
            raise BodyTimeoutError
        size += len(chunk)
        if size <= limit:
            chunks.append(chunk)
        elif size > DISCARD_LIMIT:
            break
    if size > limit:
        raise TooLargeError
    return b"".join(chunks)


async def body_or_refusal(
    request: Request, limit: int, too_large: Callable[[], Response]
) -> bytes | Response:
    """The body, or the answer for a body that cannot be had: `too_large()` past the limit,
    a 408 when it stops arriving, nothing (the client is gone) when the client leaves."""
    try:
        return await read_body(request, limit)
    except TooLargeError:
        return too_large()
    except BodyTimeoutError:
        return _service_error(408, "RequestTimeout", "the request body stopped arriving")
    except ClientDisconnect:
        LOG.info("the client left before sending all of its request")
        return Response(status_code=CLIENT_GONE)


def _respond(answer: ContainerAnswer, headers: dict[str, str] | None = None) -> Response:
    return Response(answer.body, answer.status, headers=headers, media_type=answer.content_type)


def _service_error(
    status: int, code: str, message: str | None, request_id: str | None = None, **fields: Any
) -> Response:
    """An error as SageMaker's runtime sends it: botocore reads the code from the header."""
    LOG.info("%s %s: %s", status, code, " ".join((message or "").split())[:200])
    headers = {"x-amzn-ErrorType": code, "x-amzn-RequestId": request_id or str(uuid.uuid4())}
    if status in (408, 413):
        headers["Connection"] = "close"  # what is left of the body is not read
    return JSONResponse({"message": message, **fields}, status, headers=headers)


_LIMITERS: Final[weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter]] = (
    weakref.WeakKeyDictionary()
)


def _threads(count: int) -> anyio.CapacityLimiter:
    """The worker threads requests wait on inside the container: anyio's default 40, or a
    limiter of `count` of this event loop's own."""
    if count == DEFAULT_THREADS:
        return anyio.to_thread.current_default_thread_limiter()
    loop = asyncio.get_running_loop()
    limiter = _LIMITERS.get(loop)
    if limiter is None or limiter.total_tokens != count:
        limiter = _LIMITERS[loop] = anyio.CapacityLimiter(count)
    return limiter


def _header(request: Request, name: str, which: Literal["first", "last"]) -> str | None:
    """A header's first or last value, as the container's HTTP layer reads a repeated one."""
    values = request.headers.getlist(name)
    return (values[0] if which == "first" else values[-1]) if values else None


async def _predict(
    endpoint: Endpoint, request: Request, body: bytes, timeout: float | None
) -> ContainerAnswer | None:
    """The container's answer, or None when the client went away first.

    A prediction not started when the client leaves or `timeout` passes is never started; one
    already running goes on in its thread (as in the real container) and holds the model until
    it ends. When the server stops, a running one has until shortly before the drain ends, then
    its caller is told the endpoint is stopping, rather than cut off without an answer."""
    abandoned = threading.Event()
    outcome: ContainerAnswer | None = None
    client_left = False
    container = endpoint.container
    contract = container.contract

    async with anyio.create_task_group() as tasks:

        def end(answer: ContainerAnswer | None) -> None:
            nonlocal outcome
            outcome = answer
            abandoned.set()
            tasks.cancel_scope.cancel()

        async def watch_the_client() -> None:
            nonlocal client_left
            while (await request.receive())["type"] != "http.disconnect":
                pass
            client_left = True
            end(None)

        async def watch_for_stop() -> None:
            while container.stop_deadline is None:
                await anyio.sleep(WATCH_SECONDS)
            await anyio.sleep(container.stop_deadline - time.monotonic())
            end(contract.stopping)

        async def run() -> None:
            nonlocal outcome
            try:
                with anyio.fail_after(timeout if timeout is not None else math.inf):
                    answer = await anyio.to_thread.run_sync(
                        container.invoke,
                        body,
                        _header(request, "content-type", contract.repeated_header),
                        _header(request, "accept", contract.repeated_header),
                        abandoned,
                        abandon_on_cancel=True,
                        limiter=_threads(contract.threads),
                    )
            except TimeoutError:
                end(ContainerAnswer(0, TIMED_OUT_MESSAGE.encode()))
                return
            outcome = answer or contract.stopping
            tasks.cancel_scope.cancel()

        tasks.start_soon(watch_the_client)
        tasks.start_soon(watch_for_stop)
        tasks.start_soon(run)
    return None if client_left else outcome


def build_app(endpoint: Endpoint) -> Starlette:
    """The ASGI application serving `endpoint`."""
    queued_at_container = 0
    contract = endpoint.container.contract

    async def ping(request: Request) -> Response:
        return _respond(contract.healthy)

    async def invocations(request: Request) -> Response:
        nonlocal queued_at_container
        if contract.queue_limit is not None and queued_at_container >= contract.queue_limit:
            return _respond(contract.queue_full)
        # A refusal on the headers alone comes first (as TEI's JSON extractor checks the
        # content type before it reads the body); the body is still read, to keep the
        # connection usable.
        refusal = endpoint.container.refuse_headers(
            _header(request, "content-type", contract.repeated_header)
        )
        queued_at_container += 1
        try:
            body = await body_or_refusal(
                request,
                contract.request_limit,
                lambda: _respond(refusal or contract.request_too_large, {"Connection": "close"}),
            )
            if isinstance(body, Response):
                return body
            if refusal is not None:
                return _respond(refusal)
            answer = await _predict(endpoint, request, body, timeout=None)
        finally:
            queued_at_container -= 1
        return Response(status_code=CLIENT_GONE) if answer is None else _respond(answer)

    async def invoke_endpoint(request: Request) -> Response:
        name = request.path_params["name"]
        request_id = str(uuid.uuid4())
        if endpoint.in_progress >= endpoint.max_concurrency:
            # What SageMaker answers past an endpoint's capacity: 400, and no message.
            return _service_error(400, "ThrottlingException", None, request_id)
        endpoint.in_progress += 1
        try:
            return await _invoke_endpoint(request, name, request_id)
        finally:
            endpoint.in_progress -= 1

    async def _invoke_endpoint(request: Request, name: str, request_id: str) -> Response:
        body = await body_or_refusal(
            request,
            endpoint.limit,
            lambda: _service_error(
                413, "ValidationError", f"Request {request_id} has oversize body.", request_id
            ),
        )
        if isinstance(body, Response):
            return body
        if endpoint.endpoint_name not in (None, name):
            return _service_error(
                400,
                "ValidationError",
                f"Endpoint {name} of account {ACCOUNT_ID} not found.",
                request_id,
            )
        answer = await _predict(endpoint, request, body, INVOCATION_TIMEOUT_SECONDS)
        if answer is None:
            return Response(status_code=CLIENT_GONE)
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
        kind = "client" if 400 <= answer.status < 500 else "server"
        return _service_error(
            424,
            "ModelError",
            f"Received {kind} error ({answer.status}) from primary with message "
            f'"{original}". See the local server\'s log for more information.',
            request_id,
            OriginalStatusCode=answer.status,
            OriginalMessage=original,
            LogStreamArn=f"arn:aws:logs:local:{ACCOUNT_ID}:log-group:/aws/sagemaker/Endpoints/{name}",
        )

    async def sagemaker_api(request: Request) -> Response:
        target = request.headers.get("x-amz-target", "")
        payload = await body_or_refusal(
            request,
            MB,
            lambda: _service_error(413, "ValidationException", "the request is too large"),
        )
        if isinstance(payload, Response):
            return payload
        status, answer = control_plane.answer(target, payload, endpoint)
        return JSONResponse(
            answer,
            status,
            media_type="application/x-amz-json-1.1",
            headers={"x-amzn-RequestId": str(uuid.uuid4())},
        )

    async def not_found(request: Request, _: Exception) -> Response:
        return _respond(contract.not_found)

    async def method_not_allowed(request: Request, error: Exception) -> Response:
        answer = contract.method_not_allowed
        allow = (getattr(error, "headers", None) or {}).get("Allow")
        if answer.status != 405 or allow is None:
            return _respond(answer)
        # As axum lists them, GET,HEAD (Starlette's order is a set's).
        order = {method: index for index, method in enumerate(ANY_METHOD)}
        methods = sorted(allow.split(", "), key=lambda method: order.get(method, len(order)))
        return _respond(answer, {"Allow": ",".join(methods)})

    app = Starlette(
        routes=[
            *(
                Route(path, ping, methods=list(contract.ping_methods))
                for path in contract.ping_paths
            ),
            *(
                Route(path, invocations, methods=list(contract.invocation_methods))
                for path in contract.invocation_paths
            ),
            Route("/endpoints/{name}/invocations", invoke_endpoint, methods=["POST"]),
            Route("/", sagemaker_api, methods=["POST"]),
        ],
        exception_handlers={404: not_found, 405: method_not_allowed},
    )
    app.router.redirect_slashes = False
    return AccessLog(app)  # type: ignore[return-value]


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class AccessLog:
    """One line per request: client, method, path, status, bytes sent, time taken. A client
    that left mid-body or before the answer shows as 499."""

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
        except anyio.get_cancelled_exc_class():
            # uvicorn cancels what is still running when a stop is forced (a second Ctrl-C)
            # or the drain runs out: answer it, rather than let uvicorn log a traceback.
            if not status:
                status = 503
                await _stopped(counting)
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


async def _stopped(send: Send) -> None:
    body = b'{"message":"the local endpoint was stopped before it could answer"}'
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"x-amzn-errortype", b"ServiceUnavailable"),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
