"""The settings of an `EmbeddingEndpoint`: one declaration per setting, every problem at once.

A setting is declared once, in the group it belongs to: its type (whose validator checks the
value alone, against the service's own limits from `checks`), its default, and its docstring,
which is also its description in Pulumi.yaml. Its stack-config key is its name in camelCase
(`memory_size_in_mb` is `memorySizeInMb`). Rules that relate settings (a setting of the other
mode, a scaling range, a setting that has no effect) are methods marked `@rule`.

Every problem is reported together: a value that fails its own check drops out and the rules
that read it are skipped, so a bad `mode` does not hide a bad `log_retention_days`. Messages
name other settings in backticks; read from stack config, they name config keys instead.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import FunctionType
from typing import Annotated, Any, Final, Literal, Self, TypeVar

import pulumi
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    PlainValidator,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import ErrorDetails

from components import checks, images, naming
from components.errors import InvalidSettingsError, Problem

REGION_SETTING: Final = "aws:region"
NAME_SETTING: Final = "name"


@dataclass(frozen=True)
class Context:
    """How settings are being read, and what only the deployment knows (None: not yet)."""

    subject: str | None = None
    """What the error message calls the settings; the class name by default."""
    by_config_key: bool = False
    """Name settings in problems by stack-config key instead of field name."""
    region: str | None = None
    component: str | None = None


class PythonOnly:
    """Marks a setting that has no stack-config key (it has no flat text form)."""


class StackSecret:
    """Marks a stack-config key that must be stored encrypted (`pulumi config set --secret`)."""


RuleMethod = TypeVar("RuleMethod", bound=Callable[..., Iterable[Problem]])
_RULE_READS: Final[dict[Callable[..., Iterable[Problem]], frozenset[str]]] = {}


def rule(*reads: str) -> Callable[[RuleMethod], RuleMethod]:
    """Marks a method `(self, context) -> problems` as a rule over several settings. It runs
    only when the settings in `reads` passed their own checks (others may stand at their
    defaults, their refused values being reported already)."""

    def register(method: RuleMethod) -> RuleMethod:
        _RULE_READS[method] = frozenset(reads)
        return method

    return register


class Settings(BaseModel):
    """What every group shares: frozen, no unknown names, camelCase aliases, every problem."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=False,
        use_attribute_docstrings=True,
    )

    @model_validator(mode="wrap")
    @classmethod
    def _every_problem(
        cls, data: Any, handler: ModelWrapValidatorHandler[Self], info: ValidationInfo
    ) -> Self:
        context = info.context if isinstance(info.context, Context) else Context()
        problems: list[Problem] = []
        failed: set[str] = set()
        try:
            settings = handler(data)
        except ValidationError as error:
            problems = [_problem(detail, cls.names()) for detail in error.errors()]
            refused = {detail["loc"][0] for detail in error.errors() if detail["loc"]}
            if not isinstance(data, Mapping):
                raise cls._error(problems, context) from None
            settings = handler({key: data[key] for key in data if key not in refused})
            failed = {cls.names().get(str(key), str(key)) for key in refused}
        rules = [m for k in cls.__mro__ for m in vars(k).values() if isinstance(m, FunctionType)]
        for method in (rule for rule in rules if rule in _RULE_READS):
            if not _RULE_READS[method] & failed:
                problems.extend(method(settings, context))
        if problems:
            raise cls._error(problems, context)
        return settings

    @classmethod
    def _error(cls, problems: list[Problem], context: Context) -> InvalidSettingsError:
        """Raised as is through pydantic, which passes on what is not a ValueError."""
        if context.by_config_key:
            problems = [problem.renamed(cls.config_keys()) for problem in problems]
        return InvalidSettingsError(
            context.subject or cls.__name__, sorted(problems, key=cls.position)
        )

    @classmethod
    def config_keys(cls) -> dict[str, str]:
        """Stack-config key (alias) by field name."""
        return {name: field.alias or name for name, field in cls.model_fields.items()}

    @classmethod
    def names(cls) -> dict[str, str]:
        """Field name by field name and by config key."""
        return {name: name for name in cls.model_fields} | {
            key: name for name, key in cls.config_keys().items()
        }

    @classmethod
    def position(cls, problem: Problem) -> int:
        """Reports list the component's name, the region, the fields in declaration order,
        then names that are no setting."""
        fields = [NAME_SETTING, REGION_SETTING, *cls.model_fields]
        name = cls.names().get(problem.setting, problem.setting)
        return fields.index(name) if name in fields else len(fields)

    def changed(self, names: Iterable[str]) -> list[str]:
        """Those of `names` that are not at their defaults."""
        fields = type(self).model_fields
        default = {name: fields[name].get_default(call_default_factory=True) for name in names}
        return [name for name in default if getattr(self, name) != default[name]]

    def unused(self, names: Iterable[str], because: str, fix: str) -> Iterator[Problem]:
        """A setting changed from its default that the configuration never reads is an error."""
        for name in self.changed(names):
            yield Problem(name, f"has no effect {because}; {fix}")


