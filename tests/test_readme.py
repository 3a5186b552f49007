"""The Python snippets and commands of the README and docs/ run as written, against mocks."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws

from embeddings.server import wait_until_answering
from tests.conftest import StartPulumi
from tests.embeddings.moto_helpers import deploy, queue_results
from tests.fake_hub import FakeHub, fake_hub

__all__ = ["fake_hub"]
ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
TEXT = "\n".join(page.read_text() for page in PAGES)
SNIPPETS: list[str] = re.findall(r"```python\n(.*?)```", TEXT, flags=re.DOTALL)


def snippet_containing(text: str) -> str:
    matches = [snippet for snippet in SNIPPETS if text in snippet]
    assert len(matches) == 1, f"expected one snippet with {text!r}"
    return matches[0]


def test_component_reuse_snippet_builds_a_second_endpoint(pulumi_mocks: StartPulumi) -> None:
    harness = pulumi_mocks()

    harness.run(lambda: exec(snippet_containing('"search-embeddings"'), {}))

    endpoint = harness.one("aws:sagemaker/endpoint:Endpoint")
    assert endpoint.name == "search-endpoint"
    assert endpoint.inputs["name"] == "search-embeddings"
    assert endpoint.inputs["tags"] == {"app": "alex"}
    config = harness.one("aws:sagemaker/endpointConfiguration:EndpointConfiguration")
    assert config.inputs["productionVariants"][0]["serverlessConfig"]["memorySizeInMb"] == 4096
    assert harness.exports() == {"search_endpoint": "search-embeddings"}


def test_output_arns_snippet_passes_another_stacks_role_and_a_new_topic(
    pulumi_mocks: StartPulumi,
) -> None:
    role = "arn:aws:iam::123456789012:role/platform/sagemaker-execution"
    harness = pulumi_mocks(
        stack_outputs={"organization/alex-platform/dev": {"sagemaker_role_arn": role}}
    )

    harness.run(lambda: exec(snippet_containing('"organization/alex-platform/dev"'), {}))

    assert harness.one("aws:sagemaker/model:Model").inputs["executionRoleArn"] == role
    topic = harness.one("aws:sns/topic:Topic").outputs["arn"]
    alarms = harness.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    assert [alarm.inputs["alarmActions"] for alarm in alarms] == [[topic]] * 3


def test_private_network_snippet_runs_the_packaged_model_in_its_subnets(
    pulumi_mocks: StartPulumi, fake_hub: FakeHub
) -> None:
    harness = pulumi_mocks()

    harness.run(lambda: exec(snippet_containing('"private-embeddings"'), {}))

    # The mock's ids: the resource's name and "-id"; in the program's order (a, then b), which
    # registrations, made concurrently, need not keep.
    subnets = sorted(f"{s.outputs['name']}-id" for s in harness.of_type("aws:ec2/subnet:Subnet"))
    model = harness.one("aws:sagemaker/model:Model").inputs
    assert len(subnets) == 2
    assert model["vpcConfig"] == {
        "subnets": subnets,
        "securityGroupIds": [
            f"{harness.one('aws:ec2/securityGroup:SecurityGroup').outputs['name']}-id"
        ],
    }
    assert model["enableNetworkIsolation"] is True
    assert model["primaryContainer"]["environment"] == {"HF_TASK": "feature-extraction"}


def test_stack_reference_snippet_grants_the_producers_invoke_policy(
    pulumi_mocks: StartPulumi,
) -> None:
    producer = pulumi_mocks()
    exports = producer.run_program()
    consumer = pulumi_mocks(stack_outputs={"organization/alex-sagemaker/dev": exports})

    consumer.run(lambda: exec(snippet_containing('"organization/alex-sagemaker/dev"'), {}))

    policy = consumer.one("aws:iam/rolePolicy:RolePolicy")
    assert policy.inputs["policy"] == exports["invoke_policy_json"]
    assert (
        json.loads(policy.inputs["policy"])["Statement"][0]["Resource"] == (exports["endpoint_arn"])
    )
    role = consumer.one("aws:iam/role:Role")
    assert policy.inputs["role"] == f"{role.outputs['name']}-id"


def test_embedding_client_snippet_runs_and_ranks_by_cosine(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    for variable in ("SAGEMAKER_ENDPOINT", "DEFAULT_AWS_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    fixture = json.loads((Path(__file__).parent / "fixtures" / "token_level.json").read_text())
    namespace: dict[str, Any] = {}

    with mock_aws():
        deploy("us-east-1")
        # Answers of the real container: the documents' batch, then the query.
        queue_results([fixture["token_level"][1:3], [fixture["token_level"][0]]], "us-east-1")
        exec(snippet_containing("EmbeddingClient()"), namespace)

    assert len(namespace["vectors"]) == 2
    assert all(len(vector) == 384 for vector in namespace["vectors"])
    assert len(namespace["scores"]) == 2
    assert all(-1.0 <= score <= 1.0 for score in namespace["scores"])
    assert namespace["client"].requests_sent == 2


def shell_block(containing: str) -> str:
    blocks = re.findall(r"```bash\n(.*?)```", TEXT, flags=re.DOTALL)
    matches = [block for block in blocks if containing in block]
    assert len(matches) == 1, f"expected one shell block with {containing!r}"
    return str(matches[0])


def test_the_local_endpoint_commands_run_as_written(tmp_path: Path) -> None:
    """The local-endpoint blocks, verbatim: serve offline, then verify and invoke."""
    serve_block = shell_block("embeddings serve \\")
    client_block = shell_block("AWS_ENDPOINT_URL=http://127.0.0.1:8080")
    setup, serve_command = serve_block.split("\n", 1)
    assert setup.startswith("./scripts/test.sh")  # what this very test run has done
    with socket.socket() as probe:  # the commands use port 8080: answers must come from ours
        assert probe.connect_ex(("127.0.0.1", 8080)) != 0, "port 8080 is taken by another server"
    env = {**os.environ, "AWS_CONFIG_FILE": str(tmp_path / "none")}
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(
        ["bash", "-c", serve_command],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=log,
        start_new_session=True,  # bash and the server it starts stop together
    )
    try:
        wait_until_answering("http://127.0.0.1:8080", 120)
        assert server.poll() is None, (tmp_path / "serve.log").read_text()
        result = subprocess.run(
            ["bash", "-e", "-c", client_block],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)

    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert "verified" in lines
    assert len(json.loads(lines[-1])) == 384


def test_every_local_link_of_the_docs_leads_somewhere() -> None:
    for page in PAGES:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text()):
            assert (page.parent / target).exists(), f"{page.name} links to missing {target}"
