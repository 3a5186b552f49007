"""The component as a library: reuse, existing roles, naming and secrets, under mocks."""

from __future__ import annotations

import asyncio
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from components import EmbeddingEndpoint, EmbeddingEndpointArgs, InvalidSettingsError
from tests.conftest import StartPulumi
from tests.pulumi_harness import ACCOUNT_ID
from tests.resource_types import ALARM, COMPONENT, CONFIG, ENDPOINT, MODEL, POLICY_ATTACHMENT, ROLE


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
    assert len(names) == len(set(names)) == 30
    suffixes = (
        "role", "execution-policy", "code", "code-public-access", "model-archive",
        "model-archive-read", "iam-propagation", "model", "config", "logs", "endpoint",
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
    args = EmbeddingEndpointArgs(role_arn=role_arn, sentence_embeddings=False)

    endpoint = harness.run(lambda: EmbeddingEndpoint("shared", args))

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


def test_an_unknown_region_is_refused_before_any_child_registers(
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
    assert [r.type for r in harness.monitor.registrations] == [COMPONENT]
    assert not [i for i in harness.mocks.invocations if "getPrebuiltEcrImage" in i.token]


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


def test_the_region_of_an_explicit_provider_is_checked_too(pulumi_mocks: StartPulumi) -> None:
    harness = pulumi_mocks()

    def program() -> None:
        provider = aws.Provider("elsewhere", region="mars-1")
        EmbeddingEndpoint(
            "vectors", EmbeddingEndpointArgs(), pulumi.ResourceOptions(provider=provider)
        )

    with pytest.raises(InvalidSettingsError) as raised:
        harness.run(program)

    assert raised.value.settings == ("aws:region",)
    assert [r.type for r in harness.monitor.registrations] == ["pulumi:providers:aws", COMPONENT]


ROLE_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/shared-sagemaker-execution"
TOPIC_ARN = f"arn:aws:sns:us-east-1:{ACCOUNT_ID}:ml-alerts"


def test_arns_may_be_outputs_of_other_resources(pulumi_mocks: StartPulumi) -> None:
    harness = pulumi_mocks()

    def program() -> EmbeddingEndpoint:
        topic = aws.sns.Topic("alerts", name="ml-alerts")
        args = EmbeddingEndpointArgs(
            role_arn=pulumi.Output.from_input(ROLE_ARN), alarm_topic_arn=topic.arn
        )
        return EmbeddingEndpoint("vectors", args)

    endpoint = harness.run(program)

    assert harness.one(MODEL).inputs["executionRoleArn"] == ROLE_ARN
    assert harness.resolve(endpoint.role_arn) == ROLE_ARN
    actions = {tuple(alarm.inputs["alarmActions"]) for alarm in harness.of_type(ALARM)}
    assert actions == {(TOPIC_ARN,)}


def test_a_secret_role_arn_stays_secret(pulumi_mocks: StartPulumi) -> None:
    harness = pulumi_mocks()
    args = EmbeddingEndpointArgs(role_arn=pulumi.Output.secret(ROLE_ARN))

    endpoint = harness.run(lambda: EmbeddingEndpoint("vectors", args))

    assert "executionRoleArn" in harness.one(MODEL).secret_inputs
    assert harness.is_secret(endpoint.role_arn)
    assert not harness.is_secret(endpoint.region)


@pytest.mark.parametrize("secret", [False, True])
def test_an_output_arn_that_resolves_to_a_bad_value_fails_naming_the_setting(
    pulumi_mocks: StartPulumi, secret: bool
) -> None:
    harness = pulumi_mocks()
    bad = "arn:aws-cn:iam::123456789012:role/elsewhere"
    role = pulumi.Output.secret(bad) if secret else pulumi.Output.from_input(bad)

    with pytest.raises(InvalidSettingsError) as raised:
        harness.run(lambda: EmbeddingEndpoint("vectors", EmbeddingEndpointArgs(role_arn=role)))

    shown = "[secret]" if secret else repr(bad)
    assert [str(problem) for problem in raised.value.problems] == [
        f"role_arn: {shown} is not in us-east-1's partition; use an 'arn:aws:' ARN"
    ]
    assert (bad in str(raised.value)) is not secret
    assert not harness.of_type(MODEL)


def test_an_output_arn_of_no_arn_at_all_gets_the_same_message_as_text(
    pulumi_mocks: StartPulumi,
) -> None:
    harness = pulumi_mocks()
    topic = pulumi.Output.from_input("ml-alerts")

    with pytest.raises(InvalidSettingsError) as at_deployment:
        harness.run(
            lambda: EmbeddingEndpoint("vectors", EmbeddingEndpointArgs(alarm_topic_arn=topic))
        )
    with pytest.raises(InvalidSettingsError) as up_front:
        EmbeddingEndpointArgs(alarm_topic_arn="ml-alerts")

    assert at_deployment.value.problems == up_front.value.problems


def test_a_managed_policy_made_in_the_same_program_is_attached(
    pulumi_mocks: StartPulumi,
) -> None:
    harness = pulumi_mocks()
    full_access = "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"

    def program() -> None:
        own = pulumi.Output.from_input(f"arn:aws:iam::{ACCOUNT_ID}:policy/team/vectors-extra")
        args = EmbeddingEndpointArgs(managed_policy_arns=[full_access, own])
        EmbeddingEndpoint("vectors", args)

    harness.run(program)

    attached = {r.name: r.inputs["policyArn"] for r in harness.of_type(POLICY_ATTACHMENT)}
    assert attached == {
        "vectors-AmazonSageMakerFullAccess": full_access,
        "vectors-policy-1": f"arn:aws:iam::{ACCOUNT_ID}:policy/team/vectors-extra",
    }


@pytest.mark.parametrize("setting", ["role_arn", "alarm_topic_arn", "managed_policy_arns"])
def test_an_output_arn_that_resolves_to_nothing_fails_naming_the_setting(
    pulumi_mocks: StartPulumi, setting: str
) -> None:
    harness = pulumi_mocks(stack_outputs={"org/platform/dev": {}})

    def program() -> None:
        missing = pulumi.StackReference("org/platform/dev").get_output("sagemaker_role_arn")
        value: Any = [missing] if setting == "managed_policy_arns" else missing
        EmbeddingEndpoint("vectors", EmbeddingEndpointArgs(**{setting: value}))

    with pytest.raises(InvalidSettingsError) as raised:
        harness.run(program)

    assert [str(problem) for problem in raised.value.problems] == [
        f"{setting}: resolved to nothing: check the output that gives it"
    ]


def unknown() -> pulumi.Output[str]:
    """An Output as a preview has it for a resource not made yet: no value."""
    known: asyncio.Future[bool] = asyncio.get_event_loop().create_future()
    value: asyncio.Future[str] = asyncio.get_event_loop().create_future()
    known.set_result(False)
    value.set_result("")
    return pulumi.Output(set(), value, known)


@pytest.mark.parametrize("setting", ["role_arn", "alarm_topic_arn", "managed_policy_arns"])
def test_a_preview_with_an_arn_not_known_yet_still_checks_the_region(
    pulumi_mocks: StartPulumi, setting: str
) -> None:
    harness = pulumi_mocks(region="mars-1", preview=True)

    def program() -> None:
        value: Any = [unknown()] if setting == "managed_policy_arns" else unknown()
        EmbeddingEndpoint("vectors", EmbeddingEndpointArgs(**{setting: value}))

    with pytest.raises(InvalidSettingsError) as raised:
        harness.run(program)

    assert raised.value.settings == ("aws:region",)
    assert [r.type for r in harness.monitor.registrations] == [COMPONENT]


def test_a_preview_with_an_arn_not_known_yet_keeps_every_dependency(
    pulumi_mocks: StartPulumi,
) -> None:
    harness = pulumi_mocks(preview=True)

    harness.run(lambda: EmbeddingEndpoint("vectors", EmbeddingEndpointArgs(role_arn=unknown())))

    sleep = harness.one("time:index/sleep:Sleep")
    assert sleep.urn in harness.one(MODEL).dependencies
    assert harness.one(ENDPOINT).dependencies == [harness.one(CONFIG).urn]


def test_a_secret_text_setting_is_not_shown_in_a_refusal() -> None:
    with pytest.raises(InvalidSettingsError) as raised:
        EmbeddingEndpointArgs(model_id="acme/secret--name", secret_settings={"model_id"})

    assert str(raised.value.problems[0]).startswith("model_id: [secret] may not contain")
    assert "secret--name" not in str(raised.value)


def test_settings_that_decide_which_resources_exist_cannot_be_kept_secret() -> None:
    with pytest.raises(InvalidSettingsError) as raised:
        EmbeddingEndpointArgs(secret_settings={"runtime", "mode", "model_id"})

    (problem,) = raised.value.problems
    assert problem.setting == "secret_settings"
    assert problem.message.endswith(
        "cannot keep ['mode', 'runtime'] secret: each decides which resources exist, which no "
        "secret hides"
    )
