"""Which endpoint, in which region, for the library and the command line alike: the explicit
value, else the variable from the environment, else from `.env` in the working directory (the
Alex app's convention); then the reference's endpoint name, and boto3's chain for the region.
Both are checked as SageMaker and botocore check them, so that a name that cannot exist is
refused before anything is sent rather than answered with something else."""

from __future__ import annotations

import functools
import os
import re
from typing import Final

import boto3
import botocore.session
from botocore.exceptions import InvalidRegionError
from botocore.utils import validate_region_name
from dotenv import dotenv_values

from embeddings.errors import ConfigurationError, InvalidInputError

DEFAULT_ENDPOINT_NAME: Final = "alex-embedding-endpoint"


@functools.cache
def _endpoint_name_rule() -> tuple[re.Pattern[str], int]:
    """InvokeEndpoint's own pattern and length limit for EndpointName, from botocore's model."""
    model = botocore.session.get_session().get_service_model("sagemaker-runtime")
    shape = model.shape_for("EndpointName")  # the InvokeEndpoint argument's own shape
    return re.compile(shape.metadata["pattern"]), shape.metadata["max"]


def endpoint_name_problem(name: str) -> str:
    """What is wrong with `name` as an endpoint name, or "" when SageMaker allows it."""
    pattern, longest = _endpoint_name_rule()
    if len(name) <= longest and pattern.fullmatch(name):
        return ""
    return (
        f"endpoint name {name[:80]!r}{'...' if len(name) > 80 else ''} ({len(name)} characters) "
        f"cannot exist: SageMaker allows up to {longest} letters, digits and hyphens, starting "
        "and ending with a letter or digit"
    )


def _setting(explicit: str | None, variable: str) -> str | None:
    if value := explicit or os.environ.get(variable):
        return value
    try:
        return dotenv_values(".env").get(variable) or None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigurationError(f".env in {os.getcwd()} cannot be read: {error}") from None


def resolve(endpoint: str | None, region: str | None, session: boto3.Session) -> tuple[str, str]:
    """The endpoint's name and region; a ConfigurationError when no region is set anywhere, an
    InvalidInputError naming each of them that cannot exist (an empty one given too)."""
    empty = [f"{what} is empty; give one or leave it unset" for what, value in
             (("the endpoint name", endpoint), ("the region", region)) if value == ""]  # fmt: skip
    if empty:
        raise InvalidInputError("; ".join(empty))
    found_region = _setting(region, "DEFAULT_AWS_REGION") or session.region_name
    if not found_region:
        raise ConfigurationError(
            "no AWS region configured; pass --region (region= in Python), or set "
            "DEFAULT_AWS_REGION (environment or .env), AWS_REGION or AWS_DEFAULT_REGION"
        )
    name = _setting(endpoint, "SAGEMAKER_ENDPOINT") or DEFAULT_ENDPOINT_NAME
    problems = [endpoint_name_problem(name)]
    try:
        validate_region_name(found_region)
    except InvalidRegionError:
        problems.append(f"region {found_region[:80]!r} is not a region name, such as us-east-1")
    if problems := [problem for problem in problems if problem]:
        raise InvalidInputError("; ".join(problems))
    return name, found_region
