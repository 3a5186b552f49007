"""`runtime: tei` under mocks: TEI's image per mode and region, its environment, the role's pull
grant, and what it refuses."""

from __future__ import annotations

import json

import pytest

from components import EmbeddingEndpoint, EmbeddingEndpointArgs, InvalidSettingsError
from tests.conftest import StartPulumi
from tests.pulumi_harness import ACCOUNT_ID, PulumiHarness, project_config
from tests.resource_types import BUCKET, BUCKET_OBJECT, CONFIG, MODEL, POLICY, SLEEP

CPU_TAG = "2.0.1-tei1.9.3-cpu-py310-ubuntu24.04"
GPU_TAG = "2.0.1-tei1.9.3-gpu-py310-cu129-ubuntu24.04"
LOOKUP = "aws:sagemaker/getPrebuiltEcrImage:getPrebuiltEcrImage"
TEI_REGISTRIES = {
    "us-east-1": "683313688378",
    "us-west-2": "246618743249",
    "eu-west-1": "141502667606",
    "ap-east-1": "651117190479",
    "af-south-1": "510948584623",
}
"""The accounts of `tei` and `tei-cpu` per region: terraform-provider-aws's
prebuiltECRImageIDByRegion_XGBoost (internal/service/sagemaker/prebuilt_ecr_image_data_source.go),
stated here rather than read from the harness's mock."""


def image_lookups(harness: PulumiHarness) -> list[dict[str, object]]:
    return [i.args for i in harness.mocks.invocations if i.token == LOOKUP]


G5 = {"mode": "realtime", "instanceType": "ml.g5.xlarge"}


@pytest.mark.parametrize(
    ("region", "mode", "repository", "tag"),
    [
        ("us-east-1", {}, "tei-cpu", CPU_TAG),
        ("us-east-1", G5, "tei", GPU_TAG),
        ("eu-west-1", {}, "tei-cpu", CPU_TAG),
        ("eu-west-1", G5, "tei", GPU_TAG),
        ("af-south-1", {}, "tei-cpu", CPU_TAG),
        ("af-south-1", G5, "tei", GPU_TAG),
        ("us-west-2", {}, "tei-cpu", CPU_TAG),
        ("eu-west-1", {"mode": "realtime", "instanceType": "ml.c6i.xlarge"}, "tei-cpu", CPU_TAG),
        ("eu-west-1", {"mode": "realtime", "instanceType": "ml.g4dn.xlarge"}, "tei", GPU_TAG),
        ("ap-east-1", {"mode": "realtime", "instanceType": "ml.p4d.24xlarge"}, "tei", GPU_TAG),
    ],
)
def test_the_default_image_is_tei_1_9_3_from_the_regions_algorithm_registry(
    pulumi_mocks: StartPulumi, region: str, mode: dict[str, str], repository: str, tag: str
) -> None:
    harness = pulumi_mocks(region=region, config=project_config(runtime="tei", **mode))
    exports = harness.run_program()

    assert {"repositoryName": repository, "imageTag": tag, "region": region} in image_lookups(
        harness
    )
    registry = TEI_REGISTRIES[region]
    image = f"{registry}.dkr.ecr.{region}.amazonaws.com/{repository}:{tag}"
    assert harness.one(MODEL).inputs["primaryContainer"]["image"] == image
    assert exports["image_uri"] == image
    pull = json.loads(harness.one(POLICY).inputs["policy"])["Statement"][0]
    assert pull["Sid"] == "PullInferenceImage"
    assert f"arn:aws:ecr:{region}:{registry}:repository/{repository}" in pull["Resource"]


def test_the_container_gets_what_teis_entrypoint_and_router_read_and_nothing_else(
    pulumi_mocks: StartPulumi,
) -> None:
    harness = pulumi_mocks(config=project_config(runtime="tei", modelRevision="main"))
    harness.run_program()

    container = harness.one(MODEL).inputs["primaryContainer"]
    assert container == {
        "image": container["image"],
        "mode": "SingleModel",
        "environment": {
            "HF_MODEL_ID": "sentence-transformers/all-MiniLM-L6-v2",
            "HF_MODEL_REVISION": "main",
            "AUTO_TRUNCATE": "true",
            "HUGGINGFACE_HUB_CACHE": "/opt/ml/model",
            "MAX_CLIENT_BATCH_SIZE": "32",
            "MAX_BATCH_TOKENS": "16384",
        },
    }  # no HF_TASK, no model archive
    assert not harness.of_type(BUCKET)
    assert not harness.of_type(BUCKET_OBJECT)
    variant = harness.one(CONFIG).inputs["productionVariants"][0]
    assert variant["serverlessConfig"] == {"memorySizeInMb": 3072, "maxConcurrency": 2}


