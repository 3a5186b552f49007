"""The integration test is collected by every run and skipped for the right reason."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.integration.conftest import OFF, why_not_runnable

ROOT = Path(__file__).resolve().parent.parent


def run_pytest(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/integration",
            "-rs",
            "-p",
            "no:cacheprovider",
            *args,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_default_run_collects_it_and_skips_it_as_off() -> None:
    result = run_pytest(env=dict(os.environ))

    assert result.returncode == 0, result.stdout
    assert "2 skipped" in result.stdout
    assert "deploys a real SageMaker endpoint" in result.stdout


def test_selected_without_credentials_or_cli_is_skipped_saying_what_is_missing(
    tmp_path: Path,
) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("AWS_") and key != "PATH"
    }
    env.update(
        PATH=os.path.dirname(sys.executable),  # no pulumi here
        AWS_CONFIG_FILE=str(tmp_path / "none"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
        AWS_EC2_METADATA_DISABLED="true",
    )

    result = run_pytest("-m", "integration", env=env)

    assert result.returncode == 0, result.stdout
    assert "2 skipped" in result.stdout
    assert "integration test selected, but" in result.stdout


def test_gate_reasons() -> None:
    assert why_not_runnable("") == OFF
    assert why_not_runnable("not integration") == OFF
