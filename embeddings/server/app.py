"""The local endpoint's HTTP side: SageMaker's runtime and control plane before a container, on
uvicorn (by its own settings only).

- `POST /endpoints/{name}/invocations`: InvokeEndpoint, as SageMaker's front end: at most
  `max_concurrency` at once (more are throttled), a body limit, 60 s for the container.
- `POST /` with `X-Amz-Target: SageMaker.Describe...`: the control plane.
- The container's own routes (its `Contract`): `/ping`, `/invocations`; TEI's `/health`, `/embed`.

A request whose caller leaves or times out before the model's turn is never computed. On SIGTERM
or Ctrl-C requests waiting for the model are answered at once and the one running has
DRAIN_SECONDS. A connection that never sends a request stays open (uvicorn's keep-alive timeout
starts after a response; it has no setting for a first request).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Final

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from embeddings.server import sagemaker
from embeddings.server.contract import Answer, Container, ServeOptions
from embeddings.server.sagemaker import service_error

LOG = logging.getLogger("embeddings.server")

BODY_IDLE_SECONDS: Final = 10.0
"""How long a request body may pause between two pieces before it is answered 408."""
DISCARD_LIMIT: Final = 64 * sagemaker.MB
"""A body over its limit is read on (and dropped) up to this, so that a client that sends all
before it reads sees the refusal rather than a reset connection."""
WATCH_SECONDS: Final = 0.05
MAX_CONNECTIONS: Final = 4096
"""Connections open at once, idle ones included; past this uvicorn answers 503 at once."""
DRAIN_SECONDS: Final = 30
"""On SIGTERM or Ctrl-C, how long requests in progress may take to finish."""


async def read_body(request: Request, limit: int) -> bytes:
    """The body, Content-Length or chunked: a 413 past `limit` (at once when the client waits for
    `100 Continue` or declares more than DISCARD_LIMIT, else once read), a 408 if it stalls."""
    declared = request.headers.get("content-length", "")
    waits = request.headers.get("expect", "").lower() == "100-continue"
    if declared.isdigit() and int(declared) > limit and (waits or int(declared) > DISCARD_LIMIT):
        raise HTTPException(413)
    chunks, size = [], 0
    stream = request.stream()
    while size <= DISCARD_LIMIT:
        try:
            async with asyncio.timeout(BODY_IDLE_SECONDS):
                chunk = await anext(stream)
        except StopAsyncIteration:
            break
        except TimeoutError:
            raise HTTPException(408) from None
        size += len(chunk)
        if size <= limit:
            chunks.append(chunk)
    if size > limit:
        raise HTTPException(413)
    return b"".join(chunks)


async def answer_of(request: Request, work: Awaitable[Answer], stopped: Answer) -> Answer:
    """`work`'s answer. ClientDisconnect (and `work` cancelled) once the client has gone away;
    `stopped` when uvicorn cancels the request (its drain ended, or a second Ctrl-C)."""

    async def client_gone() -> None:
        while (await request.receive())["type"] != "http.disconnect":
            pass

    task, gone = asyncio.ensure_future(work), asyncio.ensure_future(client_gone())
    try:
        await asyncio.wait((task, gone), return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        return stopped
    finally:
        gone.cancel()
        task.cancel()
    if task.cancelled() or not task.done():
        raise ClientDisconnect
    return task.result()


def _respond(answer: Answer, headers: dict[str, str] | None = None) -> Response:
    return Response(answer.body, answer.status, headers, media_type=answer.content_type)


def build_app(
    options: ServeOptions, container: Container, should_stop: Callable[[], bool] = lambda: False
) -> Starlette:
    """The ASGI application; `should_stop()` says when the server has been told to stop."""
    contract = container.contract
    in_progress = 0
    watching: list[asyncio.Task[None]] = []

    async def watch() -> None:
        while not should_stop():
            await asyncio.sleep(WATCH_SECONDS)
        container.stop()

    def invoke(request: Request, body: bytes) -> Awaitable[Answer]:
        """The container's answer; from the first, the server is watched for its stop."""
        if not watching:
            watching.append(asyncio.ensure_future(watch()))
        headers = request.headers
        return container.invoke(body, headers.get("content-type"), headers.get("accept"))

    async def ping(request: Request) -> Response:
        return _respond(contract.ping)

    async def invocations(request: Request) -> Response:
        body = await read_body(request, contract.request_limit)
        return _respond(await answer_of(request, invoke(request, body), contract.stopping))

    async def invoke_endpoint(request: Request) -> Response:
        nonlocal in_progress
        name = request.path_params["name"]
        if in_progress >= options.max_concurrency:
            message = f"over {options.max_concurrency} invocations at once (--max-concurrency)"
            return service_error(400, "ThrottlingException", message)
        in_progress += 1
        try:
            body = await read_body(request, sagemaker.limit(options))
            if options.endpoint_name not in (None, name):
                missing = f"Endpoint {name} of account {sagemaker.ACCOUNT_ID} not found."
                return service_error(400, "ValidationError", missing)
            timeout = sagemaker.INVOCATION_TIMEOUT_SECONDS
            try:
                if len(body) > contract.request_limit:  # the container's own limit: TEI's 2 MB
                    answer = contract.too_large
                else:
                    work = asyncio.wait_for(invoke(request, body), timeout)
                    answer = await answer_of(request, work, contract.stopping)
            except TimeoutError:
                answer = sagemaker.TIMED_OUT
        finally:
            in_progress -= 1
        return sagemaker.invocation_response(options, name, answer)

    async def control_plane(request: Request) -> Response:
        payload = await read_body(request, sagemaker.MB)  # Describe* calls are small
        return sagemaker.describe(options, request.headers.get("x-amz-target", ""), payload)

    async def refused(request: Request, error: Exception) -> Response:
        """A body that cannot be had: too large, stalled, or its client gone."""
        if isinstance(error, ClientDisconnect):
            LOG.info("%s %s: the client left before its answer", request.method, request.url.path)
            return Response(status_code=499)  # nginx's code for it; nobody receives it
        if getattr(error, "status_code", 0) == 408:
            return service_error(408, "RequestTimeout", "the request body stopped arriving")
        if request.url.path in contract.invocation_paths:
            return _respond(contract.too_large, {"Connection": "close"})
        request_id = str(uuid.uuid4())  # InvokeEndpoint's words (and the control plane's)
        oversize = f"Request {request_id} has oversize body."
        return service_error(413, "ValidationError", oversize, request_id)

    async def unrouted(request: Request, error: Exception) -> Response:
        found = getattr(error, "status_code", 404) == 405  # the path, not the method
        answer = contract.method_not_allowed if found else contract.not_found
        return _respond(answer, getattr(error, "headers", None))

    routes = [Route(path, ping, methods=[*contract.ping_methods]) for path in contract.ping_paths]
    for path in contract.invocation_paths:
        routes.append(Route(path, invocations, methods=[*contract.invocation_methods]))
    routes.append(Route("/endpoints/{name}/invocations", invoke_endpoint, methods=["POST"]))
    routes.append(Route("/", control_plane, methods=["POST"]))
    handlers: dict[Any, Callable[[Request, Exception], Awaitable[Response]]] = {404: unrouted}
    handlers |= {405: unrouted, 408: refused, 413: refused, ClientDisconnect: refused}
    app = Starlette(routes=routes, exception_handlers=handlers)
    app.router.redirect_slashes = False
    return app


