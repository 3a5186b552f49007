"""The README's Python snippets run as written, against mocks."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.conftest import StartPulumi

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()
SNIPPETS: list[str] = re.findall(r"```python\n(.*?)```", README, flags=re.DOTALL)


def snippet_containing(text: str) -> str:
    matches = [snippet for snippet in SNIPPETS if text in snippet]
    assert len(matches) == 1, f"expected one README snippet with {text!r}"
    return matches[0]


def test_component_reuse_snippet_builds_a_second_endpoint(pulumi_mocks: StartPulumi) -> None:
    harness = pulumi_mocks()

    harness.run(lambda: exec(snippet_containing("EmbeddingEndpointArgs("), {}))

    endpoint = harness.one("aws:sagemaker/endpoint:Endpoint")
    assert endpoint.name == "search-endpoint"
    assert endpoint.inputs["name"] == "search-embeddings"
    assert endpoint.inputs["tags"] == {"app": "alex"}
    config = harness.one("aws:sagemaker/endpointConfiguration:EndpointConfiguration")
    assert config.inputs["productionVariants"][0]["serverlessConfig"]["memorySizeInMb"] == 4096
    assert harness.exports() == {"search_endpoint": "search-embeddings"}


def test_stack_reference_snippet_grants_invoke_on_the_referenced_endpoint(
    pulumi_mocks: StartPulumi,
) -> None:
    arn = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/alex-embedding-endpoint"
    harness = pulumi_mocks(stack_outputs={"organization/alex-sagemaker/dev": {"endpoint_arn": arn}})

    harness.run(lambda: exec(snippet_containing("StackReference("), {}))

    policy = harness.one("aws:iam/rolePolicy:RolePolicy")
    assert json.loads(policy.inputs["policy"]) == {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sagemaker:InvokeEndpoint", "Resource": arn}],
    }
    role = harness.one("aws:iam/role:Role")
    assert policy.inputs["role"] == f"{role.outputs['name']}-id"
