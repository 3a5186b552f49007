"""Reading stack configuration into args: parsing, empty defaults, secrets, errors by key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

from components import EmbeddingEndpointArgs, InvalidSettingsError
from components.stack_config import CONFIG_KEYS, args_from_config
from tests.conftest import StartPulumi
from tests.pulumi_harness import PulumiHarness

ROOT = Path(__file__).resolve().parents[2]


def read(harness: PulumiHarness) -> EmbeddingEndpointArgs:
    return harness.run(lambda: args_from_config(pulumi.Config()))


def project_defaults() -> dict[str, str]:
    """The values the Pulumi CLI hands the program when the stack sets nothing."""
    declared = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]
    return {
        f"alex-sagemaker:{key}": value if isinstance(value, str) else json.dumps(value)
        for key, spec in declared.items()
        for value in [spec["default"]]
    }


def expected_reference_args() -> dict[str, Any]:
    return {
        "endpoint_name": "alex-embedding-endpoint",
        "model_id": "sentence-transformers/all-MiniLM-L6-v2",
        "model_revision": None,
        "task": "feature-extraction",
        "image_tag": "1.13.1-transformers4.26.0-cpu-py39-ubuntu20.04",
        "memory_size_in_mb": 3072,
        "max_concurrency": 2,
        "provisioned_concurrency": None,
        "iam_propagation_delay": "15s",
        "role_arn": None,
        "managed_policy_arns": (),
        "hf_api_token": None,
        "environment": {},
        "tags": {},
        "sentence_embeddings": False,
        "mode": "serverless",
        "provisioned_concurrency_min": None,
        "provisioned_concurrency_max": None,
        "provisioned_concurrency_target_percent": 70,
        "instance_type": None,
        "instance_count": 1,
        "gpu_image_tag": None,
        "autoscaling_min_capacity": None,
        "autoscaling_max_capacity": None,
        "autoscaling_target_invocations": 100,
        "autoscaling_scale_in_cooldown": 300,
        "autoscaling_scale_out_cooldown": 60,
        "log_retention_days": 30,
        "alarms": True,
        "alarm_topic_arn": None,
        "alarm_model_latency_ms": 1000,
        "alarm_model_setup_seconds": 30,
    }


def as_dict(args: EmbeddingEndpointArgs) -> dict[str, Any]:
    values = {name: getattr(args, name) for name in expected_reference_args()}
    values["managed_policy_arns"] = tuple(values["managed_policy_arns"])
    return values


def test_unset_config_is_the_reference_deployment(pulumi_mocks: StartPulumi) -> None:
    assert as_dict(read(pulumi_mocks())) == expected_reference_args()


def test_declared_project_defaults_are_the_reference_deployment(
    pulumi_mocks: StartPulumi,
) -> None:
    harness = pulumi_mocks(config=project_defaults())

    assert as_dict(read(harness)) == expected_reference_args()


def test_project_file_declares_every_key_the_program_reads() -> None:
    declared = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]
    read_keys = set(CONFIG_KEYS.values())

    # Project config types cannot express a map, so `tags` is read but not declared.
    assert set(declared) == read_keys - {"tags"}
    for key, spec in declared.items():
        assert spec["type"] in {"string", "integer", "boolean", "array"}, key
        assert spec["description"].strip(), key
        assert "default" in spec, f"{key} needs a default or Pulumi makes it mandatory"
        assert "secret" not in spec, f"{key}: a secret key cannot carry a plain default"


def test_project_file_runs_python_with_pip_in_venv() -> None:
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())

    assert project["name"] == "alex-sagemaker"
    assert project["runtime"] == {
        "name": "python",
        "options": {"toolchain": "pip", "virtualenv": "venv"},
    }
    dev = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())
    assert dev["config"]["aws:region"] == "us-east-1"


def test_zero_provisioned_concurrency_and_empty_strings_mean_unset(
    pulumi_mocks: StartPulumi,
) -> None:
    harness = pulumi_mocks(
        config={
            "alex-sagemaker:provisionedConcurrency": "0",
            "alex-sagemaker:modelRevision": "",
            "alex-sagemaker:roleArn": "",
            "alex-sagemaker:hfApiToken": "",
        }
    )

    args = read(harness)

    assert args.provisioned_concurrency is None
    assert args.model_revision is None
    assert args.role_arn is None
    assert args.hf_api_token is None


def test_tag_numbers_and_booleans_become_text(pulumi_mocks: StartPulumi) -> None:
    harness = pulumi_mocks(
        config={"alex-sagemaker:tags": json.dumps({"team": "ml", "cost": 42, "prod": False})}
    )

    assert read(harness).tags == {"team": "ml", "cost": "42", "prod": "false"}


def test_secret_token_is_handed_on_as_a_secret(pulumi_mocks: StartPulumi) -> None:
    harness = pulumi_mocks(
        config={"alex-sagemaker:hfApiToken": "hf_secret"},
        secret_keys=["alex-sagemaker:hfApiToken"],
    )

    token = read(harness).hf_api_token

    assert harness.is_secret(token)
    assert harness.resolve(token) == "hf_secret"


@pytest.mark.parametrize(
    ("key", "raw", "expected"),
    [
        ("memorySizeInMb", "lots", "memorySizeInMb: 'lots' is not an integer; use one of 1024"),
        ("maxConcurrency", "2.5", "maxConcurrency: '2.5' is not an integer; use an integer from 1"),
        ("provisionedConcurrency", "many", "provisionedConcurrency: 'many' is not an integer"),
        ("managedPolicyArns", "arn:aws:iam::aws:policy/X", "managedPolicyArns: must be a list"),
        ("managedPolicyArns", "[1, 2]", "managedPolicyArns: 1 is not an IAM policy ARN"),
        ("tags", "team=ml", "tags: must be a mapping of tag key to value, got 'team=ml'"),
        ("tags", '{"team": {"nested": 1}}', "tags: value of 'team' is not allowed"),
        ("endpointName", "", "endpointName: must be a non-empty string"),
        (
            "sentenceEmbeddings",
            "yes",
            "sentenceEmbeddings: 'yes' is not allowed; use true or false",
        ),
    ],
)
def test_unusable_values_are_errors_naming_the_key(
    pulumi_mocks: StartPulumi, key: str, raw: str, expected: str
) -> None:
    harness = pulumi_mocks(config={f"alex-sagemaker:{key}": raw})

    with pytest.raises(InvalidSettingsError) as raised:
        read(harness)

    assert set(raised.value.settings) == {key}
    assert expected in str(raised.value)