def _problem(detail: ErrorDetails, known: Collection[str]) -> Problem:
    """A pydantic error as a Problem naming the setting, and the key or entry at fault."""
    setting, *path = (*detail["loc"], "")[: max(len(detail["loc"]), 1)]
    kind, shown = detail["type"], checks.show(detail["input"])
    if kind == checks.ERROR_TYPE:
        message = detail["msg"]
    elif kind == "extra_forbidden":
        message = f"unknown setting{checks.suggestion(str(setting), known)}"
    elif kind in ("dict_type", "list_type", "sequence_str"):
        message = f"must be a {'mapping' if kind == 'dict_type' else 'list'}, got {shown}"
    elif kind == "too_long":
        limit = detail.get("ctx", {}).get("max_length")
        message = f"has {len(detail['input'])} entries; at most {limit} are allowed"
    else:
        message = f"{shown}: {detail['msg']}"
    if path and path[-1] == "[key]":
        message = f"key {message}"
    elif path and isinstance(path[0], str):
        message = f"value of {checks.show(path[0])}: {message}"
    return Problem(str(setting), message)


# ---- What runs in the container -----------------------------------------------------------

DEFAULT_MODEL_ID: Final = "sentence-transformers/all-MiniLM-L6-v2"
_NAME_HINT: Final = (
    "letters, digits and hyphens, starting and ending with a letter or digit (no underscores "
    "or dots)"
)
_HUB_PART: Final = r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?"  # the Hub's own limits
_RESERVED: Final = {
    "HF_MODEL_ID": "model_id",
    "HF_TASK": "task",
    "HF_MODEL_REVISION": "model_revision",
    "HF_API_TOKEN": "hf_api_token",
}
_COMPONENT_NAME: Final = TypeAdapter(
    Annotated[
        str,
        checks.text(
            f"{_NAME_HINT}, as SageMaker names children after it",
            pattern=checks.shape("sagemaker", "ModelName")["pattern"],
            max_length=naming.COMPONENT_NAME_MAX,
        ),
    ]
)


def _hub_id(model_id: str) -> str | None:
    return "may not contain '--' or '..'" if "--" in model_id or ".." in model_id else None


def _cpu_tag(tag: str) -> str | None:
    return None if "-gpu-" not in tag else (
        "is a GPU image; serverless endpoints have no GPUs, so use a '-cpu-' tag such as "
        f"{images.EXAMPLE_CPU_TAG!r} (a realtime GPU instance runs the GPU build of that "
        "release, or `gpu_image_tag`)"
    )  # fmt: skip


def _token(value: object) -> object:
    if not (
        value is None or isinstance(value, pulumi.Output) or (isinstance(value, str) and value)
    ):
        checks.refuse(
            f"{checks.show(value)} is not allowed; use a Hub token, a string or an Output"
        )
    return value


def _not_reserved(key: str) -> str | None:
    return f"is set by the component; use `{_RESERVED[key]}`" if key in _RESERVED else None


_EnvironmentKey = Annotated[
    str,
    checks.service_text(
        "sagemaker", "EnvironmentKey", "letters, digits and '_'", check=_not_reserved
    ),
]
_EnvironmentValue = Annotated[str, checks.service_text("sagemaker", "EnvironmentValue", "text")]


