"""`__main__.py` under mocks: exactly the reference's resources, done right, and its exports."""

from __future__ import annotations

import json

import pytest
from pulumi.runtime import settings

from components.errors import InvalidSettingsError
from tests.conftest import StartPulumi
from tests.pulumi_harness import ACCOUNT_ID, PulumiHarness, project_config
from tests.resource_types import (
    ALARM,
    BUCKET,
    BUCKET_OBJECT,
    BUCKET_POLICY,
    COMPONENT,
    CONFIG,
    ENDPOINT,
    LOG_GROUP,
    MODEL,
    POLICY,
    POLICY_ATTACHMENT,
    PUBLIC_ACCESS_BLOCK,
    ROLE,
    SLEEP,
)

IMAGE_TAG = "1.13.1-transformers4.26.0-cpu-py39-ubuntu20.04"
US_EAST_1_REPOSITORY = "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-inference"
THIS_STACK = "organization/alex-sagemaker/dev"
"""The program reads its own last deployment (a StackReference) to refuse what AWS refuses."""
REALTIME = {"mode": "realtime", "instanceType": "ml.m5.large"}
TOKENS = project_config(sentenceEmbeddings="false")
"""The stock container's token vectors: the reference's own resources, no handler archive."""


def test_default_stack_registers_the_reference_resources_plus_handler_logs_and_alarms(
    pulumi_mocks: StartPulumi,
) -> None:
    harness = pulumi_mocks()
    harness.run_program()

    assert sorted((r.type, r.name) for r in harness.monitor.registrations) == sorted(
        [
            ("pulumi:pulumi:StackReference", THIS_STACK),  # the last deployment, read
            (COMPONENT, "alex-embedding"),
            (ROLE, "alex-embedding-role"),
            (POLICY, "alex-embedding-execution-policy"),
            (BUCKET, "alex-embedding-code"),
            (PUBLIC_ACCESS_BLOCK, "alex-embedding-code-public-access"),
            (BUCKET_OBJECT, "alex-embedding-model-archive"),
            (BUCKET_POLICY, "alex-embedding-model-archive-read"),
            (SLEEP, "alex-embedding-iam-propagation"),
            (MODEL, "alex-embedding-model"),
            (CONFIG, "alex-embedding-config"),
            (ENDPOINT, "alex-embedding-endpoint"),
            (LOG_GROUP, "alex-embedding-logs"),
            (ALARM, "alex-embedding-alarm-5xx"),
            (ALARM, "alex-embedding-alarm-latency"),
            (ALARM, "alex-embedding-alarm-cold-start"),
        ]
    )


@pytest.mark.parametrize(("region", "partition"), [("us-east-1", "aws"), ("cn-north-1", "aws-cn")])
def test_role_is_trusted_only_by_sagemaker_for_this_account_and_region(
    pulumi_mocks: StartPulumi, region: str, partition: str
) -> None:
    harness = pulumi_mocks(region=region)
    harness.run_program()

    role = harness.one(ROLE)
    assert json.loads(role.inputs["assumeRolePolicy"]) == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "sagemaker.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {
                    "ArnLike": {
                        "aws:SourceArn": f"arn:{partition}:sagemaker:{region}:{ACCOUNT_ID}:*"
                    },
                },
            }
        ],
    }
    assert "name" not in role.inputs, "the role must be auto-named, not fixed"


