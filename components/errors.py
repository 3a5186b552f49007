"""The one error a bad setting produces, with each problem naming its setting and what is
allowed; pydantic's own refusals become such problems here."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import pulumi
from pydantic import BaseModel

from components.aws_limits import suggestion

REGION: Final = "aws:region"
NAME: Final = "name"
_SETTING: Final = re.compile(r"`([a-z][a-z0-9_]*)`")
"""Messages name other settings in backticks, by field name: `max_concurrency`."""


@dataclass(frozen=True)
class Context:
    """How settings are read, and what only the deployment knows."""

    subject: str | None = None
    aliases: Mapping[str, str] = field(default_factory=dict)
    """Config key by field name, where settings are named by config key (camelCase)."""
    refused: frozenset[str] = frozenset()
    """Settings refused before validation (a stack value that could not be read)."""
    component: str | None = None
    checks_region: bool = False
    """Whether to check `region`: False where an explicit provider decides it at deployment."""
    region: str | None = None


@dataclass(frozen=True)
class Problem:
    """One invalid setting: which setting it is, and what is allowed instead."""

    setting: str
    message: str

    def __str__(self) -> str:
        return f"{self.setting}: {self.message}"


def renamed(text: str, names: Mapping[str, str]) -> str:
    """`text` with the settings it names in backticks called by other names."""
    return _SETTING.sub(lambda match: f"`{names.get(match[1], match[1])}`", text)


def show(value: object, limit: int = 60) -> str:
    """The value as Python writes it, cut short when long (or nested too deep to write)."""
    try:
        text = repr(value)
    except (RecursionError, ValueError):
        return f"a {type(value).__name__} too deep or large to show"
    return text if len(text) <= limit else f"{text[: limit - 4]}...{text[-1]}"


def from_pydantic(detail: Any, model: type[BaseModel], context: Context) -> Problem:
    """A pydantic error as a Problem: the setting as it was given, the entry, pydantic's reason
    (or ours, from a check), and the setting's description of what is allowed."""
    value = detail["input"]
    if not detail["loc"]:
        return Problem("settings", f"{show(value)} is refused: give a mapping of names to values")
    key, *entry = detail["loc"]
    declared = {name: spec for n, spec in model.model_fields.items() for name in (n, spec.alias)}
    if detail["type"] == "extra_forbidden" or key not in declared:
        return Problem(str(key), f"unknown setting{suggestion(str(key), model.model_fields)}")
    if detail["type"] == "too_long":
        return Problem(key, f"has {len(value)} entries, over {detail['ctx']['max_length']}")
    shown = f"{show(value)} "
    if entry and entry[-1] == "[key]":
        shown = f"key {shown}"
    elif entry and isinstance(entry[0], str):
        shown = f"value of {show(entry[0])}: {shown}"
    if detail["type"] == "value_error":
        return Problem(str(key), f"{shown}{detail['ctx']['error']}")
    pattern = detail["type"] == "string_pattern_mismatch"  # pydantic would show the regex
    reason = "is not allowed" if pattern else f"is refused: {detail['msg']}"
    description = renamed(" ".join((declared[key].description or "").split()), context.aliases)
    return Problem(key, f"{shown}{reason}. {description}")


class InvalidSettingsError(pulumi.RunError):
    """Every problem found in a set of settings, raised once so users fix them all in one go.

    It derives from `pulumi.RunError` so `pulumi up` prints the message without a Python
    traceback. It is deliberately no `ValueError`: pydantic would wrap one raised from a
    validator instead of letting it through.
    """

    def __init__(self, subject: str, problems: Iterable[Problem]) -> None:
        self.subject = subject
        self.problems: tuple[Problem, ...] = tuple(problems)
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        noun = "problem" if len(self.problems) == 1 else "problems"
        super().__init__(f"{subject} has {len(self.problems)} invalid setting {noun}:\n{lines}")

    @classmethod
    def of(
        cls, problems: Iterable[Problem], context: Context, model: type[BaseModel]
    ) -> InvalidSettingsError:
        """The problems in order: the component's name, the region, then the settings as
        declared (by the names the caller uses), then unknown names."""
        order = [NAME, REGION, *(context.aliases.get(name, name) for name in model.model_fields)]
        ordered = sorted(
            dict.fromkeys(problems),
            key=lambda p: order.index(p.setting) if p.setting in order else len(order),
        )
        return cls(context.subject or model.__name__, ordered)

    @property
    def settings(self) -> tuple[str, ...]:
        """The names of the settings at fault, in the order the message lists them."""
        return tuple(problem.setting for problem in self.problems)
