"""The README's reuse path, as a later project follows it: copy `components/` and `container/`
(nothing else of this repository) into a new project, build endpoints of every runtime, under
Pulumi mocks, in a fresh interpreter that cannot see this checkout."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COPIED = ("components", "container")
"""What the README says a later project copies."""

PROGRAM = """
import json
import sys

import harness

mocks = harness.start("eu-west-1", {}, [], project="later-project")


def program() -> None:
    from components import EmbeddingEndpoint, EmbeddingEndpointArgs

    EmbeddingEndpoint("tei", EmbeddingEndpointArgs(runtime="tei", endpoint_name="tei-embeddings"))
    EmbeddingEndpoint("handler", EmbeddingEndpointArgs())
    EmbeddingEndpoint(
        "tokens", EmbeddingEndpointArgs(endpoint_name="token-embeddings", sentence_embeddings=False)
    )


mocks.run(program)
models = {
    r.name: r.inputs["primaryContainer"] for r in mocks.of_type("aws:sagemaker/model:Model")
}
archives = [r.name for r in mocks.of_type("aws:s3/bucketObjectv2:BucketObjectv2")]
print(json.dumps({
    "images": {name: container["image"] for name, container in models.items()},
    "archived": sorted(name for name, container in models.items() if "modelDataUrl" in container),
    "archives": archives,
    "this_checkout": sorted(
        name for name in sys.modules if name.split(".")[0] in {"embeddings", "tests", "benchmarks"}
    ),
    "path": [p for p in sys.path if p.startswith(%(root)r) and "site-packages" not in p],
}))
"""


def test_copying_components_and_container_is_enough(tmp_path: Path) -> None:
    project = tmp_path / "later-project"
    project.mkdir()
    for name in COPIED:
        shutil.copytree(ROOT / name, project / name, ignore=shutil.ignore_patterns("__pycache__"))
    # The mocks the repository's tests use: a stand-in for the engine, not part of the copy.
    shutil.copy(ROOT / "tests" / "pulumi_harness.py", project / "harness.py")
    (project / "__main__.py").write_text(PROGRAM % {"root": str(ROOT)})
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}

    finished = subprocess.run(
        [sys.executable, "__main__.py"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert finished.returncode == 0, finished.stderr
    result = json.loads(finished.stdout.strip().splitlines()[-1])
    assert result["this_checkout"] == []
    assert result["path"] == []
    assert result["images"] == {
        "tei-model": "141502667606.dkr.ecr.eu-west-1.amazonaws.com/tei-cpu:"
        "2.0.1-tei1.9.3-cpu-py310-ubuntu24.04",
        "handler-model": "763104351884.dkr.ecr.eu-west-1.amazonaws.com/"
        "huggingface-pytorch-inference:1.13.1-transformers4.26.0-cpu-py39-ubuntu20.04",
        "tokens-model": "763104351884.dkr.ecr.eu-west-1.amazonaws.com/"
        "huggingface-pytorch-inference:1.13.1-transformers4.26.0-cpu-py39-ubuntu20.04",
    }
    assert result["archived"] == ["handler-model"]  # the handler shipped from container/
    assert result["archives"] == ["handler-model-archive"]
