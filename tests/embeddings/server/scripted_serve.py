"""A scripted model, and `python -m tests.embeddings.server.scripted_serve`: the local endpoint
as `serve` runs it (uvicorn, signals, drain) around that model, started in a second rather
than after the seconds a real model takes to load.

    python -m tests.embeddings.server.scripted_serve --port 8080 [--host ::1] [--drain 30]
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from embeddings.server import ServeOptions, app, bind
from embeddings.server.contract import parse_json
from embeddings.server.huggingface import Handler, HuggingFaceContainer


@dataclass
class ScriptedModel:
    """A handler's transform that sleeps and answers as each request says, noting what ran.
    A request: {"id": ..., "sleep": seconds, "bytes": size of the answer}."""

    ran: list[str] = field(default_factory=list)

    def transform(self, model: Any, data: Any, content_type: str | None, accept: str) -> str:
        request = parse_json(data)
        time.sleep(request.get("sleep", 0))
        self.ran.append(request["id"])
        return json.dumps([[0.5] * (request.get("bytes", 0) // 4)], separators=(",", ":"))


def scripted_container(model: ScriptedModel) -> HuggingFaceContainer:
    """The HuggingFace container (its queue, order and stopping), with a scripted model."""
    return HuggingFaceContainer(Handler(lambda _: None, transform_fn=model.transform), "")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--drain", type=float, default=app.DRAIN_SECONDS)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    app.DRAIN_SECONDS = args.drain  # type: ignore[misc]
    options = ServeOptions("scripted", "none", host=args.host, port=args.port, max_concurrency=8)
    return app.serve_app(options, scripted_container(ScriptedModel()), bind(args.host, args.port))


if __name__ == "__main__":
    raise SystemExit(main())
