"""Reading stack configuration: every key, decoded by type, refused by key, documented once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml
from pydantic.fields import FieldInfo

from components import EmbeddingEndpoint, EmbeddingEndpointArgs, InvalidSettingsError
from components.errors import renamed
from stack_config import (
    EMPTY,
    args_from_config,
    config_type,
    program_defaults,
    stack_fields,
)
from tests.conftest import StartPulumi
from tests.pulumi_harness import PulumiHarness, project_config
from tests.resource_types import MODEL

ROOT = Path(__file__).resolve().parents[1]
PROJECT_FILE = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())


def description(field: FieldInfo) -> str:
    """A setting's docstring on one line, naming other settings by config key."""
    return renamed(" ".join((field.description or "").split()), EmbeddingEndpointArgs.config_keys())


def declared_default(name: str, field: FieldInfo) -> Any:
    """The default as Pulumi.yaml declares it: unset is "" or 0, a tuple is a list."""
    default = field.get_default(call_default_factory=True)
    if default is None:
        return EMPTY[config_type(field)]
    return list(default) if isinstance(default, tuple) else default


def declared_config() -> dict[str, dict[str, Any]]:
    """Pulumi.yaml's `config:` section as the settings declare it (a map cannot be declared)."""
    declared: dict[str, dict[str, Any]] = {}
    for key, (name, field) in stack_fields().items():
        kind = config_type(field)
        if kind != "object":
            items = {"items": {"type": "string"}} if kind == "array" else {}
            default = declared_default(name, field)
            declared[key] = {
                "type": kind,
                **items,
                "description": description(field),
                "default": default,
            }
    return declared


def read(harness: PulumiHarness) -> EmbeddingEndpointArgs:
    return harness.run(lambda: args_from_config(pulumi.Config()))


def refused(harness: PulumiHarness) -> InvalidSettingsError:
    with pytest.raises(InvalidSettingsError) as raised:
        read(harness)
    return raised.value


def project_defaults() -> dict[str, str]:
    """The values the Pulumi CLI hands the program when the stack sets nothing."""
    return {
        f"alex-sagemaker:{key}": value if isinstance(value, str) else json.dumps(value)
        for key, spec in PROJECT_FILE["config"].items()
        for value in [spec["default"]]
    }


def expected_reference_args() -> dict[str, Any]:
    return {
        **EmbeddingEndpointArgs().model_dump(),
        "endpoint_name": "alex-embedding-endpoint",
        "memory_size_in_mb": 3072,
        "max_concurrency": 2,
        "log_retention_days": 30,
        "alarms": True,
    }


def test_unset_config_is_the_reference_deployment(pulumi_mocks: StartPulumi) -> None:
    assert read(pulumi_mocks()).model_dump() == expected_reference_args()


def test_declared_project_defaults_are_the_reference_deployment(
    pulumi_mocks: StartPulumi,
) -> None:
    harness = pulumi_mocks(config=project_defaults())

    assert read(harness).model_dump() == expected_reference_args()


def test_a_tei_stack_on_the_declared_defaults_does_not_refuse_itself(
    pulumi_mocks: StartPulumi,
) -> None:
    # The CLI hands the program sentenceEmbeddings=true, Pulumi.yaml's default, on a TEI stack.
    harness = pulumi_mocks(config={**project_defaults(), "alex-sagemaker:runtime": "tei"})

    args = read(harness)

    assert (args.runtime, args.sentence_embeddings, args.uses_handler) == ("tei", True, False)


def test_project_file_declares_exactly_what_the_settings_declare() -> None:
    expected = yaml.safe_dump({"config": declared_config()}, sort_keys=False, width=100)

    assert PROJECT_FILE["config"] == declared_config(), f"Pulumi.yaml should read:\n{expected}"
    # Every key the program reads is declared, except the map Pulumi cannot declare.
    assert set(stack_fields()) - set(PROJECT_FILE["config"]) == {"tags"}
    for key, spec in PROJECT_FILE["config"].items():
        assert spec["description"].strip(), key
        assert "secret" not in spec, f"{key}: a secret key cannot carry a plain default"


