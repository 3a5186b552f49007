"""Resources that keep an endpoint healthy in production: scaling, logs and alarms.

Each function takes the component's resource options (so every resource is its child) and
registers plain AWS resources; the component decides which apply to its settings.
"""

from __future__ import annotations

from typing import Final

import pulumi
import pulumi_aws as aws

from components import naming
from components.args import EmbeddingEndpointArgs
from components.policies import ENDPOINT_LOG_GROUP_PREFIX

VARIANT_NAME: Final = "AllTraffic"
INSTANCE_DIMENSION: Final = "sagemaker:variant:DesiredInstanceCount"
PROVISIONED_DIMENSION: Final = "sagemaker:variant:DesiredProvisionedConcurrency"
INVOCATIONS_METRIC: Final = "SageMakerVariantInvocationsPerInstance"
PROVISIONED_METRIC: Final = "SageMakerVariantProvisionedConcurrencyUtilization"
MICROSECONDS_PER_MILLISECOND: Final = 1000
MICROSECONDS_PER_SECOND: Final = 1_000_000


def log_group_name(endpoint_name: str) -> str:
    return f"{ENDPOINT_LOG_GROUP_PREFIX}/{endpoint_name}"


def log_group(
    component: str, endpoint_name: str, args: EmbeddingEndpointArgs, opts: pulumi.ResourceOptions
) -> aws.cloudwatch.LogGroup:
    """The group SageMaker writes to, made first so it has a retention (SageMaker's own never
    expires)."""
    return aws.cloudwatch.LogGroup(
        naming.child_name(component, naming.LOG_GROUP),
        name=log_group_name(endpoint_name),
        retention_in_days=args.log_retention_days,
        tags=dict(args.tags) or None,
        opts=opts,
    )


def autoscaling(
    component: str,
    endpoint: aws.sagemaker.Endpoint,
    args: EmbeddingEndpointArgs,
    opts: pulumi.ResourceOptions,
) -> tuple[aws.appautoscaling.Target, aws.appautoscaling.Policy]:
    """Target tracking on instances (realtime) or provisioned concurrency (serverless)."""
    scales_instances = args.instance_scaling is not None
    if args.instance_scaling is not None:
        dimension, metric = INSTANCE_DIMENSION, INVOCATIONS_METRIC
        low, high = args.instance_scaling
        target_value: float = float(args.autoscaling_target_invocations)
    elif args.provisioned_scaling is not None:
        dimension, metric = PROVISIONED_DIMENSION, PROVISIONED_METRIC
        low, high = args.provisioned_scaling
        # The utilization metric is a ratio: 0.7 means 70% of provisioned concurrency in use.
        target_value = args.provisioned_concurrency_target_percent / 100
    else:
        raise ValueError("autoscaling needs instance or provisioned-concurrency scaling")
    target = aws.appautoscaling.Target(
        naming.child_name(component, naming.SCALING_TARGET),
        service_namespace="sagemaker",
        resource_id=endpoint.name.apply(lambda name: f"endpoint/{name}/variant/{VARIANT_NAME}"),
        scalable_dimension=dimension,
        min_capacity=low,
        max_capacity=high,
        tags=dict(args.tags) or None,
        opts=opts,
    )
    policy = aws.appautoscaling.Policy(
        naming.child_name(component, naming.SCALING_POLICY),
        policy_type="TargetTrackingScaling",
        service_namespace=target.service_namespace,
        resource_id=target.resource_id,
        scalable_dimension=target.scalable_dimension,
        target_tracking_scaling_policy_configuration=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs(
            target_value=target_value,
            predefined_metric_specification=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs(
                predefined_metric_type=metric
            ),
            scale_in_cooldown=args.autoscaling_scale_in_cooldown if scales_instances else None,
            scale_out_cooldown=(args.autoscaling_scale_out_cooldown if scales_instances else None),
        ),
        opts=opts,
    )
    return target, policy


def alarms(
    component: str,
    endpoint: aws.sagemaker.Endpoint,
    args: EmbeddingEndpointArgs,
    opts: pulumi.ResourceOptions,
) -> list[aws.cloudwatch.MetricAlarm]:
    """5XX errors, model latency and, on serverless, slow cold starts (ModelSetupTime)."""
    actions = [args.alarm_topic_arn] if args.alarm_topic_arn else None
    dimensions = endpoint.name.apply(
        lambda name: {"EndpointName": name, "VariantName": VARIANT_NAME}
    )
    specs = [
        (
            naming.ALARM_5XX,
            "Invocation5XXErrors",
            "Sum",
            0.0,
            "the endpoint answered with server errors (5XX)",
        ),
        (
            naming.ALARM_LATENCY,
            "ModelLatency",
            "Average",
            float(args.alarm_model_latency_ms * MICROSECONDS_PER_MILLISECOND),
            f"the model took over {args.alarm_model_latency_ms} ms per request on average",
        ),
    ]
    if args.is_serverless:
        specs.append(
            (
                naming.ALARM_SETUP,
                "ModelSetupTime",
                "Maximum",
                float(args.alarm_model_setup_seconds * MICROSECONDS_PER_SECOND),
                f"a cold start took over {args.alarm_model_setup_seconds} s",
            )
        )
    return [
        aws.cloudwatch.MetricAlarm(
            naming.child_name(component, suffix),
            alarm_description=f"{component}: {description}",
            namespace="AWS/SageMaker",
            metric_name=metric,
            statistic=statistic,
            dimensions=dimensions,
            period=300,
            evaluation_periods=1,
            threshold=threshold,
            comparison_operator="GreaterThanThreshold",
            treat_missing_data="notBreaching",
            alarm_actions=actions,
            ok_actions=actions,
            tags=dict(args.tags) or None,
            opts=opts,
        )
        for suffix, metric, statistic, threshold, description in specs
    ]
