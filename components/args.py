"""`EmbeddingEndpointArgs`: the settings, the rules between them, and every problem at once.

pydantic checks each value against its declaration (`settings`) and reports every refusal; the
rules that relate settings then run over the values it accepted (a rule that reads a refused
value is skipped rather than misled by a default), and all problems are raised together in one
`InvalidSettingsError`, naming settings by field name in Python and by config key in stack
configuration.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Final, Self

import pulumi
from pydantic import ModelWrapValidatorHandler, ValidationError, ValidationInfo, model_validator

from components import aws_limits, images, model_files
from components.errors import (
    NAME,
    REGION,
    Context,
    InvalidSettingsError,
    Problem,
    from_pydantic,
    renamed,
    show,
)
from components.settings import EndpointSettings
from container import tei


class EmbeddingEndpointArgs(EndpointSettings):
    """What to deploy. Construction checks every setting and raises `InvalidSettingsError`
    listing all problems, so a bad setting never gets as far as a registered resource.

    The defaults reproduce the reference deployment: all-MiniLM-L6-v2 on 3072 MB with a maximum
    concurrency of 2, from the 1.13.1 HuggingFace PyTorch CPU image.
    """

    @model_validator(mode="wrap")
    @classmethod
    def _every_problem(
        cls, data: Any, handler: ModelWrapValidatorHandler[Self], info: ValidationInfo
    ) -> Self:
        """pydantic checks each value, every refusal at once; then the rules run over what it
        accepted (a rule that reads a refused value is skipped), and all is raised together."""
        context = info.context if isinstance(info.context, Context) else Context()
        settings: Self | None = None
        try:
            settings = handler(data)
            problems: list[Problem] = []
        except ValidationError as error:
            problems = [from_pydantic(detail, cls, context) for detail in error.errors()]
            if not isinstance(data, Mapping):
                raise InvalidSettingsError.of(problems, context, cls) from None
        data = dict(data)
        names = cls.names()
        refused = {names.get(problem.setting, "") for problem in problems} | context.refused
        if settings is None:
            accepted = {
                names[k]: v for k, v in data.items() if k in names and names[k] not in refused
            }
            checked = cls.model_construct(**accepted)
        aliases = context.aliases
        problems += [
            Problem(aliases.get(p.setting, p.setting), renamed(p.message, aliases))
            for p in (settings or checked)._rules(refused, context)
        ]
        if problems:
            secret = set(data.get("secret_settings") or data.get("secretSettings") or ())
            hidden = [v for k, v in data.items() if names.get(k) in secret]
            raise InvalidSettingsError.of(_hiding(problems, hidden), context, cls)
        assert settings is not None  # no problem: every value was accepted
        return settings

    def for_deployment(self, component: str) -> Self:
        """These settings checked again with the component's name, before anything is
        registered; the region and Output ARNs are checked as they resolve (`in_region`,
        `resolved`)."""
        context = Context(f"EmbeddingEndpoint {component!r}", component=component)
        return self.model_validate(dict(self), context=context)

    def in_region(self, component: str, region: pulumi.Output[str]) -> pulumi.Output[str]:
        """The region the provider deploys to, once every setting given as text holds there
        (known in a preview too): the component's children all wait for it."""
        return region.apply(lambda known: self._checked_in(component, known, {}))

    def resolved(
        self, component: str, region: pulumi.Output[str], name: str, arn: pulumi.Output[str]
    ) -> pulumi.Output[str]:
        """An ARN given as an Output, once it resolves and holds by the same rules and messages
        as text (written [secret] where the Output is one): a bad one fails the deployment."""

        def check(values: list[Any]) -> str:
            known, value, secret = values
            if value is None:
                problem = Problem(name, "resolved to nothing: check the output that gives it")
                raise InvalidSettingsError(f"EmbeddingEndpoint {component!r}", [problem])
            given = [value] if name == "managed_policy_arns" else value
            hidden = self.secret_settings | ({name} if secret else set())
            self._checked_in(component, known, {name: given, "secret_settings": hidden})
            return str(value)

        return pulumi.Output.all(region, arn, _secretness(arn)).apply(check)

    def _checked_in(self, component: str, region: str, overrides: dict[str, Any]) -> str:
        context = Context(
            f"EmbeddingEndpoint {component!r}",
            component=component,
            checks_region=True,
            region=region,
        )
        self.model_validate({**dict(self), **overrides}, context=context)
        return region

    def _rules(self, refused: set[str], context: Context) -> list[Problem]:
        """The rules that relate settings; one that reads a refused setting is skipped."""

        def reads(*names: str) -> bool:
            return not refused.intersection(names)

        found: list[Iterable[tuple[str, str]]] = []
        if reads("mode", "instance_type", "image_tag", "runtime"):
            found.append(self._image())
        if reads("mode", "max_concurrency", *PROVISIONED) and self.is_serverless:
            found.append(self._provisioned())
        if reads("mode", *INSTANCES) and not self.is_serverless:
            found.append(self._range(*INSTANCES))
        if context.component is not None and reads(
            "sentence_embeddings", "runtime", "model_source"
        ):
            found.append(_component_name(context.component, self.ships_archive))
        if reads("role_arn", "managed_policy_arns") and self.role_arn and self.managed_policy_arns:
            found.append(
                [
                    (
                        "managed_policy_arns",
                        "cannot be combined with `role_arn`: policies "
                        "are attached only to a role the component creates; attach them to "
                        "your own role instead",
                    )
                ]
            )
        if reads("environment", "model_revision", "hf_api_token", "runtime"):
            found.append(self._environment())
        if reads("runtime", "image_tag", "hf_api_token", "model_source"):
            found.append(self._token())
        if reads("model_source", "model_id", "hf_api_token", *NETWORK):
            found.append(self._model_source())
        if context.checks_region:
            found.append(self._region(context.region))
        found.append(self._unused(refused))
        return [Problem(setting, message) for each in found for setting, message in each]

    def _image(self) -> Iterator[tuple[str, str]]:
        if not self.is_serverless and not self.instance_type:
            yield "instance_type", "is required with `mode` 'realtime', e.g. 'ml.m5.large'"
        tag, runtime, gpu = self.release_tag, self.runtime, self.runs_on_gpu
        family = images.instance_family(self.instance_type) if self.instance_type else None
        if runtime == "tei" and family in images.NO_TEI_FAMILIES:
            yield (
                "instance_type",
                f"{self.instance_type} has V100 GPUs, which TEI does not run on (it needs CUDA "
                "compute capability 7.5 or newer); use a g5, g6 or p4d type, or `runtime` "
                "'huggingface'",
            )
        if images.runtime_of_tag(tag) != runtime:  # one runtime's tags are not the other's
            example = images.RUNTIMES[runtime].default_cpu_tag
            yield (
                "image_tag",
                f"{tag!r} is a tag of the other runtime's image; with `runtime` '{runtime}' give "
                f"one such as {example}",
            )
        elif images.is_gpu_tag(tag) and not gpu and (self.is_serverless or self.instance_type):
            where = "a serverless endpoint" if self.is_serverless else self.instance_type
            yield "image_tag", f"is a GPU tag, but {where} has no GPUs; give the release's CPU tag"
        elif gpu and not images.is_gpu_tag(tag) and not images.gpu_tag_for(runtime, tag):
            yield "image_tag", f"{tag!r} has no known GPU build; give the release's GPU tag"

    def _provisioned(self) -> Iterator[tuple[str, str]]:
        for name in ("provisioned_concurrency", "provisioned_concurrency_max"):
            if (value := getattr(self, name)) is not None and value > self.max_concurrency:
                yield name, f"{value} is above `max_concurrency` ({self.max_concurrency})"
        yield from self._range(*PROVISIONED)
        if self.provisioned_scaling and self.provisioned_concurrency is None:
            yield "provisioned_concurrency", "is needed to scale it: set where it starts"

    def _range(self, start_name: str, low_name: str, high_name: str) -> Iterator[tuple[str, str]]:
        """A minimum needs a maximum (a maximum alone scales from 1); the start lies between."""
        start, low, high = (getattr(self, name) for name in (start_name, low_name, high_name))
        if high is None and low is not None:
            yield high_name, f"is needed with `{low_name}`: scaling needs a maximum"
        elif high is not None and (low or 1) > high:
            yield low_name, f"{low} is above the maximum `{high_name}` ({high})"
        elif high is not None and start is not None and not (low or 1) <= start <= high:
            yield start_name, f"{start} is outside the scaling range {low or 1}-{high}"

    def _environment(self) -> Iterator[tuple[str, str]]:
        """SageMaker's 100 variables include the component's; TEI's own may not be undone."""
        tei_runtime = self.runtime == "tei"
        own = set(self.container_environment())
        own |= {"HF_TOKEN"} if self.hf_api_token is not None and not self.ships_model else set()
        total = len(own | set(self.environment))
        if total > (limit := aws_limits.shape("sagemaker", "EnvironmentMap")["max"]):
            yield (
                "environment",
                f"{len(self.environment)} variables and the {len(own)} the "
                f"component sets make {total}; SageMaker allows at most {limit}",
            )
        for key, value in self.environment.items() if tei_runtime else ():
            if key in tei.FIXED_VARIABLES:
                yield "environment", f"{key} {tei.FIXED_VARIABLES[key]}; remove it"
            elif key in tei.TUNING_VARIABLES and not (
                value.isascii() and value.isdigit() and 1 <= int(value) < 2**64
            ):
                yield (
                    "environment",
                    f"{key}={value!r} would stop TEI's router from starting; give a whole "
                    "number from 1 that fits 64 bits",
                )

    def _token(self) -> Iterator[tuple[str, str]]:
        """TEI's router reads a token only from 1.7.0 on."""
        version = re.search(r"-tei([0-9]+)\.([0-9]+)\.([0-9]+)-", self.release_tag)
        if (
            self.runtime == "tei"
            and self.model_source == "hub"
            and self.hf_api_token is not None
            and version is not None
            and tuple(int(part) for part in version.groups()) < tei.TOKEN_SINCE
        ):
            yield (
                "hf_api_token",
                f"cannot reach TEI {'.'.join(version.groups())} (`image_tag` "
                f"{self.release_tag!r}): its router reads the token only "
                "from 1.7.0 on; use a newer `image_tag`",
            )

    def _model_source(self) -> Iterator[tuple[str, str]]:
        archive = self.model_source == "archive"
        if self.local_model and not archive:
            yield "model_id", "is a local directory, which only `model_source` 'archive' ships"
        elif self.local_model:
            try:
                model_files.local_files(Path(self.model_id).expanduser(), self.runtime == "tei")
            except model_files.ModelSourceError as error:
                yield "model_id", f"{self.model_id!r} {error}"
        if self.network_isolation and not archive:
            yield (
                "network_isolation",
                "needs `model_source` 'archive': a container with no network cannot download "
                "the model from the Hub",
            )
        if archive and isinstance(self.hf_api_token, pulumi.Output):
            yield (
                "hf_api_token",
                "must be text with `model_source` 'archive': the model is downloaded before "
                "anything is deployed, when an Output has no value yet",
            )
        subnets, groups = self.in_vpc, bool(self.vpc_security_group_ids)
        if subnets != groups:
            given, needed = NETWORK if subnets else reversed(NETWORK)
            yield needed, f"is needed with `{given}`: a VPC takes both subnets and security groups"

    def _region(self, region: str | None) -> Iterator[tuple[str, str]]:
        """The image must exist in the region, every ARN be of its partition, and the alarm
        topic of the region itself."""
        if region is None:
            yield REGION, "is not set; run `pulumi config set aws:region us-east-1`"
            return
        if region not in images.IMAGE_LOOKUP_REGIONS:
            similar = aws_limits.suggestion(region, images.IMAGE_LOOKUP_REGIONS)
            yield (
                REGION,
                f"{region!r} is not a region with SageMaker's prebuilt images"
                f"{similar or '; use one such as us-east-1'}",
            )
            return
        partition = aws_limits.partition_of(region)
        policies = (("managed_policy_arns", arn) for arn in self.managed_policy_arns)
        for name, arn in [
            ("role_arn", self.role_arn),
            ("alarm_topic_arn", self.alarm_topic_arn),
            *policies,
        ]:
            if isinstance(arn, str) and arn.split(":")[1] != partition:
                yield name, f"{arn!r} is not in {region}'s partition; use an 'arn:{partition}:' ARN"
        topic = self.alarm_topic_arn if isinstance(self.alarm_topic_arn, str) else "::::"
        topic_region = topic.split(":")[3]
        if topic_region not in ("", region):
            yield (
                "alarm_topic_arn",
                (f"is in {topic_region}; alarms in {region} can notify only a topic in {region}"),
            )

    def _unused(self, refused: set[str]) -> Iterator[tuple[str, str]]:
        """A setting given a value where it has no effect is an error that says why, rather
        than a setting silently ignored: the first reason that applies, unless a setting that
        decides it was refused."""
        said: set[str] = set()
        for names, decided_by, has_effect, why in _NO_EFFECT:
            if refused.intersection(decided_by) or has_effect(self):
                continue
            for name in names:
                if name not in refused | said and self.changed(name):
                    said.add(name)
                    yield name, why