def test_execution_policy_is_least_privilege_for_this_region_and_account(
    pulumi_mocks: StartPulumi,
) -> None:
    harness = pulumi_mocks(region="us-east-1", config=TOKENS)
    harness.run_program()

    policy = harness.one(POLICY)
    role = harness.one(ROLE)
    assert policy.inputs["role"] == f"{role.outputs['name']}-id"
    statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    assert statements == {
        "PullInferenceImage": {
            "Sid": "PullInferenceImage",
            "Effect": "Allow",
            "Action": [
                "ecr:BatchCheckLayerAvailability",
                "ecr:GetDownloadUrlForLayer",
                "ecr:BatchGetImage",
            ],
            # Every image the component runs, so a change of runtime or device keeps the old
            # variant able to pull its own until it is gone.
            "Resource": [
                "arn:aws:ecr:us-east-1:763104351884:repository/huggingface-pytorch-inference",
                "arn:aws:ecr:us-east-1:683313688378:repository/tei-cpu",
                "arn:aws:ecr:us-east-1:683313688378:repository/tei",
            ],
        },
        "AuthenticateToEcr": {
            "Sid": "AuthenticateToEcr",
            "Effect": "Allow",
            "Action": "ecr:GetAuthorizationToken",
            "Resource": "*",
        },
        "WriteEndpointLogs": {
            "Sid": "WriteEndpointLogs",
            "Effect": "Allow",
            "Action": [
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:PutLogEvents",
                "logs:DescribeLogStreams",
            ],
            "Resource": [
                f"arn:aws:logs:us-east-1:{ACCOUNT_ID}:log-group:/aws/sagemaker/Endpoints/*",
                f"arn:aws:logs:us-east-1:{ACCOUNT_ID}:log-group:/aws/sagemaker/Endpoints/*"
                ":log-stream:*",
            ],
        },
        "PublishMetrics": {
            "Sid": "PublishMetrics",
            "Effect": "Allow",
            "Action": "cloudwatch:PutMetricData",
            "Resource": "*",
        },
    }
    assert not harness.of_type(POLICY_ATTACHMENT)


def test_propagation_wait_uses_the_configured_delay(pulumi_mocks: StartPulumi) -> None:
    harness = pulumi_mocks()
    harness.run_program()

    sleep = harness.one(SLEEP)
    role = harness.one(ROLE)
    assert sleep.inputs["createDuration"] == "15s"
    assert set(sleep.inputs["triggers"]) == {"role_arn", "grants"}
    assert sleep.inputs["triggers"]["role_arn"] == role.outputs["arn"]


def grants_digest(harness: PulumiHarness) -> str:
    return str(harness.one(SLEEP).inputs["triggers"]["grants"])


@pytest.mark.parametrize(
    "change",
    [
        {"sentenceEmbeddings": "false"},
        {"managedPolicyArns": json.dumps(["arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"])},
        {"aws:region": "eu-west-1"},
    ],
)
def test_the_wait_runs_again_whenever_what_the_role_may_do_changes(
    pulumi_mocks: StartPulumi, change: dict[str, str]
) -> None:
    before = pulumi_mocks()
    before.run_program()
    region = change.get("aws:region", "us-east-1")
    after = pulumi_mocks(
        region=region,
        config=project_config(**{k: v for k, v in change.items() if k != "aws:region"}),
    )
    after.run_program()

    assert grants_digest(before) != grants_digest(after)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ({}, {"memorySizeInMb": "4096", "imageTag": "2.1.0-transformers4.37.0-cpu-py310-ubuntu22.04"}),  # noqa: E501
        # A change of runtime rewrites no grant: the role already pulls both runtimes' images.
        ({"sentenceEmbeddings": "false"}, {"runtime": "tei"}),
    ],
)  # fmt: skip
def test_the_wait_and_the_policy_stay_when_the_role_may_do_the_same(
    pulumi_mocks: StartPulumi, before: dict[str, str], after: dict[str, str]
) -> None:
    first = pulumi_mocks(config=project_config(**before))
    first.run_program()
    second = pulumi_mocks(config=project_config(**after))
    second.run_program()

    assert grants_digest(first) == grants_digest(second)
    policies = [harness.one(POLICY).inputs["policy"] for harness in (first, second)]
    assert policies[0] == policies[1]


def test_model_runs_the_hub_model_from_the_regional_image(pulumi_mocks: StartPulumi) -> None:
    harness = pulumi_mocks(config=TOKENS)
    harness.run_program()

    model = harness.one(MODEL)
    assert model.inputs == {
        "executionRoleArn": harness.one(ROLE).outputs["arn"],
        "primaryContainer": {
            "image": f"{US_EAST_1_REPOSITORY}:{IMAGE_TAG}",
            "mode": "SingleModel",
            "environment": {
                "HF_MODEL_ID": "sentence-transformers/all-MiniLM-L6-v2",
                "HF_TASK": "feature-extraction",
            },
        },
    }
    assert model.secret_inputs == []


def test_endpoint_configuration_is_serverless_with_one_variant(pulumi_mocks: StartPulumi) -> None:
    harness = pulumi_mocks()
    harness.run_program()

    endpoint_config = harness.one(CONFIG)
    assert endpoint_config.inputs == {
        "productionVariants": [
            {
                "variantName": "AllTraffic",
                "modelName": harness.one(MODEL).outputs["name"],
                "serverlessConfig": {"memorySizeInMb": 3072, "maxConcurrency": 2},
            }
        ]
    }
    assert "name" not in endpoint_config.inputs, "the configuration must be auto-named"


