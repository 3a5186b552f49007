"""The local endpoint's HTTP side: SageMaker's runtime and control plane in front of a container.

- `POST /endpoints/{name}/invocations`: InvokeEndpoint, what boto3 calls once `AWS_ENDPOINT_URL`
  points here. As SageMaker's front end: at most `max_concurrency` invocations at once (more
  are throttled), bodies refused past its limit, 60 s for the container to answer.
- `POST /` with `X-Amz-Target: SageMaker.Describe...`: the control plane.
- The container's own routes (its `Contract`): `/ping`, `/invocations`; TEI's `/health`, `/embed`.

A request whose caller leaves or times out before the model's turn is never computed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from embeddings.server import sagemaker
from embeddings.server.contract import Answer, Container
from embeddings.server.options import ServeOptions
from embeddings.server.sagemaker import service_error

LOG = logging.getLogger("embeddings.server")

BODY_IDLE_SECONDS: Final = 10.0
"""How long a request body may pause between two pieces before it is answered 408."""
DISCARD_LIMIT: Final = 64 * sagemaker.MB
"""A body over its limit is read on (and dropped) up to this, so that a client that sends all
before it reads sees the refusal rather than a reset connection."""
WATCH_SECONDS: Final = 0.05


class TooLargeError(Exception):
    pass


class BodyStalledError(Exception):
    pass


async def read_body(request: Request, limit: int) -> bytes:
    """The body, Content-Length or chunked. TooLargeError past `limit`: at once when the client
    waits for `100 Continue` or declares more than DISCARD_LIMIT, else once it is read."""
    declared = request.headers.get("content-length", "")
    waits = request.headers.get("expect", "").lower() == "100-continue"
    if declared.isdigit() and int(declared) > limit and (waits or int(declared) > DISCARD_LIMIT):
        raise TooLargeError
    chunks, size = [], 0
    stream = request.stream()
    while size <= DISCARD_LIMIT:
        try:
            async with asyncio.timeout(BODY_IDLE_SECONDS):
                chunk = await anext(stream)
        except StopAsyncIteration:
            break
        except TimeoutError:
            raise BodyStalledError from None
        size += len(chunk)
        if size <= limit:
            chunks.append(chunk)
    if size > limit:
        raise TooLargeError
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
                work = asyncio.wait_for(invoke(request, body), timeout)
                answer = await answer_of(request, work, contract.stopping)
            except TimeoutError:
                answer = sagemaker.TIMED_OUT
        finally:
            in_progress -= 1
        return sagemaker.invocation_response(options, name, answer)

    async def control_plane(request: Request) -> Response:
        payload = await read_body(request, sagemaker.MB)
        return sagemaker.describe(options, request.headers.get("x-amz-target", ""), payload)

    async def refused(request: Request, error: Exception) -> Response:
        """A body that cannot be had: too large, stalled, or its client gone."""
        if isinstance(error, ClientDisconnect):
            LOG.info("%s %s: the client left before its answer", request.method, request.url.path)
            return Response(status_code=499)  # nginx's code for it; nobody receives it
        if isinstance(error, BodyStalledError):
            return service_error(408, "RequestTimeout", "the request body stopped arriving")
        if request.url.path.startswith("/endpoints/"):
            return sagemaker.oversize()
        if request.url.path == "/":
            return service_error(413, "ValidationException", "a control-plane call over 1 MB")
        return _respond(contract.too_large, {"Connection": "close"})

    async def not_found(request: Request, error: Exception) -> Response:
        return _respond(contract.not_found)

    async def method_not_allowed(request: Request, error: Exception) -> Response:
        return _respond(contract.method_not_allowed, getattr(error, "headers", None))

    routes = [
        Route(path, ping, methods=list(contract.ping_methods)) for path in contract.ping_paths
    ]
    routes += [
        Route(path, invocations, methods=list(contract.invocation_methods))
        for path in contract.invocation_paths
    ]
    routes.append(Route("/endpoints/{name}/invocations", invoke_endpoint, methods=["POST"]))
    routes.append(Route("/", control_plane, methods=["POST"]))
    handlers: dict[Any, Callable[[Request, Exception], Awaitable[Response]]] = {404: not_found}
    handlers |= {405: method_not_allowed, TooLargeError: refused, BodyStalledError: refused}
    handlers[ClientDisconnect] = refused
    app = Starlette(routes=routes, exception_handlers=handlers)
    app.router.redirect_slashes = False
    return app
