"""What keeps an endpoint healthy in production: scaling and alarms, each made as children of
the component, which decides which apply."""

from __future__ import annotations

from typing import Final

import pulumi
import pulumi_aws as aws

from components.args import INSTANCES, PROVISIONED, SCALING, EmbeddingEndpointArgs

VARIANT_NAME: Final = "AllTraffic"
_SCALING: Final = (*INSTANCES, *SCALING, *PROVISIONED, "provisioned_concurrency_target_percent")
"""Every setting the scaling target and policy carry."""
_MICROSECONDS: Final = {"ms": 1000, "s": 1_000_000}
"""SageMaker reports ModelLatency and ModelSetupTime in microseconds."""


def autoscaling(
    component: str,
    endpoint: aws.sagemaker.Endpoint,
    args: EmbeddingEndpointArgs,
    parent: pulumi.Resource,
) -> aws.appautoscaling.Policy:
    """Target tracking on instances (realtime) or provisioned concurrency (serverless)."""
    opts = pulumi.ResourceOptions(parent=parent)
    instances = args.instance_scaling
    if instances is not None:
        dimension, metric = "DesiredInstanceCount", "SageMakerVariantInvocationsPerInstance"
        (low, high), target_value = instances, float(args.autoscaling_target_invocations)
    else:
        assert args.provisioned_scaling is not None  # the component scales one or the other
        dimension = "DesiredProvisionedConcurrency"
        metric = "SageMakerVariantProvisionedConcurrencyUtilization"
        # The utilization metric is a ratio: 0.7 means 70% of provisioned concurrency in use.
        low, high = args.provisioned_scaling
        target_value = args.provisioned_concurrency_target_percent / 100
    target = aws.appautoscaling.Target(
        f"{component}-scaling-target",
        service_namespace="sagemaker",
        resource_id=endpoint.name.apply(lambda name: f"endpoint/{name}/variant/{VARIANT_NAME}"),
        scalable_dimension=f"sagemaker:variant:{dimension}",
        min_capacity=args.kept(low, *_SCALING),
        max_capacity=args.kept(high, *_SCALING),
        tags=args.kept(dict(args.tags) or None, "tags"),
        opts=opts,
    )
    return aws.appautoscaling.Policy(
        f"{component}-scaling-policy",
        policy_type="TargetTrackingScaling",
        service_namespace=target.service_namespace,
        resource_id=target.resource_id,
        scalable_dimension=target.scalable_dimension,
        target_tracking_scaling_policy_configuration=args.kept(
            aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs(
                target_value=target_value,
                predefined_metric_specification=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs(
                    predefined_metric_type=metric
                ),
                scale_in_cooldown=args.autoscaling_scale_in_cooldown if instances else None,
                scale_out_cooldown=args.autoscaling_scale_out_cooldown if instances else None,
            ),
            *_SCALING,
        ),
        opts=opts,
    )


def alarms(
    component: str,
    endpoint: aws.sagemaker.Endpoint,
    args: EmbeddingEndpointArgs,
    parent: pulumi.Resource,
    topic_arn: pulumi.Input[str] | None,
) -> list[aws.cloudwatch.MetricAlarm]:
    """5XX errors, model latency and, on serverless, slow cold starts (ModelSetupTime)."""
    actions = args.kept([topic_arn] if topic_arn is not None else None, "alarm_topic_arn")
    thresholds = ("alarm_model_latency_ms", "alarm_model_setup_seconds")
    latency, setup = args.alarm_model_latency_ms, args.alarm_model_setup_seconds
    # (suffix, metric, statistic, threshold, why): a cold-start alarm only where there are any.
    specs = [
        ("alarm-5xx", "Invocation5XXErrors", "Sum", 0.0,
         "the endpoint answered with server errors (5XX)"),
        ("alarm-latency", "ModelLatency", "Average", float(latency * _MICROSECONDS["ms"]),
         f"the model took over {latency} ms per request on average"),
        ("alarm-cold-start", "ModelSetupTime", "Maximum", float(setup * _MICROSECONDS["s"]),
         f"a cold start took over {setup} s"),
    ][: 3 if args.is_serverless else 2]  # fmt: skip
    return [
        aws.cloudwatch.MetricAlarm(
            f"{component}-{suffix}",
            alarm_description=args.kept(f"{component}: {description}", *thresholds),
            namespace="AWS/SageMaker",
            metric_name=metric,
            statistic=statistic,
            dimensions=endpoint.name.apply(
                lambda name: {"EndpointName": name, "VariantName": VARIANT_NAME}
            ),
            period=300,
            evaluation_periods=1,
            threshold=args.kept(threshold, *thresholds),
            comparison_operator="GreaterThanThreshold",
            treat_missing_data="notBreaching",
            alarm_actions=actions,
            ok_actions=actions,
            tags=args.kept(dict(args.tags) or None, "tags"),
            opts=pulumi.ResourceOptions(parent=parent),
        )
        for suffix, metric, statistic, threshold, description in specs
    ]