def expected_readme_table() -> list[str]:
    """The README's configuration table, one row per key: default as declared, description."""
    rows = [
        "| key | default | meaning |",
        "| --- | --- | --- |",
        "| `aws:region` | `us-east-1` (in `Pulumi.dev.yaml`) | Region of every resource; it must "
        "have SageMaker's prebuilt images, and every ARN must be of its partition. |",
    ]
    for key, (name, field) in stack_fields().items():
        default = declared_default(name, field)
        shown = f"`{default if isinstance(default, str) else json.dumps(default)}`"
        if default == "" or (type(default) is int and default == 0):
            shown = "(none)" if default == "" else "`0` (unset)"
        rows.append(f"| `{key}` | {shown} | {description(field)} |")
    return rows


def test_readme_configuration_table_is_the_settings_own_declarations() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Configuration\n", 1)[1].split("\n## ", 1)[0]
    table = [line for line in section.splitlines() if line.startswith("|")]

    expected = expected_readme_table()
    assert table == expected, "README's table should read:\n" + "\n".join(expected)


def test_project_file_runs_python_with_pip_in_venv() -> None:
    assert PROJECT_FILE["name"] == "alex-sagemaker"
    assert PROJECT_FILE["runtime"] == {
        "name": "python",
        "options": {"toolchain": "pip", "virtualenv": "venv"},
    }
    dev = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())
    assert dev["config"]["aws:region"] == "us-east-1"


def test_zero_and_empty_mean_unset_where_the_declared_default_is_empty(
    pulumi_mocks: StartPulumi,
) -> None:
    harness = pulumi_mocks(
        config=project_config(
            provisionedConcurrency="0",
            modelRevision="",
            roleArn="",
            hfApiToken="",
            logRetentionDays="0",
        )
    )

    args = read(harness)

    assert args.provisioned_concurrency is None
    assert args.model_revision is None
    assert args.role_arn is None
    assert args.hf_api_token is None
    assert args.log_retention_days is None


def test_values_are_decoded_by_the_type_of_their_setting(pulumi_mocks: StartPulumi) -> None:
    harness = pulumi_mocks(
        config=project_config(
            memorySizeInMb="4096",
            maxConcurrency="+8",
            sentenceEmbeddings="true",
            alarms="false",
            managedPolicyArns='["arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"]',
            tags=json.dumps({"team": "ml", "cost": 42, "prod": False, "ratio": 1.5}),
        )
    )

    args = read(harness)

    assert (args.memory_size_in_mb, args.max_concurrency) == (4096, 8)
    assert (args.sentence_embeddings, args.alarms) == (True, False)
    assert args.managed_policy_arns == ("arn:aws:iam::aws:policy/AmazonSageMakerFullAccess",)
    assert args.tags == {"team": "ml", "cost": "42", "prod": "false", "ratio": "1.5"}


def test_secret_token_is_handed_on_as_a_secret(pulumi_mocks: StartPulumi) -> None:
    harness = pulumi_mocks(
        config=project_config(hfApiToken="hf_secret"), secret_keys=["alex-sagemaker:hfApiToken"]
    )

    args = read(harness)

    # Text, so that `modelSource: archive` can download with it; secret wherever it goes.
    assert (args.hf_api_token, "hf_api_token" in args.secret_settings) == ("hf_secret", True)
    harness.run(lambda: EmbeddingEndpoint("vectors", args))
    environment = harness.one(MODEL).inputs["primaryContainer"]["environment"]
    assert environment["HF_API_TOKEN"] == "hf_secret"
    assert harness.one(MODEL).secret_inputs == ["primaryContainer"]