def test_the_hub_token_goes_to_the_variable_tei_reads_and_stays_secret(
    pulumi_mocks: StartPulumi,
) -> None:
    harness = pulumi_mocks(
        config=project_config(runtime="tei", hfApiToken="hf_gated_model_token"),
        secret_keys=["alex-sagemaker:hfApiToken"],
    )
    exports = harness.run_program()

    model = harness.one(MODEL)
    environment = model.inputs["primaryContainer"]["environment"]
    assert environment["HF_TOKEN"] == "hf_gated_model_token"
    assert "HF_API_TOKEN" not in environment  # TEI refuses both at once
    assert model.secret_inputs == ["primaryContainer"]
    assert "hf_gated_model_token" not in json.dumps(exports)


def test_extra_variables_may_tune_teis_batches(pulumi_mocks: StartPulumi) -> None:
    harness = pulumi_mocks()
    harness.run(
        lambda: EmbeddingEndpoint(
            "search",
            EmbeddingEndpointArgs(
                runtime="tei",
                environment={"MAX_CLIENT_BATCH_SIZE": "64", "MAX_BATCH_TOKENS": "8192"},
            ),
        )
    )

    environment = harness.one(MODEL).inputs["primaryContainer"]["environment"]
    assert (environment["MAX_CLIENT_BATCH_SIZE"], environment["MAX_BATCH_TOKENS"]) == ("64", "8192")


def test_an_existing_role_gets_no_policy_and_the_model_the_tei_image(
    pulumi_mocks: StartPulumi,
) -> None:
    harness = pulumi_mocks()
    role = f"arn:aws:iam::{ACCOUNT_ID}:role/shared"
    harness.run(
        lambda: EmbeddingEndpoint("shared", EmbeddingEndpointArgs(runtime="tei", role_arn=role))
    )

    assert not harness.of_type(POLICY)
    assert not harness.of_type(SLEEP)
    assert harness.one(MODEL).inputs["primaryContainer"]["image"].endswith(f"/tei-cpu:{CPU_TAG}")


@pytest.mark.parametrize(
    ("config", "keys", "expected"),
    [
        (
            {"sentenceEmbeddings": "false"},
            ["sentenceEmbeddings"],
            "has no effect with `runtime` 'tei': TEI always serves pooled, normalised sentence embeddings",
        ),
        ({"task": "sentence-similarity"}, ["task"], "task: has no effect with `runtime` 'tei'"),
        (
            {"imageTag": "1.13.1-transformers4.26.0-cpu-py39-ubuntu20.04"},
            ["imageTag"],
            "is a tag of the other runtime's image; with `runtime` 'tei' give one such as 2.0.1-tei1.9.3-cpu-py310-ubuntu24.04",
        ),
        (
            {"imageTag": GPU_TAG},
            ["imageTag"],
            "is a GPU tag, but a serverless endpoint has no GPUs",
        ),
        (
            {"mode": "realtime", "instanceType": "ml.p3.2xlarge"},
            ["instanceType"],
            "has V100 GPUs, which TEI does not run on",
        ),
        (
            {
                "mode": "realtime",
                "instanceType": "ml.g5.xlarge",
                "imageTag": "1.13.1-transformers4.26.0-gpu-py39-cu117-ubuntu20.04",
            },
            ["imageTag"],
            "is a tag of the other runtime's image",
        ),
        (
            {"runtime": "triton"},
            ["runtime"],
            "runtime: 'triton' is refused: Input should be 'huggingface' or 'tei'",
        ),
        ({"imageTag": "2.0.1-tei1.8.2-cpu-py310-ubuntu22.04\n"}, ["imageTag"], "is not allowed"),
    ],
)
def test_refusals_name_the_keys_and_register_nothing(
    pulumi_mocks: StartPulumi, config: dict[str, str], keys: list[str], expected: str
) -> None:
    harness = pulumi_mocks(config=project_config(**{"runtime": "tei", **config}))

    with pytest.raises(InvalidSettingsError) as raised:
        harness.run_program()

    assert list(raised.value.settings) == keys
    assert expected in str(raised.value)
    assert harness.monitor.registrations == []
    assert harness.mocks.invocations == []


