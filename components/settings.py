"""The settings of an `EmbeddingEndpoint`, each declared once: its type and constraints (from
botocore's service models wherever they state them), its default, and its docstring, which says
what is allowed and is repeated by error messages, Pulumi.yaml and the README. Its stack-config
key is its camelCase alias (`memory_size_in_mb` is `memorySizeInMb`). The rules between
settings are `args.EmbeddingEndpointArgs`."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from typing import Annotated, Any, Final, Literal

import pulumi
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    StringConstraints,
)
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from components import aws_limits, images, model_files
from container import MODEL_DIR, tei

# The Hub's own rules (huggingface_hub's validate_repo_id): parts of 1-96 ASCII letters, digits,
# '_', '-', '.', starting and ending with a letter, digit or '_'; no '--' or '..'; no '.git' end.
_HUB_PART: Final = r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,94}[A-Za-z0-9_])?"
_ARN: Final = r"arn:aws[a-z-]*"
_IAM_NAME: Final = r"[A-Za-z0-9_+=,.@-]"  # IAM's policyPathType and policyNameType letters
# Variables the component sets itself, by the setting that sets them (MODEL_ID, REVISION: TEI's
# names); a token belongs in the secret setting, never in plain text in the state.
SET_BY_COMPONENT: Final = {
    "HF_MODEL_ID": "model_id", "MODEL_ID": "model_id", "HF_TASK": "task",
    "HF_MODEL_REVISION": "model_revision", "REVISION": "model_revision",
    "HF_API_TOKEN": "hf_api_token", "HF_TOKEN": "hf_api_token",
    "HUGGING_FACE_HUB_TOKEN": "hf_api_token",
}  # fmt: skip


def _secret_names(names: AbstractSet[str]) -> str | None:
    if unknown := sorted(names - set(EndpointSettings.model_fields)):
        return f"names no setting: {unknown}"
    return (
        f"cannot keep {sorted(names & UNKEPT)} secret: each {UNKEPT_WHY}"
        if names & UNKEPT
        else None
    )


UNKEPT: Final = frozenset({"mode", "runtime", "sentence_embeddings", "alarms", "secret_settings"})
UNKEPT_WHY: Final = "decides which resources exist, which no secret hides"


def _refuse(reason: Callable[[Any], str | None]) -> AfterValidator:
    """A check beyond the constraints: `reason` says why a value is refused, or None."""

    def check(value: Any) -> Any:
        if value is not None and (why := reason(value)) is not None:
            raise ValueError(why)
        return value

    return AfterValidator(check)


def _arn(pattern: str, max_length: int = 2048) -> PlainValidator:
    """An ARN given as text is checked now; an Output (another stack's role, a topic made in
    the same program) is checked by the component once it resolves, by these same rules."""

    def check(value: object) -> object:
        if value is None or isinstance(value, pulumi.Output):
            return value
        if isinstance(value, str) and len(value) <= max_length and re.fullmatch(pattern, value):
            return value
        raise PydanticCustomError("string_pattern_mismatch", "is not allowed")

    return PlainValidator(check)


def _token(value: object) -> object:
    if value is None or isinstance(value, pulumi.Output):
        return value
    if isinstance(value, str) and value and value.strip() == value and value.isprintable():
        return value
    raise ValueError("is not allowed; use a Hub token (no spaces around it): a string or an Output")


def _instance_type(instance_type: str) -> str | None:
    if instance_type not in (known := aws_limits.instance_types()):
        similar = aws_limits.suggestion(instance_type, known) or "; use one such as ml.m5.large"
        return f"is not a SageMaker endpoint instance type{similar}"
    why = images.why_unsupported(instance_type)
    return f"cannot run these images: {why}; use an x86 CPU or NVIDIA GPU type" if why else None


def _go_duration(delay: str) -> str | None:
    seconds, cap = aws_limits.go_duration_seconds(delay), aws_limits.MAX_IAM_PROPAGATION_SECONDS
    if seconds is None:
        return "is not a Go duration; use a number and unit such as '15s', '1m30s' or '500ms'"
    return (
        f"is over {cap // 60}m; IAM changes reach SageMaker in seconds" if seconds > cap else None
    )


def _one_per_name(arns: Sequence[str | pulumi.Output[str]]) -> str | None:
    names = [arn.rsplit("/", 1)[-1] for arn in arns if isinstance(arn, str)]
    twice = sorted({name for name in names if names.count(name) > 1})
    return f"names more than one policy {', '.join(twice)}" if twice else None


_Provisioned = Annotated[
    int | None, aws_limits.interval("sagemaker", "ServerlessProvisionedConcurrency")
]
_Instances = Annotated[int | None, aws_limits.at_least(1)]
_EnvironmentKey = Annotated[
    str,
    aws_limits.string("sagemaker", "EnvironmentKey"),
    _refuse(lambda key: f"is set by the component; use `{SET_BY_COMPONENT[key]}`"
            if key in SET_BY_COMPONENT else None),
]  # fmt: skip
ArnInput = str | pulumi.Output[str]
# IAM's policyPathType and policyNameType; arnType's length.
_PolicyArn = Annotated[
    ArnInput,
    _arn(rf"{_ARN}:iam::(?:aws|[0-9]{{12}}):policy(?:/{_IAM_NAME}+)*/{_IAM_NAME}{{1,128}}"),
]
_TagKey = Annotated[
    str,
    aws_limits.string("sagemaker", "TagKey"),
    _refuse(lambda key: "uses the reserved prefix 'aws:'" if key.lower()[:4] == "aws:" else None),
]


def _network_ids(kind: str, most: int) -> PlainValidator:
    """EC2 ids as text are checked now (their form, SageMaker's counts); an Output, of one id
    or of the list (a VPC made in the same program), is passed on for SageMaker to check."""

    def check(value: object) -> object:
        if isinstance(value, pulumi.Output):
            return value
        form = rf"{kind}-[0-9a-f]{{1,{32 - len(kind) - 1}}}"
        if (
            isinstance(value, list | tuple)
            and len(value) <= most
            and all(
                isinstance(id_, pulumi.Output) or (isinstance(id_, str) and re.fullmatch(form, id_))
                for id_ in value
            )
        ):
            return tuple(value)
        raise ValueError(f"is not allowed; give a list of at most {most} ids such as {kind}-0abc12")

    return PlainValidator(check)


_NetworkIds = Sequence[str | pulumi.Output[str]] | pulumi.Output[Sequence[str]]


class EndpointSettings(BaseModel):
    """Every setting: its type, constraints, default and what it means; and what follows
    from them (the image to run, the scaling ranges)."""

    model_config = ConfigDict(
        strict=True,
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=False,  # Python takes field names; stack config asks for aliases
        use_attribute_docstrings=True,
        arbitrary_types_allowed=True,
    )

    # ---- What the endpoint serves, and how its container is set up
    endpoint_name: Annotated[str | None, aws_limits.string("sagemaker", "EndpointName")] = None
    """Fixed name of the endpoint that callers invoke: up to 63 letters, digits and hyphens,
    starting and ending with one. Unset, the program uses alex-embedding-endpoint on stack dev
    and alex-embedding-endpoint-<stack> on others; a component from Python is auto-named."""
    model_id: Annotated[
        str,
        StringConstraints(pattern=rf"^(?:{_HUB_PART}(?:/{_HUB_PART})?|(?:/|\./|\.\./|~).*)$"),
        _refuse(
            lambda id_: (
                "may not contain '--' or '..', nor end in '.git'"
                if not model_files.is_local(id_)
                and ("--" in id_ or ".." in id_ or id_.endswith(".git"))
                else None
            )
        ),
    ] = "sentence-transformers/all-MiniLM-L6-v2"
    """Hugging Face Hub model id, `name` or `org/name` (letters, digits, '-', '_', '.'); or,
    with `model_source` archive, a local model directory starting with /, ./, ../ or ~."""
    model_revision: Annotated[
        str | None, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,254}$")
    ] = None
    """Hub branch, tag or commit to pin the model to; unset uses the default branch."""
    model_source: Literal["hub", "archive"] = "hub"
    """Where the container gets the model: hub (downloads `model_id` from huggingface.co at
    every cold start) or archive (`pulumi up` downloads it once and uploads it in the model's
    archive: no Hub and no token at run time)."""
    runtime: images.Runtime = "huggingface"
    """What serves the model: huggingface (the HuggingFace inference image: sentence
    embeddings, or token vectors without `sentence_embeddings`) or tei (Text Embeddings
    Inference: pooled, normalised sentence embeddings, no custom code)."""
    task: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")] = (
        "feature-extraction"
    )
    """Lower-case pipeline task the container runs (HF_TASK; huggingface runtime)."""
    image_tag: Annotated[str | None, StringConstraints(pattern=f"^(?:{images.ANY_TAG})$")] = None
    """Full tag of the runtime's image, looked up per region: a CPU tag (a GPU instance runs
    its GPU build where one is known), or a GPU instance's GPU tag; unset for the tested release
    (huggingface-pytorch-inference 1.13.1-transformers4.26.0-cpu-py39-ubuntu20.04, tei-cpu
    2.0.1-tei1.9.3-cpu-py310-ubuntu24.04)."""
    hf_api_token: Annotated[str | pulumi.Output[str] | None, PlainValidator(_token)] = None
    """Hugging Face token for gated or private models (kept secret); unset for public models."""
    environment: Annotated[
        Mapping[
            _EnvironmentKey, Annotated[str, aws_limits.string("sagemaker", "EnvironmentValue")]
        ],
        AfterValidator(dict),
    ] = Field(default_factory=dict)
    """Extra container variables: names of letters, digits and '_', values of at most 1024
    characters."""
    sentence_embeddings: bool = True
    """Serve one normalised sentence embedding per text (handler code shipped in an S3 model
    archive); false serves the container's token vectors (huggingface runtime)."""

    # ---- Where it runs, and how much of it: serverless capacity, or realtime instances
    mode: Literal["serverless", "realtime"] = "serverless"
    """Where the model runs: serverless (pay per request, cold starts) or realtime (instances;
    GPUs possible)."""
    memory_size_in_mb: Annotated[
        int,
        aws_limits.interval("sagemaker", "ServerlessMemorySizeInMB"),
        Field(multiple_of=aws_limits.SERVERLESS_MEMORY_STEP_MB),
    ] = 3072
    """Serverless memory, one of 1024, 2048, 3072, 4096, 5120, 6144."""
    max_concurrency: Annotated[
        int, aws_limits.interval("sagemaker", "ServerlessMaxConcurrency")
    ] = 2
    """Serverless maximum concurrent invocations, 1-200 (the account quota is often 10 per
    region)."""
    provisioned_concurrency: _Provisioned = None
    """Warm serverless capacity that removes cold starts and is billed while idle, 1 to
    `max_concurrency`; unset for none."""
    provisioned_concurrency_min: _Provisioned = None
    """Serverless, scale provisioned concurrency down to this (1 when only a maximum is set)."""
    provisioned_concurrency_max: _Provisioned = None
    """Serverless, scale provisioned concurrency up to this, at most `max_concurrency`; unset
    for no scaling."""
    provisioned_concurrency_target_percent: Annotated[int, Field(ge=1, le=100)] = 70
    """Percentage of provisioned concurrency in use that scaling aims for, 1-100."""
    instance_type: Annotated[str | None, _refuse(_instance_type)] = None
    """Realtime: a SageMaker instance type such as ml.m5.large, or ml.g5.xlarge (runs the GPU
    image)."""
    instance_count: Annotated[int, aws_limits.interval("sagemaker", "InitialTaskCount")] = 1
    """Realtime, instances when the endpoint is created: 1 or more (quotas are per account)."""
    autoscaling_min_capacity: _Instances = None
    """Realtime, the fewest instances (1 when only a maximum is set)."""
    autoscaling_max_capacity: _Instances = None
    """Realtime, the most instances; unset for no autoscaling."""
    autoscaling_target_invocations: Annotated[int, aws_limits.at_least(1)] = 100
    """Realtime autoscaling, invocations per instance per minute to aim for (1 or more)."""
    autoscaling_scale_in_cooldown: Annotated[int, aws_limits.at_least(0)] = 300
    """Realtime autoscaling, seconds after a scale-in before another scaling activity."""
    autoscaling_scale_out_cooldown: Annotated[int, aws_limits.at_least(0)] = 60
    """Realtime autoscaling, seconds after a scale-out before another scale-out."""
    vpc_subnet_ids: Annotated[
        _NetworkIds, _network_ids("subnet", aws_limits.shape("sagemaker", "Subnets")["max"])
    ] = ()
    """Realtime, subnets (subnet-...) of your VPC the model runs in, with
    `vpc_security_group_ids`: at most 16; unset for SageMaker's own network."""
    vpc_security_group_ids: Annotated[
        _NetworkIds,
        _network_ids("sg", aws_limits.shape("sagemaker", "VpcSecurityGroupIds")["max"]),
    ] = ()
    """Realtime, security groups (sg-...) of the model's network interfaces: at most 5."""
    network_isolation: bool = False
    """Realtime, run the container with no network at all (`model_source` archive)."""

    # ---- Who it runs as
    role_arn: Annotated[
        ArnInput | None,
        # IAM's roleNameType (1-64 of [\w+=,.@-]); the path as SageMaker's RoleArn pattern has it.
        _arn(
            rf"{_ARN}:iam::[0-9]{{12}}:role/(?:[A-Za-z0-9_+=,.@/-]*/)?{_IAM_NAME}{{1,64}}",
            aws_limits.shape("sagemaker", "RoleArn")["max"],
        ),
    ] = None
    """Existing execution role (arn:aws:iam::<account>:role/<name>) to use instead of creating
    one; unset creates a least-privilege role."""
    managed_policy_arns: Annotated[
        Sequence[_PolicyArn],
        # Any sequence as a list, but a string (of letters, refused as no list).
        BeforeValidator(
            lambda v: list(v) if isinstance(v, Sequence) and not isinstance(v, str) else v
        ),
        Field(max_length=aws_limits.MAX_MANAGED_POLICIES_PER_ROLE),
        _refuse(_one_per_name),
        AfterValidator(tuple),
    ] = ()
    """Managed policies (arn:aws:iam::aws:policy/<name>, at most 20) to attach to the created
    role instead of the least-privilege inline policy."""
    iam_propagation_delay: Annotated[str, _refuse(_go_duration)] = "15s"
    """Go duration (15s, 1m30s; at most 10m) to wait after the execution role's policy is
    created."""

    # ---- What watches it: logs and alarms
    log_retention_days: Annotated[
        int | None,
        _refuse(lambda days: None if days in aws_limits.log_retention_days() else
                f"is not a retention CloudWatch accepts: {aws_limits.log_retention_days()}"),
    ] = 30  # fmt: skip
    """Retention of /aws/sagemaker/Endpoints/<endpointName>, a CloudWatch value such as 7, 30
    or 365; unset keeps logs forever."""
    keep_logs: bool = True
    """Keep the endpoint's log group when `endpoint_name` changes or the stack is destroyed (its
    retention still applies); false deletes it with them."""
    alarms: bool = True
    """CloudWatch alarms on 5XX errors, model latency and (serverless) cold-start setup time."""
    alarm_topic_arn: Annotated[
        ArnInput | None, _arn(rf"{_ARN}:sns:[a-z0-9-]+:[0-9]{{12}}:[A-Za-z0-9_-]{{1,256}}")
    ] = None
    """SNS topic (arn:aws:sns:<region>:<account>:<topic>) the alarms notify, in the stack's
    region; unset for none."""
    alarm_model_latency_ms: Annotated[int, Field(ge=1, le=60_000)] = 1000
    """Alarm when the average model latency over 5 minutes exceeds this, 1-60000 ms (a request
    may take 60 s)."""
    alarm_model_setup_seconds: Annotated[int, aws_limits.at_least(1)] = 30
    """Serverless, alarm when a cold start (ModelSetupTime) exceeds this many seconds."""

    # ---- Everything it creates
    tags: Annotated[
        Mapping[_TagKey, Annotated[str, aws_limits.string("sagemaker", "TagValue")]],
        Field(max_length=aws_limits.shape("sagemaker", "TagList")["max"]),
        AfterValidator(dict),
    ] = Field(default_factory=dict)
    """Tags for every taggable resource of the component: at most 50, of letters, digits, spaces
    and _ . : / = + - @ (keys up to 128, values up to 256 characters)."""

    secret_settings: Annotated[
        AbstractSet[str],
        BeforeValidator(lambda v: frozenset(v) if isinstance(v, set | list | tuple) else v),
        _refuse(_secret_names),
    ] = frozenset()  # fmt: skip
    """Settings whose values are kept secret in the state and previews (Python only: the
    program adds every key set with `pulumi config set --secret`)."""

    def kept(self, value: Any, *names: str) -> Any:
        """`value` as a resource input: a secret where it comes from a secret setting."""
        secret = value is not None and not self.secret_settings.isdisjoint(names)
        return pulumi.Output.secret(value) if secret else value

    @classmethod
    def names(cls) -> dict[str, str]:
        """Field name by field name and by config key."""
        return {name: name for name in cls.model_fields} | {
            field.alias: name for name, field in cls.model_fields.items() if field.alias
        }

    @classmethod
    def config_keys(cls) -> dict[str, str]:
        """Stack-config key by field name."""
        return {name: field.alias or name for name, field in cls.model_fields.items()}

    def changed(self, name: str) -> bool:
        """Whether a setting was given another value than its default."""
        field = type(self).model_fields[name]
        value = getattr(self, name)  # a list where the value was refused and kept as given
        value = tuple(value) if isinstance(value, list) else value
        return bool(value != field.get_default(call_default_factory=True))

    @property
    def is_serverless(self) -> bool:
        return self.mode == "serverless"

    @property
    def runs_on_gpu(self) -> bool:
        return self.instance_type is not None and images.is_gpu_instance(self.instance_type)

    @property
    def release_tag(self) -> str:
        """The tag given, else the runtime's default CPU tag."""
        return self.image_tag or images.RUNTIMES[self.runtime].default_cpu_tag

    @property
    def effective_image_tag(self) -> str:
        """The tag the model runs: a CPU release's GPU build on a GPU instance."""
        tag = self.release_tag
        if self.runs_on_gpu and not images.is_gpu_tag(tag):
            return images.gpu_tag_for(self.runtime, tag) or tag
        return tag

    @property
    def image_repository(self) -> str:
        """The runtime's repository for the instance: tei-cpu or tei for TEI."""
        runtime = images.RUNTIMES[self.runtime]
        return runtime.gpu_repository if self.runs_on_gpu else runtime.cpu_repository

    @property
    def uses_handler(self) -> bool:
        """Whether the HF image serves through the sentence-embedding handler's archive."""
        return self.sentence_embeddings and self.runtime == "huggingface"

    @property
    def local_model(self) -> bool:
        return model_files.is_local(self.model_id)

    @property
    def in_vpc(self) -> bool:
        return bool(self.vpc_subnet_ids)

    @property
    def ships_model(self) -> bool:
        """Whether the model's own files go in the archive (so nothing reads the Hub)."""
        return self.model_source == "archive"

    @property
    def ships_archive(self) -> bool:
        """Whether the model has an archive in S3: the handler's code, the model, or both."""
        return self.uses_handler or self.ships_model

    def container_environment(self) -> dict[str, str]:
        """The variables the component sets, the token aside (a secret, set as one): the Hub
        model to download, or none where the archive holds it (TEI: its directory)."""
        if self.runtime == "tei":
            if self.ships_model:
                return tei.environment(MODEL_DIR, None)
            return tei.environment(self.model_id, self.model_revision)
        if self.ships_model:
            return {"HF_TASK": self.task}
        revision = {} if self.model_revision is None else {"HF_MODEL_REVISION": self.model_revision}
        return {"HF_MODEL_ID": self.model_id, "HF_TASK": self.task, **revision}

    @property
    def update_refused_key(self) -> str:
        """Changes in place that AWS refuses: realtime to serverless, and a new instance type
        for a variant that is a scaling target. A new key means a new endpoint."""
        scaled = self.instance_type if self.instance_scaling else ""
        return "serverless" if self.is_serverless else f"realtime {scaled}".rstrip()

    @property
    def creates_role(self) -> bool:
        return self.role_arn is None

    @property
    def provisioned_scaling(self) -> tuple[int, int] | None:
        """(minimum, maximum) provisioned concurrency when it scales; a lone maximum from 1."""
        low, high = self.provisioned_concurrency_min or 1, self.provisioned_concurrency_max
        return (low, high) if self.is_serverless and high is not None else None

    @property
    def instance_scaling(self) -> tuple[int, int] | None:
        """(minimum, maximum) instances when they scale; a lone maximum from 1."""
        low, high = self.autoscaling_min_capacity or 1, self.autoscaling_max_capacity
        return (low, high) if not self.is_serverless and high is not None else None
