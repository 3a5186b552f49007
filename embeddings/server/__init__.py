"""The local endpoint behind `python -m embeddings serve`.

Importing this package is cheap; transformers and torch load only when a model does.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from pathlib import Path
from types import FrameType

from embeddings.errors import ConfigurationError
from embeddings.server.app import LocalEndpointServer, ModelRuntime
from embeddings.server.handler import Handler, ModelSource, load_user_handler

LOG = logging.getLogger("embeddings.server")

__all__ = ["LocalEndpointServer", "ModelRuntime", "ModelSource", "build_server", "serve"]


def build_server(
    source: ModelSource,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    workers: int = 4,
    endpoint_name: str | None = None,
    handler_path: Path | None = None,
) -> LocalEndpointServer:
    """Load the model through the handler and bind the server (not yet serving)."""
    try:
        handler = load_user_handler(handler_path, source.task) if handler_path else None
        handler = handler or Handler.default(source.task)
        started = time.monotonic()
        model_dir = source.directory()
        runtime = ModelRuntime(handler, model_dir)
    except ModuleNotFoundError as error:
        raise ConfigurationError(
            f"the local endpoint needs {error.name}: pip install -r requirements-local.txt"
        ) from None
    where = (
        "code " + ", ".join(handler.custom) + f" from {handler_path}"
        if handler.custom
        else ("the container's default handler")
    )
    LOG.info(
        "loaded %s (task %s) from %s in %.1f s with %s",
        source.model,
        source.task,
        model_dir,
        time.monotonic() - started,
        where,
    )
    return LocalEndpointServer((host, port), runtime, workers=workers, endpoint_name=endpoint_name)


def serve(server: LocalEndpointServer) -> int:
    """Serve until SIGINT or SIGTERM, then finish requests in progress and stop."""

    def stop(signum: int, _frame: FrameType | None) -> None:
        LOG.info("received %s, shutting down", signal.Signals(signum).name)
        # shutdown() waits for serve_forever, which runs in this (the main) thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    names = "any name" if server.endpoint_name is None else server.endpoint_name
    LOG.info(
        "listening on %s: InvokeEndpoint at POST /endpoints/<%s>/invocations, container "
        "contract at POST /invocations and GET /ping; for boto3 set "
        "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME=%s",
        server.url,
        names,
        server.url,
    )
    try:
        server.serve_forever(poll_interval=0.5)
    finally:
        server.server_close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        LOG.info("stopped")
    return 0
