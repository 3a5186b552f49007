"""Production settings under mocks: realtime mode, autoscaling, logs, alarms, invoke grants."""

from __future__ import annotations

import json
from typing import Any

import pulumi_aws as aws
import pytest

from components import EmbeddingEndpoint, EmbeddingEndpointArgs, InvalidSettingsError
from tests.conftest import StartPulumi
from tests.pulumi_harness import ACCOUNT_ID, PulumiHarness, project_config
from tests.resource_types import (
    ALARM,
    CONFIG,
    ENDPOINT,
    LOG_GROUP,
    MODEL,
    POLICY,
    SCALING_POLICY,
    SCALING_TARGET,
)

ENDPOINT_ARN = f"arn:aws:sagemaker:us-east-1:{ACCOUNT_ID}:endpoint/alex-embedding-endpoint"
TOPIC = f"arn:aws:sns:us-east-1:{ACCOUNT_ID}:ml-alerts"


def alarms_by_metric(harness: PulumiHarness) -> dict[str, dict[str, Any]]:
    return {alarm.inputs["metricName"]: alarm.inputs for alarm in harness.of_type(ALARM)}


def test_realtime_mode_runs_instances_and_scales_them_on_invocations(
    pulumi_mocks: StartPulumi,
) -> None:
    harness = pulumi_mocks(
        config=project_config(
            mode="realtime",
            instanceType="ml.m5.large",
            instanceCount="2",
            autoscalingMinCapacity="1",
            autoscalingMaxCapacity="4",
            autoscalingTargetInvocations="200",
            autoscalingScaleInCooldown="600",
            autoscalingScaleOutCooldown="30",
            tags='{"team": "ml"}',
        )
    )
    harness.run_program()

    assert harness.one(CONFIG).inputs["productionVariants"] == [
        {
            "variantName": "AllTraffic",
            "modelName": harness.one(MODEL).outputs["name"],
            "instanceType": "ml.m5.large",
            "initialInstanceCount": 2,
        }
    ]
    target = harness.one(SCALING_TARGET)
    assert target.inputs == {
        "serviceNamespace": "sagemaker",
        "resourceId": "endpoint/alex-embedding-endpoint/variant/AllTraffic",
        "scalableDimension": "sagemaker:variant:DesiredInstanceCount",
        "minCapacity": 1,
        "maxCapacity": 4,
        "tags": {"team": "ml"},
    }
    assert harness.one(ENDPOINT).urn in target.dependencies
    policy = harness.one(SCALING_POLICY)
    assert policy.inputs == {
        "policyType": "TargetTrackingScaling",
        "serviceNamespace": "sagemaker",
        "resourceId": "endpoint/alex-embedding-endpoint/variant/AllTraffic",
        "scalableDimension": "sagemaker:variant:DesiredInstanceCount",
        "targetTrackingScalingPolicyConfiguration": {
            "targetValue": 200,
            "predefinedMetricSpecification": {
                "predefinedMetricType": "SageMakerVariantInvocationsPerInstance"
            },
            "scaleInCooldown": 600,
            "scaleOutCooldown": 30,
        },
    }
    assert set(alarms_by_metric(harness)) == {"Invocation5XXErrors", "ModelLatency"}


def test_gpu_instance_runs_the_gpu_build_of_the_release(pulumi_mocks: StartPulumi) -> None:
    harness = pulumi_mocks(config=project_config(mode="realtime", instanceType="ml.g5.xlarge"))
    exports = harness.run_program()

    gpu_tag = "1.13.1-transformers4.26.0-gpu-py39-cu117-ubuntu20.04"
    lookups = [i.args for i in harness.mocks.invocations if "getPrebuiltEcrImage" in i.token]
    assert {
        "repositoryName": "huggingface-pytorch-inference",
        "imageTag": gpu_tag,
        "region": "us-east-1",
    } in lookups
    assert exports["image_uri"].endswith(f":{gpu_tag}")
    assert harness.one(MODEL).inputs["primaryContainer"]["image"].endswith(f":{gpu_tag}")