def test_endpoint_has_the_configured_name_and_points_at_the_configuration(
    pulumi_mocks: StartPulumi,
) -> None:
    harness = pulumi_mocks()
    harness.run_program()

    endpoint = harness.one(ENDPOINT)
    assert endpoint.inputs == {
        "name": "alex-embedding-endpoint",
        "endpointConfigName": harness.one(CONFIG).outputs["name"],
    }


def test_stack_exports_the_endpoint_and_what_it_is_made_of(pulumi_mocks: StartPulumi) -> None:
    harness = pulumi_mocks()
    exports = harness.run_program()

    assert exports == {
        "endpoint_name": "alex-embedding-endpoint",
        "endpoint_arn": (
            f"arn:aws:sagemaker:us-east-1:{ACCOUNT_ID}:endpoint/alex-embedding-endpoint"
        ),
        "model_name": harness.one(MODEL).outputs["name"],
        "endpoint_config_name": harness.one(CONFIG).outputs["name"],
        "role_arn": harness.one(ROLE).outputs["arn"],
        "image_uri": f"{US_EAST_1_REPOSITORY}:{IMAGE_TAG}",
        "region": "us-east-1",
        "capacity": "serverless",
        "invoke_policy_json": json.dumps(
            {
                "Statement": [
                    {
                        "Action": "sagemaker:InvokeEndpoint",
                        "Effect": "Allow",
                        "Resource": f"arn:aws:sagemaker:us-east-1:{ACCOUNT_ID}:endpoint/"
                        "alex-embedding-endpoint",
                        "Sid": "InvokeEmbeddingEndpoint",
                    }
                ],
                "Version": "2012-10-17",
            },
            sort_keys=True,
        ),
    }


def test_children_depend_on_each_other_in_order(pulumi_mocks: StartPulumi) -> None:
    harness = pulumi_mocks()
    harness.run_program()

    urn = {r.type: r.urn for r in harness.monitor.registrations}
    deps = {r.type: set(r.dependencies) for r in harness.monitor.registrations}
    assert urn[ROLE] in deps[POLICY]
    assert {urn[ROLE], urn[POLICY]} <= deps[SLEEP]
    assert urn[SLEEP] in deps[MODEL]
    assert urn[MODEL] in deps[CONFIG]
    assert urn[CONFIG] in deps[ENDPOINT]
    assert urn[LOG_GROUP] in deps[ENDPOINT]
    # The engine is told about them in the same order.
    position = {r.urn: index for index, r in enumerate(harness.monitor.registrations)}
    chain = [position[urn[t]] for t in (COMPONENT, ROLE, POLICY, SLEEP, MODEL, CONFIG, ENDPOINT)]
    assert chain == sorted(chain)
    assert position[urn[LOG_GROUP]] < position[urn[ENDPOINT]]
    for alarm in harness.of_type(ALARM):
        assert urn[ENDPOINT] in alarm.dependencies


def test_every_child_is_parented_to_the_component(pulumi_mocks: StartPulumi) -> None:
    harness = pulumi_mocks()
    harness.run_program()

    component = harness.one(COMPONENT)
    children = [r for r in harness.monitor.registrations if r.parent == component.urn]
    assert len(children) == 14
    assert {child.parent for child in children} == {component.urn}
    assert component.parent.endswith("::pulumi:pulumi:Stack::alex-sagemaker-dev")


@pytest.mark.parametrize(
    ("region", "registry"),
    [("eu-central-1", "763104351884"), ("ap-east-1", "871362719292")],
)
def test_other_regions_get_their_own_registry(
    pulumi_mocks: StartPulumi, region: str, registry: str
) -> None:
    harness = pulumi_mocks(region=region, config=TOKENS)
    exports = harness.run_program()

    lookups = [
        i.args
        for i in harness.mocks.invocations
        if i.token == "aws:sagemaker/getPrebuiltEcrImage:getPrebuiltEcrImage"
    ]
    assert {
        "repositoryName": "huggingface-pytorch-inference",
        "imageTag": IMAGE_TAG,
        "region": region,
    } in lookups
    image = f"{registry}.dkr.ecr.{region}.amazonaws.com/huggingface-pytorch-inference:{IMAGE_TAG}"
    assert harness.one(MODEL).inputs["primaryContainer"]["image"] == image
    assert exports["image_uri"] == image
    assert exports["region"] == region
    pull = json.loads(harness.one(POLICY).inputs["policy"])["Statement"][0]
    assert (
        f"arn:aws:ecr:{region}:{registry}:repository/huggingface-pytorch-inference"
        in (pull["Resource"])
    )


