"""modelSource archive, VPC and network isolation: what the model gets, what the role may do,
and what is refused before anything is registered."""

from __future__ import annotations

import json
import shutil
import tarfile
from pathlib import Path
from typing import Any

import pulumi
import pytest

from components import EmbeddingEndpoint, EmbeddingEndpointArgs, InvalidSettingsError
from components.policies import VPC_ACTIONS
from container import INFERENCE_SCRIPT
from tests.conftest import StartPulumi, model_path
from tests.fake_hub import NEEDED, NEEDED_HF, REPO, FakeHub, fake_hub
from tests.pulumi_harness import PulumiHarness
from tests.resource_types import BUCKET_OBJECT, COMPONENT, MODEL, POLICY

__all__ = ["fake_hub"]
REALTIME: dict[str, Any] = {"mode": "realtime", "instance_type": "ml.m5.large"}
VPC: dict[str, Any] = {
    "vpc_subnet_ids": ["subnet-0a1b2c3d4e5f60718", "subnet-0f1e2d3c"],
    "vpc_security_group_ids": ["sg-0123456789abcdef0"],
}


def deploy(harness: PulumiHarness, **settings: Any) -> None:
    harness.run(lambda: EmbeddingEndpoint("vectors", EmbeddingEndpointArgs(**settings)))


def archive_names(harness: PulumiHarness) -> list[str]:
    with tarfile.open(harness.one(BUCKET_OBJECT).inputs["source"].path, mode="r:gz") as tar:
        return tar.getnames()


def container(harness: PulumiHarness) -> dict[str, Any]:
    primary: dict[str, Any] = harness.one(MODEL).inputs["primaryContainer"]
    return primary


def test_the_hub_model_packed_with_the_handler_and_no_hub_or_token_at_run_time(
    pulumi_mocks: StartPulumi, fake_hub: FakeHub
) -> None:
    harness = pulumi_mocks()
    deploy(harness, model_source="archive", model_revision="main", hf_api_token="hf_secret")

    assert archive_names(harness) == sorted(["code/inference.py", *NEEDED_HF])
    with tarfile.open(harness.one(BUCKET_OBJECT).inputs["source"].path, mode="r:gz") as tar:
        packed = tar.extractfile("tokenizer.json")
        assert packed is not None
        assert packed.read() == (Path(model_path()) / "tokenizer.json").read_bytes()
    assert container(harness)["environment"] == {"HF_TASK": "feature-extraction"}
    archive = harness.one(BUCKET_OBJECT).inputs
    assert container(harness)["modelDataUrl"] == f"s3://{archive['bucket']}/{archive['key']}"
    assert fake_hub.calls[1][1]["token"] == "hf_secret"  # used to download, then nowhere


def test_tei_reads_the_unpacked_archive_and_token_vectors_carry_no_code(
    pulumi_mocks: StartPulumi, fake_hub: FakeHub
) -> None:
    tei = pulumi_mocks()
    deploy(tei, model_source="archive", runtime="tei")
    tokens = pulumi_mocks()
    deploy(tokens, model_source="archive", sentence_embeddings=False)

    assert (archive_names(tei), archive_names(tokens)) == (NEEDED, NEEDED_HF)
    environment = container(tei)["environment"]
    assert environment["HF_MODEL_ID"] == "/opt/ml/model"
    assert not {"HF_MODEL_REVISION", "HF_TOKEN", "HF_API_TOKEN"} & set(environment)
    assert container(tokens)["environment"] == {"HF_TASK": "feature-extraction"}


def test_a_local_directory_is_packed_the_same_way(pulumi_mocks: StartPulumi) -> None:
    harness = pulumi_mocks()
    deploy(harness, model_source="archive", model_id=model_path())

    assert archive_names(harness) == sorted(["code/inference.py", *NEEDED])
    with tarfile.open(harness.one(BUCKET_OBJECT).inputs["source"].path, mode="r:gz") as tar:
        code = tar.extractfile("code/inference.py")
        assert code is not None
        assert code.read() == INFERENCE_SCRIPT.read_bytes()


