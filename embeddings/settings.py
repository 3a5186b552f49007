"""Which endpoint, in which region: the same answer for the library and the command line.

Endpoint: an explicit value, else `SAGEMAKER_ENDPOINT` from the environment, else from a `.env`
file in the working directory (the Alex app's convention), else `alex-embedding-endpoint`.
Region: an explicit value, else `DEFAULT_AWS_REGION` from the same two places, else boto3's own
chain (`AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's config).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from dotenv import dotenv_values

DEFAULT_ENDPOINT_NAME: Final = "alex-embedding-endpoint"
ENDPOINT_VARIABLE: Final = "SAGEMAKER_ENDPOINT"
REGION_VARIABLE: Final = "DEFAULT_AWS_REGION"


@dataclass(frozen=True)
class Resolved:
    value: str | None
    source: str
    """Where the value came from, for messages such as "region eu-west-1 (from .env)"."""


def read_dotenv(directory: Path | None = None) -> dict[str, str]:
    """Variables of `.env` in `directory` (default: the working directory); empty if none."""
    path = (directory or Path.cwd()) / ".env"
    if not path.is_file():
        return {}
    return {key: value for key, value in dotenv_values(path).items() if value is not None}


def _lookup(
    explicit: str | None,
    variable: str,
    environ: Mapping[str, str] | None,
    dotenv: Mapping[str, str] | None,
    flag: str,
) -> Resolved | None:
    """The explicit value, else the variable from the environment, else from `.env`."""
    environ = os.environ if environ is None else environ
    dotenv = read_dotenv() if dotenv is None else dotenv
    if explicit:
        return Resolved(explicit, flag)
    if environ.get(variable):
        return Resolved(environ[variable], f"{variable} in the environment")
    if dotenv.get(variable):
        return Resolved(dotenv[variable], f"{variable} in .env")
    return None


def resolve_endpoint_name(
    explicit: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    dotenv: Mapping[str, str] | None = None,
) -> Resolved:
    found = _lookup(explicit, ENDPOINT_VARIABLE, environ, dotenv, "--endpoint")
    return found or Resolved(DEFAULT_ENDPOINT_NAME, "the default")


def resolve_region(
    explicit: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    dotenv: Mapping[str, str] | None = None,
    boto3_region: str | None = None,
) -> Resolved:
    found = _lookup(explicit, REGION_VARIABLE, environ, dotenv, "--region")
    if found:
        return found
    return Resolved(boto3_region, "the AWS configuration (AWS_REGION, profile)")
