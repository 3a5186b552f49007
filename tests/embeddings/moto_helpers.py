"""A deployment as `pulumi up` would leave it, in moto, and canned endpoint answers."""

from __future__ import annotations

import json
from typing import Any, Final

import boto3
import requests

ACCOUNT_ID: Final = "123456789012"
IMAGE: Final = (
    "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-inference:"
    "1.13.1-transformers4.26.0-cpu-py39-ubuntu20.04"
)
ARCHIVE: Final = (
    "s3://alex-embedding-code-1a2b3c4/sentence-embeddings/5f68d34fd8bb2f98/model.tar.gz"
)
"""The sentence-embedding handler's archive, as the component's default points the model at."""
IN_PROCESS_MOTO_API: Final = "http://motoapi.amazonaws.com"


def deploy(
    region: str,
    endpoint_name: str = "alex-embedding-endpoint",
    *,
    endpoint_url: str | None = None,
    task: str | None = "feature-extraction",
    serverless: dict[str, int] | None = None,
    instance_type: str | None = None,
    image: str = IMAGE,
    archive: str | None = None,
    model_id: str | None = "sentence-transformers/all-MiniLM-L6-v2",
) -> None:
    """`task` None sets no HF_TASK (as for TEI, whose `image` is then given); `archive` is the
    handler's model.tar.gz, as the component's default has it; `model_id` None, with `archive`,
    is `modelSource: archive`."""
    sagemaker = boto3.client("sagemaker", region_name=region, endpoint_url=endpoint_url)
    environment = {"HF_MODEL_ID": model_id} if model_id else {}
    if task is not None:
        environment["HF_TASK"] = task
    sagemaker.create_model(
        ModelName="alex-embedding-model-1a2b3c4",
        ExecutionRoleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/alex-embedding-role-5d6e7f8",
        PrimaryContainer={
            "Image": image,
            "Mode": "SingleModel",
            "Environment": environment,
            **({"ModelDataUrl": archive} if archive else {}),
        },
    )
    capacity = serverless or {"memory": 3072, "concurrency": 2}
    variant: Any = {"VariantName": "AllTraffic", "ModelName": "alex-embedding-model-1a2b3c4"}
    if instance_type:
        variant.update(InstanceType=instance_type, InitialInstanceCount=2)
    else:
        variant["ServerlessConfig"] = {
            "MemorySizeInMB": capacity["memory"],
            "MaxConcurrency": capacity["concurrency"],
        }
    sagemaker.create_endpoint_config(
        EndpointConfigName="alex-embedding-config-9a8b7c6", ProductionVariants=[variant]
    )
    sagemaker.create_endpoint(
        EndpointName=endpoint_name, EndpointConfigName="alex-embedding-config-9a8b7c6"
    )


def queue_results(bodies: list[Any], region: str, moto_api: str = IN_PROCESS_MOTO_API) -> None:
    """The next invocations (one per distinct request body) answer these JSON bodies in turn."""
    response = requests.post(
        f"{moto_api}/moto-api/static/sagemaker/endpoint-results",
        json={
            "account_id": ACCOUNT_ID,
            "region": region,
            "results": [
                {"Body": json.dumps(body), "ContentType": "application/json"} for body in bodies
            ],
        },
        timeout=10,
    )
    response.raise_for_status()