class ContainerSettings(Settings):
    """What the endpoint serves, and how its container is set up."""

    endpoint_name: Annotated[
        str | None, checks.service_text("sagemaker", "EndpointName", _NAME_HINT, optional=True)
    ] = None
    """Fixed name of the endpoint that callers invoke; without one (Python only), Pulumi names
    it after the component."""
    model_id: Annotated[
        str,
        checks.text(
            f"`name` or `org/name` from the Hugging Face Hub, e.g. {DEFAULT_MODEL_ID!r}",
            pattern=rf"{_HUB_PART}(?:/{_HUB_PART})?",
            check=_hub_id,
        ),
    ] = DEFAULT_MODEL_ID
    """Hugging Face Hub model id, `name` or `org/name`, loaded by the container at start-up."""
    model_revision: Annotated[
        str | None,
        checks.text(
            "a Hub branch, tag or commit", pattern=r"[A-Za-z0-9][\w./-]{0,254}", optional=True
        ),
    ] = None
    """Hub revision (branch, tag or commit) to pin the model to; unset uses the default branch."""
    task: Annotated[
        str,
        checks.text(
            "a pipeline task such as 'feature-extraction'", pattern=r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*"
        ),
    ] = "feature-extraction"
    """Pipeline task the container runs (HF_TASK)."""
    image_tag: Annotated[
        str,
        checks.text(
            f"a full huggingface-pytorch-inference tag such as {images.EXAMPLE_CPU_TAG!r}",
            pattern=images.tag_pattern("cpu|gpu"),
            check=_cpu_tag,
        ),
    ] = images.EXAMPLE_CPU_TAG
    """Full CPU tag of the huggingface-pytorch-inference image; the registry is looked up per
    region."""
    hf_api_token: Annotated[
        str | pulumi.Output[str] | None, PlainValidator(_token), StackSecret()
    ] = None
    """Hugging Face token for gated or private models (kept secret); unset for public models."""
    environment: Annotated[dict[_EnvironmentKey, _EnvironmentValue], PythonOnly()] = Field(
        default_factory=dict
    )
    """Extra container environment variables."""
    sentence_embeddings: Annotated[bool, checks.flag()] = False
    """Serve one normalised sentence embedding per text (handler code shipped in an S3 model
    archive) instead of the container's token vectors."""

    @rule("environment", "model_revision", "hf_api_token")
    def _environment_fits(self, context: Context) -> Iterator[Problem]:
        own = 2 + (self.model_revision is not None) + (self.hf_api_token is not None)
        total, limit = len(self.environment) + own, checks.shape("sagemaker", "EnvironmentMap")
        if total > limit["max"]:
            yield Problem(
                "environment",
                f"{len(self.environment)} variables plus the {own} the component sets make "
                f"{total}; SageMaker allows at most {limit['max']}",
            )

    @rule("sentence_embeddings")
    def _handler_settings(self, context: Context) -> Iterator[Problem]:
        if self.sentence_embeddings:
            because = "with `sentence_embeddings` on: its handler always pools"
            yield from self.unused(["task"], because, "remove it")
        name = context.component
        if name is None:
            return
        try:
            _COMPONENT_NAME.validate_python(name)
        except ValidationError as error:
            yield Problem(NAME_SETTING, error.errors()[0]["msg"])
            return
        if self.sentence_embeddings and name != name.lower():
            yield Problem(
                NAME_SETTING,
                f"{name!r} must be lower-case with `sentence_embeddings` on: it also names the "
                "S3 bucket that holds the handler code",
            )


# ---- Capacity, per mode ---------------------------------------------------------------------

SERVERLESS_ONLY: Final = (
    "memory_size_in_mb",
    "max_concurrency",
    "provisioned_concurrency",
    "provisioned_concurrency_min",
    "provisioned_concurrency_max",
    "provisioned_concurrency_target_percent",
)
REALTIME_ONLY: Final = (
    "instance_type",
    "instance_count",
    "gpu_image_tag",
    "autoscaling_min_capacity",
    "autoscaling_max_capacity",
    "autoscaling_target_invocations",
    "autoscaling_scale_in_cooldown",
    "autoscaling_scale_out_cooldown",
)
_Provisioned = Annotated[
    int | None,
    checks.service_integer("sagemaker", "ServerlessProvisionedConcurrency", optional=True),
]
_Instances = Annotated[int | None, checks.integer(1, optional=True)]  # no maximum in any model


