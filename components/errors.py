"""The one error type a bad setting produces, anywhere in the component or the program."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pulumi


@dataclass(frozen=True)
class Problem:
    """One invalid setting: which setting it is, and what is allowed instead."""

    setting: str
    message: str

    def __str__(self) -> str:
        return f"{self.setting}: {self.message}"


class InvalidSettingsError(pulumi.RunError, ValueError):
    """Every problem found in a set of settings, raised once so users fix them all in one go.

    It derives from `pulumi.RunError` so `pulumi up` prints the message without a Python
    traceback, and from `ValueError` so plain Python callers can catch it idiomatically.
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
        """The names of the settings that failed, in the order they were checked."""
        return tuple(problem.setting for problem in self.problems)
