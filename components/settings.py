"""How settings are checked: every problem at once, each naming its setting.

`Settings` is a pydantic model that checks each value against its declaration, then the rules
that relate settings: `@rule` methods, and `Applies` marks that say when a setting has an
effect at all. A value that fails its own check drops out and the rules that read it are
skipped, so one bad value hides no other problem. Messages name settings in backticks, as
config keys when read from stack config; every problem is raised in one `InvalidSettingsError`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import FunctionType
from typing import Any, Final, Self, TypeVar

from annotated_types import MaxLen
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    ModelWrapValidatorHandler,
    ValidationError,
    ValidationInfo,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import ErrorDetails

from components import checks
from components.errors import InvalidSettingsError, Problem

REGION: Final = "aws:region"
NAME: Final = "name"


@dataclass(frozen=True)
class Context:
    """How settings are read, and what only the deployment knows."""

    subject: str | None = None
    by_config_key: bool = False
    component: str | None = None
    checks_region: bool = False
    """Whether to check `region`: False where an explicit provider decides it at deployment."""
    region: str | None = None


class PythonOnly:
    """Marks a setting with no stack-config key (it has no flat text form)."""


class StackSecret:
    """Marks a stack-config key that must be stored encrypted (`pulumi config set --secret`)."""


@dataclass(frozen=True)
class Applies:
    """Marks when a setting has an effect. Given a value (not its default) when it has none, it
    is an error that says why, rather than a setting silently ignored. `reads`: the settings
    `when` looks at; with one of them refused, nothing is said."""

    reads: tuple[str, ...]
    when: Callable[[Any], bool]
    otherwise: str


RuleMethod = TypeVar("RuleMethod", bound=Callable[..., Iterable[Problem]])
_READS: Final = "_rule_reads"


def rule(*reads: str) -> Callable[[RuleMethod], RuleMethod]:
    """Marks a method `(self, context) -> problems` that relates settings. It runs only when the
    settings in `reads` passed their own checks (a refused value stands at its default)."""

    def register(method: RuleMethod) -> RuleMethod:
        setattr(method, _READS, frozenset(reads))
        return method

    return register


# What each kind of pydantic error says about the value; the setting's description follows.
_REASONS: Final = {
    "int_type": "is not an integer",
    "bool_type": "is not true or false",
    "string_type": "is not a string",
    "dict_type": "is not a mapping",
    "list_type": "is not a list",
    "sequence_str": "is not a list",
    "literal_error": "is not {expected}",
    "greater_than_equal": "is below {ge}",
    "less_than_equal": "is above {le}",
    "multiple_of": "is not a multiple of {multiple_of}",
}


class Settings(BaseModel):
    """Strict, frozen, no unknown names, camelCase keys, and every problem in one error."""

    model_config = ConfigDict(
        strict=True,
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
        # Each pass drops what the one before refused (a whole setting, or one entry of a list
        # or map), so the checks on what is left, and the rules, still run.
        for _ in range(len(cls.model_fields) + 1):
            try:
                settings = handler(data)
                break
            except ValidationError as error:
                details = error.errors()
                problems += [cls._problem(detail) for detail in details]
                if not isinstance(data, Mapping):
                    raise cls._error(problems, context) from None
                data, dropped = cls._without(data, details, problems)
                failed |= {cls.names().get(str(key), str(key)) for key in dropped}
        else:  # pragma: no cover - each pass drops at least one refused value
            raise cls._error(problems, context)
        methods = (m for k in cls.__mro__ for m in vars(k).values() if isinstance(m, FunctionType))
        for method in methods:
            reads = getattr(method, _READS, None)
            if reads is not None and not reads & failed:
                problems.extend(method(settings, context))
        for name, field in cls.model_fields.items():
            applies = (m for m in field.metadata if isinstance(m, Applies))
            rule_out = next(
                (a for a in applies if failed & {*a.reads} or not a.when(settings)), None
            )
            if rule_out and not failed & {*rule_out.reads} and settings.changed([name]):
                problems.append(Problem(name, rule_out.otherwise))
        if problems:
            raise cls._error(problems, context)
        return settings

    @classmethod
    def _without(
        cls, data: Mapping[Any, Any], details: list[ErrorDetails], problems: list[Problem]
    ) -> tuple[dict[Any, Any], set[Any]]:
        """`data` less what `details` refused: entries of a list or map, else whole settings.

        A list or map that loses entries is still checked for length as it was given."""
        entries: dict[Any, set[Any]] = {}
        whole: set[Any] = set()
        for detail in details:
            key, *path = detail["loc"]
            value = data.get(key)
            if path and isinstance(value, Mapping | list | tuple):
                entries.setdefault(key, set()).add(path[0])
            else:
                whole.add(key)
        left = {key: value for key, value in data.items() if key not in whole}
        for key in entries.keys() - whole:
            value, bad = data[key], entries[key]
            if isinstance(value, Mapping):
                left[key] = {k: v for k, v in value.items() if k not in bad}
            else:
                left[key] = [v for i, v in enumerate(value) if i not in bad]
            field = cls.model_fields.get(cls.names().get(str(key), ""))
            limits = [m.max_length for m in getattr(field, "metadata", ()) if isinstance(m, MaxLen)]
            if limits and len(value) > limits[0]:
                problems.append(Problem(str(key), f"has {len(value)} entries, over {limits[0]}"))
        return left, whole

    @classmethod
    def _problem(cls, detail: ErrorDetails) -> Problem:
        """A pydantic error as a Problem: the setting, the key or entry, what is allowed."""
        setting, *path = (*detail["loc"], "")[: max(len(detail["loc"]), 1)]
        field = cls.model_fields.get(cls.names().get(str(setting), ""))
        if detail["type"] == "extra_forbidden" or field is None:
            similar = checks.suggestion(str(setting), cls.model_fields)
            return Problem(str(setting), f"unknown setting{similar}")
        value, context = detail["input"], detail.get("ctx", {})
        shown = "" if isinstance(value, Mapping | list | tuple) else f"{checks.show(value)} "
        if detail["type"] == "value_error":
            message = f"{shown}{context['error']}"
        elif detail["type"] == "too_long":
            message = f"has {len(value)} entries, over {context['max_length']}"
        else:
            if detail["type"] == "string_too_long":
                reason = f"is {len(value)} characters, over {context['max_length']}"
            else:
                reason = _REASONS.get(detail["type"], "is not allowed").format(**context)
            description = " ".join((field.description or "").split())
            message = f"{checks.show(value)} {reason}. {description}"
        if path and path[-1] == "[key]":
            message = f"key {message}"
        elif path and isinstance(path[0], str):
            message = f"value of {checks.show(path[0])}: {message}"
        return Problem(str(setting), message)

    @classmethod
    def _error(cls, problems: list[Problem], context: Context) -> InvalidSettingsError:
        """Raised as is: pydantic passes on what is no ValueError."""
        problems = list(dict.fromkeys(problems))  # a refused length may be found twice
        if context.by_config_key:
            problems = [problem.renamed(cls.config_keys()) for problem in problems]
        problems.sort(key=cls.position)
        return InvalidSettingsError(context.subject or cls.__name__, problems)

    @classmethod
    def config_keys(cls) -> dict[str, str]:
        """Stack-config key by field name."""
        return {name: field.alias or name for name, field in cls.model_fields.items()}

    @classmethod
    def names(cls) -> dict[str, str]:
        """Field name by field name and by config key."""
        keys = cls.config_keys()
        return {name: name for name in keys} | {key: name for name, key in keys.items()}

    @classmethod
    def position(cls, problem: Problem) -> int:
        """Reports list the component's name, the region, the fields in declaration order, then
        names that are no setting."""
        order = [NAME, REGION, *cls.model_fields]
        name = cls.names().get(problem.setting, problem.setting)
        return order.index(name) if name in order else len(order)

    def changed(self, names: Iterable[str]) -> list[str]:
        """Those of `names` that are not at their defaults."""
        fields = type(self).model_fields
        return [
            name
            for name in names
            if getattr(self, name) != fields[name].get_default(call_default_factory=True)
        ]


def check(reason: Callable[[Any], str | None]) -> AfterValidator:
    """A check beyond the constraints: `reason` says why a value is refused, or None."""

    def validate(value: Any) -> Any:
        if value is not None and (why := reason(value)) is not None:
            raise ValueError(why)
        return value

    return AfterValidator(validate)
