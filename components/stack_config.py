"""Turn a stack's configuration into `EmbeddingEndpointArgs`, reporting problems by config key.

Values arrive as strings. A value that cannot be parsed (`memorySizeInMb: lots`) and a value that
parses but is not allowed are reported together, each under the key the user actually set.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Final

import pulumi

from components.args import (
    DEFAULT_ENDPOINT_NAME,
    DEFAULT_IAM_PROPAGATION_DELAY,
    DEFAULT_IMAGE_TAG,
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_MEMORY_SIZE_MB,
    DEFAULT_MODEL_ID,
    DEFAULT_TASK,
    EmbeddingEndpointArgs,
    check_settings,
)
from components.errors import InvalidSettingsError, Problem

CONFIG_KEYS: Final = {
    "endpoint_name": "endpointName",
    "model_id": "modelId",
    "model_revision": "modelRevision",
    "task": "task",
    "image_tag": "imageTag",
    "memory_size_in_mb": "memorySizeInMb",
    "max_concurrency": "maxConcurrency",
    "provisioned_concurrency": "provisionedConcurrency",
    "iam_propagation_delay": "iamPropagationDelay",
    "role_arn": "roleArn",
    "managed_policy_arns": "managedPolicyArns",
    "hf_api_token": "hfApiToken",
    "tags": "tags",
}
"""Argument field -> stack config key, for every key the program reads."""


class _Unparsable(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _text(raw: str) -> str:
    return raw


def _optional_text(raw: str) -> str | None:
    """Pulumi.yaml declares optional strings with an empty default: empty means unset."""
    return raw or None


def _integer(raw: str) -> int:
    try:
        return int(raw.strip())
    except ValueError:
        raise _Unparsable(f"{raw!r} is not an integer") from None


def _optional_positive_integer(raw: str) -> int | None:
    """0 (the declared default) means unset."""
    value = _integer(raw)
    return None if value == 0 else value


def _json(raw: str) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        raise _Unparsable(f"{raw!r} is not valid JSON") from None


def _string_list(raw: str) -> list[str]:
    value = _json(raw)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _Unparsable(f"{raw!r} is not a list of strings")
    return value


def _string_map(raw: str) -> dict[str, str]:
    """Tags set with `pulumi config set --path tags.cost 42` arrive as numbers: keep them as text."""
    value = _json(raw)
    if not isinstance(value, dict):
        raise _Unparsable(f"{raw!r} is not a map of tag key to value")
    scalars = (str, int, float, bool)
    if not all(isinstance(item, scalars) for item in value.values()):
        raise _Unparsable(f"{raw!r} has a value that is not a string, number or boolean")
    return {
        key: (json.dumps(item) if isinstance(item, bool) else str(item))
        for key, item in value.items()
    }


_PARSERS: Final[dict[str, tuple[Callable[[str], Any], Any]]] = {
    "endpoint_name": (_text, DEFAULT_ENDPOINT_NAME),
    "model_id": (_text, DEFAULT_MODEL_ID),
    "model_revision": (_optional_text, None),
    "task": (_text, DEFAULT_TASK),
    "image_tag": (_text, DEFAULT_IMAGE_TAG),
    "memory_size_in_mb": (_integer, DEFAULT_MEMORY_SIZE_MB),
    "max_concurrency": (_integer, DEFAULT_MAX_CONCURRENCY),
    "provisioned_concurrency": (_optional_positive_integer, None),
    "iam_propagation_delay": (_text, DEFAULT_IAM_PROPAGATION_DELAY),
    "role_arn": (_optional_text, None),
    "managed_policy_arns": (_string_list, ()),
    "tags": (_string_map, {}),
}


def args_from_config(config: pulumi.Config) -> EmbeddingEndpointArgs:
    """Read every key, then raise one `InvalidSettingsError` naming each bad key, or build args."""
    values: dict[str, Any] = {}
    problems: list[Problem] = []
    for field, (parse, default) in _PARSERS.items():
        key = CONFIG_KEYS[field]
        raw = config.get(key)
        if raw is None:
            values[field] = default
            continue
        try:
            values[field] = parse(raw)
        except _Unparsable as error:
            problems.append(Problem(key, error.message))
            values[field] = default

    values["hf_api_token"], token_problems = _hf_api_token(config)
    problems.extend(token_problems)

    unparsed = {problem.setting for problem in problems}
    for problem in check_settings(**values, environment={}):
        key = CONFIG_KEYS.get(problem.setting, problem.setting)
        if key not in unparsed:
            problems.append(Problem(key, problem.message))
    if problems:
        raise InvalidSettingsError(
            f"Stack configuration of project {config.name!r}", _in_key_order(problems)
        )
    return EmbeddingEndpointArgs(**values)


def _hf_api_token(config: pulumi.Config) -> tuple[pulumi.Output[str] | None, list[Problem]]:
    """The token is handed on only as a secret Output, and must have been stored as a secret.

    Its plain value is looked at only to tell "set" from the declared empty default.
    """
    key = CONFIG_KEYS["hf_api_token"]
    if not config.get(key):
        return None, []
    if not _is_secret(config, key):
        return None, [
            Problem(
                key,
                "is stored in plain text; store it encrypted with "
                "`pulumi config set --secret hfApiToken <token>`",
            )
        ]
    return config.get_secret(key), []


def _is_secret(config: pulumi.Config, key: str) -> bool:
    return pulumi.runtime.is_config_secret(config.full_key(key))


def _in_key_order(problems: list[Problem]) -> list[Problem]:
    order = {key: index for index, key in enumerate(CONFIG_KEYS.values())}
    return sorted(problems, key=lambda problem: order.get(problem.setting, len(order)))
