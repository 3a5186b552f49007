"""The settings of an `EmbeddingEndpoint`, each declared once.

A declaration is the setting's type and constraints (from the service's own model wherever it
states them, see `checks`), its default, when it has an effect (`Applies`), and its docstring,
which says what is allowed and is repeated by error messages, Pulumi.yaml and the README. Its
stack-config key is its name in camelCase (`memory_size_in_mb` is `memorySizeInMb`). How they
are checked, all problems at once, is `settings`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Annotated, Final, Literal, Self

import annotated_types
import pulumi
from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    PlainValidator,
    StringConstraints,
    TypeAdapter,
    ValidationError,
)

from components import checks, images, naming
from components.errors import Problem
from components.settings import (
    NAME,
    REGION,
    Applies,
    Context,
    PythonOnly,
    Settings,
    StackSecret,
    rule,
)
from components.settings import check as _check
from container import tei


def _token(value: object) -> object:
    if value is None or isinstance(value, pulumi.Output) or (isinstance(value, str) and value):
        return value
    raise ValueError("is not allowed; use a Hub token: a string or an Output")


def _instance_type(instance_type: str) -> str | None:
    if instance_type not in checks.instance_types():
        similar = checks.suggestion(instance_type, checks.instance_types())
        return (
            f"is not a SageMaker endpoint instance type{similar or '; use one such as ml.m5.large'}"
        )
    why = images.why_unsupported(instance_type)
    return f"cannot run these images: {why}; use an x86 CPU or NVIDIA GPU type" if why else None


def _go_duration(delay: str) -> str | None:
    seconds, cap = checks.go_duration_seconds(delay), checks.MAX_IAM_PROPAGATION_SECONDS
    if seconds is None:
        return "is not a Go duration; use a number and unit such as '15s', '1m30s' or '500ms'"
    return (
        f"is over {cap // 60}m; IAM changes reach SageMaker in seconds" if seconds > cap else None
    )


def _one_per_name(arns: Sequence[str]) -> str | None:
    names = [arn.rsplit("/", 1)[-1] for arn in arns]
    twice = sorted({name for name in names if names.count(name) > 1})
    return f"names more than one policy {', '.join(twice)}" if twice else None


_SET_BY_COMPONENT: Final = {
    "HF_MODEL_ID": "model_id",
    "MODEL_ID": "model_id",  # TEI's own name for it
    "HF_TASK": "task",
    "HF_MODEL_REVISION": "model_revision",
    "REVISION": "model_revision",
    # A token belongs in the secret setting, never in plain text in the state.
    "HF_API_TOKEN": "hf_api_token",
    "HF_TOKEN": "hf_api_token",
    "HUGGING_FACE_HUB_TOKEN": "hf_api_token",
}
# What TEI must not be given by `environment`, and why.
_TEI_OWNED: Final = {
    "AUTO_TRUNCATE": "is set by the component: texts past the model's limit are cut there, as "
    "sentence-transformers does, instead of refused",
    "HUGGINGFACE_HUB_CACHE": "is set by the component to /opt/ml/model, the one place a "
    "serverless endpoint may write the model to",
    "API_KEY": "would make TEI demand a bearer token that SageMaker never sends: every "
    "invocation would be refused with 401",
}
_HUB_PART: Final = r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?"  # the Hub's own limits
_PARTITION: Final = r"aws[a-z-]*"
_Provisioned = Annotated[
    int | None, checks.interval("sagemaker", "ServerlessProvisionedConcurrency")
]
_Instances = Annotated[int | None, checks.at_least(1)]
_EnvironmentKey = Annotated[
    str,
    checks.string("sagemaker", "EnvironmentKey"),
    _check(lambda key: f"is set by the component; use `{_SET_BY_COMPONENT[key]}`"
           if key in _SET_BY_COMPONENT else None),
]  # fmt: skip
_EnvironmentValue = Annotated[str, checks.string("sagemaker", "EnvironmentValue")]
_PolicyArn = Annotated[
    str,
    StringConstraints(
        pattern=checks.whole(
            rf"arn:{_PARTITION}:iam::(?:aws|[0-9]{{12}}):policy"
            + f"(?:{checks.shape('iam', 'policyPathType')['pattern']})"
            + checks.name_pattern("iam", "policyNameType")
        ),
        max_length=checks.shape("iam", "arnType")["max"],
    ),
]
_TagKey = Annotated[
    str,
    checks.string("sagemaker", "TagKey"),
    _check(
        lambda key: "uses the reserved prefix 'aws:'" if key.lower().startswith("aws:") else None
    ),
]
_TagValue = Annotated[str, checks.string("sagemaker", "TagValue")]


_SERVERLESS: Final = Applies(
    ("mode",),
    lambda s: s.is_serverless,
    "applies only to `mode` 'serverless'; remove it or set `mode` to 'serverless'",
)
_REALTIME: Final = Applies(
    ("mode",),
    lambda s: not s.is_serverless,
    "applies only to `mode` 'realtime'; remove it or set `mode` to 'realtime'",
)
_ALARMS: Final = Applies(
    ("alarms",), lambda s: s.alarms, "has no effect while `alarms` is off; remove it"
)


_SCALING: Final = Applies(
    ("autoscaling_max_capacity",),
    lambda s: s.autoscaling_max_capacity is not None,
    "has no effect without `autoscaling_max_capacity`: nothing scales; remove it",
)


_COMPONENT_NAME: Final = TypeAdapter(
    Annotated[str, checks.string("sagemaker", "ModelName", max_length=naming.COMPONENT_NAME_MAX)]
)


class EmbeddingEndpointArgs(Settings):
    """What to deploy. Construction checks every setting and raises `InvalidSettingsError`
    listing all problems, so a bad setting never gets as far as a registered resource.

    The defaults reproduce the reference deployment: all-MiniLM-L6-v2 on 3072 MB with a maximum
    concurrency of 2, from the 1.13.1 HuggingFace PyTorch CPU image.
    """

    # ---- What the endpoint serves, and how its container is set up

    endpoint_name: Annotated[str | None, checks.string("sagemaker", "EndpointName")] = None
    """Fixed name of the endpoint that callers invoke: up to 63 letters, digits and hyphens,
    starting and ending with one. Unset (Python only), Pulumi names it after the component."""
    model_id: Annotated[
        str,
        StringConstraints(pattern=checks.whole(rf"{_HUB_PART}(?:/{_HUB_PART})?")),
        _check(lambda id_: "may not contain '--' or '..'" if "--" in id_ or ".." in id_ else None),
    ] = "sentence-transformers/all-MiniLM-L6-v2"
    """Hugging Face Hub model id, `name` or `org/name` (letters, digits, '-', '_', '.'), loaded
    by the container at start-up."""
    model_revision: Annotated[
        str | None, StringConstraints(pattern=checks.whole(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,254}"))
    ] = None
    """Hub branch, tag or commit to pin the model to; unset uses the default branch."""
    runtime: images.Runtime = "huggingface"
    """What serves the model: huggingface (the HuggingFace inference image: token vectors, or
    sentence embeddings with `sentence_embeddings`) or tei (Text Embeddings Inference: pooled,
    normalised sentence embeddings, no custom code)."""
    task: Annotated[
        str,
        StringConstraints(pattern=checks.whole(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")),
        Applies(
            ("sentence_embeddings",),
            lambda s: not s.sentence_embeddings,
            "has no effect with `sentence_embeddings` on: its handler always pools; remove it",
        ),
        Applies(
            ("runtime",),
            lambda s: s.runtime == "huggingface",
            "has no effect with `runtime` 'tei': TEI serves embeddings and has no task; remove it",
        ),
    ] = "feature-extraction"
    """Lower-case pipeline task the container runs (HF_TASK; huggingface runtime)."""
    image_tag: Annotated[
        str | None,
        StringConstraints(pattern=checks.whole(
            f"{images.tag_pattern('cpu|gpu')}|{images.tei_tag_pattern('cpu|gpu')}"
        )),
        _check(lambda tag: "is a GPU tag; give the CPU tag, as serverless endpoints have no GPUs "
               "(GPU instances run its GPU build, or `gpu_image_tag`)" if "-gpu-" in tag else None),
        Applies(
            ("mode", "instance_type", "gpu_image_tag"),
            lambda s: not (s.runs_on_gpu and s.gpu_image_tag),
            "has no effect: the GPU instance runs `gpu_image_tag`; remove one of them",
        ),
    ] = None  # fmt: skip
    """Full CPU tag of the runtime's image, looked up per region; unset for the tested release
    (huggingface-pytorch-inference 1.13.1-transformers4.26.0-cpu-py39-ubuntu20.04, tei-cpu
    2.0.1-tei1.8.2-cpu-py310-ubuntu22.04)."""
    hf_api_token: Annotated[
        str | pulumi.Output[str] | None, PlainValidator(_token), StackSecret()
    ] = None
    """Hugging Face token for gated or private models (kept secret); unset for public models."""
    environment: Annotated[
        Mapping[_EnvironmentKey, _EnvironmentValue], AfterValidator(dict), PythonOnly()
    ] = Field(default_factory=dict)
    """Extra container variables: names of letters, digits and '_', values of at most 1024
    characters."""
    sentence_embeddings: Annotated[
        bool,
        Applies(
            ("runtime",),
            lambda s: s.runtime == "huggingface",
            "cannot be combined with `runtime` 'tei': TEI always returns pooled, normalised "
            "sentence embeddings; remove `sentence_embeddings`",
        ),
    ] = False
    """Serve one normalised sentence embedding per text (handler code shipped in an S3 model
    archive) instead of the container's token vectors (huggingface runtime)."""

    # ---- Where it runs, and how much of it: serverless capacity, or realtime instances

    mode: Literal["serverless", "realtime"] = "serverless"
    """Where the model runs: serverless (pay per request, cold starts) or realtime (instances;
    GPUs possible)."""

    memory_size_in_mb: Annotated[
        int,
        checks.interval("sagemaker", "ServerlessMemorySizeInMB"),
        annotated_types.MultipleOf(checks.SERVERLESS_MEMORY_STEP_MB),
        _SERVERLESS,
    ] = 3072
    """Serverless memory, one of 1024, 2048, 3072, 4096, 5120, 6144."""
    max_concurrency: Annotated[
        int, checks.interval("sagemaker", "ServerlessMaxConcurrency"), _SERVERLESS
    ] = 2
    """Serverless maximum concurrent invocations, 1-200 (the account quota is often 10 per
    region)."""
    provisioned_concurrency: Annotated[_Provisioned, _SERVERLESS] = None
    """Warm serverless capacity that removes cold starts and is billed while idle, 1 to
    `max_concurrency`; unset for none."""
    provisioned_concurrency_min: Annotated[_Provisioned, _SERVERLESS] = None
    """Serverless, scale provisioned concurrency down to this (1 when only a maximum is set)."""
    provisioned_concurrency_max: Annotated[_Provisioned, _SERVERLESS] = None
    """Serverless, scale provisioned concurrency up to this, at most `max_concurrency`; unset
    for no scaling."""
    provisioned_concurrency_target_percent: Annotated[
        int,
        annotated_types.Interval(ge=1, le=100),
        _SERVERLESS,
        Applies(
            ("provisioned_concurrency_max",),
            lambda s: s.provisioned_concurrency_max is not None,
            "has no effect without `provisioned_concurrency_max`: nothing scales; remove it",
        ),
    ] = 70
    """Percentage of provisioned concurrency in use that scaling aims for, 1-100."""

    instance_type: Annotated[str | None, _check(_instance_type), _REALTIME] = None
    """Realtime: a SageMaker instance type such as ml.m5.large, or ml.g5.xlarge (runs the GPU
    image)."""
    instance_count: Annotated[int, checks.interval("sagemaker", "InitialTaskCount"), _REALTIME] = 1
    """Realtime, instances when the endpoint is created: 1 or more (quotas are per account)."""
    gpu_image_tag: Annotated[
        str | None,
        StringConstraints(
            pattern=checks.whole(f"{images.tag_pattern('gpu')}|{images.tei_tag_pattern('gpu')}")
        ),
        _REALTIME,
        Applies(
            ("instance_type",),
            lambda s: s.runs_on_gpu,
            "has no effect on an instance without GPUs; remove it",
        ),
    ] = None
    """Realtime GPU instances: the GPU image tag (such as
    1.13.1-transformers4.26.0-gpu-py39-cu117-ubuntu20.04) when `image_tag` has no known GPU
    build (the runtime's default and the registered TEI releases have one)."""
    autoscaling_min_capacity: Annotated[_Instances, _REALTIME] = None
    """Realtime, the fewest instances (1 when only a maximum is set)."""
    autoscaling_max_capacity: Annotated[_Instances, _REALTIME] = None
    """Realtime, the most instances; unset for no autoscaling."""
    autoscaling_target_invocations: Annotated[int, checks.at_least(1), _REALTIME, _SCALING] = 100
    """Realtime autoscaling, invocations per instance per minute to aim for (1 or more)."""
    autoscaling_scale_in_cooldown: Annotated[int, checks.at_least(0), _REALTIME, _SCALING] = 300
    """Realtime autoscaling, seconds after a scale-in before another scaling activity."""
    autoscaling_scale_out_cooldown: Annotated[int, checks.at_least(0), _REALTIME, _SCALING] = 60
    """Realtime autoscaling, seconds after a scale-out before another scale-out."""

    # ---- Who it runs as

    role_arn: Annotated[
        str | None,
        StringConstraints(
            pattern=checks.whole(
                rf"arn:{_PARTITION}:iam::[0-9]{{12}}:role"
                + f"(?:{checks.shape('iam', 'pathType')['pattern']})"
                + checks.name_pattern("iam", "roleNameType")
            ),
            max_length=checks.shape("sagemaker", "RoleArn")["max"],
        ),
    ] = None
    """Existing execution role (arn:aws:iam::<account>:role/<name>) to use instead of creating
    one; unset creates a least-privilege role."""
    managed_policy_arns: Annotated[
        Sequence[_PolicyArn],
        BeforeValidator(
            lambda v: list(v) if isinstance(v, Sequence) and not isinstance(v, str) else v
        ),
        annotated_types.MaxLen(checks.MAX_MANAGED_POLICIES_PER_ROLE),
        _check(_one_per_name),
        AfterValidator(tuple),
    ] = ()
    """Managed policies (arn:aws:iam::aws:policy/<name>, at most 20) to attach to the created
    role instead of the least-privilege inline policy."""
    iam_propagation_delay: Annotated[
        str,
        _check(_go_duration),
        Applies(
            ("role_arn", "sentence_embeddings"),
            lambda s: s.creates_role or s.sentence_embeddings,
            "has no effect with `role_arn`: the component makes no role or policy to wait for; "
            "remove it",
        ),
    ] = "15s"
    """Go duration (15s, 1m30s; at most 10m) to wait after the execution role's policy is
    created."""

    # ---- What watches it: logs and alarms

    log_retention_days: Annotated[
        checks.LogRetentionDays | None,
        Applies(
            ("endpoint_name",),
            lambda s: s.endpoint_name is not None,
            "has no effect without `endpoint_name`: only a named endpoint gets a log group; "
            "remove it",
        ),
    ] = 30
    """Retention of /aws/sagemaker/Endpoints/<endpointName>, a CloudWatch value such as 7, 30
    or 365; unset keeps logs forever."""
    alarms: bool = True
    """CloudWatch alarms on 5XX errors, model latency and (serverless) cold-start setup time."""
    alarm_topic_arn: Annotated[
        str | None,
        StringConstraints(
            pattern=checks.whole(rf"arn:{_PARTITION}:sns:[a-z0-9-]+:[0-9]{{12}}:[\w-]{{1,256}}")
        ),
        _ALARMS,
    ] = None
    """SNS topic (arn:aws:sns:<region>:<account>:<topic>) the alarms notify, in the stack's
    region; unset for none."""
    alarm_model_latency_ms: Annotated[int, annotated_types.Interval(ge=1, le=60_000), _ALARMS] = (
        1000
    )
    """Alarm when the average model latency over 5 minutes exceeds this, 1-60000 ms (a request
    may take 60 s)."""
    alarm_model_setup_seconds: Annotated[
        int,
        checks.at_least(1),
        _ALARMS,
        Applies(
            ("mode",),
            lambda s: s.is_serverless,
            "has no effect with `mode` 'realtime': instances have no cold starts; remove it",
        ),
    ] = 30
    """Serverless, alarm when a cold start (ModelSetupTime) exceeds this many seconds."""

    # ---- Everything it creates

    tags: Annotated[
        Mapping[_TagKey, _TagValue],
        annotated_types.MaxLen(checks.shape("sagemaker", "TagList")["max"]),
        AfterValidator(dict),
    ] = Field(default_factory=dict)
    """Tags for every taggable resource of the component: at most 50, of letters, digits, spaces
    and _ . : / = + - @ (keys up to 128, values up to 256 characters)."""

    def for_deployment(self, component: str, *, checks_region: bool, region: str | None) -> Self:
        """These settings checked again with what the deployment knows: the component's name,
        and the region, unless an explicit provider decides it."""
        context = Context(
            f"EmbeddingEndpoint {component!r}",
            component=component,
            checks_region=checks_region,
            region=region,
        )
        return self.model_validate(dict(self), context=context)

    @property
    def is_serverless(self) -> bool:
        return self.mode == "serverless"

    @property
    def runs_on_gpu(self) -> bool:
        return self.instance_type is not None and images.is_gpu_instance(self.instance_type)

    @property
    def cpu_image_tag(self) -> str:
        """The CPU tag: the one given, else the runtime's default."""
        return self.image_tag or images.RUNTIMES[self.runtime].default_cpu_tag

    @property
    def effective_image_tag(self) -> str:
        """The tag the model runs: the GPU build on a GPU instance."""
        if self.runs_on_gpu:
            gpu_tag = images.gpu_tag_for(self.runtime, self.cpu_image_tag, self.gpu_image_tag)
            return gpu_tag or self.cpu_image_tag
        return self.cpu_image_tag

    @property
    def image_repository(self) -> str:
        """The runtime's repository for the instance: tei-cpu or tei for TEI."""
        runtime = images.RUNTIMES[self.runtime]
        return runtime.gpu_repository if self.runs_on_gpu else runtime.cpu_repository

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

    @rule("mode", "instance_type", "image_tag", "gpu_image_tag", "runtime")
    def _gpu_image(self, context: Context) -> Iterator[Problem]:
        if not self.is_serverless and self.instance_type is None:
            yield Problem("instance_type", "is required with `mode` 'realtime', e.g. 'ml.m5.large'")
        elif (
            self.runs_on_gpu
            and images.runtime_of_tag(self.cpu_image_tag) == self.runtime
            and images.gpu_tag_for(self.runtime, self.cpu_image_tag, self.gpu_image_tag) is None
        ):
            yield Problem(
                "gpu_image_tag",
                f"is needed: {self.instance_type} has GPUs and `image_tag` "
                f"{self.cpu_image_tag!r} has no known GPU build; give its GPU tag",
            )
        if (
            self.runtime == "tei"
            and self.instance_type is not None
            and images.instance_family(self.instance_type) in images.TEI_UNSUPPORTED_FAMILIES
        ):
            yield Problem(
                "instance_type",
                f"{self.instance_type} has V100 GPUs, which TEI does not run on (it needs CUDA "
                "compute capability 7.5 or newer); use a g5, g6 or p4d type, or `runtime` "
                "'huggingface'",
            )

    @rule("runtime", "image_tag", "gpu_image_tag")
    def _tags_of_the_runtime(self, context: Context) -> Iterator[Problem]:
        """A tag from one runtime's repository does not exist in the other's."""
        for name in ("image_tag", "gpu_image_tag"):
            tag = getattr(self, name)
            if tag is not None and images.runtime_of_tag(tag) != self.runtime:
                example = images.RUNTIMES[self.runtime].default_cpu_tag
                yield Problem(
                    name,
                    f"{tag!r} is a tag of the other runtime's image; with `runtime` "
                    f"'{self.runtime}' give one such as {example}",
                )

    @rule(
        "mode",
        "max_concurrency",
        *(f"provisioned_concurrency{end}" for end in ("", "_min", "_max")),
    )
    def _provisioned_concurrency(self, context: Context) -> Iterator[Problem]:
        if not self.is_serverless:
            return
        for name in ("provisioned_concurrency", "provisioned_concurrency_max"):
            if (value := getattr(self, name)) is not None and value > self.max_concurrency:
                yield Problem(name, f"{value} is above `max_concurrency` ({self.max_concurrency})")
        yield from self._range(
            "provisioned_concurrency", "provisioned_concurrency_min", "provisioned_concurrency_max"
        )
        if self.provisioned_scaling and self.provisioned_concurrency is None:
            yield Problem("provisioned_concurrency", "is needed to scale it: set where it starts")

    @rule("mode", "instance_count", "autoscaling_min_capacity", "autoscaling_max_capacity")
    def _instance_scaling(self, context: Context) -> Iterator[Problem]:
        if not self.is_serverless:
            yield from self._range(
                "instance_count", "autoscaling_min_capacity", "autoscaling_max_capacity"
            )

    def _range(self, start_name: str, low_name: str, high_name: str) -> Iterator[Problem]:
        """A minimum needs a maximum (a maximum alone scales from 1); the start lies between."""
        start, low, high = (getattr(self, name) for name in (start_name, low_name, high_name))
        if high is None and low is not None:
            yield Problem(high_name, f"is needed with `{low_name}`: scaling needs a maximum")
        elif high is not None and (low or 1) > high:
            yield Problem(low_name, f"{low} is above the maximum `{high_name}` ({high})")
        elif high is not None and start is not None and not (low or 1) <= start <= high:
            yield Problem(start_name, f"{start} is outside the scaling range {low or 1}-{high}")

    @rule("sentence_embeddings")
    def _component_name(self, context: Context) -> Iterator[Problem]:
        """Auto-named children carry the component's name, and so does the handler's bucket."""
        name = context.component
        if name is None:
            return
        try:
            _COMPONENT_NAME.validate_python(name)
        except ValidationError:
            yield Problem(
                NAME,
                f"{name!r} is not allowed: up to {naming.COMPONENT_NAME_MAX} letters, digits and "
                "hyphens, starting and ending with a letter or digit (no underscores or dots), as "
                "SageMaker names children after it",
            )
            return
        if self.sentence_embeddings and name != name.lower():
            yield Problem(
                NAME,
                f"{name!r} must be lower-case with `sentence_embeddings` on: it also names the S3 "
                "bucket that holds the handler code",
            )

    @rule("role_arn")
    def _policies_need_a_created_role(self, context: Context) -> Iterator[Problem]:
        if self.role_arn is not None and self.managed_policy_arns:
            yield Problem(
                "managed_policy_arns",
                "cannot be combined with `role_arn`: policies are attached only to a role the "
                "component creates; attach them to your own role instead",
            )

    @rule("environment", "model_revision", "hf_api_token", "runtime")
    def _environment_fits(self, context: Context) -> Iterator[Problem]:
        own = (
            {"HF_MODEL_ID", "HF_TASK"}
            if self.runtime == "huggingface"
            else set(tei.environment("", None))
        )
        own |= {"HF_MODEL_REVISION"} if self.model_revision is not None else set()
        own |= {"HF_TOKEN"} if self.hf_api_token is not None else set()
        total = len(own | set(self.environment))
        limit = checks.shape("sagemaker", "EnvironmentMap")["max"]
        if total > limit:
            yield Problem(
                "environment",
                f"{len(self.environment)} variables and the {len(own)} the component sets make "
                f"{total}; SageMaker allows at most {limit}",
            )
        if self.runtime != "tei":
            return
        for key, value in self.environment.items():
            if key in _TEI_OWNED:
                yield Problem("environment", f"{key} {_TEI_OWNED[key]}; remove it")
            elif key in tei.TUNING_VARIABLES and not (
                value.isascii() and value.isdigit() and int(value) >= 1
            ):
                yield Problem(
                    "environment",
                    f"{key}={value!r} would stop TEI's router from starting; give a whole "
                    "number, 1 or more",
                )

    @rule("runtime", "image_tag", "hf_api_token")
    def _token_reaches_tei(self, context: Context) -> Iterator[Problem]:
        """TEI's router reads HF_TOKEN from 1.7.0; older ones would download without it."""
        version = re.search(r"-tei([0-9]+)\.([0-9]+)\.([0-9]+)-", self.cpu_image_tag)
        if self.runtime != "tei" or self.hf_api_token is None or version is None:
            return
        release = tuple(int(part) for part in version.groups())
        if release < tei.TOKEN_SINCE:
            yield Problem(
                "hf_api_token",
                f"cannot reach TEI {'.'.join(version.groups())} (`image_tag` "
                f"{self.cpu_image_tag!r}): its router reads the token only from 1.7.0 on; "
                "use a newer `image_tag`",
            )

    @rule()
    def _region(self, context: Context) -> Iterator[Problem]:
        """The image must exist in the region, every ARN be of its partition, and the alarm
        topic of the region itself."""
        region = context.region
        if not context.checks_region:
            return
        if region is None:
            yield Problem(REGION, "is not set; run `pulumi config set aws:region us-east-1`")
            return
        if region not in images.IMAGE_LOOKUP_REGIONS:
            similar = checks.suggestion(region, images.IMAGE_LOOKUP_REGIONS)
            yield Problem(
                REGION,
                f"{region!r} is not a region with SageMaker's prebuilt images"
                f"{similar or '; use one such as us-east-1'}",
            )
            return
        partition = checks.partition_of(region)
        arns = [("role_arn", self.role_arn), ("alarm_topic_arn", self.alarm_topic_arn)]
        for name, arn in [*arns, *(("managed_policy_arns", a) for a in self.managed_policy_arns)]:
            if arn and arn.split(":")[1] != partition:
                yield Problem(
                    name, f"{arn!r} is not in {region}'s partition; use an 'arn:{partition}:' ARN"
                )
        topic_region = (self.alarm_topic_arn or "::::").split(":")[3]
        if topic_region not in ("", region):
            yield Problem(
                "alarm_topic_arn",
                f"is in {topic_region}; alarms in {region} can notify only a topic in {region}",
            )
