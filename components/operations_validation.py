"""Rules for how the endpoint runs: its mode, capacity, scaling, logs and alarms.

Settings of one mode given to the other are errors that name them, rather than being silently
ignored: someone who sets an instance type on a serverless endpoint expects an instance.
"""

from __future__ import annotations

import re
from typing import Final

from components import images
from components.errors import Problem
from components.validation import IMAGE_TAG_PATTERN, is_int

MODES: Final = ("serverless", "realtime")
LOG_RETENTION_DAYS: Final = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
    2922, 3288, 3653,
)  # fmt: skip
SNS_TOPIC_ARN: Final = re.compile(r"^arn:aws(?:-[a-z]+)*:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}$")
MAX_INSTANCES: Final = 100

SETTINGS: Final = (
    "mode",
    "provisioned_concurrency_min",
    "provisioned_concurrency_max",
    "provisioned_concurrency_target_percent",
    "instance_type",
    "instance_count",
    "gpu_image_tag",
    "autoscaling_min_capacity",
    "autoscaling_max_capacity",
    "autoscaling_target_invocations",
    "autoscaling_scale_in_cooldown",
    "autoscaling_scale_out_cooldown",
    "log_retention_days",
    "alarms",
    "alarm_topic_arn",
    "alarm_model_latency_ms",
    "alarm_model_setup_seconds",
)
SERVERLESS_DEFAULTS: Final = {"memory_size_in_mb": 3072, "max_concurrency": 2}


def _int_in(setting: str, value: object, low: int, high: int) -> list[Problem]:
    if not is_int(value) or not low <= value <= high:
        kind = "allowed" if is_int(value) else "an integer"
        return [Problem(setting, f"{value!r} is not {kind}; use an integer from {low} to {high}")]
    return []


def _scaling_range(
    settings: dict[str, object], low_key: str, high_key: str, upper: int
) -> list[Problem] | None:
    """None when scaling is off (neither bound given), else the problems with its bounds."""
    low, high = settings[low_key], settings[high_key]
    if low is None and high is None:
        return None
    if low is None or high is None:
        missing = low_key if low is None else high_key
        return [Problem(missing, "is needed too: scaling needs both a minimum and a maximum")]
    problems = _int_in(low_key, low, 1, upper) + _int_in(high_key, high, 1, upper)
    if is_int(low) and is_int(high) and low > high:
        problems.append(Problem(low_key, f"{low} is above the maximum ({high})"))
    return problems


def check(**settings: object) -> list[Problem]:
    """Every problem with the operational settings (the base settings are checked elsewhere)."""
    mode = settings["mode"]
    if mode not in MODES:
        return [Problem("mode", f"{mode!r} is not allowed; use 'serverless' or 'realtime'")]
    problems = _serverless(settings) if mode == "serverless" else _realtime(settings)
    return problems + _monitoring(settings)


def _other_mode(settings: dict[str, object], names: dict[str, object], mode: str) -> list[Problem]:
    return [
        Problem(name, f"applies only to mode {mode!r}; remove it or set mode to {mode!r}")
        for name, unset in names.items()
        if settings.get(name) != unset
    ]


def _serverless(settings: dict[str, object]) -> list[Problem]:
    problems = _other_mode(
        settings,
        {
            "instance_type": None,
            "instance_count": 1,
            "gpu_image_tag": None,
            "autoscaling_min_capacity": None,
            "autoscaling_max_capacity": None,
        },
        "realtime",
    )
    provisioned, ceiling = settings["provisioned_concurrency"], settings["max_concurrency"]
    scaling = _scaling_range(
        settings,
        "provisioned_concurrency_min",
        "provisioned_concurrency_max",
        ceiling if is_int(ceiling) else 200,
    )
    if scaling is None:
        return problems
    problems += scaling
    low, high = settings["provisioned_concurrency_min"], settings["provisioned_concurrency_max"]
    if provisioned is None:
        problems.append(
            Problem(
                "provisioned_concurrency",
                "is needed to scale it: set the starting provisioned concurrency",
            )
        )
    elif is_int(provisioned) and is_int(low) and is_int(high) and not low <= provisioned <= high:
        problems.append(
            Problem(
                "provisioned_concurrency",
                f"{provisioned} is outside its scaling range {low}-{high}",
            )
        )
    problems += _int_in(
        "provisioned_concurrency_target_percent",
        settings["provisioned_concurrency_target_percent"],
        1,
        100,
    )
    return problems


