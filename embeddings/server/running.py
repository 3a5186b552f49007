"""uvicorn serving the app with its own settings, and stopping it as a container stops.

On SIGTERM or Ctrl-C uvicorn stops accepting and closes idle connections; the app answers the
requests waiting for the model at once (`Container.stop`), the one running has DRAIN_SECONDS
to finish, and what uvicorn then cancels is answered as stopped. uvicorn has no setting for a
connection that never sends a request (its keep-alive timeout starts after a first response),
so such a connection stays open until its client or the server closes it.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
from typing import Final

from embeddings.server.app import build_app
from embeddings.server.contract import Container
from embeddings.server.options import ServeOptions

LOG = logging.getLogger("embeddings.server")

MAX_CONNECTIONS: Final = 4096
"""Connections open at once, idle ones included; past this uvicorn answers 503 at once."""
IDLE_SECONDS: Final = 5
"""How long a keep-alive connection may sit idle after a response."""
DRAIN_SECONDS: Final = 30
"""On SIGTERM or Ctrl-C, how long requests in progress may take to finish."""


def serve_app(options: ServeOptions, container: Container, listener: socket.socket) -> int:
    """Serve until SIGINT or SIGTERM, drain, and return 0."""
    import uvicorn

    server: uvicorn.Server | None = None
    app = build_app(options, container, lambda: server is not None and server.should_exit)
    config = uvicorn.Config(
        app,
        lifespan="off",
        log_config=None,
        timeout_keep_alive=IDLE_SECONDS,
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
    LOG.info(
        "listening on %s: InvokeEndpoint at POST /endpoints/<%s>/invocations, Describe* at "
        "POST /, the container at /invocations and /ping; point boto3 here with "
        "AWS_ENDPOINT_URL=%s",
        *(url, options.endpoint_name or "any name", url),
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
    """Each connection is a file: take the hard limit (at most 65536; macOS allows 10240),
    so that a burst past the usual soft limit of 1024 does not make accept() fail."""
    try:
        import resource
    except ImportError:  # Windows has no such limit
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    for wanted in (65536 if hard == resource.RLIM_INFINITY else min(hard, 65536), 10240):
        try:
            if soft < wanted:
                resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            return
        except (ValueError, OSError):
            continue