def _instance_type(instance_type: str) -> str | None:
    if instance_type not in checks.instance_types():
        similar = checks.suggestion(instance_type, checks.instance_types())
        return f"is not a SageMaker endpoint instance type{similar or '; see the SageMaker list'}"
    why = images.why_unsupported(instance_type)
    return f"cannot run these images: {why}; use an x86 CPU or NVIDIA GPU type" if why else None


class CapacitySettings(Settings):
    """How much runs: serverless capacity, or instances in realtime mode."""

    mode: Annotated[Literal["serverless", "realtime"], checks.choice("serverless", "realtime")] = (
        "serverless"
    )
    """serverless (pay per request, cold starts) or realtime (instances; GPUs possible)."""
    memory_size_in_mb: Annotated[
        int, checks.service_integer("sagemaker", "ServerlessMemorySizeInMB", step=1024)
    ] = 3072
    """Serverless memory, one of 1024, 2048, 3072, 4096, 5120, 6144."""
    max_concurrency: Annotated[
        int, checks.service_integer("sagemaker", "ServerlessMaxConcurrency")
    ] = 2
    """Serverless maximum concurrent invocations, 1-200 (the account quota is often 10 per
    region)."""
    provisioned_concurrency: _Provisioned = None
    """Warm serverless capacity that removes cold starts and is billed while idle, at most
    maxConcurrency; 0 turns it off."""
    provisioned_concurrency_min: _Provisioned = None
    """Serverless, scale provisioned concurrency down to this (1 when only a maximum is set)."""
    provisioned_concurrency_max: _Provisioned = None
    """Serverless, scale provisioned concurrency up to this, at most maxConcurrency; 0 turns
    scaling off."""
    provisioned_concurrency_target_percent: Annotated[int, checks.integer(1, 100)] = 70
    """Percentage of provisioned concurrency in use that scaling aims for (1-100)."""
    instance_type: Annotated[
        str | None,
        checks.text("a type such as 'ml.m5.large'", optional=True, check=_instance_type),
    ] = None
    """Realtime only, e.g. ml.m5.large, or ml.g5.xlarge (runs the GPU image)."""
    instance_count: Annotated[int, checks.service_integer("sagemaker", "InitialTaskCount")] = 1
    """Realtime only, instances when the endpoint is created (1 or more; quotas are per
    account)."""
    gpu_image_tag: Annotated[
        str | None,
        checks.text(
            f"a GPU tag such as {images.EXAMPLE_GPU_TAG!r}",
            pattern=images.tag_pattern("gpu"),
            optional=True,
        ),
    ] = None
    """Realtime GPU instances, the GPU image tag when imageTag has no known GPU build."""
    autoscaling_min_capacity: _Instances = None
    """Realtime only, the fewest instances (1 when only a maximum is set)."""
    autoscaling_max_capacity: _Instances = None
    """Realtime only, the most instances; 0 turns autoscaling off."""
    autoscaling_target_invocations: Annotated[int, checks.integer(1)] = 100
    """Realtime autoscaling, invocations per instance per minute to aim for."""
    autoscaling_scale_in_cooldown: Annotated[int, checks.integer(0)] = 300
    """Realtime autoscaling, seconds after a scale-in before another scaling activity."""
    autoscaling_scale_out_cooldown: Annotated[int, checks.integer(0)] = 60
    """Realtime autoscaling, seconds after a scale-out before another scale-out."""

    @property
    def is_serverless(self) -> bool:
        return self.mode == "serverless"

    @property
    def runs_on_gpu(self) -> bool:
        return self.instance_type is not None and images.is_gpu_instance(self.instance_type)

    @property
    def provisioned_scaling(self) -> tuple[int, int] | None:
        """(minimum, maximum) provisioned concurrency when it scales."""
        high = self.provisioned_concurrency_max
        low = self.provisioned_concurrency_min or 1
        return (low, high) if self.is_serverless and high is not None else None

    @property
    def instance_scaling(self) -> tuple[int, int] | None:
        """(minimum, maximum) instances when they scale."""
        high = self.autoscaling_max_capacity
        low = self.autoscaling_min_capacity or 1
        return (low, high) if not self.is_serverless and high is not None else None

    @rule("mode")
    def _settings_of_the_other_mode(self, context: Context) -> Iterator[Problem]:
        other = "realtime" if self.is_serverless else "serverless"
        for name in self.changed(REALTIME_ONLY if self.is_serverless else SERVERLESS_ONLY):
            yield Problem(
                name, f"applies only to `mode` {other!r}; remove it or set `mode` to {other!r}"
            )

    @rule(
        "mode",
        "max_concurrency",
        "provisioned_concurrency",
        "provisioned_concurrency_min",
        "provisioned_concurrency_max",
    )
    def _provisioned_concurrency(self, context: Context) -> Iterator[Problem]:
        if not self.is_serverless:
            return
        ceiling, start = self.max_concurrency, self.provisioned_concurrency
        for name in ("provisioned_concurrency", "provisioned_concurrency_max"):
            value = getattr(self, name)
            if value is not None and value > ceiling:
                yield Problem(name, f"{value} is above `max_concurrency` ({ceiling})")
        yield from self._range(
            "provisioned_concurrency_min", "provisioned_concurrency_max", "provisioned_concurrency"
        )
        if self.provisioned_scaling is None:
            yield from self.unused(
                ["provisioned_concurrency_target_percent"],
                "without `provisioned_concurrency_max`: provisioned concurrency does not scale",
                "remove it or set `provisioned_concurrency_max`",
            )
        elif start is None:
            yield Problem(
                "provisioned_concurrency",
                "is needed to scale it: set where provisioned concurrency starts",
            )

    @rule("mode", "instance_count", "autoscaling_min_capacity", "autoscaling_max_capacity")
    def _instance_scaling(self, context: Context) -> Iterator[Problem]:
        if self.is_serverless:
            return
        yield from self._range(
            "autoscaling_min_capacity", "autoscaling_max_capacity", "instance_count"
        )
        if self.instance_scaling is None:
            yield from self.unused(
                [
                    "autoscaling_target_invocations",
                    "autoscaling_scale_in_cooldown",
                    "autoscaling_scale_out_cooldown",
                ],
                "without `autoscaling_max_capacity`: the instances do not scale",
                "remove it or set `autoscaling_max_capacity`",
            )

    def _range(self, low_name: str, high_name: str, start_name: str) -> Iterator[Problem]:
        """A minimum needs a maximum (a maximum alone scales from 1), and the starting value
        lies between them."""
        low, high, start = (getattr(self, name) for name in (low_name, high_name, start_name))
        if high is None:
            if low is not None:
                yield Problem(high_name, f"is needed with `{low_name}`: scaling needs a maximum")
        elif (low or 1) > high:
            yield Problem(low_name, f"{low} is above the maximum `{high_name}` ({high})")
        elif start is not None and not (low or 1) <= start <= high:
            yield Problem(start_name, f"{start} is outside the scaling range {low or 1}-{high}")


