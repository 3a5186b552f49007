"""The component as a library: reuse, existing roles, naming and secrets, under mocks."""

from __future__ import annotations

from pathlib import Path

import pulumi
import pulumi_aws as aws
import pulumiverse_time as time
import pytest

from components import EmbeddingEndpoint, EmbeddingEndpointArgs, InvalidSettingsError
from tests.conftest import StartPulumi
from tests.pulumi_harness import ACCOUNT_ID
from tests.resource_types import ALARM, COMPONENT, CONFIG, ENDPOINT, MODEL, ROLE


def test_two_components_in_one_program_do_not_collide(pulumi_mocks: StartPulumi) -> None:
    harness = pulumi_mocks()

    def program() -> tuple[EmbeddingEndpoint, EmbeddingEndpoint]:
        search = EmbeddingEndpoint(
            "search", EmbeddingEndpointArgs(endpoint_name="search-embeddings")
        )
        ingest = EmbeddingEndpoint(
            "ingest",
            EmbeddingEndpointArgs(endpoint_name="ingest-embeddings", memory_size_in_mb=6144),
        )
        return search, ingest

    search, ingest = harness.run(program)

    names = [r.name for r in harness.monitor.registrations]
    assert len(names) == len(set(names)) == 22
    suffixes = (
        "role", "execution-policy", "iam-propagation", "model", "config", "logs", "endpoint",
        "alarm-5xx", "alarm-latency", "alarm-cold-start",
    )  # fmt: skip
    for component in ("search", "ingest"):
        urn = next(r.urn for r in harness.of_type(COMPONENT) if r.name == component)
        children = [r for r in harness.monitor.registrations if r.parent == urn]
        assert sorted(child.name for child in children) == sorted(
            f"{component}-{suffix}" for suffix in suffixes
        )
    assert harness.resolve(search.endpoint_name) == "search-embeddings"
    assert harness.resolve(ingest.endpoint_name) == "ingest-embeddings"
    assert harness.resolve(search.model_name) != harness.resolve(ingest.model_name)
    memory = {
        r.name: r.inputs["productionVariants"][0]["serverlessConfig"]["memorySizeInMb"]
        for r in harness.of_type(CONFIG)
    }
    assert memory == {"search-config": 3072, "ingest-config": 6144}


def test_existing_role_makes_no_role_policy_or_wait(pulumi_mocks: StartPulumi) -> None:
    harness = pulumi_mocks()
    role_arn = f"arn:aws:iam::{ACCOUNT_ID}:role/shared-sagemaker-execution"

    endpoint = harness.run(
        lambda: EmbeddingEndpoint("shared", EmbeddingEndpointArgs(role_arn=role_arn))
    )

    assert [r.type for r in harness.monitor.registrations] == [
        COMPONENT,
        MODEL,
        CONFIG,
        ENDPOINT,
        ALARM,
        ALARM,
        ALARM,
    ]  # fmt: skip  (no name given: no log group)
    model = harness.one(MODEL)
    assert model.inputs["executionRoleArn"] == role_arn
    assert model.dependencies == []
    assert harness.resolve(endpoint.role_arn) == role_arn
    assert not [i for i in harness.mocks.invocations if "getCallerIdentity" in i.token]


def test_endpoint_without_a_name_is_auto_named_from_the_component(
    pulumi_mocks: StartPulumi,
) -> None:
    harness = pulumi_mocks()

    endpoint = harness.run(lambda: EmbeddingEndpoint("vectors", EmbeddingEndpointArgs()))

    assert "name" not in harness.one(ENDPOINT).inputs
    assert harness.resolve(endpoint.endpoint_name).startswith("vectors-endpoint-")


def test_component_exposes_every_output(pulumi_mocks: StartPulumi) -> None:
    harness = pulumi_mocks(region="af-south-1")

    endpoint = harness.run(
        lambda: EmbeddingEndpoint("vectors", EmbeddingEndpointArgs(endpoint_name="vectors"))
    )

    assert harness.resolve(endpoint.endpoint_name) == "vectors"
    assert (
        harness.resolve(endpoint.endpoint_arn)
        == f"arn:aws:sagemaker:af-south-1:{ACCOUNT_ID}:endpoint/vectors"
    )
    assert harness.resolve(endpoint.model_name) == harness.one(MODEL).outputs["name"]
    assert harness.resolve(endpoint.endpoint_config_name) == harness.one(CONFIG).outputs["name"]
    assert harness.resolve(endpoint.role_arn) == harness.one(ROLE).outputs["arn"]
    assert harness.resolve(endpoint.image_uri) == (
        "626614931356.dkr.ecr.af-south-1.amazonaws.com/huggingface-pytorch-inference:"
        "1.13.1-transformers4.26.0-cpu-py39-ubuntu20.04"
    )
    assert harness.resolve(endpoint.region) == "af-south-1"


def test_plain_string_token_is_made_secret(pulumi_mocks: StartPulumi) -> None:
    harness = pulumi_mocks()

    harness.run(
        lambda: EmbeddingEndpoint(
            "gated",
            EmbeddingEndpointArgs(hf_api_token="hf_plain_string", environment={"LOG_LEVEL": "20"}),
        )
    )

    model = harness.one(MODEL)
    assert model.secret_inputs == ["primaryContainer"]
    assert model.additional_secret_outputs == ["primaryContainer"]
    assert model.inputs["primaryContainer"]["environment"] == {
        "LOG_LEVEL": "20",
        "HF_MODEL_ID": "sentence-transformers/all-MiniLM-L6-v2",
        "HF_TASK": "feature-extraction",
        "HF_API_TOKEN": "hf_plain_string",
    }