def _secretness(value: pulumi.Output[Any]) -> pulumi.Output[bool]:
    flag: Awaitable[bool] = value.is_secret()
    return pulumi.Output.from_input(flag)


def _hiding(problems: Iterable[Problem], secrets: Iterable[object]) -> list[Problem]:
    """The problems with every secret value written as [secret]."""
    texts = [
        v for value in secrets for v in (value if isinstance(value, list | tuple) else [value])
    ]
    shown = [text for value in texts for text in (repr(value), show(value)) if value is not None]
    hidden = list(problems)
    for text in shown:
        hidden = [Problem(p.setting, p.message.replace(text, "[secret]")) for p in hidden]
    return hidden


PROVISIONED: Final = ("provisioned_concurrency", "provisioned_concurrency_min",
                      "provisioned_concurrency_max")  # fmt: skip
INSTANCES: Final = ("instance_count", "autoscaling_min_capacity", "autoscaling_max_capacity")
NETWORK: Final = ("vpc_subnet_ids", "vpc_security_group_ids")
SCALING: Final = ("autoscaling_target_invocations", "autoscaling_scale_in_cooldown",
                  "autoscaling_scale_out_cooldown")  # fmt: skip
"""The settings of serverless provisioned concurrency, of instances, of instance scaling."""


_NoEffect = tuple[tuple[str, ...], tuple[str, ...], Callable[[EmbeddingEndpointArgs], bool], str]
"""Settings, the settings that decide whether they have an effect, that test, and why not."""


