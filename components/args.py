"""Typed, validated settings of an `EmbeddingEndpoint`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import pulumi

from components import validation
from components.errors import InvalidSettingsError, Problem

DEFAULT_ENDPOINT_NAME: Final = "alex-embedding-endpoint"
DEFAULT_MODEL_ID: Final = "sentence-transformers/all-MiniLM-L6-v2"
DEFAULT_TASK: Final = "feature-extraction"
DEFAULT_IMAGE_TAG: Final = "1.13.1-transformers4.26.0-cpu-py39-ubuntu20.04"
DEFAULT_MEMORY_SIZE_MB: Final = 3072
DEFAULT_MAX_CONCURRENCY: Final = 2
DEFAULT_IAM_PROPAGATION_DELAY: Final = "15s"
HUGGINGFACE_INFERENCE_REPOSITORY: Final = "huggingface-pytorch-inference"


@dataclass(frozen=True)
class EmbeddingEndpointArgs:
    """What to deploy. Construction validates every field and raises `InvalidSettingsError`
    listing all problems, so a bad setting never gets as far as a registered resource.

    The defaults reproduce the reference deployment: all-MiniLM-L6-v2 on 3072 MB with a
    maximum concurrency of 2, from the 1.13.1 HuggingFace PyTorch CPU image.
    """

    endpoint_name: str | None = None
    """Fixed endpoint name that callers invoke; None lets Pulumi auto-name it from the component
    name, which keeps several components in one program from colliding."""
    model_id: str = DEFAULT_MODEL_ID
    """Hub model id (`name` or `org/name`) the container downloads at start-up (HF_MODEL_ID)."""
    model_revision: str | None = None
    """Hub branch, tag or commit to pin (HF_MODEL_REVISION); None uses the default branch."""
    task: str = DEFAULT_TASK
    """transformers pipeline task the container runs (HF_TASK)."""
    image_tag: str = DEFAULT_IMAGE_TAG
    """Full CPU tag of the huggingface-pytorch-inference image."""
    memory_size_in_mb: int = DEFAULT_MEMORY_SIZE_MB
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    provisioned_concurrency: int | None = None
    """Always-warm capacity (no cold starts, billed while idle); None for none."""
    iam_propagation_delay: str = DEFAULT_IAM_PROPAGATION_DELAY
    """How long to wait after the role's policy exists before SageMaker is asked to use it."""
    role_arn: str | None = None
    """An existing execution role; when given, the component creates no role, policy or wait."""
    managed_policy_arns: Sequence[str] = ()
    """Attach these to the created role instead of the least-privilege inline policy."""
    hf_api_token: pulumi.Input[str] | None = None
    """Hub token for gated or private models; pass a secret (it is made secret regardless)."""
    environment: Mapping[str, str] = field(default_factory=dict)
    """Extra container environment variables."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags for every taggable child resource."""
    sentence_embeddings: bool = False
    """Serve one pooled, normalised vector per text instead of token vectors, through
    embeddings/handler/inference.py shipped in a model archive (see the README)."""

    def __post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise InvalidSettingsError("EmbeddingEndpointArgs", problems)

    def problems(self) -> list[Problem]:
        """Every problem with these settings, in field order."""
        return check_settings(**{name: getattr(self, name) for name in FIELD_NAMES})

    @property
    def creates_role(self) -> bool:
        return self.role_arn is None


FIELD_NAMES: Final = tuple(EmbeddingEndpointArgs.__dataclass_fields__)


def check_settings(
    *,
    endpoint_name: object,
    model_id: object,
    model_revision: object,
    task: object,
    image_tag: object,
    memory_size_in_mb: object,
    max_concurrency: object,
    provisioned_concurrency: object,
    iam_propagation_delay: object,
    role_arn: object,
    managed_policy_arns: object,
    hf_api_token: object,
    environment: object,
    tags: object,
    sentence_embeddings: object = False,
) -> list[Problem]:
    """Validate raw setting values without building the args.

    Separate from the constructor so the stack-config reader can check the values it could parse
    and report them together with the ones it could not.
    """
    reserved_in_use = 2 + (model_revision is not None) + (hf_api_token is not None)
    return [
        *validation.endpoint_name(endpoint_name),
        *validation.model_id(model_id),
        *validation.model_revision(model_revision),
        *validation.task(task),
        *validation.image_tag(image_tag),
        *validation.memory_size_in_mb(memory_size_in_mb),
        *validation.max_concurrency(max_concurrency),
        *validation.provisioned_concurrency(provisioned_concurrency, max_concurrency),
        *validation.iam_propagation_delay(iam_propagation_delay),
        *validation.role_arn(role_arn),
        *validation.managed_policy_arns(managed_policy_arns, role_arn),
        *validation.environment(environment, reserved_in_use),
        *validation.tags(tags),
        *validation.flag("sentence_embeddings", sentence_embeddings),
    ]