# ---- Access and monitoring ------------------------------------------------------------------

_PARTITION: Final = r"aws[a-z-]*"
_PolicyArn = Annotated[
    str,
    checks.text(
        "'arn:aws:iam::aws:policy/<name>' or 'arn:aws:iam::<account>:policy/<name>'",
        pattern=rf"arn:{_PARTITION}:iam::(?:aws|[0-9]{{12}}):policy"
        + checks.shape("iam", "policyPathType")["pattern"]
        + checks.shape("iam", "policyNameType")["pattern"],
        max_length=checks.shape("iam", "arnType")["max"],
    ),
]


def _one_per_name(arns: Sequence[str]) -> tuple[str, ...]:
    names = [arn.rsplit("/", 1)[-1] for arn in arns]
    if twice := sorted({name for name in names if names.count(name) > 1}):
        checks.refuse(f"lists more than one policy named {', '.join(twice)}")
    return tuple(arns)


def _go_duration(delay: str) -> str | None:
    seconds, cap = checks.go_duration_seconds(delay), checks.MAX_IAM_PROPAGATION_SECONDS
    if seconds is None:
        return "is not a Go duration; use a number and unit such as '15s', '1m30s' or '500ms'"
    return (
        f"is over {cap // 60}m; IAM changes reach SageMaker in seconds" if seconds > cap else None
    )