@pytest.mark.parametrize(
    ("key", "raw", "expected"),
    [
        (
            "memorySizeInMb",
            "lots",
            "memorySizeInMb: 'lots' is not a whole number. Serverless memory, one of 1024",
        ),
        ("maxConcurrency", "2.5", "maxConcurrency: '2.5' is not a whole number"),
        ("provisionedConcurrency", "many", "provisionedConcurrency: 'many' is not a whole number"),
        (
            "managedPolicyArns",
            "arn:aws:iam::aws:policy/X",
            "managedPolicyArns: 'arn:aws:iam::aws:policy/X' is not a JSON list",
        ),
        (
            "managedPolicyArns",
            '["arn:aws:iam::aws:policy/X", 2]',
            "managedPolicyArns: 2 is not allowed. Managed policies",
        ),
        ("tags", "team=ml", "tags: 'team=ml' is not a JSON object"),
        (
            "tags",
            '{"team": {"nested": 1}}',
            "tags: value of 'team': {'nested': 1} is refused: Input should be a valid string",
        ),
        ("endpointName", "alex-embedding\n", "endpointName: 'alex-embedding\\n' is not allowed"),
        (
            "sentenceEmbeddings",
            "yes",
            "sentenceEmbeddings: 'yes' is not true or false",
        ),
        ("alarms", "TRUE", "alarms: 'TRUE' is not true or false"),
        (
            "memorySizeInMb",
            "1" * 5000,
            "...' is not a whole number. Serverless memory",
        ),
        (
            "managedPolicyArns",
            "[" * 100_000,
            "...' is not a JSON list. Managed policies",
        ),
        ("tags", '{"a":' * 100_000, 'tags: \'{"a":{"a":{"a"'),
        ("instanceCount", "1", None),
    ],
)
def test_unusable_values_are_errors_naming_the_key(
    pulumi_mocks: StartPulumi, key: str, raw: str, expected: str | None
) -> None:
    harness = pulumi_mocks(config=project_config(**{key: raw}))

    if expected is None:
        read(harness)
        return
    error = refused(harness)
    assert error.settings == (key,)
    assert expected in str(error)


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("memorySizeMb", "memorySizeMb: unknown setting; did you mean memorySizeInMb?"),
        ("maxconcurrency", "maxconcurrency: unknown setting; did you mean maxConcurrency?"),
        ("region", "region: unknown setting; did you mean aws:region?"),
        ("environment", "environment: can be set only from Python: it has no flat text form"),
        ("max_concurrency", "max_concurrency: unknown setting; did you mean maxConcurrency?"),
        ("colour", "colour: unknown setting"),
    ],
)
def test_an_unknown_key_is_refused_with_a_suggestion(
    pulumi_mocks: StartPulumi, key: str, message: str
) -> None:
    harness = pulumi_mocks(config=project_config(**{key: "6144"}))

    assert [str(problem) for problem in refused(harness).problems] == [message]


def test_keys_of_other_namespaces_are_left_alone(pulumi_mocks: StartPulumi) -> None:
    harness = pulumi_mocks(config={"aws:profile": "ml", "other-project:memorySizeMb": "1"})

    assert read(harness).memory_size_in_mb == 3072


def test_every_problem_is_reported_whatever_else_is_wrong(pulumi_mocks: StartPulumi) -> None:
    harness = pulumi_mocks(
        config=project_config(
            mode="Serverless",
            logRetentionDays="10",
            alarmModelLatencyMs="0",
            memorySizeMb="6144",
            hfApiToken="hf_plain",
        )
    )

    error = refused(harness)

    assert error.settings == (
        "hfApiToken",
        "mode",
        "logRetentionDays",
        "alarmModelLatencyMs",
        "memorySizeMb",
    )
    assert str(error).startswith(
        "Stack configuration of project 'alex-sagemaker' has 5 invalid setting problems:\n"
    )


def test_references_to_other_settings_use_config_keys(pulumi_mocks: StartPulumi) -> None:
    harness = pulumi_mocks(config=project_config(alarms="false", alarmTopicArn=TOPIC))

    assert [str(problem) for problem in refused(harness).problems] == [
        "alarmTopicArn: has no effect while `alarms` is off; remove it"
    ]