def serve_app(options: ServeOptions, container: Container, listener: socket.socket) -> int:
    """Serve until SIGINT or SIGTERM, drain, and return 0."""
    import uvicorn

    server: uvicorn.Server | None = None
    app = build_app(options, container, lambda: server is not None and server.should_exit)
    config = uvicorn.Config(
        app,
        lifespan="off",
        log_config=None,
        timeout_graceful_shutdown=DRAIN_SECONDS,
        limit_concurrency=MAX_CONNECTIONS,
    )
    server = uvicorn.Server(config)
    # uvicorn drains on SIGINT/SIGTERM, then raises the signal again for the handler it found:
    # this one notes it, so the command ends normally with 0 instead of dying of the signal.
    received: list[str] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda number, _: received.append(signal.Signals(number).name))
    host, port = listener.getsockname()[:2]
    url = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
    name = options.endpoint_name or "any name"
    LOG.info(
        "listening on %s (endpoint: %s); point boto3 there: AWS_ENDPOINT_URL=%s", url, name, url
    )
    _raise_open_file_limit()
    server.run(sockets=[listener])
    how = f" on {received[0]}" if received else ""
    if container.busy:  # a prediction outlived the drain: its thread cannot be stopped
        LOG.info("stopped%s, abandoning the prediction in progress", how)
        logging.shutdown()
        os._exit(0)
    LOG.info("stopped%s", how)
    return 0


def _raise_open_file_limit() -> None:
    """Each connection is a file: room for MAX_CONNECTIONS and more (macOS allows 10240), so
    that a burst past the usual soft limit (1024, or macOS's 256) does not make accept() fail."""
    with contextlib.suppress(ImportError, ValueError, OSError):  # Windows has no such limit
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        wanted = 10240 if hard == resource.RLIM_INFINITY else min(hard, 10240)
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, wanted), hard))