class AccessSettings(Settings):
    """Who the endpoint runs as."""

    role_arn: Annotated[
        str | None,
        checks.service_text(
            "sagemaker", "RoleArn", "'arn:aws:iam::<account>:role/<name>'", optional=True
        ),
    ] = None
    """Use this existing execution role instead of creating one; unset creates a least-privilege
    role."""
    managed_policy_arns: Annotated[
        Sequence[_PolicyArn],
        Field(max_length=checks.MAX_MANAGED_POLICIES_PER_ROLE),
        AfterValidator(_one_per_name),
    ] = ()
    """Attach these managed policies (at most 20) to the created role instead of the
    least-privilege inline policy."""
    iam_propagation_delay: Annotated[
        str, checks.text("a Go duration such as '15s'", check=_go_duration)
    ] = "15s"
    """Go-style duration (15s, 1m30s; at most 10m) to wait after the execution role's policy is
    created."""

    @rule("role_arn")
    def _policies_need_a_created_role(self, context: Context) -> Iterator[Problem]:
        if self.role_arn is not None and self.managed_policy_arns:
            yield Problem(
                "managed_policy_arns",
                "cannot be combined with `role_arn`: policies are attached only to a role the "
                "component creates; attach them to your own role instead",
            )


class MonitoringSettings(Settings):
    """What the component watches: logs and alarms."""

    log_retention_days: Annotated[
        int | None, checks.integer(1, choices=checks.LOG_RETENTION_DAYS, optional=True)
    ] = 30
    """Retention of /aws/sagemaker/Endpoints/<endpointName>, a CloudWatch value such as 7, 30,
    365; 0 keeps logs forever."""
    alarms: Annotated[bool, checks.flag()] = True
    """CloudWatch alarms on 5XX errors, model latency and (serverless) cold-start setup time."""
    alarm_topic_arn: Annotated[
        str | None,
        checks.text(
            "'arn:aws:sns:<region>:<account>:<topic>'",
            pattern=rf"arn:{_PARTITION}:sns:[a-z0-9-]+:[0-9]{{12}}:[A-Za-z0-9_-]{{1,256}}",
            optional=True,
        ),
    ] = None
    """SNS topic the alarms notify, in the stack's region; unset for none."""
    alarm_model_latency_ms: Annotated[int, checks.integer(1, 60_000)] = 1000
    """Alarm when the average model latency over 5 minutes exceeds this (at most the 60,000 ms
    a request may take)."""
    alarm_model_setup_seconds: Annotated[int, checks.integer(1)] = 30
    """Serverless, alarm when a cold start (ModelSetupTime) exceeds this."""

    @rule("alarms")
    def _alarm_settings_need_alarms(self, context: Context) -> Iterator[Problem]:
        if not self.alarms:
            yield from self.unused(
                ["alarm_topic_arn", "alarm_model_latency_ms", "alarm_model_setup_seconds"],
                "while `alarms` is off",
                "remove it or turn `alarms` on",
            )


# ---- All of it ------------------------------------------------------------------------------

_TAG_HINT: Final = "letters, digits, spaces or _ . : / = + - @"
_TagKey = Annotated[
    str,
    checks.service_text(
        "sagemaker",
        "TagKey",
        _TAG_HINT,
        check=lambda key: (
            "uses the reserved 'aws:' prefix" if key.lower().startswith("aws:") else None
        ),
    ),
]
_TagValue = Annotated[str, checks.service_text("sagemaker", "TagValue", _TAG_HINT)]


