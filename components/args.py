"""Typed, validated settings of an `EmbeddingEndpoint`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import pulumi

from components import images, operations_validation, validation
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

    mode: str = "serverless"
    """`serverless` (pay per request, cold starts) or `realtime` (instances, GPUs possible)."""
    provisioned_concurrency_min: int | None = None
    """With `provisioned_concurrency_max`: scale provisioned concurrency between these."""
    provisioned_concurrency_max: int | None = None
    provisioned_concurrency_target_percent: int = 70
    """Percentage of provisioned concurrency in use that scaling aims for."""
    instance_type: str | None = None
    """Realtime only: e.g. `ml.m5.large`, or `ml.g5.xlarge` (runs the GPU image)."""
    instance_count: int = 1
    """Realtime only: instances at creation (autoscaling then owns the count)."""
    gpu_image_tag: str | None = None
    """Realtime on a GPU instance: the GPU tag, when `image_tag` has no known GPU pair."""
    autoscaling_min_capacity: int | None = None
    """Realtime only, with `autoscaling_max_capacity`: scale instances between these."""
    autoscaling_max_capacity: int | None = None
    autoscaling_target_invocations: int = 100
    """Invocations per instance per minute that autoscaling aims for."""
    autoscaling_scale_in_cooldown: int = 300
    autoscaling_scale_out_cooldown: int = 60
    log_retention_days: int | None = 30
    """Retention of the endpoint's log group, which the component creates when the endpoint has
    a name; None keeps logs forever."""
    alarms: bool = True
    """CloudWatch alarms on 5XX errors, model latency and (serverless) cold-start setup time."""
    alarm_topic_arn: str | None = None
    """SNS topic notified when an alarm fires or recovers."""
    alarm_model_latency_ms: int = 1000
    alarm_model_setup_seconds: int = 30

    @property
    def is_serverless(self) -> bool:
        return self.mode == "serverless"

    @property
    def runs_on_gpu(self) -> bool:
        return self.instance_type is not None and images.is_gpu_instance(self.instance_type)

    @property
    def effective_image_tag(self) -> str:
        """The tag the model runs: the GPU build on a GPU instance."""
        if self.runs_on_gpu:
            return images.gpu_tag_for(self.image_tag, self.gpu_image_tag) or self.image_tag
        return self.image_tag

    @property
    def scales_provisioned_concurrency(self) -> bool:
        return self.is_serverless and self.provisioned_concurrency_max is not None

    @property
    def scales_instances(self) -> bool:
        return not self.is_serverless and self.autoscaling_max_capacity is not None

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
    **operations: object,
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
        *operations_validation.check(
            image_tag=image_tag,
            memory_size_in_mb=memory_size_in_mb,
            max_concurrency=max_concurrency,
            provisioned_concurrency=provisioned_concurrency,
            **operations,
        ),
    ]