def test_the_same_model_gives_the_same_key_a_new_one_another(
    pulumi_mocks: StartPulumi, fake_hub: FakeHub, tmp_path: Path
) -> None:
    copy = tmp_path / "tuned"
    copy.mkdir()
    for name in NEEDED:
        (copy / name).parent.mkdir(exist_ok=True)
        (copy / name).write_bytes((Path(model_path()) / name).read_bytes())
    (copy / "config.json").write_text('{"fine_tuned": true}')
    same = tmp_path / "same model elsewhere"
    shutil.copytree(model_path(), same)
    keys = []
    for model_id in (model_path(), str(same), str(copy)):
        harness = pulumi_mocks()
        deploy(harness, model_source="archive", model_id=model_id)
        keys.append(harness.one(BUCKET_OBJECT).inputs["key"])

    assert keys[0] == keys[1] != keys[2]


def test_realtime_in_a_vpc_with_network_isolation(
    pulumi_mocks: StartPulumi, fake_hub: FakeHub
) -> None:
    harness = pulumi_mocks()
    deploy(harness, **REALTIME, **VPC, model_source="archive", network_isolation=True)

    model = harness.one(MODEL).inputs
    assert model["vpcConfig"] == {
        "subnets": VPC["vpc_subnet_ids"],
        "securityGroupIds": VPC["vpc_security_group_ids"],
    }
    assert model["enableNetworkIsolation"] is True
    statements = json.loads(harness.one(POLICY).inputs["policy"])["Statement"]
    vpc = [s for s in statements if s["Sid"] == "UseModelVpc"]
    assert vpc == [
        {"Sid": "UseModelVpc", "Effect": "Allow", "Action": VPC_ACTIONS, "Resource": "*"}
    ]
    assert VPC_ACTIONS == [
        "ec2:CreateNetworkInterface", "ec2:CreateNetworkInterfacePermission",
        "ec2:DeleteNetworkInterface", "ec2:DeleteNetworkInterfacePermission",
        "ec2:DescribeNetworkInterfaces", "ec2:DescribeVpcs", "ec2:DescribeDhcpOptions",
        "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups",
    ]  # fmt: skip


def test_no_vpc_no_ec2_permission_and_no_isolation(pulumi_mocks: StartPulumi) -> None:
    harness = pulumi_mocks()
    deploy(harness, **REALTIME)

    model = harness.one(MODEL).inputs
    assert "vpcConfig" not in model
    assert "enableNetworkIsolation" not in model
    statements = json.loads(harness.one(POLICY).inputs["policy"])["Statement"]
    assert not [s for s in statements if any(a.startswith("ec2:") for a in s["Action"])]


def test_subnets_of_a_vpc_made_in_the_same_program(pulumi_mocks: StartPulumi) -> None:
    harness = pulumi_mocks()
    subnets = pulumi.Output.from_input(["subnet-0aaa", "subnet-0bbb"])
    group = pulumi.Output.from_input("sg-0ccc")
    deploy(harness, **REALTIME, vpc_subnet_ids=subnets, vpc_security_group_ids=[group])

    assert harness.one(MODEL).inputs["vpcConfig"] == {
        "subnets": ["subnet-0aaa", "subnet-0bbb"], "securityGroupIds": ["sg-0ccc"]}  # fmt: skip


@pytest.mark.parametrize(
    ("settings", "refused"),
    [
        ({**REALTIME, "network_isolation": True},
         {"network_isolation": "needs `model_source` 'archive': a container with no network "
                               "cannot download the model from the Hub"}),
        ({**VPC, "network_isolation": True, "model_source": "archive"},
         dict.fromkeys(("vpc_subnet_ids", "vpc_security_group_ids", "network_isolation"),
                       "applies only to `mode` 'realtime'; remove it or set `mode` to 'realtime'")),
        ({**REALTIME, "vpc_subnet_ids": VPC["vpc_subnet_ids"]},
         {"vpc_security_group_ids": "is needed with `vpc_subnet_ids`: a VPC takes both subnets "
                                    "and security groups"}),
        ({**REALTIME, "vpc_security_group_ids": ["sg-0abc"]},
         {"vpc_subnet_ids": "is needed with `vpc_security_group_ids`: a VPC takes both subnets "
                            "and security groups"}),
        ({"model_id": "./no-such-model", "model_source": "archive"},
         {"model_id": "'./no-such-model' is not a directory"}),
        ({"model_id": model_path()},
         {"model_id": "is a local directory, which only `model_source` 'archive' ships"}),
        ({"model_id": model_path(), "model_source": "archive", "model_revision": "main",
          "hf_api_token": "hf_x"},
         dict.fromkeys(("model_revision", "hf_api_token"),
                       "has no effect with a local directory `model_id`: nothing is downloaded; "
                       "remove it")),
        ({"model_source": "archive", "hf_api_token": pulumi.Output.secret("hf_x")},
         {"hf_api_token": "must be text with `model_source` 'archive': the model is downloaded "
                          "before anything is deployed, when an Output has no value yet"}),
    ],
)  # fmt: skip
def test_refused_naming_every_key(settings: dict[str, Any], refused: dict[str, str]) -> None:
    with pytest.raises(InvalidSettingsError) as raised:
        EmbeddingEndpointArgs(**settings)

    found = {p.setting: p.message for p in raised.value.problems}
    assert found == refused


