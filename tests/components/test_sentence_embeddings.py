"""sentenceEmbeddings (on by default): the handler archive in a private bucket, wired into the
model; off, the stock token vectors."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from components import EmbeddingEndpoint, EmbeddingEndpointArgs, InvalidSettingsError
from container import INFERENCE_SCRIPT
from tests.conftest import StartPulumi
from tests.pulumi_harness import ACCOUNT_ID, PulumiHarness
from tests.resource_types import (
    BUCKET,
    BUCKET_OBJECT,
    BUCKET_POLICY,
    MODEL,
    POLICY,
    PUBLIC_ACCESS_BLOCK,
    ROLE,
    SLEEP,
)

ON: dict[str, str] = {}  # the default
OFF = {"alex-sagemaker:sentenceEmbeddings": "false"}


def archive_bytes(harness: PulumiHarness) -> bytes:
    return Path(harness.one(BUCKET_OBJECT).inputs["source"].path).read_bytes()


def test_archive_holds_exactly_the_handler_and_sits_in_a_private_bucket(
    pulumi_mocks: StartPulumi,
) -> None:
    harness = pulumi_mocks(config=ON)
    harness.run_program()

    bucket = harness.one(BUCKET)
    bucket_name = bucket.outputs["bucket"]
    assert bucket.inputs == {"forceDestroy": True}
    assert harness.one(PUBLIC_ACCESS_BLOCK).inputs == {
        "bucket": bucket_name,
        "blockPublicAcls": True,
        "blockPublicPolicy": True,
        "ignorePublicAcls": True,
        "restrictPublicBuckets": True,
    }
    archive_object = harness.one(BUCKET_OBJECT)
    assert archive_object.inputs["bucket"] == bucket_name
    assert archive_object.inputs["contentType"] == "application/gzip"
    assert archive_object.inputs["serverSideEncryption"] == "AES256"
    # The bucket is private before anything is uploaded.
    assert harness.one(PUBLIC_ACCESS_BLOCK).urn in archive_object.dependencies

    with tarfile.open(fileobj=io.BytesIO(archive_bytes(harness)), mode="r:gz") as tar:
        assert tar.getnames() == ["code/inference.py"]
        member = tar.extractfile("code/inference.py")
        assert member is not None
        assert member.read() == INFERENCE_SCRIPT.read_bytes()


def test_archive_is_byte_identical_across_runs(pulumi_mocks: StartPulumi) -> None:
    first = pulumi_mocks(config=ON)
    first.run_program()
    second = pulumi_mocks(config=ON)
    second.run_program()

    assert archive_bytes(first) == archive_bytes(second)
    assert first.one(BUCKET_OBJECT).inputs["key"] == second.one(BUCKET_OBJECT).inputs["key"]


def test_model_reads_the_archive_and_keeps_the_hub_model(pulumi_mocks: StartPulumi) -> None:
    harness = pulumi_mocks(config=ON)
    harness.run_program()

    archive_object = harness.one(BUCKET_OBJECT)
    key = archive_object.inputs["key"]
    assert key.startswith("sentence-embeddings/")
    assert key.endswith("/model.tar.gz")
    container = harness.one(MODEL).inputs["primaryContainer"]
    assert container["modelDataUrl"] == f"s3://{archive_object.inputs['bucket']}/{key}"
    assert container["environment"] == {
        "HF_MODEL_ID": "sentence-transformers/all-MiniLM-L6-v2",
        "HF_TASK": "feature-extraction",
    }


def test_role_may_read_the_archives_alone_before_the_model_is_made(
    pulumi_mocks: StartPulumi,
) -> None:
    harness = pulumi_mocks(config=ON)
    harness.run_program()

    archive_object = harness.one(BUCKET_OBJECT)
    read = harness.one(BUCKET_POLICY)
    assert read.inputs["bucket"] == harness.one(BUCKET).outputs["bucket"]
    # Every archive: the model being replaced still reads its own on a cold start.
    archives = f"arn:aws:s3:::{archive_object.inputs['bucket']}/sentence-embeddings/*"
    assert archive_object.inputs["key"].startswith("sentence-embeddings/")
    assert json.loads(read.inputs["policy"]) == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadModelArchives",
                "Effect": "Allow",
                "Principal": {"AWS": harness.one(ROLE).outputs["arn"]},
                "Action": "s3:GetObject",
                "Resource": archives,
            }
        ],
    }
    execution = harness.one(POLICY)
    assert "s3:" not in execution.inputs["policy"]
    sleep = harness.one(SLEEP)
    assert {read.urn, execution.urn} <= set(sleep.dependencies)
    assert sleep.urn in harness.one(MODEL).dependencies


def test_an_existing_role_is_granted_by_the_bucket_never_written_to(
    pulumi_mocks: StartPulumi,
) -> None:
    harness = pulumi_mocks()
    role_arn = f"arn:aws:iam::{ACCOUNT_ID}:role/service-role/team-sagemaker"

    harness.run(lambda: EmbeddingEndpoint("vectors", EmbeddingEndpointArgs(role_arn=role_arn)))

    assert not harness.of_type(ROLE)
    assert not harness.of_type(POLICY)
    read = harness.one(BUCKET_POLICY)
    assert read.name == "vectors-model-archive-read"
    assert json.loads(read.inputs["policy"])["Statement"][0]["Principal"] == {"AWS": role_arn}
    assert read.urn in harness.one(SLEEP).dependencies
    assert harness.one(MODEL).inputs["executionRoleArn"] == role_arn


def test_an_upper_case_component_name_is_accepted_with_the_handler(
    pulumi_mocks: StartPulumi,
) -> None:
    harness = pulumi_mocks()

    harness.run(lambda: EmbeddingEndpoint("Vectors", EmbeddingEndpointArgs()))

    # The bucket is auto-named from this logical name, and pulumi-aws lower-cases a bucket's
    # auto-name (provider/resources.go, AutoNameTransform): no bucket name is given here.
    bucket = harness.one(BUCKET)
    assert (bucket.name, "bucket" in bucket.inputs) == ("Vectors-code", False)


@pytest.mark.parametrize("name", ["xn--vectors", "sthree-vectors", "Amzn-S3-Demo-vectors"])
def test_a_component_name_s3_reserves_is_refused_with_the_handler_only(
    pulumi_mocks: StartPulumi, name: str
) -> None:
    harness = pulumi_mocks()

    with pytest.raises(InvalidSettingsError) as raised:
        harness.run(lambda: EmbeddingEndpoint(name, EmbeddingEndpointArgs()))
    harness.run(lambda: EmbeddingEndpoint(name, EmbeddingEndpointArgs(sentence_embeddings=False)))

    assert raised.value.settings == ("name",)
    assert "it also names the S3 bucket" in str(raised.value)
    assert not harness.of_type(BUCKET)


def test_the_archive_object_carries_no_tags_as_s3_allows_only_10(
    pulumi_mocks: StartPulumi,
) -> None:
    harness = pulumi_mocks()
    tags = {f"key{i}": "value" for i in range(11)}

    harness.run(lambda: EmbeddingEndpoint("vectors", EmbeddingEndpointArgs(tags=tags)))

    assert "tags" not in harness.one(BUCKET_OBJECT).inputs
    assert harness.one(BUCKET).inputs["tags"] == tags
    assert harness.one(MODEL).inputs["tags"] == tags