def test_serverless_provisioned_concurrency_scales_on_its_utilization(
    pulumi_mocks: StartPulumi,
) -> None:
    harness = pulumi_mocks(
        config=project_config(
            maxConcurrency="5",
            provisionedConcurrency="2",
            provisionedConcurrencyMin="1",
            provisionedConcurrencyMax="4",
            provisionedConcurrencyTargetPercent="60",
        )
    )
    harness.run_program()

    variant = harness.one(CONFIG).inputs["productionVariants"][0]
    assert variant["serverlessConfig"] == {
        "memorySizeInMb": 3072,
        "maxConcurrency": 5,
        "provisionedConcurrency": 2,
    }
    assert harness.one(SCALING_TARGET).inputs == {
        "serviceNamespace": "sagemaker",
        "resourceId": "endpoint/alex-embedding-endpoint/variant/AllTraffic",
        "scalableDimension": "sagemaker:variant:DesiredProvisionedConcurrency",
        "minCapacity": 1,
        "maxCapacity": 4,
    }
    assert harness.one(SCALING_POLICY).inputs["targetTrackingScalingPolicyConfiguration"] == {
        "targetValue": 0.6,
        "predefinedMetricSpecification": {
            "predefinedMetricType": "SageMakerVariantProvisionedConcurrencyUtilization"
        },
    }


def test_changing_mode_replaces_the_configuration_but_keeps_the_endpoint(
    pulumi_mocks: StartPulumi,
) -> None:
    serverless = pulumi_mocks()
    serverless.run_program()
    realtime = pulumi_mocks(config=project_config(mode="realtime", instanceType="ml.c5.xlarge"))
    realtime.run_program()

    before, after = serverless.one(CONFIG).inputs, realtime.one(CONFIG).inputs
    # Auto-named, so the new configuration is created beside the old one...
    assert "name" not in before
    assert "name" not in after
    assert before["productionVariants"] != after["productionVariants"]
    # ...and the endpoint, same name, is pointed at it in place.
    assert serverless.one(ENDPOINT).inputs["name"] == realtime.one(ENDPOINT).inputs["name"]
    assert set(realtime.one(ENDPOINT).inputs) == {"name", "endpointConfigName"}


def test_log_group_comes_first_with_a_retention(pulumi_mocks: StartPulumi) -> None:
    harness = pulumi_mocks(config=project_config(logRetentionDays="90"))
    harness.run_program()

    logs = harness.one(LOG_GROUP)
    assert logs.inputs == {
        "name": "/aws/sagemaker/Endpoints/alex-embedding-endpoint",
        "retentionInDays": 90,
    }
    assert logs.urn in harness.one(ENDPOINT).dependencies


def test_zero_retention_keeps_logs_forever(pulumi_mocks: StartPulumi) -> None:
    harness = pulumi_mocks(config=project_config(logRetentionDays="0"))
    harness.run_program()

    assert harness.one(LOG_GROUP).inputs == {
        "name": "/aws/sagemaker/Endpoints/alex-embedding-endpoint"
    }


def test_alarms_watch_errors_latency_and_cold_starts_and_notify_the_topic(
    pulumi_mocks: StartPulumi,
) -> None:
    harness = pulumi_mocks(
        config=project_config(
            alarmTopicArn=TOPIC, alarmModelLatencyMs="250", alarmModelSetupSeconds="45"
        )
    )
    harness.run_program()

    alarms = alarms_by_metric(harness)
    dimensions = {"EndpointName": "alex-embedding-endpoint", "VariantName": "AllTraffic"}
    expected = {
        "Invocation5XXErrors": ("Sum", 0),
        "ModelLatency": ("Average", 250_000),  # microseconds
        "ModelSetupTime": ("Maximum", 45_000_000),
    }
    assert set(alarms) == set(expected)
    for metric, (statistic, threshold) in expected.items():
        alarm = alarms[metric]
        assert alarm["namespace"] == "AWS/SageMaker"
        assert alarm["dimensions"] == dimensions
        assert alarm["statistic"] == statistic
        assert alarm["threshold"] == threshold
        assert alarm["comparisonOperator"] == "GreaterThanThreshold"
        assert alarm["alarmActions"] == [TOPIC]
        assert alarm["okActions"] == [TOPIC]
        assert alarm["treatMissingData"] == "notBreaching"


