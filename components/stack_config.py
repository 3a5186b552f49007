"""Turn a stack's configuration into `EmbeddingEndpointArgs`, reporting problems by config key.

Every key in the project's namespace is read, so a misspelt key is an error with a suggestion
rather than a setting silently left at its default. Values arrive as text; each is decoded by
the type of its setting (integers as ASCII digits, booleans as true/false, lists and maps as
JSON) and then checked exactly as a Python caller's value is. Pulumi.yaml declares every key
with a default; where the setting is optional, an empty one ("" or 0) means unset.
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
from components.checks import suggestion
from components.errors import InvalidSettingsError, Problem
from components.settings import Context, PythonOnly, StackSecret

# The program's endpoint keeps the fixed name the app's later parts look up; the component
# itself auto-names one, so that several fit in one program.
PROGRAM_DEFAULTS: Final = {"endpoint_name": "alex-embedding-endpoint"}
EMPTY: Final = {"string": "", "integer": 0}
_PROVIDER_KEYS: Final = ("aws:region", "aws:profile")


def stack_fields() -> dict[str, tuple[str, FieldInfo]]:
    """Field name and declaration by config key, for every setting a stack can set."""
    return {
        field.alias or name: (name, field)
        for name, field in EmbeddingEndpointArgs.model_fields.items()
        if not any(isinstance(marker, PythonOnly) for marker in field.metadata)
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


def _decode(name: str, raw: str, field: FieldInfo) -> Any:
    """Text to the setting's type; what does not decode stays text, refused by the checks."""
    kind = config_type(field)
    value: Any = raw
    if kind == "integer" and re.fullmatch(r"[+-]?[0-9]+", raw):
        try:
            value = int(raw)
        except ValueError:  # more digits than Python converts: refused as text
            return raw
    elif kind == "boolean":  # what Pulumi's own Config.get_bool accepts
        value = {"true": True, "True": True, "false": False, "False": False}.get(raw, raw)
    elif kind in ("array", "object"):
        try:
            value = json.loads(raw)
        except (ValueError, RecursionError):
            return raw
        if kind == "object" and isinstance(value, dict):
            # `pulumi config set --path tags.cost 42` stores a number: a map of text keeps text.
            value = {key: _as_text(item) for key, item in value.items()}
    optional = type(None) in typing.get_args(field.annotation) and name not in PROGRAM_DEFAULTS
    return None if optional and value == EMPTY.get(kind, object()) else value


def _as_text(item: Any) -> Any:
    return (
        json.dumps(item)
        if isinstance(item, bool)
        else str(item)
        if isinstance(item, int | float)
        else item
    )


def aws_region() -> str | None:
    """The region the default AWS provider deploys to, found the way the provider finds it."""
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


def args_from_config(config: pulumi.Config) -> EmbeddingEndpointArgs:
    """Read every key, then raise one `InvalidSettingsError` naming each bad key, or build args."""
    fields, prefix = stack_fields(), f"{config.name}:"
    keys = EmbeddingEndpointArgs.config_keys()
    values: dict[str, Any] = {keys[name]: value for name, value in PROGRAM_DEFAULTS.items()}
    problems: list[Problem] = []
    # Every key of the stack, as the language host passes them (PULUMI_CONFIG) and as set.
    every_key = {**pulumi.runtime.get_config_env(), **pulumi.runtime.config.CONFIG.get()}
    for key in (k.removeprefix(prefix) for k in every_key if k.startswith(prefix)):
        if key in _PROVIDER_KEYS:
            problems.append(Problem(key, f"is the AWS provider's; set `{key}` without `{prefix}`"))
        elif key not in fields:
            similar = suggestion(key, [*fields, *_PROVIDER_KEYS])
            problems.append(Problem(key, f"unknown setting{similar}"))
    for key, (name, field) in fields.items():
        raw = config.get(key)  # through the SDK, which also reads PULUMI_CONFIG_<KEY>
        if raw is None:
            continue
        values[key] = _decode(name, raw, field)
        if values[key] is not None and any(isinstance(m, StackSecret) for m in field.metadata):
            if pulumi.runtime.is_config_secret(config.full_key(key)):
                values[key] = config.get_secret(key)
            else:
                del values[key]
                problems.append(
                    Problem(key, f"is stored in plain text; use `pulumi config set --secret {key}`")
                )
    subject = f"Stack configuration of project {config.name!r}"
    context = Context(subject, by_config_key=True, checks_region=True, region=aws_region())
    try:
        args = EmbeddingEndpointArgs.model_validate(
            values, by_alias=True, by_name=False, context=context
        )
    except InvalidSettingsError as error:
        problems = [*error.problems, *problems]
    if problems:
        raise InvalidSettingsError(subject, sorted(problems, key=EmbeddingEndpointArgs.position))
    return args
