"""What AWS accepts for a setting, read from botocore's service models wherever they state it.

botocore ships the models boto3 checks requests against: name patterns and lengths, ranges,
the instance-type enum, the partitions. The few numbers no model states are written here with
their source.
"""

from __future__ import annotations

import difflib
import functools
import os
import re
from collections.abc import Collection
from fractions import Fraction
from typing import Any, Final, Literal

import botocore.exceptions
import botocore.loaders
import botocore.session
import pulumi
from pydantic import Field, StringConstraints

INTEGER_MAX: Final = 2**31 - 1
"""AWS models' integers are 32-bit: the most any integer setting can be."""
MAX_MANAGED_POLICIES_PER_ROLE: Final = 20
"""IAM quotas: managed policies per role, 10 by default and 20 at most with an increase."""
SERVERLESS_MEMORY_STEP_MB: Final = 1024
"""The model states 1024-6144 for serverless memory; its documentation, steps of 1 GB."""
MAX_IAM_PROPAGATION_SECONDS: Final = 600
"""Ours, not AWS's: IAM changes reach SageMaker in seconds; more is most likely a slip."""
LogRetentionDays = Literal[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
    2922, 3288, 3653,
]  # fmt: skip
"""CloudWatch Logs' retention values: the model types them as integers and lists them in its
documentation of `Days` (a test keeps the two equal)."""


@functools.cache
def _load(name: str, kind: str = "service-2") -> Any:
    loader = botocore.loaders.create_loader()
    return loader.load_data(name) if kind == "data" else loader.load_service_model(name, kind)


def shape(service: str, name: str) -> dict[str, Any]:
    """A shape of `service`'s model: `min`, `max`, `pattern`, `enum`, `documentation`..."""
    found: dict[str, Any] = _load(service)["shapes"][name]
    return found


def string(service: str, name: str, max_length: int | None = None) -> StringConstraints:
    """A string shape's pattern, matched against the whole value, and its lengths."""
    limits = shape(service, name)
    return StringConstraints(
        pattern=f"^(?:{limits.get('pattern', '.*')})$",
        min_length=limits.get("min"),
        max_length=max_length or limits.get("max"),
    )


def interval(service: str, name: str) -> Any:
    """An integer shape's range; 32-bit where the model states no maximum."""
    limits = shape(service, name)
    return Field(ge=limits.get("min"), le=limits.get("max", INTEGER_MAX))


def at_least(minimum: int) -> Any:
    return Field(ge=minimum, le=INTEGER_MAX)


def instance_types() -> frozenset[str]:
    """Every instance type CreateEndpointConfig accepts for a production variant."""
    return frozenset(shape("sagemaker", "ProductionVariantInstanceType")["enum"])


def partition_of(region: str) -> str | None:
    """`aws`, `aws-cn`, `aws-us-gov`...: botocore's partition table, by name or by pattern."""
    partitions = _load("partitions", "data")["partitions"]
    for partition in partitions:
        if region in partition["regions"]:
            return str(partition["id"])
    for partition in partitions:
        if re.fullmatch(partition["regionRegex"], region, flags=re.ASCII):
            return str(partition["id"])
    return None


def provider_region() -> str | None:
    """The region the default AWS provider deploys to, found the way the provider finds it."""
    provider = pulumi.Config("aws")
    region = provider.get("region") or os.environ.get("AWS_REGION")
    if region := region or os.environ.get("AWS_DEFAULT_REGION"):
        return region
    try:
        session = botocore.session.Session(profile=provider.get("profile"))
        found = session.get_config_variable("region")
    except botocore.exceptions.BotoCoreError:
        return None
    return str(found) if found else None


def suggestion(word: str, known: Collection[str]) -> str:
    """`; did you mean X?` for the closest known word, or nothing."""
    by_lower = {candidate.lower(): candidate for candidate in known}
    close = difflib.get_close_matches(word.lower(), by_lower, n=1, cutoff=0.6)
    return f"; did you mean {by_lower[close[0]]}?" if close else ""


# Go's time.ParseDuration, which the time provider's create_duration goes through: numbers with
# an optional fraction, each with a unit, or a bare "0". No sign: a wait cannot be negative.
_GO_UNITS: Final = {
    "ns": Fraction(1, 10**9), "us": Fraction(1, 10**6), "µs": Fraction(1, 10**6),
    "μs": Fraction(1, 10**6), "ms": Fraction(1, 10**3), "s": Fraction(1), "m": Fraction(60),
    "h": Fraction(3600),
}  # fmt: skip
_GO_PART: Final = rf"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)({'|'.join(_GO_UNITS)})"


def go_duration_seconds(value: str) -> Fraction | None:
    """The duration in seconds, or None where Go would refuse it."""
    if value == "0":
        return Fraction(0)
    if not re.fullmatch(f"(?:{_GO_PART})+", value):
        return None
    parts = re.findall(_GO_PART, value)
    if any(len(number) > 30 for number, _ in parts):
        return Fraction(10**30)  # past any cap, and past what Go's int64 nanoseconds hold
    return sum((Fraction(n) * _GO_UNITS[u] for n, u in parts), Fraction(0))
