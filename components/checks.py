"""What AWS accepts for a setting, from botocore's service models wherever they state it.

botocore ships the models boto3 checks requests against: name patterns and lengths, numeric
ranges, the instance-type enum, the partitions. They become pydantic constraints here. The few
numbers no model states are written here with their source.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Collection
from fractions import Fraction
from typing import Any, Final, Literal

import annotated_types
import botocore.loaders
from pydantic import StringConstraints

# IAM quotas (docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html): managed
# policies attached to a role, 10 by default and at most 20 with a quota increase.
MAX_MANAGED_POLICIES_PER_ROLE: Final = 20
# CloudWatch Logs PutRetentionPolicy: the model types retentionInDays as a bare integer and lists
# the values in its documentation; a test keeps this copy equal to that list.
LogRetentionDays = Literal[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
    2922, 3288, 3653,
]  # fmt: skip
# AWS models' integer shapes are 32-bit: the most any integer setting can be.
INTEGER_MAX: Final = 2**31 - 1
# The model states 1024-6144 for serverless memory; its documentation, steps of 1 GB.
SERVERLESS_MEMORY_STEP_MB: Final = 1024
# Our cap, not AWS's: IAM changes reach SageMaker in seconds, and every deploy that replaces
# the role pays the wait; more is most likely a slip (15m for 15s).
MAX_IAM_PROPAGATION_SECONDS: Final = 600


@functools.cache
def _load(name: str, kind: str = "service-2") -> Any:
    loader = botocore.loaders.create_loader()
    return loader.load_data(name) if kind == "data" else loader.load_service_model(name, kind)


def shape(service: str, name: str) -> dict[str, Any]:
    """A shape of `service`'s model: `min`, `max`, `pattern`, `enum`, `documentation`..."""
    found: dict[str, Any] = _load(service)["shapes"][name]
    return found


def name_pattern(service: str, name: str) -> str:
    """A name shape's pattern with its lengths in it (`[\\w+=,.@-]{1,64}`), to build ARNs."""
    limits = shape(service, name)
    return re.sub(r"\+$", f"{{{limits['min']},{limits['max']}}}", limits["pattern"])


def string(service: str, name: str, **overrides: Any) -> StringConstraints:
    """A shape's pattern (matched whole) and lengths, as a pydantic constraint.

    AWS writes Java regexes; pydantic's Rust engine reads them (unlike Python's, it knows the
    \\p{L} classes the models use) once `whole` spells out Java's ASCII classes.
    """
    limits = shape(service, name)
    return StringConstraints(
        **{
            "pattern": whole(limits.get("pattern", ".*")),
            "min_length": limits.get("min"),
            "max_length": limits.get("max"),
            **overrides,
        }
    )


def whole(java_pattern: str) -> str:
    """A pattern that must match the whole value, with Java's ASCII \\w and \\d."""
    ascii_classes = {"w": "[0-9A-Za-z_]", "d": "[0-9]"}
    pattern = re.sub(r"(?<!\\)\\([wd])", lambda match: ascii_classes[match[1]], java_pattern)
    return rf"\A(?:{pattern})\z"


def interval(service: str, name: str) -> annotated_types.Interval:
    """A shape's range; its integers are 32-bit where the model states no maximum."""
    limits = shape(service, name)
    return annotated_types.Interval(ge=limits.get("min"), le=limits.get("max", INTEGER_MAX))


def at_least(minimum: int) -> annotated_types.Interval:
    """An integer from `minimum` up to what an AWS integer holds."""
    return annotated_types.Interval(ge=minimum, le=INTEGER_MAX)


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


def show(value: object, limit: int = 60) -> str:
    """The value as Python writes it, cut short when long (or nested too deep to write)."""
    try:
        text = repr(value)
    except (RecursionError, ValueError):
        return f"a {type(value).__name__} too deep or large to show"
    return text if len(text) <= limit else f"{text[: limit - 4]}...{text[-1]}"


def suggestion(word: str, known: Collection[str]) -> str:
    """`; did you mean X?` for the closest known word, or nothing."""
    by_lower = {candidate.lower(): candidate for candidate in known}
    close = difflib.get_close_matches(word.lower(), by_lower, n=1, cutoff=0.6)
    return f"; did you mean {by_lower[close[0]]}?" if close else ""


# Go's time.ParseDuration, which the time provider's create_duration goes through: numbers with
# an optional fraction, each with a unit, or a bare "0". No sign: a wait cannot be negative.
_GO_UNIT_SECONDS: Final = {
    "ns": Fraction(1, 10**9),
    "us": Fraction(1, 10**6),
    "µs": Fraction(1, 10**6),
    "μs": Fraction(1, 10**6),
    "ms": Fraction(1, 10**3),
    "s": Fraction(1),
    "m": Fraction(60),
    "h": Fraction(3600),
}
_GO_PART: Final = rf"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)({'|'.join(_GO_UNIT_SECONDS)})"


def go_duration_seconds(value: str) -> Fraction | None:
    """The duration in seconds, or None where Go would refuse it."""
    if value == "0":
        return Fraction(0)
    if not re.fullmatch(f"(?:{_GO_PART})+", value):
        return None
    parts = re.findall(_GO_PART, value)
    if any(len(number) > 30 for number, _ in parts):
        return Fraction(10**30)  # past any cap, and past what Go's int64 nanoseconds hold
    return sum((Fraction(n) * _GO_UNIT_SECONDS[u] for n, u in parts), Fraction(0))
