"""The one error type a bad setting produces, anywhere in the component or the program."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

import pulumi

# Messages refer to other settings in backticks, by field name: `max_concurrency`.
_SETTING_REFERENCE: Final = re.compile(r"`([a-z][a-z0-9_]*)`")


@dataclass(frozen=True)
class Problem:
    """One invalid setting: which setting it is, and what is allowed instead."""

    setting: str
    message: str

    def __str__(self) -> str:
        return f"{self.setting}: {self.message}"

    def renamed(self, names: Mapping[str, str]) -> Problem:
        """The same problem with settings called by other names (field names -> config keys)."""
        return Problem(names.get(self.setting, self.setting), renamed(self.message, names))


def renamed(text: str, names: Mapping[str, str]) -> str:
    """`text` with the settings it names in backticks called by other names."""
    return _SETTING_REFERENCE.sub(lambda match: f"`{names.get(match[1], match[1])}`", text)


class InvalidSettingsError(pulumi.RunError):
    """Every problem found in a set of settings, raised once so users fix them all in one go.

    It derives from `pulumi.RunError` so `pulumi up` prints the message without a Python
    traceback. It is deliberately no `ValueError`: pydantic would wrap one raised from a
    validator instead of letting it through.
    """

    def __init__(self, subject: str, problems: Iterable[Problem]) -> None:
        self.subject = subject
        self.problems: tuple[Problem, ...] = tuple(problems)
        count = len(self.problems)
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        noun = "problem" if count == 1 else "problems"
        super().__init__(f"{subject} has {count} invalid setting {noun}:\n{lines}")

    @property
    def settings(self) -> tuple[str, ...]:
        """The names of the settings at fault, in the order the message lists them."""
        return tuple(problem.setting for problem in self.problems)
