"""What AWS accepts for a setting, as pydantic validators whose errors say what is allowed.

Limits come from botocore's service models (the files boto3 itself checks requests against)
wherever a model states them: name patterns and lengths, numeric ranges, the instance-type enum,
the partitions. The few numbers that no model states are written here with their source.

Each validator raises one `PydanticCustomError` whose message names the bad value and what to
use instead; `components.args` turns those into `Problem`s.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Callable, Collection
from fractions import Fraction
from typing import Any, Final, NoReturn

import botocore.loaders
from pydantic import PlainValidator
from pydantic_core import PydanticCustomError, SchemaValidator, core_schema

ERROR_TYPE: Final = "invalid_setting"

# IAM quotas (docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html): managed
# policies attached to a role, 10 by default and at most 20 with a quota increase.
MAX_MANAGED_POLICIES_PER_ROLE: Final = 20
# CloudWatch Logs PutRetentionPolicy: the model types retentionInDays as a bare integer and lists
# the values in its documentation (a test keeps this copy equal to it).
LOG_RETENTION_DAYS: Final = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
    2922, 3288, 3653,
)  # fmt: skip
# Serverless memory comes in 1 GB steps (the model states only 1024-6144; its documentation and
# the SageMaker guide list 1024, 2048, ... 6144).
SERVERLESS_MEMORY_STEP_MB: Final = 1024
# Our own cap, not AWS's: IAM changes reach SageMaker in seconds, and a longer wait is paid on
# every deploy that replaces the role. Anything longer is most likely a typo (15m for 15s).
MAX_IAM_PROPAGATION_SECONDS: Final = 600


@functools.cache
def _service_model(service: str) -> dict[str, Any]:
    model: dict[str, Any] = botocore.loaders.create_loader().load_service_model(
        service, "service-2"
    )
    return model


def shape(service: str, name: str) -> dict[str, Any]:
    """A shape of `service`'s model as botocore ships it: `min`, `max`, `pattern`, `enum`..."""
    found: dict[str, Any] = _service_model(service)["shapes"][name]
    return found


@functools.cache
def _partitions() -> list[dict[str, Any]]:
    loaded: list[dict[str, Any]] = botocore.loaders.create_loader().load_data("partitions")[
        "partitions"
    ]
    return loaded


def partition_of(region: str) -> str | None:
    """`aws`, `aws-cn`, `aws-us-gov`...: botocore's partition table, by name or by pattern."""
    for partition in _partitions():
        if region in partition["regions"]:
            return str(partition["id"])
    for partition in _partitions():
        if re.fullmatch(partition["regionRegex"], region, flags=re.ASCII):
            return str(partition["id"])
    return None


def instance_types() -> frozenset[str]:
    """Every instance type CreateEndpointConfig accepts for a production variant."""
    return frozenset(shape("sagemaker", "ProductionVariantInstanceType")["enum"])


def refuse(message: str) -> NoReturn:
    raise PydanticCustomError(ERROR_TYPE, message)