def test_a_local_directory_without_weights_is_refused(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(InvalidSettingsError) as raised:
        EmbeddingEndpointArgs(model_id=str(tmp_path), model_source="archive")
    assert [(p.setting, p.message) for p in raised.value.problems] == [
        ("model_id", f"{str(tmp_path)!r} holds no weights: model.safetensors or pytorch_model.bin")
    ]


@pytest.mark.parametrize(
    ("ids", "setting"),
    [(["sg-0abc"], "vpc_subnet_ids"), (["subnet-xyz"], "vpc_subnet_ids"),
     ("subnet-0abc", "vpc_subnet_ids"), ([f"subnet-{i:x}" for i in range(17)], "vpc_subnet_ids")],
)  # fmt: skip
def test_ids_not_of_their_kind_or_too_many(ids: Any, setting: str) -> None:
    with pytest.raises(InvalidSettingsError) as raised:
        EmbeddingEndpointArgs(**REALTIME, vpc_subnet_ids=ids, vpc_security_group_ids=["sg-0a"])
    assert raised.value.settings == (setting,)
    assert "give a list of at most 16 ids such as subnet-0abc12" in str(raised.value)


@pytest.mark.parametrize(
    ("model_id", "revision", "setting"),
    [("someone/no-such-model", None, "model_id"), (REPO, "v9", "model_revision")],
)
def test_a_hub_model_that_cannot_be_had_registers_nothing(
    pulumi_mocks: StartPulumi, fake_hub: FakeHub, model_id: str, revision: str | None, setting: str
) -> None:
    harness = pulumi_mocks()
    args = EmbeddingEndpointArgs(model_source="archive", model_id=model_id, model_revision=revision)

    with pytest.raises(InvalidSettingsError) as raised:
        harness.run(lambda: EmbeddingEndpoint("vectors", args))

    assert raised.value.settings == (setting,)
    assert str(raised.value).count("\n") <= 1
    assert not harness.of_type(COMPONENT)
    assert not harness.monitor.registrations


def test_the_program_with_a_model_the_hub_lacks_stops_with_one_line(
    pulumi_mocks: StartPulumi, fake_hub: FakeHub
) -> None:
    harness = pulumi_mocks(
        config={"alex-sagemaker:modelSource": "archive", "alex-sagemaker:modelId": "someone/nope"}
    )

    with pytest.raises(InvalidSettingsError) as raised:
        harness.run_program()

    assert str(raised.value) == (
        "EmbeddingEndpoint 'alex-embedding' has 1 invalid setting problem:\n"
        "  - model_id: 'someone/nope' is not on the Hub, or is private: check the id, or set a "
        "token that may read it"
    )
    assert not [r for r in harness.monitor.registrations if r.type.startswith(("aws:", "alex:"))]


def test_the_declared_defaults_add_no_problem_to_a_refused_stack(pulumi_mocks: StartPulumi) -> None:
    from tests.test_stack_config import project_defaults

    harness = pulumi_mocks(config={**project_defaults(), "alex-sagemaker:memorySizeInMb": "1000"})

    with pytest.raises(InvalidSettingsError) as raised:
        harness.run_program()
    assert raised.value.settings == ("memorySizeInMb",)


def test_the_archive_wait_counts_with_an_existing_role_and_tokens_are_printable() -> None:
    role = "arn:aws:iam::123456789012:role/team"
    args = EmbeddingEndpointArgs(
        role_arn=role, model_source="archive", runtime="tei", iam_propagation_delay="30s"
    )
    assert args.iam_propagation_delay == "30s"
    with pytest.raises(InvalidSettingsError) as raised:
        EmbeddingEndpointArgs(hf_api_token="hf_abc\ndef")
    assert raised.value.settings == ("hf_api_token",)