def test_every_config_key_reaches_the_resources(pulumi_mocks: StartPulumi) -> None:
    harness = pulumi_mocks(
        config=project_config(
            endpointName="search-embeddings",
            modelId="BAAI/bge-small-en-v1.5",
            modelRevision="5c38ec7c405ec4b44b94cc5a9bb96e735b38267a",
            task="sentence-similarity",
            sentenceEmbeddings="false",
            imageTag="2.1.0-transformers4.37.0-cpu-py310-ubuntu22.04",
            memorySizeInMb="6144",
            maxConcurrency="10",
            provisionedConcurrency="3",
            iamPropagationDelay="1m30s",
            tags=json.dumps({"team": "ml", "cost-center": 42}),
        )
    )
    exports = harness.run_program()

    assert exports["endpoint_name"] == "search-embeddings"
    model = harness.one(MODEL)
    container = model.inputs["primaryContainer"]
    assert container["environment"] == {
        "HF_MODEL_ID": "BAAI/bge-small-en-v1.5",
        "HF_MODEL_REVISION": "5c38ec7c405ec4b44b94cc5a9bb96e735b38267a",
        "HF_TASK": "sentence-similarity",
    }
    assert container["image"].endswith(":2.1.0-transformers4.37.0-cpu-py310-ubuntu22.04")
    variant = harness.one(CONFIG).inputs["productionVariants"][0]
    assert variant["serverlessConfig"] == {
        "memorySizeInMb": 6144,
        "maxConcurrency": 10,
        "provisionedConcurrency": 3,
    }
    assert harness.one(SLEEP).inputs["createDuration"] == "1m30s"
    tags = {"team": "ml", "cost-center": "42"}
    for type_token in (ROLE, MODEL, CONFIG, ENDPOINT, LOG_GROUP):
        assert harness.one(type_token).inputs["tags"] == tags, type_token
    for alarm in harness.of_type(ALARM):
        assert alarm.inputs["tags"] == tags


def test_existing_role_from_config_skips_role_policy_and_wait(pulumi_mocks: StartPulumi) -> None:
    role_arn = f"arn:aws:iam::{ACCOUNT_ID}:role/service-role/AmazonSageMaker-ExecutionRole"
    harness = pulumi_mocks(config={**TOKENS, **project_config(roleArn=role_arn)})
    exports = harness.run_program()

    types = {r.type for r in harness.monitor.registrations} - {"pulumi:pulumi:StackReference"}
    assert types == {COMPONENT, MODEL, CONFIG, LOG_GROUP, ENDPOINT, ALARM}
    assert harness.one(MODEL).inputs["executionRoleArn"] == role_arn
    assert exports["role_arn"] == role_arn


def test_managed_policies_from_config_replace_the_inline_policy(pulumi_mocks: StartPulumi) -> None:
    harness = pulumi_mocks(
        config=project_config(
            sentenceEmbeddings="false",
            managedPolicyArns=json.dumps(["arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"]),
        )
    )
    harness.run_program()

    assert not harness.of_type(POLICY)
    attachment = harness.one(POLICY_ATTACHMENT)
    assert attachment.name == "alex-embedding-AmazonSageMakerFullAccess"
    assert attachment.inputs == {
        "role": harness.one(ROLE).outputs["name"],
        "policyArn": "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess",
    }
    assert attachment.urn in harness.one(SLEEP).dependencies


def test_hf_api_token_stays_secret_end_to_end(pulumi_mocks: StartPulumi) -> None:
    harness = pulumi_mocks(
        config=project_config(hfApiToken="hf_gated_model_token"),
        secret_keys=["alex-sagemaker:hfApiToken"],
    )
    exports = harness.run_program()

    model = harness.one(MODEL)
    assert model.inputs["primaryContainer"]["environment"]["HF_API_TOKEN"] == "hf_gated_model_token"
    assert model.secret_inputs == ["primaryContainer"]
    assert model.additional_secret_outputs == ["primaryContainer"]
    assert "hf_gated_model_token" not in json.dumps(exports)


