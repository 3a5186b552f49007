"""Every rule of `EmbeddingEndpointArgs`, one failing value at a time, and all at once."""

from __future__ import annotations

from typing import Any

import pytest

from components import EmbeddingEndpointArgs, InvalidSettingsError

ROLE = "arn:aws:iam::123456789012:role/sagemaker-execution"


def test_defaults_are_the_reference_deployment() -> None:
    args = EmbeddingEndpointArgs()

    assert args.model_id == "sentence-transformers/all-MiniLM-L6-v2"
    assert args.task == "feature-extraction"
    assert args.image_tag == "1.13.1-transformers4.26.0-cpu-py39-ubuntu20.04"
    assert args.memory_size_in_mb == 3072
    assert args.max_concurrency == 2
    assert args.provisioned_concurrency is None
    assert args.iam_propagation_delay == "15s"
    assert args.role_arn is None
    assert args.creates_role


@pytest.mark.parametrize(
    "settings",
    [
        {"memory_size_in_mb": size, "max_concurrency": 200, "provisioned_concurrency": 200}
        for size in (1024, 2048, 3072, 4096, 5120, 6144)
    ]
    + [
        {"endpoint_name": "a" * 63},
        {"endpoint_name": "a--b-c1"},
        {"model_id": "gpt2"},
        {"model_id": "BAAI/bge-small-en-v1.5", "model_revision": "refs/pr/1"},
        {"image_tag": "2.1.0-transformers4.37.0-cpu-py310-ubuntu22.04"},
        {"iam_propagation_delay": "1m30s"},
        {"iam_propagation_delay": "0"},
        {"iam_propagation_delay": "1.5h"},
        {"role_arn": "arn:aws-cn:iam::123456789012:role/path/to/role"},
        {"managed_policy_arns": ["arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"]},
        {"environment": {f"VAR_{i}": "x" * 1024 for i in range(96)}},
        {"tags": {"team": "ml", "cost:center": "a b/c=d+e-f@g"}},
    ],
)
def test_allowed_values_pass(settings: dict[str, Any]) -> None:
    args = EmbeddingEndpointArgs(**settings)

    for name, value in settings.items():
        assert getattr(args, name) == value