def _realtime(settings: dict[str, object]) -> list[Problem]:
    problems = _other_mode(
        settings,
        {
            "memory_size_in_mb": SERVERLESS_DEFAULTS["memory_size_in_mb"],
            "max_concurrency": SERVERLESS_DEFAULTS["max_concurrency"],
            "provisioned_concurrency": None,
            "provisioned_concurrency_min": None,
            "provisioned_concurrency_max": None,
        },
        "serverless",
    )
    instance_type = settings["instance_type"]
    if instance_type is None:
        problems.append(
            Problem("instance_type", "is required with mode 'realtime', e.g. 'ml.m5.large'")
        )
    elif not isinstance(instance_type, str) or images.instance_family(instance_type) is None:
        problems.append(
            Problem(
                "instance_type",
                f"{instance_type!r} is not a SageMaker instance type; use one such as "
                "'ml.m5.large' or 'ml.g5.xlarge'",
            )
        )
    elif images.instance_family(instance_type) in images.UNSUPPORTED_FAMILIES:
        problems.append(
            Problem(
                "instance_type",
                f"{instance_type!r} needs a Neuron or ROCm image; use a CPU or NVIDIA GPU type",
            )
        )
    elif images.is_gpu_instance(instance_type):
        gpu_tag = settings["gpu_image_tag"]
        if gpu_tag is not None:
            match = IMAGE_TAG_PATTERN.match(str(gpu_tag))
            if match is None or match.group("device") != "gpu":
                problems.append(
                    Problem(
                        "gpu_image_tag",
                        f"{gpu_tag!r} is not a GPU tag of huggingface-pytorch-inference, e.g. "
                        "'1.13.1-transformers4.26.0-gpu-py39-cu117-ubuntu20.04'",
                    )
                )
        elif images.gpu_tag_for(str(settings["image_tag"]), None) is None:
            problems.append(
                Problem(
                    "gpu_image_tag",
                    f"is needed: {instance_type} is a GPU instance and image_tag "
                    f"{settings['image_tag']!r} has no known GPU build; give its GPU tag",
                )
            )
    elif settings["gpu_image_tag"] is not None:
        problems.append(
            Problem("gpu_image_tag", f"applies only to GPU instances, not {instance_type}")
        )
    problems += _int_in("instance_count", settings["instance_count"], 1, MAX_INSTANCES)
    scaling = _scaling_range(
        settings, "autoscaling_min_capacity", "autoscaling_max_capacity", MAX_INSTANCES
    )
    if scaling is None:
        return problems
    problems += scaling
    low, high = settings["autoscaling_min_capacity"], settings["autoscaling_max_capacity"]
    count = settings["instance_count"]
    if is_int(low) and is_int(high) and is_int(count) and low <= high and not low <= count <= high:
        problems.append(
            Problem("instance_count", f"{count} is outside the scaling range {low}-{high}")
        )
    problems += _int_in(
        "autoscaling_target_invocations", settings["autoscaling_target_invocations"], 1, 1_000_000
    )
    problems += _int_in(
        "autoscaling_scale_in_cooldown", settings["autoscaling_scale_in_cooldown"], 0, 86_400
    )
    problems += _int_in(
        "autoscaling_scale_out_cooldown", settings["autoscaling_scale_out_cooldown"], 0, 86_400
    )
    return problems


def _monitoring(settings: dict[str, object]) -> list[Problem]:
    problems = []
    retention = settings["log_retention_days"]
    if retention is not None and retention not in LOG_RETENTION_DAYS:
        allowed = ", ".join(map(str, LOG_RETENTION_DAYS))
        problems.append(
            Problem(
                "log_retention_days",
                f"{retention!r} is not allowed; use one of {allowed}, or none to keep logs forever",
            )
        )
    if not isinstance(settings["alarms"], bool):
        problems.append(
            Problem("alarms", f"{settings['alarms']!r} is not allowed; use true or false")
        )
    topic = settings["alarm_topic_arn"]
    if topic is not None and (not isinstance(topic, str) or not SNS_TOPIC_ARN.match(topic)):
        problems.append(
            Problem(
                "alarm_topic_arn",
                f"{topic!r} is not an SNS topic ARN; use 'arn:aws:sns:<region>:<account>:<topic>'",
            )
        )
    problems += _int_in("alarm_model_latency_ms", settings["alarm_model_latency_ms"], 1, 60_000)
    problems += _int_in("alarm_model_setup_seconds", settings["alarm_model_setup_seconds"], 1, 600)
    return problems