def test_a_tei_tag_with_the_huggingface_runtime_is_refused_too() -> None:
    with pytest.raises(InvalidSettingsError) as raised:
        EmbeddingEndpointArgs(image_tag=CPU_TAG)

    assert "with `runtime` 'huggingface' give one such as 1.13.1-transformers4.26.0" in str(
        raised.value
    )


@pytest.mark.parametrize("version", ["1.7.0", "1.8.2"])
def test_a_registered_tei_release_runs_its_own_gpu_build(version: str) -> None:
    args = EmbeddingEndpointArgs(
        runtime="tei",
        image_tag=f"2.0.1-tei{version}-cpu-py310-ubuntu22.04",
        mode="realtime",
        instance_type="ml.g6.xlarge",
    )

    assert (args.image_repository, args.effective_image_tag) == (
        "tei",
        f"2.0.1-tei{version}-gpu-py310-cu122-ubuntu22.04",
    )


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        (
            {"AUTO_TRUNCATE": "false"},
            "AUTO_TRUNCATE is set by the component: texts past the model's limit are cut there",
        ),
        (
            {"HUGGINGFACE_HUB_CACHE": "/tmp/hub"},
            "HUGGINGFACE_HUB_CACHE is set by the component to /opt/ml/model",
        ),
        (
            {"API_KEY": "secret"},
            "API_KEY would make TEI demand a bearer token that SageMaker never sends",
        ),
        (
            {"MAX_CLIENT_BATCH_SIZE": "lots"},
            "MAX_CLIENT_BATCH_SIZE='lots' would stop TEI's router from starting",
        ),
        ({"MAX_BATCH_TOKENS": "0"}, "MAX_BATCH_TOKENS='0' would stop TEI's router"),
        ({"PAYLOAD_LIMIT": "٣٠٠٠"}, "PAYLOAD_LIMIT='٣٠٠٠' would stop TEI's router"),
        (
            {"HUGGING_FACE_HUB_TOKEN": "hf_x"},
            "key 'HUGGING_FACE_HUB_TOKEN' is set by the component; use `hf_api_token`",
        ),
        ({"HF_TOKEN": "hf_x"}, "key 'HF_TOKEN' is set by the component; use `hf_api_token`"),
    ],
)
def test_environment_may_not_undo_what_tei_needs(
    environment: dict[str, str], expected: str
) -> None:
    with pytest.raises(InvalidSettingsError) as raised:
        EmbeddingEndpointArgs(runtime="tei", environment=environment)

    assert raised.value.settings == ("environment",)
    assert expected in str(raised.value)


def test_the_variable_count_is_of_the_merged_environment() -> None:
    tuned = {"MAX_CLIENT_BATCH_SIZE": "64", "MAX_BATCH_TOKENS": "8192"}
    fits = {**{f"V{i}": "x" for i in range(95)}, **tuned}  # + 5 of TEI's own, 2 overridden: 100

    assert EmbeddingEndpointArgs(runtime="tei", environment=fits).environment == fits
    with pytest.raises(InvalidSettingsError) as raised:
        EmbeddingEndpointArgs(runtime="tei", environment={**fits, "V95": "x"})
    assert (
        "98 variables and the 5 the component sets make 101; SageMaker allows at most 100"
        in str(raised.value)
    )


def test_a_token_needs_a_tei_release_that_reads_it() -> None:
    old = "2.0.1-tei1.6.0-cpu-py310-ubuntu22.04"
    with pytest.raises(InvalidSettingsError) as raised:
        EmbeddingEndpointArgs(runtime="tei", image_tag=old, hf_api_token="hf_x")

    assert raised.value.settings == ("hf_api_token",)
    assert "cannot reach TEI 1.6.0" in str(raised.value)
    assert "reads the token only from 1.7.0 on" in str(raised.value)
    newer = "2.0.1-tei1.7.0-cpu-py310-ubuntu22.04"
    assert (
        EmbeddingEndpointArgs(runtime="tei", image_tag=newer, hf_api_token="hf_x").image_tag
        == newer
    )
    assert EmbeddingEndpointArgs(runtime="tei", image_tag=old).image_tag == old


def test_a_gpu_instance_runs_the_gpu_tag_given() -> None:
    args = EmbeddingEndpointArgs(
        runtime="tei", mode="realtime", instance_type="ml.g5.xlarge", image_tag=GPU_TAG
    )

    assert (args.effective_image_tag, args.image_repository) == (GPU_TAG, "tei")