def test_alarms_can_be_turned_off(pulumi_mocks: StartPulumi) -> None:
    harness = pulumi_mocks(config=project_config(alarms="false"))
    harness.run_program()

    assert harness.of_type(ALARM) == []


def test_grant_invoke_allows_only_invoking_this_endpoint(pulumi_mocks: StartPulumi) -> None:
    harness = pulumi_mocks()

    def program() -> None:
        endpoint = EmbeddingEndpoint(
            "vectors", EmbeddingEndpointArgs(endpoint_name="alex-embedding-endpoint")
        )
        lambda_role = aws.iam.Role("ingest-lambda", assume_role_policy="{}")
        endpoint.grant_invoke(lambda_role)

    harness.run(program)

    grant = next(r for r in harness.of_type(POLICY) if r.name == "vectors-invoke-ingest-lambda")
    lambda_role = next(r for r in harness.monitor.registrations if r.name == "ingest-lambda")
    assert grant.inputs["role"] == f"{lambda_role.outputs['name']}-id"
    assert json.loads(grant.inputs["policy"]) == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "InvokeEmbeddingEndpoint",
                "Effect": "Allow",
                "Action": "sagemaker:InvokeEndpoint",
                "Resource": ENDPOINT_ARN,
            }
        ],
    }
    component = next(r for r in harness.monitor.registrations if r.name == "vectors")
    assert grant.parent == component.urn


def test_program_exports_the_invoke_policy(pulumi_mocks: StartPulumi) -> None:
    harness = pulumi_mocks()
    exports = harness.run_program()

    assert json.loads(exports["invoke_policy_json"])["Statement"] == [
        {
            "Sid": "InvokeEmbeddingEndpoint",
            "Effect": "Allow",
            "Action": "sagemaker:InvokeEndpoint",
            "Resource": ENDPOINT_ARN,
        }
    ]


