"""Bring up a throw-away stack in a real account, check it end to end, always destroy it.

    pytest -m integration                       # region: ALEX_INTEGRATION_REGION or us-east-1

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


def test_deploy_verify_embed_destroy(tmp_path: Path) -> None:
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

        vectors = EmbeddingClient(endpoint_name, region).embed(["vectorize me", "second text"])
        assert [len(vector) for vector in vectors] == [384, 384]
        for vector in vectors:
            assert math.isclose(math.fsum(x * x for x in vector), 1.0, rel_tol=1e-6)
    finally:
        stack.destroy(on_output=print)
        stack.workspace.remove_stack(stack_name)
