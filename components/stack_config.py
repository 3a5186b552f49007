"""Turn a stack's configuration into `EmbeddingEndpointArgs`, reporting problems by config key.

Every key in the project's namespace is read, so a misspelt key is an error with a suggestion
instead of a setting silently left at its default. Values arrive as text; each is decoded by the
type of the field it sets (integers as ASCII digits, booleans as true/false, lists and maps as
JSON) and then checked exactly as a Python caller's value is. Pulumi.yaml declares every key with
a default, and an empty one ("" or 0) means unset.
"""

from __future__ import annotations

import json
import os
import re
import types
import typing
from collections.abc import Sequence
from typing import Any, Final

import botocore.exceptions
import botocore.session
import pulumi
from pydantic.fields import FieldInfo

from components.args import (
    REGION_SETTING,
    Context,
    EmbeddingEndpointArgs,
    PythonOnly,
    StackSecret,
)
from components.checks import suggestion
from components.errors import InvalidSettingsError, Problem

# The program's endpoint keeps the fixed name the app's later parts look up; the component
# itself auto-names one, so several fit in one program.
PROGRAM_DEFAULTS: Final = {"endpoint_name": "alex-embedding-endpoint"}
_EMPTY: Final = {"string": "", "integer": 0}
_PROVIDER_KEYS: Final = ("aws:region", "aws:profile")


def stack_fields() -> dict[str, tuple[str, FieldInfo]]:
    """Field name and declaration by config key, for every setting a stack can set."""
    return {
        field.alias or name: (name, field)
        for name, field in EmbeddingEndpointArgs.model_fields.items()
        if not any(isinstance(marker, PythonOnly) for marker in field.metadata)
    }


def config_type(field: FieldInfo) -> str:
    """The field's Pulumi config type: string, integer, boolean, array, or object (a map)."""
    annotation = field.annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
    origin = typing.get_origin(annotation) or annotation
    kinds: dict[Any, str] = {bool: "boolean", int: "integer", Sequence: "array", dict: "object"}
    return kinds.get(origin, "string")


def declared_default(name: str, field: FieldInfo) -> Any:
    """The default as Pulumi.yaml declares it: unset is "" or 0, a tuple is a list."""
    default = PROGRAM_DEFAULTS.get(name, field.get_default(call_default_factory=True))
    if default is None:
        return _EMPTY[config_type(field)]
    return list(default) if isinstance(default, tuple) else default


def declared_config() -> dict[str, dict[str, Any]]:
    """Pulumi.yaml's `config:` section as the settings declare it (maps cannot be declared)."""
    declared: dict[str, dict[str, Any]] = {}
    for key, (name, field) in stack_fields().items():
        kind = config_type(field)
        if kind == "object":
            continue
        declared[key] = {"type": kind}
        if kind == "array":
            declared[key]["items"] = {"type": "string"}
        declared[key]["description"] = " ".join((field.description or "").split())
        declared[key]["default"] = declared_default(name, field)
    return declared


def _decode(name: str, raw: str, field: FieldInfo) -> Any:
    """Text to the field's type; text that does not decode is kept, and refused by its check."""
    kind = config_type(field)
    if raw == str(_EMPTY.get(kind)) and _admits_none(field) and name not in PROGRAM_DEFAULTS:
        return None
    if kind == "integer":
        return int(raw) if re.fullmatch(r"[+-]?[0-9]+", raw) else raw
    if kind == "boolean":
        return {"true": True, "false": False}.get(raw, raw)
    if kind in ("array", "object"):
        try:
            value = json.loads(raw)
        except ValueError:
            return raw
        if kind == "object" and isinstance(value, dict):
            # `pulumi config set --path tags.cost 42` stores a number: a map of text keeps text.
            return {key: _as_text(item) for key, item in value.items()}
        return value
    return raw


def _admits_none(field: FieldInfo) -> bool:
    return type(None) in typing.get_args(field.annotation)


def _as_text(item: Any) -> Any:
    if isinstance(item, bool):
        return json.dumps(item)
    return str(item) if isinstance(item, int | float) else item


def _whole_config() -> dict[str, Any]:
    """Every key of the stack, as the language host passes them (PULUMI_CONFIG) or as set."""
    return {**pulumi.runtime.get_config_env(), **pulumi.runtime.config.CONFIG.get()}


def aws_region() -> str | None:
    """The region the default AWS provider deploys to, found the way the provider finds it."""
    provider = pulumi.Config("aws")
    region = (
        provider.get("region")
        or os.environ.get("AWS_REGION")
        or os.environ.get("AWS_DEFAULT_REGION")
    )
    if region:
        return region
    try:
        found = botocore.session.Session(profile=provider.get("profile")).get_config_variable(
            "region"
        )
    except botocore.exceptions.BotoCoreError:
        return None
    return str(found) if found else None


def args_from_config(config: pulumi.Config) -> EmbeddingEndpointArgs:
    """Read every key, then raise one `InvalidSettingsError` naming each bad key, or build args."""
    fields = stack_fields()
    prefix = f"{config.name}:"
    keys = EmbeddingEndpointArgs.config_keys()
    values: dict[str, Any] = {keys[name]: value for name, value in PROGRAM_DEFAULTS.items()}
    problems: list[Problem] = []
    for full_key, raw in _whole_config().items():
        if not full_key.startswith(prefix):
            continue
        key = full_key.removeprefix(prefix)
        if key not in fields:
            known = [*fields, *_PROVIDER_KEYS]
            problems.append(Problem(key, f"unknown setting{suggestion(key, known)}"))
            continue
        name, field = fields[key]
        value = _decode(name, str(raw), field)
        if value is not None and any(isinstance(m, StackSecret) for m in field.metadata):
            if not pulumi.runtime.is_config_secret(full_key):
                problems.append(
                    Problem(
                        key,
                        "is stored in plain text; store it encrypted with "
                        f"`pulumi config set --secret {key} <value>`",
                    )
                )
                continue
            value = config.get_secret(key)
        values[key] = value

    region = aws_region()
    if region is None:
        problems.append(
            Problem(REGION_SETTING, "is not set; run `pulumi config set aws:region us-east-1`")
        )
    subject = f"Stack configuration of project {config.name!r}"
    context = Context(subject, by_config_key=True, region=region)
    try:
        args = EmbeddingEndpointArgs.model_validate(
            values, by_alias=True, by_name=False, context=context
        )
    except InvalidSettingsError as error:
        problems = [*error.problems, *problems]
    if problems:
        problems.sort(key=EmbeddingEndpointArgs.position)
        raise InvalidSettingsError(subject, problems)
    return args