# pydantic lists fields from the last base to the first: container, capacity, access, monitoring.
class EmbeddingEndpointArgs(
    MonitoringSettings, AccessSettings, CapacitySettings, ContainerSettings
):
    """What to deploy. Construction checks every setting and raises `InvalidSettingsError`
    listing all problems, so a bad setting never gets as far as a registered resource.

    The defaults reproduce the reference deployment: all-MiniLM-L6-v2 on 3072 MB with a maximum
    concurrency of 2, from the 1.13.1 HuggingFace PyTorch CPU image.
    """

    tags: Annotated[
        dict[_TagKey, _TagValue], Field(max_length=checks.shape("sagemaker", "TagList")["max"])
    ] = Field(default_factory=dict)
    """Tags for every taggable resource of the component."""

    def for_deployment(self, region: str | None, component: str) -> Self:
        """These settings checked again with what the deployment knows: the component's name
        and the region."""
        context = Context(f"EmbeddingEndpoint {component!r}", region=region, component=component)
        return self.model_validate(dict(self), context=context)

    @property
    def effective_image_tag(self) -> str:
        """The tag the model runs: the GPU build on a GPU instance."""
        if self.runs_on_gpu:
            return images.gpu_tag_for(self.image_tag, self.gpu_image_tag) or self.image_tag
        return self.image_tag

    @property
    def creates_role(self) -> bool:
        return self.role_arn is None

    @rule("mode", "instance_type", "image_tag", "gpu_image_tag")
    def _instances(self, context: Context) -> Iterator[Problem]:
        if self.is_serverless:
            return
        if self.instance_type is None:
            yield Problem("instance_type", "is required with `mode` 'realtime', e.g. 'ml.m5.large'")
        elif not self.runs_on_gpu:
            yield from self.unused(
                ["gpu_image_tag"], f"on {self.instance_type}, which has no GPU", "remove it"
            )
        elif images.gpu_tag_for(self.image_tag, self.gpu_image_tag) is None:
            yield Problem(
                "gpu_image_tag",
                f"is needed: {self.instance_type} is a GPU instance and `image_tag` "
                f"{self.image_tag!r} has no known GPU build; give its GPU tag",
            )

    @rule("role_arn", "sentence_embeddings", "endpoint_name", "mode", "alarms")
    def _settings_with_no_effect(self, context: Context) -> Iterator[Problem]:
        if not (self.creates_role or self.sentence_embeddings):
            because = "with `role_arn`: the component makes no role or policy to wait for"
            yield from self.unused(["iam_propagation_delay"], because, "remove it")
        if self.endpoint_name is None:
            because = "without `endpoint_name`: only a named endpoint gets a log group"
            yield from self.unused(["log_retention_days"], because, "remove it or set it")
        if self.alarms and not self.is_serverless:
            because = "with `mode` 'realtime': instances have no cold starts to alarm on"
            yield from self.unused(["alarm_model_setup_seconds"], because, "remove it")

    @rule()
    def _region(self, context: Context) -> Iterator[Problem]:
        """The image must exist in the region, every ARN must be of the region's partition,
        and the alarm topic of its region."""
        region = context.region
        if region is None:
            return
        if region not in images.IMAGE_LOOKUP_REGIONS:
            similar = checks.suggestion(region, images.IMAGE_LOOKUP_REGIONS)
            yield Problem(
                REGION_SETTING,
                f"{region!r} is not a region with SageMaker's prebuilt images"
                f"{similar or '; use one such as us-east-1'}",
            )
            return
        partition = checks.partition_of(region)
        arns = [("role_arn", self.role_arn), ("alarm_topic_arn", self.alarm_topic_arn)]
        arns += [("managed_policy_arns", arn) for arn in self.managed_policy_arns]
        for name, arn in arns:
            if arn and arn.split(":")[1] != partition:
                yield Problem(
                    name,
                    f"{arn!r} is not in {region}'s partition; use an 'arn:{partition}:' ARN",
                )
        topic_region = (self.alarm_topic_arn or "::::").split(":")[3]
        if topic_region not in ("", region):
            yield Problem(
                "alarm_topic_arn",
                f"is in {topic_region}; alarms in {region} can notify only a topic in {region}",
            )