@pytest.mark.parametrize(
    ("settings", "setting", "expected"),
    [
        ({"memory_size_in_mb": 3000}, "memory_size_in_mb", "3000 is not allowed; use one of 1024, 2048, 3072, 4096, 5120, 6144"),
        ({"memory_size_in_mb": 7168}, "memory_size_in_mb", "7168 is not allowed"),
        ({"memory_size_in_mb": "3072"}, "memory_size_in_mb", "'3072' is not an integer"),
        ({"memory_size_in_mb": True}, "memory_size_in_mb", "True is not an integer"),
        ({"max_concurrency": 0}, "max_concurrency", "0 is not allowed; use an integer from 1 to 200"),
        ({"max_concurrency": 201}, "max_concurrency", "201 is not allowed; use an integer from 1 to 200"),
        ({"provisioned_concurrency": 3}, "provisioned_concurrency", "3 is not allowed; use an integer from 1 to the maximum concurrency (2)"),
        ({"provisioned_concurrency": 0}, "provisioned_concurrency", "0 is not allowed"),
        ({"endpoint_name": "a" * 64}, "endpoint_name", "is 64 characters; SageMaker allows at most 63"),
        ({"endpoint_name": "alex_embedding"}, "endpoint_name", "may contain only letters, digits and hyphens"),
        ({"endpoint_name": "alex.embedding"}, "endpoint_name", "no underscores or dots"),
        ({"endpoint_name": "alex-"}, "endpoint_name", "must start and end with a letter or digit"),
        ({"endpoint_name": ""}, "endpoint_name", "must be a non-empty string or None"),
        ({"model_id": "a/b/c"}, "model_id", "use `name` or `org/name`"),
        ({"model_id": "https://huggingface.co/gpt2"}, "model_id", "is not a Hugging Face Hub model id"),
        ({"model_id": "org/model--name"}, "model_id", "may not contain '--' or '..'"),
        ({"model_revision": "main branch"}, "model_revision", "is not a Hub revision"),
        ({"task": "Feature Extraction"}, "task", "is not a transformers pipeline task"),
        ({"image_tag": "latest"}, "image_tag", "is not a full huggingface-pytorch-inference tag"),
        ({"image_tag": "1.13.1-transformers4.26.0-gpu-py39-cu117-ubuntu20.04"}, "image_tag", "is a GPU image; serverless endpoints have no GPUs"),
        ({"iam_propagation_delay": "15"}, "iam_propagation_delay", "is not a Go duration; use a number and unit such as '15s'"),
        ({"iam_propagation_delay": "15 seconds"}, "iam_propagation_delay", "is not a Go duration"),
        ({"iam_propagation_delay": "-5s"}, "iam_propagation_delay", "is not a Go duration"),
        ({"role_arn": "sagemaker-execution"}, "role_arn", "is not an IAM role ARN"),
        ({"role_arn": "arn:aws:iam::12345:role/x"}, "role_arn", "is not an IAM role ARN"),
        ({"role_arn": "arn:aws:iam::123456789012:user/x"}, "role_arn", "is not an IAM role ARN"),
        ({"managed_policy_arns": ["AmazonSageMakerFullAccess"]}, "managed_policy_arns", "is not an IAM policy ARN"),
        ({"managed_policy_arns": "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"}, "managed_policy_arns", "must be a list of IAM policy ARNs"),
        ({"managed_policy_arns": ["arn:aws:iam::aws:policy/X", "arn:aws:iam::123456789012:policy/X"]}, "managed_policy_arns", "lists more than one policy named X"),
        ({"managed_policy_arns": ["arn:aws:iam::aws:policy/X"], "role_arn": ROLE}, "managed_policy_arns", "cannot be combined with an existing role ARN"),
        ({"environment": {"HF_MODEL_ID": "gpt2"}}, "environment", "HF_MODEL_ID is set by the component; use the model_id setting"),
        ({"environment": {"HF_API_TOKEN": "x"}}, "environment", "use the hf_api_token setting"),
        ({"environment": {"1BAD": "x"}}, "environment", "key '1BAD' is not allowed"),
        ({"environment": {"BAD-KEY": "x"}}, "environment", "key 'BAD-KEY' is not allowed"),
        ({"environment": {"K" * 1025: "x"}}, "environment", "is 1025 characters; at most 1024"),
        ({"environment": {"BIG": "x" * 1025}}, "environment", "value of 'BIG' is 1025 characters; at most 1024"),
        ({"environment": {"NUM": 3}}, "environment", "value of 'NUM' must be a string"),
        ({"environment": {f"V{i}": "x" for i in range(99)}}, "environment", "99 variables plus the 2 the component sets make 101; SageMaker allows at most 100"),
        ({"tags": {"aws:owner": "me"}}, "tags", "uses the reserved 'aws:' prefix"),
        ({"tags": {"": "x"}}, "tags", "key '' is not allowed"),
        ({"tags": {"k" * 129: "x"}}, "tags", "use 1-128 letters"),
        ({"tags": {"team": "x" * 257}}, "tags", "value of 'team' is not allowed"),
        ({"tags": {"team": "ml#1"}}, "tags", "value of 'team' is not allowed"),
        ({"tags": {f"k{i}": "v" for i in range(51)}}, "tags", "51 tags given; AWS allows at most 50"),
    ],
)  # fmt: skip
def test_each_rule_names_the_setting_and_what_is_allowed(
    settings: dict[str, Any], setting: str, expected: str
) -> None:
    with pytest.raises(InvalidSettingsError) as raised:
        EmbeddingEndpointArgs(**settings)

    assert raised.value.settings == (setting,)
    assert f"{setting}: " in str(raised.value)
    assert expected in str(raised.value)


def test_every_problem_is_reported_at_once_in_field_order() -> None:
    with pytest.raises(InvalidSettingsError) as raised:
        EmbeddingEndpointArgs(
            endpoint_name="bad_name",
            image_tag="latest",
            memory_size_in_mb=100,
            max_concurrency=0,
            iam_propagation_delay="soon",
            role_arn="nope",
            tags={"aws:x": "y"},
        )

    assert raised.value.settings == (
        "endpoint_name",
        "image_tag",
        "memory_size_in_mb",
        "max_concurrency",
        "iam_propagation_delay",
        "role_arn",
        "tags",
    )
    assert str(raised.value).startswith("EmbeddingEndpointArgs has 7 invalid setting problems:\n")
