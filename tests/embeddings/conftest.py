"""Fixtures for the runtime side: fake AWS credentials, no stray configuration, fixture data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

FIXTURE = json.loads(
    (Path(__file__).resolve().parents[1] / "fixtures" / "token_level.json").read_text()
)


@pytest.fixture(autouse=True)
def isolated_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No real credentials, endpoint or region leak in; the working directory has no .env."""
    for variable in (
        "AWS_PROFILE",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME",
        "SAGEMAKER_ENDPOINT",
        "DEFAULT_AWS_REGION",
    ):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def token_level() -> list[Any]:
    """The real container's token-level answer for FIXTURE["texts"]."""
    return list(FIXTURE["token_level"])


@pytest.fixture
def expected_embeddings() -> list[list[float]]:
    """sentence-transformers' embeddings of FIXTURE["texts"]."""
    return list(FIXTURE["sentence_transformers"])


@pytest.fixture(scope="session")
def boto3_session() -> boto3.Session:
    """One session for tests that build clients again and again: botocore then reads each
    service's model once (the SageMaker one takes a third of a second)."""
    import moto  # noqa: F401  (a session made after it carries moto's request hook)

    return boto3.Session()
