"""IAM policy documents for the endpoint's execution role and its callers, as plain data: the
permissions AWS documents for a CreateModel execution role, scoped as tightly as each action
allows, instead of the reference's AmazonSageMakerFullAccess."""

from __future__ import annotations

import json
from typing import Any, Final

PolicyDocument = dict[str, Any]

ENDPOINT_LOG_GROUP_PREFIX: Final = "/aws/sagemaker/Endpoints"


def _document(*statements: PolicyDocument) -> PolicyDocument:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _allow(sid: str, action: str | list[str], resource: str | list[str]) -> PolicyDocument:
    return {"Sid": sid, "Effect": "Allow", "Action": action, "Resource": resource}


def sagemaker_trust_policy(partition: str, region: str, account_id: str) -> PolicyDocument:
    """Lets SageMaker assume the role to pull the image and write logs and metrics, on behalf
    of this account's SageMaker resources in this region only: the SageMaker Developer Guide's
    confused-deputy template for inference ("Cross-service confused deputy prevention",
    SageMaker AI Inference), whose `*` must stay: SageMaker's source ARN there is no model's
    or endpoint's own ARN. It needs no aws:SourceAccount, which the ARN's account already is."""
    trust = {"Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}
    source = {"aws:SourceArn": f"arn:{partition}:sagemaker:{region}:{account_id}:*"}
    return _document({"Effect": "Allow", **trust, "Condition": {"ArnLike": source}})


def execution_policy(
    partition: str, region: str, account_id: str, repositories: list[str], in_vpc: bool
) -> PolicyDocument:
    """Least privilege for serving a prebuilt image (the archive is read by the bucket's own
    policy), and in a VPC, the network interfaces SageMaker makes for the model there.

    `ecr:GetAuthorizationToken`, `cloudwatch:PutMetricData` and the EC2 calls (SageMaker's
    "Give SageMaker AI Hosted Endpoints Access to Resources in Your Amazon VPC" lists them on
    `*`) support no useful resource-level scoping, so they stay on `*`; image pulls are limited
    to the repositories of the images the component runs, in the registries the provider
    resolved for this region, and logs to this account's endpoint log groups.
    """
    groups = f"arn:{partition}:logs:{region}:{account_id}:log-group:{ENDPOINT_LOG_GROUP_PREFIX}/*"
    vpc = [_allow("UseModelVpc", VPC_ACTIONS, "*")] if in_vpc else []
    return _document(
        _allow(
            "PullInferenceImage",
            ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"],
            repositories,
        ),
        _allow("AuthenticateToEcr", "ecr:GetAuthorizationToken", "*"),
        _allow(
            "WriteEndpointLogs",
            [
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:PutLogEvents",
                "logs:DescribeLogStreams",
            ],
            [groups, f"{groups}:log-stream:*"],
        ),
        _allow("PublishMetrics", "cloudwatch:PutMetricData", "*"),
        *vpc,
    )


VPC_ACTIONS: Final = [
    f"ec2:{action}"
    for action in ("CreateNetworkInterface", "CreateNetworkInterfacePermission",
                   "DeleteNetworkInterface", "DeleteNetworkInterfacePermission",
                   "DescribeNetworkInterfaces", "DescribeVpcs", "DescribeDhcpOptions",
                   "DescribeSubnets", "DescribeSecurityGroups")
]  # fmt: skip
"""What the execution role of a model in a VPC needs (SageMaker's hosting-in-a-VPC guide)."""


def read_archives_policy(partition: str, bucket: str, prefix: str, role_arn: str) -> PolicyDocument:
    """The bucket's policy: the execution role may read the handler's archives and nothing else.
    Every archive, not only the newest: the model being replaced still serves, and its cold
    starts read the old one. A role of another account also needs this from its own policies."""
    reader = {"Principal": {"AWS": role_arn}, "Action": "s3:GetObject"}
    arn = f"arn:{partition}:s3:::{bucket}/{prefix}*"
    return _document({"Sid": "ReadModelArchives", "Effect": "Allow", **reader, "Resource": arn})


def invoke_endpoint_policy(endpoint_arn: str) -> PolicyDocument:
    """What a caller (the ingest Lambda, the researcher) needs: InvokeEndpoint on one endpoint."""
    return _document(_allow("InvokeEmbeddingEndpoint", "sagemaker:InvokeEndpoint", endpoint_arn))


def to_json(document: PolicyDocument) -> str:
    """Stable serialisation, so an unchanged policy never shows up as a diff."""
    return json.dumps(document, sort_keys=True)
