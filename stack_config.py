"""This program's stack configuration as `EmbeddingEndpointArgs`, every problem by config key.

Every key of the project's namespace is read (a misspelt one is an error with a suggestion, not a
setting left at its default), with Pulumi's typed getter for its setting's type, then checked as a
Python caller's value is. Where a setting is optional, "" or 0 (Pulumi.yaml's defaults) is unset.
"""

from __future__ import annotations

import json
import os
import re
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any, Final

import botocore.exceptions
import botocore.session
import pulumi
from pydantic.fields import FieldInfo

from components.args import EmbeddingEndpointArgs
from components.aws_limits import suggestion
from components.errors import Context, InvalidSettingsError, Problem, renamed, show
from components.settings import UNKEPT, UNKEPT_WHY

ENDPOINT_NAME: Final = "alex-embedding-endpoint"


def program_defaults(stack: str) -> dict[str, str]:
    """The endpoint's name where the stack sets none: on stack dev the one the Alex app's later
    parts look up; on any other stack a name of its own, so that two stacks in one account never
    share an endpoint or its log group (the component itself auto-names one)."""
    own = re.sub(r"[^A-Za-z0-9]+", "-", stack).strip("-")[: 62 - len(ENDPOINT_NAME)].rstrip("-")
    return {
        "endpoint_name": ENDPOINT_NAME if stack == "dev" or not own else f"{ENDPOINT_NAME}-{own}"
    }


PYTHON_ONLY: Final = frozenset({"environment", "secret_settings"})
"""Settings with no stack-config key: they have no flat text form."""
PYTHON_ONLY_KEYS: Final = frozenset(EmbeddingEndpointArgs.config_keys()[n] for n in PYTHON_ONLY)
SECRETS: Final = frozenset({"hf_api_token"})
"""Keys that must be stored encrypted (`pulumi config set --secret`)."""
EMPTY: Final = {"string": "", "integer": 0}
_NOT_A: Final = {"integer": "is not a whole number", "boolean": "is not true or false",
                 "array": "is not a JSON list", "object": "is not a JSON object"}  # fmt: skip
_PROVIDER_KEYS: Final = ("aws:region", "aws:profile")


def provider_region() -> str | None:
    """The region the stack's AWS provider deploys to, found the way the provider finds it, so
    that a bad one is reported with every other problem, before anything is registered."""
    provider = pulumi.Config("aws")
    region = provider.get("region") or os.environ.get("AWS_REGION")
    if region := region or os.environ.get("AWS_DEFAULT_REGION"):
        return region
    try:
        session = botocore.session.Session(profile=provider.get("profile"))
        found = session.get_config_variable("region")
    except botocore.exceptions.BotoCoreError:
        return None
    return str(found) if found else None


def stack_fields() -> dict[str, tuple[str, FieldInfo]]:
    """Field name and declaration by config key, for every setting a stack can set."""
    return {
        field.alias or name: (name, field)
        for name, field in EmbeddingEndpointArgs.model_fields.items()
        if name not in PYTHON_ONLY
    }


def config_type(field: FieldInfo) -> str:
    """The setting's Pulumi config type: string, integer, boolean, array, or object (a map)."""
    annotation = field.annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) is typing.Literal:
        annotation = type(typing.get_args(annotation)[0])
    origin = typing.get_origin(annotation) or annotation
    kinds: dict[Any, str] = {bool: "boolean", int: "integer", Sequence: "array", Mapping: "object"}
    return kinds.get(origin, "string")


def _read(config: pulumi.Config, key: str, name: str, field: FieldInfo) -> Any:
    """The key's value by its setting's type, None for empty; ConfigTypeError if unreadable."""
    kind = config_type(field)
    getter = {"integer": config.get_int, "boolean": config.get_bool}.get(kind, config.get)
    value: Any = config.get_object(key) if kind in ("array", "object") else getter(key)
    if kind == "object" and isinstance(value, dict):
        # `pulumi config set --path tags.cost 42` stores a number: a map of text keeps text.
        value = {k: json.dumps(v) if isinstance(v, int | float) else v for k, v in value.items()}
    optional = type(None) in typing.get_args(field.annotation)
    return None if optional and value == EMPTY.get(kind, object()) else value