def test_plain_text_hf_api_token_is_refused_before_anything_is_registered(
    pulumi_mocks: StartPulumi,
) -> None:
    harness = pulumi_mocks(config=project_config(hfApiToken="hf_plain"))

    with pytest.raises(InvalidSettingsError) as raised:
        harness.run_program()

    assert raised.value.settings == ("hfApiToken",)
    assert "pulumi config set --secret hfApiToken" in str(raised.value)
    assert harness.monitor.registrations == []
    assert harness.mocks.invocations == []


def test_bad_config_lists_every_problem_by_key_and_registers_nothing(
    pulumi_mocks: StartPulumi,
) -> None:
    harness = pulumi_mocks(
        config=project_config(
            memorySizeInMb="lots",
            maxConcurrency="500",
            imageTag="1.13.1-transformers4.26.0-gpu-py39-cu117-ubuntu20.04",
            endpointName="alex_embedding",
            iamPropagationDelay="15 seconds",
        )
    )

    with pytest.raises(InvalidSettingsError) as raised:
        harness.run_program()

    assert raised.value.settings == (
        "endpointName",
        "imageTag",
        "memorySizeInMb",
        "maxConcurrency",
        "iamPropagationDelay",
    )
    message = str(raised.value)
    assert "memorySizeInMb: 'lots' is not a whole number" in message
    assert "maxConcurrency: 500 is refused: Input should be less than or equal to 200" in message
    assert "is a GPU tag, but a serverless endpoint has no GPUs" in message
    assert harness.monitor.registrations == []
    assert harness.mocks.invocations == []


def test_a_secret_stack_value_stays_secret_wherever_it_reaches(pulumi_mocks: StartPulumi) -> None:
    secret = {
        "modelId": "acme/private-embedder",
        "endpointName": "internal-embeddings",
        "memorySizeInMb": "4096",
        "alarmModelLatencyMs": "500",
        "iamPropagationDelay": "20s",
        "tags": json.dumps({"project": "stealth"}),
    }
    harness = pulumi_mocks(
        config=project_config(**secret), secret_keys=[f"alex-sagemaker:{key}" for key in secret]
    )
    harness.run_program()

    model = harness.one(MODEL)
    assert model.inputs["primaryContainer"]["environment"]["HF_MODEL_ID"] == secret["modelId"]
    assert model.secret_inputs == ["primaryContainer", "tags"]
    assert model.additional_secret_outputs == ["primaryContainer"]
    assert harness.one(ENDPOINT).secret_inputs == ["name", "tags"]
    assert harness.one(LOG_GROUP).secret_inputs == ["name", "tags"]
    assert harness.one(CONFIG).secret_inputs == ["productionVariants", "tags"]
    assert harness.one(SLEEP).secret_inputs == ["createDuration"]
    for alarm in harness.of_type(ALARM):
        assert {"alarmDescription", "threshold", "tags"} <= set(alarm.secret_inputs)
    for type_token in (ROLE, BUCKET):
        assert harness.one(type_token).secret_inputs == ["tags"], type_token
    root = settings.get_root_resource()
    outputs = root.outputs  # type: ignore[union-attr]
    assert harness.is_secret(outputs["endpoint_name"])
    assert not harness.is_secret(outputs["region"])


def test_a_secret_managed_policy_is_attached_under_its_position(pulumi_mocks: StartPulumi) -> None:
    policy = "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"
    harness = pulumi_mocks(
        config=project_config(sentenceEmbeddings="false", managedPolicyArns=json.dumps([policy])),
        secret_keys=["alex-sagemaker:managedPolicyArns"],
    )
    harness.run_program()

    attachment = harness.one(POLICY_ATTACHMENT)
    assert (attachment.name, attachment.secret_inputs) == ("alex-embedding-policy-0", ["policyArn"])
    assert "AmazonSageMakerFullAccess" not in attachment.urn