def show(value: object, limit: int = 60) -> str:
    """The value as the user would write it in Python, cut short when long."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 4]}...{text[-1]}"


def suggestion(word: str, known: Collection[str]) -> str:
    """`; did you mean X?` for the closest known word, or nothing."""
    by_lower = {candidate.lower(): candidate for candidate in known}
    close = difflib.get_close_matches(word.lower(), by_lower, n=1, cutoff=0.6)
    return f"; did you mean {by_lower[close[0]]}?" if close else ""


# Java regexes, as AWS writes them: \w and \d are ASCII there but Unicode in the Rust engine
# that pydantic-core compiles patterns with (which, unlike Python's `re`, has \p{L}).
_JAVA_ASCII_CLASSES: Final = {r"\w": "[0-9A-Za-z_]", r"\d": "[0-9]"}


def full_match(pattern: str) -> Callable[[str], bool]:
    """A whole-string matcher: a trailing newline or a valid prefix does not pass."""
    pattern = re.sub(r"(?<!\\)\\[wd]", lambda match: _JAVA_ASCII_CLASSES[match[0]], pattern)
    validator = SchemaValidator(core_schema.str_schema(pattern=rf"\A(?:{pattern})\z"))
    return validator.isinstance_python


def text(
    hint: str,
    *,
    pattern: str | None = None,
    min_length: int = 1,
    max_length: int | None = None,
    optional: bool = False,
    check: Callable[[str], str | None] | None = None,
) -> PlainValidator:
    """A string matching `pattern` in full; `check` returns why else it is refused."""
    matches = full_match(pattern) if pattern is not None else None

    def validate(value: object) -> str | None:
        if value is None and optional:
            return None
        if not isinstance(value, str):
            refuse(f"{show(value)} is not a string; use {hint}")
        if max_length is not None and len(value) > max_length:
            refuse(f"{show(value)} is {len(value)} characters; at most {max_length} are allowed")
        if len(value) < min_length or (matches is not None and not matches(value)):
            refuse(f"{show(value)} is not allowed; use {hint}")
        reason = check(value) if check is not None else None
        if reason:
            refuse(f"{show(value)} {reason}")
        return value

    return PlainValidator(validate)


def service_text(service: str, name: str, hint: str, **options: Any) -> PlainValidator:
    """`text` with the pattern and maximum length of a shape of the service's own model."""
    limits = shape(service, name)
    return text(
        hint,
        pattern=limits.get("pattern"),
        min_length=limits.get("min", 0),
        max_length=limits.get("max"),
        **options,
    )


def integer(
    low: int,
    high: int | None = None,
    *,
    step: int = 1,
    choices: Collection[int] | None = None,
    optional: bool = False,
) -> PlainValidator:
    """An int (not a bool, not text) in a range, on a step, or among `choices`."""
    if choices is None and step > 1 and high is not None:
        choices = range(low, high + 1, step)
    if choices is not None:
        allowed = f"one of {', '.join(map(str, choices))}"
    elif high is None:
        allowed = f"an integer of at least {low}"
    else:
        allowed = f"an integer from {low} to {high}"

    def validate(value: object) -> int | None:
        if value is None and optional:
            return None
        if not isinstance(value, int) or isinstance(value, bool):
            refuse(f"{show(value)} is not an integer; use {allowed}")
        in_range = low <= value and (high is None or value <= high)
        if not in_range or (choices is not None and value not in choices):
            refuse(f"{value} is not allowed; use {allowed}")
        return value

    return PlainValidator(validate)


def service_integer(service: str, name: str, **options: Any) -> PlainValidator:
    limits = shape(service, name)
    return integer(limits["min"], limits.get("max"), **options)


def flag() -> PlainValidator:
    def validate(value: object) -> bool:
        if not isinstance(value, bool):
            refuse(f"{show(value)} is not allowed; use true or false")
        return value

    return PlainValidator(validate)


def choice(*options: str) -> PlainValidator:
    allowed = " or ".join(repr(option) for option in options)

    def validate(value: object) -> str:
        if value not in options:
            refuse(f"{show(value)} is not allowed; use {allowed}")
        return str(value)

    return PlainValidator(validate)


# Go's time.ParseDuration, which the time provider's create_duration goes through: numbers with
# an optional fraction, each with a unit, or a bare "0". No sign: a wait cannot be negative.
_GO_UNIT_SECONDS: Final = {
    "ns": Fraction(1, 10**9),
    "us": Fraction(1, 10**6),
    "µs": Fraction(1, 10**6),
    "μs": Fraction(1, 10**6),
    "ms": Fraction(1, 1000),
    "s": Fraction(1),
    "m": Fraction(60),
    "h": Fraction(3600),
}
_GO_PART: Final = r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h)"


def go_duration_seconds(value: str) -> Fraction | None:
    """The duration in seconds, or None when Go would not parse it."""
    if value == "0":
        return Fraction(0)
    if not re.fullmatch(f"(?:{_GO_PART})+", value):
        return None
    return sum(
        (Fraction(number) * _GO_UNIT_SECONDS[unit] for number, unit in re.findall(_GO_PART, value)),
        Fraction(0),
    )
