"""IAM policy documents for the endpoint's execution role, as plain data.

Kept free of Pulumi types so the exact statements can be read and tested as dictionaries.
The permissions are the ones AWS documents for a CreateModel execution role, scoped as tightly
as each action allows, instead of the reference's AmazonSageMakerFullAccess.
"""

from __future__ import annotations

import json
from typing import Any, Final

PolicyDocument = dict[str, Any]

SAGEMAKER_SERVICE_PRINCIPAL: Final = "sagemaker.amazonaws.com"
ENDPOINT_LOG_GROUP_PREFIX: Final = "/aws/sagemaker/Endpoints"


def sagemaker_trust_policy() -> PolicyDocument:
    """Lets SageMaker assume the role to pull the image and write logs and metrics."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": SAGEMAKER_SERVICE_PRINCIPAL},
                "Action": "sts:AssumeRole",
            }
        ],
    }


def ecr_repository_arn(partition: str, region: str, registry_id: str, repository: str) -> str:
    """The ARN of an image repository in the registry the provider resolved for this region."""
    return f"arn:{partition}:ecr:{region}:{registry_id}:repository/{repository}"


def endpoint_log_group_arns(partition: str, region: str, account_id: str) -> list[str]:
    """SageMaker endpoints log to `/aws/sagemaker/Endpoints/<endpoint name>`; nothing else."""
    group = f"arn:{partition}:logs:{region}:{account_id}:log-group:{ENDPOINT_LOG_GROUP_PREFIX}/*"
    return [group, f"{group}:log-stream:*"]


def execution_policy(
    *, partition: str, region: str, account_id: str, ecr_repository: str
) -> PolicyDocument:
    """Least privilege for serving a prebuilt image whose model is downloaded from the Hub.

    `ecr:GetAuthorizationToken` and `cloudwatch:PutMetricData` support no resource-level
    scoping, so they stay on `*`; image pulls are limited to the one repository and logs to the
    endpoint log groups of this account and region.
    """
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PullInferenceImage",
                "Effect": "Allow",
                "Action": [
                    "ecr:BatchCheckLayerAvailability",
                    "ecr:GetDownloadUrlForLayer",
                    "ecr:BatchGetImage",
                ],
                "Resource": ecr_repository,
            },
            {
                "Sid": "AuthenticateToEcr",
                "Effect": "Allow",
                "Action": "ecr:GetAuthorizationToken",
                "Resource": "*",
            },
            {
                "Sid": "WriteEndpointLogs",
                "Effect": "Allow",
                "Action": [
                    "logs:CreateLogGroup",
                    "logs:CreateLogStream",
                    "logs:PutLogEvents",
                    "logs:DescribeLogStreams",
                ],
                "Resource": endpoint_log_group_arns(partition, region, account_id),
            },
            {
                "Sid": "PublishMetrics",
                "Effect": "Allow",
                "Action": "cloudwatch:PutMetricData",
                "Resource": "*",
            },
        ],
    }


def s3_object_arn(partition: str, bucket: str, key: str) -> str:
    return f"arn:{partition}:s3:::{bucket}/{key}"


def read_object_policy(object_arn: str) -> PolicyDocument:
    """Read access to one object (the handler's model archive) and nothing else."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadModelArchive",
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": object_arn,
            }
        ],
    }


def invoke_endpoint_policy(endpoint_arn: str) -> PolicyDocument:
    """What a caller (the ingest Lambda, the researcher) needs: InvokeEndpoint on one endpoint."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "InvokeEmbeddingEndpoint",
                "Effect": "Allow",
                "Action": "sagemaker:InvokeEndpoint",
                "Resource": endpoint_arn,
            }
        ],
    }


def to_json(document: PolicyDocument) -> str:
    """Stable serialisation, so an unchanged policy never shows up as a diff."""
    return json.dumps(document, sort_keys=True)
