"""Bring up a throw-away stack in a real account, check it end to end, always destroy it.

    pytest -m integration                       # region: ALEX_INTEGRATION_REGION or us-east-1

Once per runtime: the stock HuggingFace container (token vectors, pooled by the client) and
Text Embeddings Inference on the same serverless endpoint shape. The TEI stack also proves what
only AWS can: that TEI's CPU image runs on a serverless endpoint, and that the client learns
its 32-text limit from a real refusal.

Uses the Automation API with a local state backend in a temporary directory, so it touches no
existing stack and leaves no state behind.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from pulumi import automation as auto

from embeddings import EmbeddingClient

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("runtime", ["huggingface", "tei"])
def test_deploy_verify_embed_destroy(tmp_path: Path, runtime: str) -> None:
    suffix = uuid.uuid4().hex[:8]
    stack_name = f"it-{suffix}"
    endpoint_name = f"alex-it-{suffix}"
    region = os.environ.get("ALEX_INTEGRATION_REGION", "us-east-1")
    state = tmp_path / "state"
    state.mkdir()
    workspace = auto.LocalWorkspaceOptions(
        work_dir=str(ROOT),
        env_vars={
            "PULUMI_BACKEND_URL": f"file://{state}",
            "PULUMI_CONFIG_PASSPHRASE": f"integration-{suffix}",
        },
    )
    stack = auto.create_stack(stack_name, work_dir=str(ROOT), opts=workspace)
    try:
        stack.set_all_config(
            {
                "aws:region": auto.ConfigValue(region),
                "alex-sagemaker:endpointName": auto.ConfigValue(endpoint_name),
                "alex-sagemaker:alarms": auto.ConfigValue("false"),
                "alex-sagemaker:logRetentionDays": auto.ConfigValue("1"),
                "alex-sagemaker:keepLogs": auto.ConfigValue("false"),  # destroy leaves nothing
                "alex-sagemaker:runtime": auto.ConfigValue(runtime),
            }
        )
        outputs = stack.up(on_output=print).outputs
        assert outputs["endpoint_name"].value == endpoint_name
        assert outputs["region"].value == region

        for command in ("wait", "verify"):
            result = subprocess.run(
                [sys.executable, "-m", "embeddings", command,
                 "--endpoint", endpoint_name, "--region", region],
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=1800,
                check=False,
            )  # fmt: skip
            print(result.stdout, result.stderr)
            assert result.returncode == 0, result.stdout + result.stderr

        texts = ["vectorize me", "second text", *(f"text number {i}" for i in range(38))]
        vectors = EmbeddingClient(endpoint_name, region).embed(texts)  # over TEI's 32 a request
        assert [len(vector) for vector in vectors] == [384] * len(texts)
        for vector in vectors:
            assert math.isclose(math.fsum(x * x for x in vector), 1.0, rel_tol=1e-6)
        # Different texts, different vectors: nothing was lost or reordered.
        assert len({tuple(round(x, 6) for x in vector) for vector in vectors}) == len(texts)
    finally:
        stack.destroy(on_output=print)
        stack.workspace.remove_stack(stack_name)
