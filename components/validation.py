"""Rules for each setting of an `EmbeddingEndpoint`.

Each function checks one setting and returns the problems it found (an empty list when the
value is fine), so the caller can report every problem at once instead of stopping at the first.
Each message names what is allowed, in the service's own terms.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Final, TypeGuard

from components import naming
from components.errors import Problem
from components.limits import (
    ENDPOINT_NAME_PATTERN,
    ENVIRONMENT_KEY_PATTERN,
    MODEL_ENVIRONMENT_MAX_ENTRIES,
    MODEL_ENVIRONMENT_MAX_LENGTH,
    MODEL_NAME_PATTERN,
    POLICY_ARN_PATTERN,
    ROLE_ARN_PATTERN,
    SAGEMAKER_NAME_MAX,
    SERVERLESS_MAX_CONCURRENCY,
    SERVERLESS_MEMORY_SIZES_MB,
    TAG_KEY_MAX,
    TAG_PATTERN,
    TAG_VALUE_MAX,
    TAGS_MAX,
)

# Hub ids: `name` or `org/name`; letters, digits, '-', '_', '.'; no '--' or '..'; at most 96 each.
_HUB_PART: Final = r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?"
MODEL_ID_PATTERN: Final = re.compile(rf"^{_HUB_PART}(?:/{_HUB_PART})?$")
MODEL_REVISION_PATTERN: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,254}$")
TASK_PATTERN: Final = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")

# huggingface-pytorch-inference tags look like
# <torch>-transformers<version>-<cpu|gpu>-py<NN>[-cu<NNN>]-ubuntu<NN.NN>[-suffix]
IMAGE_TAG_PATTERN: Final = re.compile(
    r"^\d+\.\d+(?:\.\d+)?-transformers\d+\.\d+(?:\.\d+)?-(?P<device>cpu|gpu)-py\d{2,3}"
    r"(?:-cu\d{3})?-ubuntu\d{2}\.\d{2}(?:-[A-Za-z0-9.]+)*$"
)
EXAMPLE_IMAGE_TAG: Final = "1.13.1-transformers4.26.0-cpu-py39-ubuntu20.04"

# Go's time.ParseDuration syntax, which the time provider's `create_duration` uses.
_GO_DURATION_UNIT: Final = r"(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h)"
GO_DURATION_PATTERN: Final = re.compile(rf"^(?:0|{_GO_DURATION_UNIT}(?:{_GO_DURATION_UNIT})*)$")

# Environment variables the component sets from dedicated settings.
RESERVED_ENVIRONMENT_KEYS: Final = {
    "HF_MODEL_ID": "model_id",
    "HF_TASK": "task",
    "HF_MODEL_REVISION": "model_revision",
    "HF_API_TOKEN": "hf_api_token",
}


def is_int(value: object) -> TypeGuard[int]:
    """An int that is not a bool (True is an int to Python, not to SageMaker)."""
    return isinstance(value, int) and not isinstance(value, bool)


def component_name(name: object, *, names_a_bucket: bool = False) -> list[Problem]:
    """The component name prefixes auto-named SageMaker resources, so it follows their rules;
    with sentence embeddings it also names an S3 bucket, which must be lower-case."""
    setting = "name"
    if not isinstance(name, str) or not name:
        return [Problem(setting, f"must be a non-empty string, got {name!r}")]
    problems = []
    if names_a_bucket and name != name.lower():
        problems.append(
            Problem(
                setting,
                f"{name!r} must be lower-case with sentence_embeddings on: it also names the "
                "S3 bucket that holds the handler code",
            )
        )
    if len(name) > naming.COMPONENT_NAME_MAX:
        problems.append(
            Problem(
                setting,
                f"{name!r} is {len(name)} characters; at most {naming.COMPONENT_NAME_MAX} are "
                f"allowed so the auto-named model and endpoint configuration stay within "
                f"SageMaker's {SAGEMAKER_NAME_MAX}",
            )
        )
    if not MODEL_NAME_PATTERN.match(name):
        problems.append(
            Problem(
                setting,
                f"{name!r} may contain only letters, digits and hyphens, and must start and end "
                "with a letter or digit (no underscores or dots)",
            )
        )
    return problems


def endpoint_name(value: object) -> list[Problem]:
    setting = "endpoint_name"
    if value is None:
        return []
    if not isinstance(value, str) or not value:
        return [Problem(setting, f"must be a non-empty string or None, got {value!r}")]
    if len(value) > SAGEMAKER_NAME_MAX:
        return [
            Problem(
                setting,
                f"{value!r} is {len(value)} characters; SageMaker allows at most "
                f"{SAGEMAKER_NAME_MAX}",
            )
        ]
    if not ENDPOINT_NAME_PATTERN.match(value):
        return [
            Problem(
                setting,
                f"{value!r} may contain only letters, digits and hyphens, and must start and end "
                "with a letter or digit (no underscores or dots)",
            )
        ]
    return []


def model_id(value: object) -> list[Problem]:
    setting = "model_id"
    if not isinstance(value, str) or not MODEL_ID_PATTERN.match(value):
        return [
            Problem(
                setting,
                f"{value!r} is not a Hugging Face Hub model id; use `name` or `org/name` "
                "(letters, digits, '-', '_', '.'), e.g. 'sentence-transformers/all-MiniLM-L6-v2'",
            )
        ]
    if "--" in value or ".." in value:
        return [Problem(setting, f"{value!r} may not contain '--' or '..'")]
    return []


def model_revision(value: object) -> list[Problem]:
    if value is None:
        return []
    if not isinstance(value, str) or not MODEL_REVISION_PATTERN.match(value):
        return [
            Problem(
                "model_revision",
                f"{value!r} is not a Hub revision; use a branch, tag or commit hash "
                "(letters, digits, '.', '_', '-', '/'), or leave it unset",
            )
        ]
    return []


def task(value: object) -> list[Problem]:
    if not isinstance(value, str) or not TASK_PATTERN.match(value):
        return [
            Problem(
                "task",
                f"{value!r} is not a transformers pipeline task; use a lower-case name such as "
                "'feature-extraction'",
            )
        ]
    return []


def image_tag(value: object) -> list[Problem]:
    setting = "image_tag"
    if not isinstance(value, str):
        return [Problem(setting, f"must be a string, got {value!r}")]
    match = IMAGE_TAG_PATTERN.match(value)
    if match is None:
        return [
            Problem(
                setting,
                f"{value!r} is not a full huggingface-pytorch-inference tag; use one such as "
                f"{EXAMPLE_IMAGE_TAG!r}",
            )
        ]
    if match.group("device") != "cpu":
        return [
            Problem(
                setting,
                f"{value!r} is a GPU image; serverless endpoints have no GPUs, so use a '-cpu-' "
                f"tag such as {EXAMPLE_IMAGE_TAG!r} (a realtime GPU instance runs the GPU build "
                "of that release, or gpu_image_tag)",
            )
        ]
    return []


def _not_allowed(value: object) -> str:
    return f"{value!r} is not {'allowed' if is_int(value) else 'an integer'}"


def memory_size_in_mb(value: object) -> list[Problem]:
    if not is_int(value) or value not in SERVERLESS_MEMORY_SIZES_MB:
        allowed = ", ".join(str(size) for size in SERVERLESS_MEMORY_SIZES_MB)
        return [Problem("memory_size_in_mb", f"{_not_allowed(value)}; use one of {allowed}")]
    return []


def max_concurrency(value: object) -> list[Problem]:
    if not is_int(value) or not 1 <= value <= SERVERLESS_MAX_CONCURRENCY:
        return [
            Problem(
                "max_concurrency",
                f"{_not_allowed(value)}; use an integer from 1 to {SERVERLESS_MAX_CONCURRENCY}",
            )
        ]
    return []


def provisioned_concurrency(value: object, max_concurrency_value: object) -> list[Problem]:
    if value is None:
        return []
    upper = SERVERLESS_MAX_CONCURRENCY
    if is_int(max_concurrency_value) and 1 <= max_concurrency_value < upper:
        upper = max_concurrency_value
    if not is_int(value) or not 1 <= value <= upper:
        return [
            Problem(
                "provisioned_concurrency",
                f"{_not_allowed(value)}; use an integer from 1 to the maximum concurrency "
                f"({upper}), or none for no provisioned concurrency",
            )
        ]
    return []


def iam_propagation_delay(value: object) -> list[Problem]:
    if not isinstance(value, str) or not GO_DURATION_PATTERN.match(value):
        return [
            Problem(
                "iam_propagation_delay",
                f"{value!r} is not a Go duration; use a number and unit such as '15s', '1m30s' "
                "or '500ms'",
            )
        ]
    return []


def role_arn(value: object) -> list[Problem]:
    if value is None:
        return []
    if not isinstance(value, str) or not ROLE_ARN_PATTERN.match(value):
        return [
            Problem(
                "role_arn",
                f"{value!r} is not an IAM role ARN; use "
                "'arn:aws:iam::<12-digit account>:role/<name>'",
            )
        ]
    return []


def managed_policy_arns(value: object, role_arn_value: object) -> list[Problem]:
    setting = "managed_policy_arns"
    if isinstance(value, str) or not isinstance(value, Sequence):
        return [Problem(setting, f"must be a list of IAM policy ARNs, got {value!r}")]
    problems = [
        Problem(
            setting,
            f"{arn!r} is not an IAM policy ARN; use 'arn:aws:iam::aws:policy/<name>' or "
            "'arn:aws:iam::<12-digit account>:policy/<name>'",
        )
        for arn in value
        if not isinstance(arn, str) or not POLICY_ARN_PATTERN.match(arn)
    ]
    names = [str(arn).rsplit("/", 1)[-1] for arn in value]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        problems.append(
            Problem(setting, f"lists more than one policy named {', '.join(duplicates)}")
        )
    if value and role_arn_value is not None:
        problems.append(
            Problem(
                setting,
                "cannot be combined with an existing role ARN: policies are attached only to "
                "a role the component creates; attach them to your own role instead",
            )
        )
    return problems


def environment(value: object, reserved_in_use: int) -> list[Problem]:
    setting = "environment"
    if not isinstance(value, Mapping):
        return [Problem(setting, f"must be a mapping of variable name to value, got {value!r}")]
    problems = []
    total = len(value) + reserved_in_use
    if total > MODEL_ENVIRONMENT_MAX_ENTRIES:
        problems.append(
            Problem(
                setting,
                f"{len(value)} variables plus the {reserved_in_use} the component sets make "
                f"{total}; "
                f"SageMaker allows at most {MODEL_ENVIRONMENT_MAX_ENTRIES}",
            )
        )
    for key, item in value.items():
        if key in RESERVED_ENVIRONMENT_KEYS:
            problems.append(
                Problem(
                    setting,
                    f"{key} is set by the component; use the {RESERVED_ENVIRONMENT_KEYS[key]} "
                    "setting instead",
                )
            )
        elif not isinstance(key, str) or not ENVIRONMENT_KEY_PATTERN.match(key):
            problems.append(
                Problem(
                    setting,
                    f"key {key!r} is not allowed; use letters, digits and '_', not starting "
                    "with a digit",
                )
            )
        elif len(key) > MODEL_ENVIRONMENT_MAX_LENGTH:
            problems.append(
                Problem(
                    setting,
                    f"key {key[:32]}... is {len(key)} characters; at most "
                    f"{MODEL_ENVIRONMENT_MAX_LENGTH} are allowed",
                )
            )
        if not isinstance(item, str):
            problems.append(Problem(setting, f"value of {key!r} must be a string, got {item!r}"))
        elif len(item) > MODEL_ENVIRONMENT_MAX_LENGTH:
            problems.append(
                Problem(
                    setting,
                    f"value of {key!r} is {len(item)} characters; at most "
                    f"{MODEL_ENVIRONMENT_MAX_LENGTH} are allowed",
                )
            )
    return problems


def flag(setting: str, value: object) -> list[Problem]:
    if not isinstance(value, bool):
        return [Problem(setting, f"{value!r} is not allowed; use true or false")]
    return []


def tags(value: object) -> list[Problem]:
    setting = "tags"
    if not isinstance(value, Mapping):
        return [Problem(setting, f"must be a mapping of tag key to value, got {value!r}")]
    problems = []
    if len(value) > TAGS_MAX:
        problems.append(Problem(setting, f"{len(value)} tags given; AWS allows at most {TAGS_MAX}"))
    for key, item in value.items():
        if (
            not isinstance(key, str)
            or not 1 <= len(key) <= TAG_KEY_MAX
            or not TAG_PATTERN.match(key)
        ):
            problems.append(
                Problem(
                    setting,
                    f"key {key!r} is not allowed; use 1-{TAG_KEY_MAX} letters, digits, spaces "
                    "or _ . : / = + - @",
                )
            )
        elif key.lower().startswith("aws:"):
            problems.append(Problem(setting, f"key {key!r} uses the reserved 'aws:' prefix"))
        if not isinstance(item, str) or len(item) > TAG_VALUE_MAX or not TAG_PATTERN.match(item):
            problems.append(
                Problem(
                    setting,
                    f"value of {key!r} is not allowed; use a string of at most {TAG_VALUE_MAX} "
                    "letters, digits, spaces or _ . : / = + - @",
                )
            )
    return problems