TOPIC = "arn:aws:sns:us-east-1:123456789012:ml-alerts"


@pytest.mark.parametrize(
    ("region", "config", "expected"),
    [
        ("mars-1", {}, ["aws:region: 'mars-1' is not a region with SageMaker's prebuilt images; use one such as us-east-1"]),
        ("us-east1", {}, ["aws:region: 'us-east1' is not a region with SageMaker's prebuilt images; did you mean us-east-1?"]),
        ("cn-north-1", {"roleArn": "arn:aws:iam::123456789012:role/r"}, ["roleArn: 'arn:aws:iam::123456789012:role/r' is not in cn-north-1's partition; use an 'arn:aws-cn:' ARN"]),
        ("cn-north-1", {"managedPolicyArns": '["arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"]'}, ["managedPolicyArns: 'arn:aws:iam::aws:policy/AmazonSageMakerFullAccess' is not in cn-north-1's partition; use an 'arn:aws-cn:' ARN"]),
        ("us-east-1", {"roleArn": "arn:aws-cn:iam::123456789012:role/r"}, ["roleArn: 'arn:aws-cn:iam::123456789012:role/r' is not in us-east-1's partition; use an 'arn:aws:' ARN"]),
        ("eu-west-1", {"alarmTopicArn": TOPIC}, ["alarmTopicArn: is in us-east-1; alarms in eu-west-1 can notify only a topic in eu-west-1"]),
    ],
)  # fmt: skip
def test_the_region_and_arns_are_checked_before_any_invoke(
    pulumi_mocks: StartPulumi, region: str, config: dict[str, str], expected: list[str]
) -> None:
    harness = pulumi_mocks(region=region, config=project_config(**config))

    with pytest.raises(InvalidSettingsError) as raised:
        harness.run_program()

    assert [str(problem) for problem in raised.value.problems] == expected
    assert harness.monitor.registrations == []
    assert harness.mocks.invocations == []


def test_arns_of_the_regions_partition_pass(pulumi_mocks: StartPulumi) -> None:
    role = "arn:aws-cn:iam::123456789012:role/r"
    harness = pulumi_mocks(region="cn-north-1", config=project_config(roleArn=role))

    exports = harness.run_program()

    assert exports["role_arn"] == role
    assert exports["image_uri"].startswith("727897471807.dkr.ecr.cn-north-1.")


def test_a_missing_region_is_reported_with_the_command_that_sets_it(
    pulumi_mocks: StartPulumi, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    harness = pulumi_mocks()
    pulumi.runtime.set_all_config({}, [])
    for variable in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "absent"))

    assert [str(problem) for problem in refused(harness).problems] == [
        "aws:region: is not set; run `pulumi config set aws:region us-east-1`"
    ]