@pytest.mark.parametrize(
    ("settings", "keys", "message"),
    [
        ({"mode": "batch"}, ["mode"], "'batch' is refused: Input should be 'serverless' or 'realtime'"),
        ({"mode": "realtime"}, ["instanceType"], "is required with `mode` 'realtime'"),
        ({"mode": "realtime", "instanceType": "m5.large"}, ["instanceType"], "'m5.large' is not a SageMaker endpoint instance type"),
        ({"mode": "realtime", "instanceType": "ml.inf2.xlarge"}, ["instanceType"], "AWS Neuron accelerators need a Neuron image"),
        ({"mode": "realtime", "instanceType": "ml.m5.large", "memorySizeInMb": "4096", "provisionedConcurrency": "1"}, ["memorySizeInMb", "provisionedConcurrency"], "applies only to `mode` 'serverless'"),
        ({"instanceType": "ml.m5.large", "autoscalingMaxCapacity": "3"}, ["instanceType", "autoscalingMaxCapacity"], "applies only to `mode` 'realtime'"),
        ({"mode": "realtime", "instanceType": "ml.m5.large", "autoscalingMinCapacity": "3"}, ["autoscalingMaxCapacity"], "is needed with `autoscalingMinCapacity`: scaling needs a maximum"),
        ({"mode": "realtime", "instanceType": "ml.m5.large", "autoscalingMinCapacity": "5", "autoscalingMaxCapacity": "3"}, ["autoscalingMinCapacity"], "5 is above the maximum `autoscalingMaxCapacity` (3)"),
        ({"mode": "realtime", "instanceType": "ml.m5.large", "instanceCount": "6", "autoscalingMinCapacity": "1", "autoscalingMaxCapacity": "3"}, ["instanceCount"], "6 is outside the scaling range 1-3"),
        ({"mode": "realtime", "instanceType": "ml.g5.xlarge", "imageTag": "2.3.0-transformers4.48.0-cpu-py311-ubuntu22.04"}, ["imageTag"], "has no known GPU build"),
        ({"mode": "realtime", "instanceType": "ml.m5.large", "imageTag": "1.13.1-transformers4.26.0-gpu-py39-cu117-ubuntu20.04"}, ["imageTag"], "is a GPU tag, but ml.m5.large has no GPUs"),
        ({"provisionedConcurrencyMin": "1", "provisionedConcurrencyMax": "2"}, ["provisionedConcurrency"], "is needed to scale it"),
        ({"maxConcurrency": "4", "provisionedConcurrency": "1", "provisionedConcurrencyMin": "2", "provisionedConcurrencyMax": "3"}, ["provisionedConcurrency"], "1 is outside the scaling range 2-3"),
        ({"maxConcurrency": "4", "provisionedConcurrency": "2", "provisionedConcurrencyMin": "1", "provisionedConcurrencyMax": "8"}, ["provisionedConcurrencyMax"], "8 is above `maxConcurrency` (4)"),
        ({"provisionedConcurrency": "1", "provisionedConcurrencyMin": "1", "provisionedConcurrencyMax": "2", "provisionedConcurrencyTargetPercent": "150"}, ["provisionedConcurrencyTargetPercent"], "150 is refused: Input should be less than or equal to 100"),
        ({"logRetentionDays": "10"}, ["logRetentionDays"], "10 is not a retention CloudWatch accepts: (1, 3, 5, 7, 14, 30"),
        ({"alarmTopicArn": "ml-alerts"}, ["alarmTopicArn"], "'ml-alerts' is not allowed. SNS topic (arn:aws:sns:<region>:<account>:<topic>)"),
        ({"alarms": "maybe"}, ["alarms"], "'maybe' is not true or false"),
        ({"alarmModelLatencyMs": "0"}, ["alarmModelLatencyMs"], "0 is refused: Input should be greater than or equal to 1. Alarm when"),
    ],
)  # fmt: skip
def test_operational_settings_are_checked_by_key_before_anything_is_made(
    pulumi_mocks: StartPulumi, settings: dict[str, str], keys: list[str], message: str
) -> None:
    harness = pulumi_mocks(config=project_config(**settings))

    with pytest.raises(InvalidSettingsError) as raised:
        harness.run_program()

    assert list(raised.value.settings) == keys
    assert message in str(raised.value)
    assert harness.monitor.registrations == []
    assert harness.mocks.invocations == []


def test_a_new_endpoint_name_makes_the_new_endpoint_and_log_group_first(
    pulumi_mocks: StartPulumi,
) -> None:
    harness = pulumi_mocks()
    harness.run_program()

    # The provider would delete a named resource first: the option says otherwise, so on a
    # rename the old endpoint serves until the new one is InService.
    for type_token in (ENDPOINT, LOG_GROUP):
        assert harness.one(type_token).delete_before_replace is False, type_token
    assert harness.one(LOG_GROUP).retain_on_delete  # the old group's logs stay
    assert harness.one(ENDPOINT).replacement_trigger is None  # a fixed name: never replaced


def test_logs_go_with_the_endpoint_when_asked(pulumi_mocks: StartPulumi) -> None:
    harness = pulumi_mocks(config=project_config(keepLogs="false"))
    harness.run_program()

    assert not harness.one(LOG_GROUP).retain_on_delete


@pytest.mark.parametrize(
    ("settings", "trigger"),
    [
        ({}, "serverless"),
        ({"mode": "realtime", "instance_type": "ml.m5.large"}, "realtime"),
        (
            {"mode": "realtime", "instance_type": "ml.m5.large", "autoscaling_max_capacity": 3},
            "realtime ml.m5.large",
        ),
    ],
)
def test_an_auto_named_endpoint_is_replaced_where_aws_refuses_the_update(
    pulumi_mocks: StartPulumi, settings: dict[str, Any], trigger: str
) -> None:
    harness = pulumi_mocks()

    harness.run(lambda: EmbeddingEndpoint("vectors", EmbeddingEndpointArgs(**settings)))

    endpoint = harness.one(ENDPOINT)
    assert (endpoint.replacement_trigger, endpoint.delete_before_replace) == (trigger, False)
