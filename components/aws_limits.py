"""What AWS accepts for a setting, read from the service models botocore ships (patterns,
lengths, ranges, the instance-type enum, partitions); the few numbers no model states are
written here with their source."""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Collection
from typing import Any, Final

import botocore.loaders
from pydantic import Field, StringConstraints

INTEGER_MAX: Final = 2**31 - 1
"""AWS models' integers are 32-bit: the most any integer setting can be."""
MAX_MANAGED_POLICIES_PER_ROLE: Final = 20
"""IAM quotas: managed policies per role, 10 by default and 20 at most with an increase."""
SERVERLESS_MEMORY_STEP_MB: Final = 1024
"""The model states 1024-6144 for serverless memory; its documentation, steps of 1 GB."""
MAX_IAM_PROPAGATION_SECONDS: Final = 600
"""Ours, not AWS's: IAM changes reach SageMaker in seconds; more is most likely a slip."""


@functools.cache
def _model(service: str) -> Any:
    return botocore.loaders.create_loader().load_service_model(service, "service-2")


def shape(service: str, name: str) -> dict[str, Any]:
    """A shape of `service`'s model: `min`, `max`, `pattern`, `enum`, `documentation`..."""
    found: dict[str, Any] = _model(service)["shapes"][name]
    return found


def string(service: str, name: str) -> StringConstraints:
    """A string shape's pattern, matched against the whole value, and its lengths."""
    limits = shape(service, name)
    return StringConstraints(
        pattern=f"^(?:{limits.get('pattern', '.*')})$",
        min_length=limits.get("min"),
        max_length=limits.get("max"),
    )


def interval(service: str, name: str) -> Any:
    """An integer shape's range; 32-bit where the model states no maximum."""
    limits = shape(service, name)
    return Field(ge=limits.get("min"), le=limits.get("max", INTEGER_MAX))


def at_least(minimum: int) -> Any:
    return Field(ge=minimum, le=INTEGER_MAX)


def log_retention_days() -> tuple[int, ...]:
    """The retentions CloudWatch Logs accepts: its model types `Days` as an integer and lists
    the values in its documentation ("Possible values are: 1, 3, ... and 3653.")."""
    listed = shape("logs", "Days")["documentation"].split("Possible values are: ")[1]
    return tuple(int(days) for days in re.findall(r"[0-9]+", listed.split(".")[0]))


def instance_types() -> frozenset[str]:
    """Every instance type CreateEndpointConfig accepts for a production variant."""
    return frozenset(shape("sagemaker", "ProductionVariantInstanceType")["enum"])


def partition_of(region: str) -> str | None:
    """`aws`, `aws-cn`, `aws-us-gov`...: botocore's partition table (read without any profile),
    a region by name, else by pattern."""
    partitions = botocore.loaders.create_loader().load_data("partitions")["partitions"]
    named = [p for p in partitions if region in p["regions"]]
    patterned = [p for p in partitions if re.fullmatch(p["regionRegex"], region, flags=re.ASCII)]
    return str((named or patterned)[0]["id"]) if named or patterned else None


def suggestion(word: str, known: Collection[str]) -> str:
    """`; did you mean X?` for the closest known word, or nothing."""
    by_lower = {candidate.lower(): candidate for candidate in known}
    close = difflib.get_close_matches(word.lower(), by_lower, n=1, cutoff=0.6)
    return f"; did you mean {by_lower[close[0]]}?" if close else ""


_GO_UNIT_SECONDS: Final = {
    "ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0
}  # fmt: skip


def go_duration_seconds(value: str) -> float | None:
    """The duration in seconds, or None where Go's time.ParseDuration (which the time
    provider's create_duration reads) refuses it: numbers with units, or a bare "0"."""
    parts = re.findall(rf"([0-9]+\.?[0-9]*|\.[0-9]+)({'|'.join(_GO_UNIT_SECONDS)})", value)
    if value != "0" and (not parts or "".join(n + u for n, u in parts) != value):
        return None
    return sum(float(number) * _GO_UNIT_SECONDS[unit] for number, unit in parts)
