"""examples/consumer: a later stack that reaches the endpoint through a StackReference."""

from __future__ import annotations

import json
import runpy
from pathlib import Path

import yaml

from tests.conftest import StartPulumi
from tests.pulumi_harness import ACCOUNT_ID, PulumiHarness
from tests.resource_types import POLICY, ROLE

CONSUMER = Path(__file__).resolve().parents[2] / "examples" / "consumer"
ENDPOINT_ARN = f"arn:aws:sagemaker:eu-west-1:{ACCOUNT_ID}:endpoint/alex-embedding-endpoint"
INVOKE_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "sagemaker:InvokeEndpoint", "Resource": ENDPOINT_ARN}
        ],
    }
)
PRODUCTION = "acme/alex-sagemaker/prod"


def run_consumer(pulumi_mocks: StartPulumi, stack: str) -> tuple[PulumiHarness, dict[str, object]]:
    harness = pulumi_mocks(
        region="eu-west-1",
        project="alex-consumer",
        config={"alex-consumer:embeddingStack": stack},
        stack_outputs={
            stack: {"endpoint_name": "alex-embedding-endpoint", "invoke_policy_json": INVOKE_POLICY}
        },
    )
    harness.run(lambda: runpy.run_path(str(CONSUMER / "__main__.py"), run_name="__main__"))
    return harness, harness.exports()


def test_reads_the_referenced_stack_and_grants_its_invoke_policy(
    pulumi_mocks: StartPulumi,
) -> None:
    harness, exports = run_consumer(pulumi_mocks, PRODUCTION)

    reference = harness.one("pulumi:pulumi:StackReference")
    assert reference.inputs["name"] == PRODUCTION
    grant = harness.one(POLICY)
    role = harness.one(ROLE)
    assert grant.name == "ingest-lambda-invoke-embeddings"
    assert grant.inputs == {"role": f"{role.outputs['name']}-id", "policy": INVOKE_POLICY}
    assert json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]["Principal"] == {
        "Service": "lambda.amazonaws.com"
    }
    assert exports == {
        "ingest_role_arn": role.outputs["arn"],
        "sagemaker_endpoint": "alex-embedding-endpoint",
    }


def test_default_reference_is_the_local_backends_dev_stack() -> None:
    project = yaml.safe_load((CONSUMER / "Pulumi.yaml").read_text())

    assert project["name"] == "alex-consumer"
    assert project["config"]["embeddingStack"]["default"] == "organization/alex-sagemaker/dev"
