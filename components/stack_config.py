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
    "sentence_embeddings": "sentenceEmbeddings",
    "mode": "mode",
    "provisioned_concurrency_min": "provisionedConcurrencyMin",
    "provisioned_concurrency_max": "provisionedConcurrencyMax",
    "provisioned_concurrency_target_percent": "provisionedConcurrencyTargetPercent",
    "instance_type": "instanceType",
    "instance_count": "instanceCount",
    "gpu_image_tag": "gpuImageTag",
    "autoscaling_min_capacity": "autoscalingMinCapacity",
    "autoscaling_max_capacity": "autoscalingMaxCapacity",
    "autoscaling_target_invocations": "autoscalingTargetInvocations",
    "autoscaling_scale_in_cooldown": "autoscalingScaleInCooldown",
    "autoscaling_scale_out_cooldown": "autoscalingScaleOutCooldown",
    "log_retention_days": "logRetentionDays",
    "alarms": "alarms",
    "alarm_topic_arn": "alarmTopicArn",
    "alarm_model_latency_ms": "alarmModelLatencyMs",
    "alarm_model_setup_seconds": "alarmModelSetupSeconds",
}
"""Argument field -> stack config key, for every key the program reads."""


def _text(raw: str) -> str:
    return raw


def _optional_text(raw: str) -> str | None:
    """Pulumi.yaml declares optional strings with an empty default: empty means unset."""
    return raw or None


def _integer(raw: str) -> int:
    return int(raw.strip())


def _optional_positive_integer(raw: str) -> int | None:
    """0 (the declared default) means unset."""
    value = _integer(raw)
    return None if value == 0 else value


def _boolean(raw: str) -> bool:
    value = raw.strip().lower()
    if value not in ("true", "false"):
        raise ValueError(raw)
    return value == "true"


def _json(raw: str) -> Any:
    """Lists and maps arrive as JSON text; validation checks the shape."""
    return json.loads(raw)


def _tag_map(raw: str) -> Any:
    """`pulumi config set --path tags.cost 42` stores a number: tags keep it as text."""
    value = json.loads(raw)
    if not isinstance(value, dict):
        return value
    return {
        key: json.dumps(item)
        if isinstance(item, bool)
        else str(item)
        if isinstance(item, int | float)
        else item
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
    "managed_policy_arns": (_json, ()),
    "tags": (_tag_map, {}),
    "sentence_embeddings": (_boolean, False),
    "mode": (_text, "serverless"),
    "provisioned_concurrency_min": (_optional_positive_integer, None),
    "provisioned_concurrency_max": (_optional_positive_integer, None),
    "provisioned_concurrency_target_percent": (_integer, 70),
    "instance_type": (_optional_text, None),
    "instance_count": (_integer, 1),
    "gpu_image_tag": (_optional_text, None),
    "autoscaling_min_capacity": (_optional_positive_integer, None),
    "autoscaling_max_capacity": (_optional_positive_integer, None),
    "autoscaling_target_invocations": (_integer, 100),
    "autoscaling_scale_in_cooldown": (_integer, 300),
    "autoscaling_scale_out_cooldown": (_integer, 60),
    "log_retention_days": (_optional_positive_integer, 30),
    "alarms": (_boolean, True),
    "alarm_topic_arn": (_optional_text, None),
    "alarm_model_latency_ms": (_integer, 1000),
    "alarm_model_setup_seconds": (_integer, 30),
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
        except ValueError:
            # Not a number or not JSON: validation then rejects the raw text with a message
            # that says what is allowed.
            values[field] = raw

    values["hf_api_token"], token_problems = _hf_api_token(config)
    problems.extend(token_problems)

    for problem in check_settings(**values, environment={}):
        problems.append(Problem(CONFIG_KEYS.get(problem.setting, problem.setting), problem.message))
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