def test_the_profiles_region_counts_as_the_providers_would(
    pulumi_mocks: StartPulumi, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    harness = pulumi_mocks()
    pulumi.runtime.set_all_config({"aws:profile": "ml"}, [])
    for variable in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(variable, raising=False)
    aws_config = tmp_path / "config"
    aws_config.write_text("[profile ml]\nregion = mars-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(aws_config))

    assert refused(harness).settings == ("aws:region",)


@pytest.mark.parametrize(
    ("key", "raw", "expected"),
    [
        ("alarms", "True", True),
        ("alarms", "False", False),
        ("sentenceEmbeddings", "True", True),
        ("provisionedConcurrency", "-0", None),
        ("provisionedConcurrency", "00", None),
        ("memorySizeInMb", " 4096", 4096),
        ("memorySizeInMb", "4_096", 4096),
    ],
)
def test_what_pulumi_itself_accepts_is_accepted(
    pulumi_mocks: StartPulumi, key: str, raw: str, expected: object
) -> None:
    harness = pulumi_mocks(config=project_config(**{key: raw}))

    args = read(harness)

    field = EmbeddingEndpointArgs.names()[key]
    assert getattr(args, field) == expected


def test_a_per_key_environment_variable_is_read_like_any_value(
    pulumi_mocks: StartPulumi, monkeypatch: pytest.MonkeyPatch
) -> None:
    harness = pulumi_mocks()
    monkeypatch.setenv("PULUMI_CONFIG_ALEX_SAGEMAKER_MEMORYSIZEINMB", "4096")

    assert read(harness).memory_size_in_mb == 4096


def test_a_provider_key_under_the_projects_name_says_where_it_belongs(
    pulumi_mocks: StartPulumi,
) -> None:
    harness = pulumi_mocks(config=project_config(**{"aws:region": "eu-west-1"}))

    assert [str(problem) for problem in refused(harness).problems] == [
        "aws:region: is the AWS provider's; set `aws:region` without `alex-sagemaker:`"
    ]


@pytest.mark.parametrize("variable", ["AWS_PROFILE", "AWS_CONFIG_FILE"])
def test_an_unusable_aws_profile_does_not_break_the_checks(
    pulumi_mocks: StartPulumi, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, variable: str
) -> None:
    broken = tmp_path / "config"
    broken.write_text("[profile x\nregion = = =\n")
    monkeypatch.setenv(variable, "nonexistent" if variable == "AWS_PROFILE" else str(broken))
    harness = pulumi_mocks(region="eu-west-1", config=project_config(roleArn=ROLE))

    assert read(harness).role_arn == ROLE


ROLE = "arn:aws:iam::123456789012:role/r"


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"mode": "realtime", "instanceType": "ml.m5.large", "autoscalingMaxCapacity": "ten", "autoscalingTargetInvocations": "500"}, ["autoscalingMaxCapacity"]),
        ({"mode": "realtime", "instanceType": "ml.m5.large", "autoscalingMaxCapacity": "ten", "autoscalingMinCapacity": "2"}, ["autoscalingMaxCapacity"]),
        ({"sentenceEmbeddings": "yes", "roleArn": ROLE, "iamPropagationDelay": "30s"}, ["sentenceEmbeddings"]),
    ],
)  # fmt: skip
def test_an_unreadable_value_is_refused_and_misleads_no_rule(
    pulumi_mocks: StartPulumi, config: dict[str, str], expected: list[str]
) -> None:
    harness = pulumi_mocks(config=project_config(**config))

    assert refused(harness).settings == tuple(expected)


def test_a_secret_value_is_not_shown_when_refused(pulumi_mocks: StartPulumi) -> None:
    harness = pulumi_mocks(
        config=project_config(modelId="acme/secret--name", runtime="tei"),
        secret_keys=["alex-sagemaker:modelId", "alex-sagemaker:runtime"],
    )

    error = refused(harness)

    assert [str(problem) for problem in error.problems] == [
        "modelId: [secret] may not contain '--' or '..', nor end in '.git'",
        "runtime: is stored as a secret, but it decides which resources exist, which no secret "
        "hides; set it without --secret",
    ]
    assert "secret--name" not in str(error)


@pytest.mark.parametrize(
    ("stack", "name"),
    [
        ("dev", "alex-embedding-endpoint"),  # the name the Alex app's later parts look up
        ("prod", "alex-embedding-endpoint-prod"),
        ("feature_x.2", "alex-embedding-endpoint-feature-x-2"),
        ("_", "alex-embedding-endpoint"),
        ("s" * 80, "alex-embedding-endpoint-" + "s" * 39),
    ],
)
def test_each_stack_gets_an_endpoint_of_its_own_by_default(stack: str, name: str) -> None:
    chosen = program_defaults(stack)["endpoint_name"]

    assert chosen == name
    assert len(chosen) <= 63
    EmbeddingEndpointArgs(endpoint_name=chosen)  # a name SageMaker accepts


def test_an_empty_endpoint_name_is_the_stacks_default(pulumi_mocks: StartPulumi) -> None:
    harness = pulumi_mocks(config=project_config(endpointName=""))

    assert read(harness).endpoint_name == "alex-embedding-endpoint"