def test_no_tags_means_no_tags_property(pulumi_mocks: StartPulumi) -> None:
    harness = pulumi_mocks()

    harness.run(lambda: EmbeddingEndpoint("plain", EmbeddingEndpointArgs()))

    for registration in harness.monitor.registrations:
        assert "tags" not in registration.inputs, registration.type


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("alex_embedding", "'alex_embedding' is not allowed: up to 46 letters, digits and hyphens"),
        ("alex.embedding", "(no underscores or dots)"),
        ("-alex", "starting and ending with a letter or digit"),
        ("a" * 47, "up to 46 letters"),
        ("", "'' is not allowed"),
    ],
)
def test_bad_component_name_is_refused_before_anything_is_registered(
    pulumi_mocks: StartPulumi, name: str, expected: str
) -> None:
    harness = pulumi_mocks()

    with pytest.raises(InvalidSettingsError) as raised:
        harness.run(lambda: EmbeddingEndpoint(name, EmbeddingEndpointArgs()))

    assert raised.value.settings[0] == "name"
    assert expected in str(raised.value)
    assert harness.monitor.registrations == []
    assert harness.mocks.invocations == []


def test_longest_allowed_component_name_keeps_auto_names_within_63(
    pulumi_mocks: StartPulumi,
) -> None:
    harness = pulumi_mocks()
    name = "a" * 46

    harness.run(lambda: EmbeddingEndpoint(name, EmbeddingEndpointArgs()))

    for type_token in (MODEL, CONFIG, ENDPOINT):
        physical = harness.one(type_token).outputs["name"]
        assert len(physical) <= 63, (type_token, physical)


def test_an_unknown_region_is_refused_before_any_registration_or_invoke(
    pulumi_mocks: StartPulumi,
) -> None:
    harness = pulumi_mocks(region="mars-1")

    with pytest.raises(InvalidSettingsError) as raised:
        harness.run(lambda: EmbeddingEndpoint("vectors", EmbeddingEndpointArgs()))

    assert str(raised.value) == (
        "EmbeddingEndpoint 'vectors' has 1 invalid setting problem:\n"
        "  - aws:region: 'mars-1' is not a region with SageMaker's prebuilt images; "
        "use one such as us-east-1"
    )
    assert harness.monitor.registrations == []
    assert harness.mocks.invocations == []


def test_an_explicit_provider_decides_the_region_itself(pulumi_mocks: StartPulumi) -> None:
    # The stack's own region is unusable, but this component deploys through another provider.
    harness = pulumi_mocks(region="mars-1")

    def program() -> EmbeddingEndpoint:
        provider = aws.Provider("frankfurt", region="eu-central-1")
        return EmbeddingEndpoint(
            "vectors", EmbeddingEndpointArgs(), pulumi.ResourceOptions(provider=provider)
        )

    endpoint = harness.run(program)

    assert harness.resolve(endpoint.region) == "eu-central-1"
    assert harness.resolve(endpoint.image_uri).startswith("763104351884.dkr.ecr.eu-central-1.")


def test_the_component_name_and_the_settings_are_reported_together(
    pulumi_mocks: StartPulumi,
) -> None:
    harness = pulumi_mocks(config={"aws:region": "us-east-1"})
    role = "arn:aws-cn:iam::123456789012:role/r"

    with pytest.raises(InvalidSettingsError) as raised:
        harness.run(lambda: EmbeddingEndpoint("bad_name", EmbeddingEndpointArgs(role_arn=role)))

    assert raised.value.settings == ("name", "role_arn")
    assert "is not in us-east-1's partition; use an 'arn:aws:' ARN" in str(raised.value)


def test_a_provider_of_another_package_does_not_skip_the_region_check(
    pulumi_mocks: StartPulumi,
) -> None:
    harness = pulumi_mocks(region="mars-1")

    def program() -> None:
        other = time.Provider("clock")
        EmbeddingEndpoint(
            "vectors", EmbeddingEndpointArgs(), pulumi.ResourceOptions(providers=[other])
        )

    with pytest.raises(InvalidSettingsError) as raised:
        harness.run(program)

    assert raised.value.settings == ("aws:region",)
    assert [r.type for r in harness.monitor.registrations] == ["pulumi:providers:time"]
    assert harness.mocks.invocations == []


def test_no_region_anywhere_is_refused_with_the_command_that_sets_it(
    pulumi_mocks: StartPulumi, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    harness = pulumi_mocks()
    pulumi.runtime.set_all_config({}, [])
    for variable in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "absent"))

    with pytest.raises(InvalidSettingsError) as raised:
        harness.run(lambda: EmbeddingEndpoint("vectors", EmbeddingEndpointArgs()))

    assert [str(p) for p in raised.value.problems] == [
        "aws:region: is not set; run `pulumi config set aws:region us-east-1`"
    ]
    assert harness.monitor.registrations == []