def args_from_config(config: pulumi.Config) -> EmbeddingEndpointArgs:
    """Read every key, then raise one `InvalidSettingsError` naming each bad key, or build args."""
    fields, prefix = stack_fields(), f"{config.name}:"
    keys = EmbeddingEndpointArgs.config_keys()
    defaults = program_defaults(pulumi.get_stack())
    values: dict[str, Any] = {keys[name]: value for name, value in defaults.items()}
    problems: list[Problem] = []
    unreadable: set[str] = set()
    secret: set[str] = set()
    # Every key of the stack: as the language host passes them (PULUMI_CONFIG), and as set.
    every_key = {**pulumi.runtime.get_config_env(), **pulumi.runtime.config.CONFIG.get()}
    for key in (k.removeprefix(prefix) for k in every_key if k.startswith(prefix)):
        if key in _PROVIDER_KEYS:
            problems.append(Problem(key, f"is the AWS provider's; set `{key}` without `{prefix}`"))
        elif key in PYTHON_ONLY_KEYS:
            problems.append(Problem(key, "can be set only from Python: it has no flat text form"))
        elif key not in fields:
            problems.append(
                Problem(key, f"unknown setting{suggestion(key, [*fields, *_PROVIDER_KEYS])}")
            )
    for key, (name, field) in fields.items():
        if config.get(key) is None:
            continue
        try:
            value = _read(config, key, name, field)
        except pulumi.ConfigTypeError as error:
            description = renamed(" ".join((field.description or "").split()), keys)
            problems.append(
                Problem(key, f"{show(error.value)} {_NOT_A[config_type(field)]}. {description}")
            )
            unreadable.add(name)
            continue
        if pulumi.runtime.is_config_secret(config.full_key(key)):
            if name in UNKEPT:
                why = f"is stored as a secret, but it {UNKEPT_WHY}; set it without --secret"
                problems.append(Problem(key, why))
            else:
                secret.add(name)  # kept secret wherever it reaches a resource
        if (
            value is not None
            and name in SECRETS
            and not pulumi.runtime.is_config_secret(config.full_key(key))
        ):
            problems.append(
                Problem(key, f"is stored in plain text; use `pulumi config set --secret {key}`")
            )
            unreadable.add(name)
            continue
        if value is not None or name not in defaults:
            values[key] = value
    context = Context(
        f"Stack configuration of project {config.name!r}",
        aliases=keys,
        refused=frozenset(unreadable),
        checks_region=True,
        region=provider_region(),
    )
    values[keys["secret_settings"]] = secret
    try:
        args = EmbeddingEndpointArgs.model_validate(
            values, by_alias=True, by_name=False, context=context
        )
    except InvalidSettingsError as error:
        problems = [*error.problems, *problems]
    if problems:
        raise InvalidSettingsError.of(problems, context, EmbeddingEndpointArgs)
    return args


def refuse_updates_aws_refuses(
    args: EmbeddingEndpointArgs, previous: pulumi.StackReference
) -> pulumi.Output[None]:
    """Refuse a change AWS would refuse to make to the deployed endpoint of the same name
    (`endpoint_name` and `capacity` of the last deployment), which would otherwise leave every
    later `pulumi up` failing the same way. The component waits for this, so that nothing is
    registered first, with or without a preview."""
    before = pulumi.Output.all(
        previous.get_output("endpoint_name"), previous.get_output("capacity")
    )

    def check(values: list[Any]) -> None:
        name, capacity = values
        problem = _refused_update(args, name, capacity)
        if problem is not None:
            subject = f"Stack configuration of project {pulumi.get_project()!r}"
            raise InvalidSettingsError(subject, [problem])

    return before.apply(check)


def _refused_update(args: EmbeddingEndpointArgs, name: Any, capacity: Any) -> Problem | None:
    if not isinstance(name, str) or args.endpoint_name is None:
        return None  # a first deployment
    if name != args.endpoint_name and name.lower() == args.endpoint_name.lower():
        # SageMaker's names ignore case: the new endpoint could not be made next to the old.
        return Problem(
            "endpointName",
            f"{name!r} -> {args.endpoint_name!r} differs only in case, which SageMaker "
            "treats as the same endpoint; choose another name",
        )
    if name != args.endpoint_name or not isinstance(capacity, str):
        return None  # a new name: a new endpoint, made before the old goes
    if capacity.startswith("realtime") and args.is_serverless:
        setting, change = "mode", "realtime -> serverless"
        fix = "or `pulumi destroy` first"
    elif capacity.startswith("realtime ") and capacity.split()[1] != args.instance_type:
        setting, change = "instanceType", f"{capacity.split()[1]} -> {args.instance_type}"
        fix = (
            "or remove autoscaling first (`pulumi config rm autoscalingMaxCapacity` and "
            "`autoscalingMinCapacity`, `pulumi up`)"
        )
    else:
        return None
    return Problem(
        setting,
        f"{change}: AWS cannot update endpoint {name!r} in place; set a new `endpointName` "
        f"too (the old endpoint serves until the new one is InService), {fix}",
    )
