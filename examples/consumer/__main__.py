"""A later Alex stack: an ingest Lambda role allowed to call the embedding endpoint.

It needs nothing from the embedding project's code, only its stack outputs: the endpoint name
(for the Lambda's SAGEMAKER_ENDPOINT) and `invoke_policy_json`, a policy that allows
`sagemaker:InvokeEndpoint` on that one endpoint.
"""

import json

import pulumi
import pulumi_aws as aws

config = pulumi.Config()
embedding = pulumi.StackReference(config.require("embeddingStack"))
endpoint_name = embedding.require_output("endpoint_name")
invoke_policy_json = embedding.require_output("invoke_policy_json")
partition = aws.get_partition_output().partition

ingest_role = aws.iam.Role(
    "ingest-lambda",
    description="Execution role of the Alex ingest Lambda",
    assume_role_policy=json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "lambda.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    ),
)
aws.iam.RolePolicyAttachment(
    "ingest-lambda-logs",
    role=ingest_role.name,
    policy_arn=pulumi.Output.concat(
        "arn:", partition, ":iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
    ),
)
aws.iam.RolePolicy(
    "ingest-lambda-invoke-embeddings",
    role=ingest_role.id,
    policy=invoke_policy_json,
)

pulumi.export("ingest_role_arn", ingest_role.arn)
pulumi.export("sagemaker_endpoint", endpoint_name)