@pytest.mark.parametrize(
    ("region", "partition", "learning", "algorithms"),
    [
        ("ap-east-1", "aws", "871362719292", "651117190479"),
        ("cn-north-1", "aws-cn", "727897471807", "450853457545"),
        ("us-gov-west-1", "aws-us-gov", "442386744353", "414596584902"),
    ],
)
def test_the_role_pulls_each_runtimes_images_from_its_own_registry(
    pulumi_mocks: StartPulumi, region: str, partition: str, learning: str, algorithms: str
) -> None:
    harness = pulumi_mocks(region=region, config=TOKENS)
    harness.run_program()

    pull = json.loads(harness.one(POLICY).inputs["policy"])["Statement"][0]
    ecr = f"arn:{partition}:ecr:{region}"
    assert pull["Resource"] == [
        f"{ecr}:{learning}:repository/huggingface-pytorch-inference",
        f"{ecr}:{algorithms}:repository/tei-cpu",
        f"{ecr}:{algorithms}:repository/tei",
    ]


@pytest.mark.parametrize(
    ("deployed", "config", "setting", "change"),
    [
        ("realtime", {}, "mode", "realtime -> serverless"),
        ("realtime ml.m5.large", {}, "mode", "realtime -> serverless"),
        (
            "realtime ml.m5.large",
            {**REALTIME, "instanceType": "ml.c5.large", "autoscalingMaxCapacity": "3"},
            "instanceType",
            "ml.m5.large -> ml.c5.large",
        ),
        ("realtime ml.m5.large", {**REALTIME, "instanceType": "ml.c5.large"}, "instanceType",
         "ml.m5.large -> ml.c5.large"),
    ],
)  # fmt: skip
def test_a_change_aws_refuses_for_the_deployed_endpoint_fails_the_preview(
    pulumi_mocks: StartPulumi, deployed: str, config: dict[str, str], setting: str, change: str
) -> None:
    previous = {"endpoint_name": "alex-embedding-endpoint", "capacity": deployed}
    harness = pulumi_mocks(config=project_config(**config), stack_outputs={THIS_STACK: previous})

    with pytest.raises(InvalidSettingsError) as raised:
        harness.run_program()

    (problem,) = raised.value.problems
    assert problem.setting == setting
    assert problem.message.startswith(
        f"{change}: AWS cannot update endpoint 'alex-embedding-endpoint' in place; set a new "
        "`endpointName` too"
    )
    # Nothing else is registered, with or without a preview (this one runs as `up` does).
    assert [r.type for r in harness.monitor.registrations] == ["pulumi:pulumi:StackReference"]


def test_a_rename_that_only_changes_case_is_refused(pulumi_mocks: StartPulumi) -> None:
    previous = {"endpoint_name": "alex-embedding-endpoint", "capacity": "serverless"}
    config = project_config(endpointName="Alex-Embedding-Endpoint")
    harness = pulumi_mocks(config=config, stack_outputs={THIS_STACK: previous})

    with pytest.raises(InvalidSettingsError) as raised:
        harness.run_program()

    assert raised.value.settings == ("endpointName",)
    assert "differs only in case" in str(raised.value)


@pytest.mark.parametrize(
    ("deployed", "config"),
    [
        ("serverless", REALTIME),  # AWS updates serverless to realtime in place
        ("realtime", {**REALTIME, "instanceType": "ml.c5.large"}),  # no scaling target
        ("realtime ml.m5.large", {**REALTIME, "autoscalingMaxCapacity": "3"}),
        ("realtime", {"endpointName": "alex-embeddings-serverless"}),  # a new endpoint
    ],
)
def test_a_change_aws_makes_in_place_or_by_a_new_endpoint_goes_ahead(
    pulumi_mocks: StartPulumi, deployed: str, config: dict[str, str]
) -> None:
    previous = {"endpoint_name": "alex-embedding-endpoint", "capacity": deployed}
    harness = pulumi_mocks(config=project_config(**config), stack_outputs={THIS_STACK: previous})

    exports = harness.run_program()

    assert exports["capacity"] == (
        "serverless"
        if "mode" not in config
        else "realtime" + (" ml.m5.large" if "autoscalingMaxCapacity" in config else "")
    )


def test_the_stack_exports_what_the_next_deployment_checks_against(
    pulumi_mocks: StartPulumi,
) -> None:
    harness = pulumi_mocks(config=project_config(**REALTIME, autoscalingMaxCapacity="2"))

    exports = harness.run_program()

    assert (exports["endpoint_name"], exports["capacity"]) == (
        "alex-embedding-endpoint",
        "realtime ml.m5.large",
    )
    assert harness.of_type("pulumi:pulumi:StackReference")[0].name == THIS_STACK
