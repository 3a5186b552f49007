"""Which endpoint, in which region, for the library and the command line alike: the explicit
value, else the variable from the environment, else from `.env` in the working directory (the
Alex app's convention); then the reference's endpoint name, and boto3's chain for the region."""

from __future__ import annotations

import os
from typing import Final

import boto3
from dotenv import dotenv_values

from embeddings.errors import ConfigurationError

DEFAULT_ENDPOINT_NAME: Final = "alex-embedding-endpoint"


def _setting(explicit: str | None, variable: str) -> str | None:
    if value := explicit or os.environ.get(variable):
        return value
    try:
        return dotenv_values(".env").get(variable) or None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigurationError(f".env in {os.getcwd()} cannot be read: {error}") from None


def resolve(endpoint: str | None, region: str | None, session: boto3.Session) -> tuple[str, str]:
    """The endpoint's name and region, or a ConfigurationError when no region is set anywhere."""
    found_region = _setting(region, "DEFAULT_AWS_REGION") or session.region_name
    if not found_region:
        raise ConfigurationError(
            "no AWS region configured; pass --region (region= in Python), or set "
            "DEFAULT_AWS_REGION (environment or .env) or AWS_REGION"
        )
    return _setting(endpoint, "SAGEMAKER_ENDPOINT") or DEFAULT_ENDPOINT_NAME, found_region