_NO_EFFECT: Final[tuple[_NoEffect, ...]] = (
    ((*PROVISIONED, "memory_size_in_mb", "max_concurrency", "alarm_model_setup_seconds",
               "provisioned_concurrency_target_percent"), ("mode",), lambda s: s.is_serverless,
              "applies only to `mode` 'serverless'; remove it or set `mode` to 'serverless'"),
    ((*INSTANCES, *SCALING, "instance_type", *NETWORK, "network_isolation"), ("mode",),
              lambda s: not s.is_serverless,
              "applies only to `mode` 'realtime'; remove it or set `mode` to 'realtime'"),
    (("provisioned_concurrency_target_percent",), ("provisioned_concurrency_max",),
              lambda s: s.provisioned_concurrency_max is not None,
              "has no effect without `provisioned_concurrency_max`: nothing scales; remove it"),
    (SCALING, ("autoscaling_max_capacity",),
              lambda s: s.autoscaling_max_capacity is not None,
              "has no effect without `autoscaling_max_capacity`: nothing scales; remove it"),
    (("task",), ("sentence_embeddings", "runtime"), lambda s: not s.uses_handler,
              "has no effect with `sentence_embeddings` on (the default): its handler always "
              "pools; remove it, or set `sentence_embeddings` to false"),
    (("task", "sentence_embeddings"), ("runtime",), lambda s: s.runtime != "tei",
              "has no effect with `runtime` 'tei': TEI always serves pooled, normalised "
              "sentence embeddings and has no task; remove it"),
    (("model_revision", "hf_api_token"), ("model_id",), lambda s: not s.local_model,
              "has no effect with a local directory `model_id`: nothing is downloaded; "
              "remove it"),
    (("iam_propagation_delay",), ("role_arn", "sentence_embeddings", "runtime", "model_source"),
              lambda s: s.creates_role or s.ships_archive,
              "has no effect with `role_arn`: the component makes no role or policy to wait "
              "for; remove it"),
    (("log_retention_days", "keep_logs"), ("endpoint_name",), lambda s: s.endpoint_name is not None,
              "has no effect without `endpoint_name`: only a named endpoint gets a log group; "
              "remove it"),
    (("alarm_topic_arn", "alarm_model_latency_ms", "alarm_model_setup_seconds"),
              ("alarms",), lambda s: s.alarms, "has no effect while `alarms` is off; remove it"),
)  # fmt: skip
COMPONENT_NAME_MAX: Final = 63 - len("-1a2b3c4") - len("-endpoint")
"""Pulumi auto-names the model, configuration and endpoint `<component>-<child>-<7 hex>`, and
SageMaker (and S3, for the handler's bucket) allow 63 characters."""


def _component_name(name: str, ships_archive: bool) -> Iterator[tuple[str, str]]:
    """Auto-named children carry the component's name, and so does the handler's bucket."""
    pattern = aws_limits.shape("sagemaker", "ModelName")["pattern"]
    if not re.fullmatch(pattern, name, flags=re.ASCII) or len(name) > COMPONENT_NAME_MAX:
        yield (
            NAME,
            f"{name!r} is not allowed: up to {COMPONENT_NAME_MAX} letters, digits and "
            "hyphens, starting and ending with a letter or digit (no underscores or "
            "dots), as SageMaker names children after it",
        )
    elif ships_archive and name.lower().startswith(_S3_RESERVED_PREFIXES):
        # pulumi-aws lower-cases a bucket's auto-name, so capitals are no problem there.
        yield (
            NAME,
            f"{name!r} may not start with {', '.join(_S3_RESERVED_PREFIXES)} with "
            "a model archive (`sentence_embeddings` on, or `model_source` 'archive'): it also "
            "names the S3 bucket that holds the archive",
        )


_S3_RESERVED_PREFIXES: Final = ("xn--", "sthree-", "amzn-s3-demo-")
"""Bucket-name prefixes S3 reserves (its bucket naming rules)."""
