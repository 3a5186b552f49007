"""Each requirements file installs what its code imports: `pulumi install` reads only
requirements.txt, so a package the program imports but that file lacks makes `pulumi up` fail
on a fresh machine while every test here passes."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from embeddings.cli import LOCAL_MODULES

ROOT = Path(__file__).resolve().parents[1]
FIRST_PARTY = {"components", "container", "embeddings", "stack_config"}


def requirement_names(path: Path) -> set[str]:
    """Distribution names a requirements file asks for, following `-r` includes."""
    names: set[str] = set()
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r"):
            names |= requirement_names(path.parent / line[2:].strip())
        elif line:
            names.add(canonical(re.split(r"[\[<>=!~; ]", line, maxsplit=1)[0]))
    return names


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def imported_packages(path: Path) -> set[str]:
    """Top-level packages a file imports at run time (not under `if TYPE_CHECKING:`)."""
    tree = ast.parse(path.read_text())
    typing_only = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for statement in block.body
        for node in ast.walk(statement)
    }
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found - FIRST_PARTY - set(sys.stdlib_module_names) - {"__future__"}


def files(*patterns: str) -> list[Path]:
    return sorted(path for pattern in patterns for path in ROOT.glob(pattern))


DEPLOY_AND_CLIENT = files(
    "__main__.py",
    "stack_config.py",
    "components/*.py",
    "container/__init__.py",
    "container/tei.py",
    "embeddings/*.py",
)
LOCAL_ENDPOINT = files("embeddings/server/*.py", "container/inference.py")
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
INSTALLED_WITH_LOCAL = {
    canonical(Requirement(line).name)
    for line in PROJECT["dependencies"] + PROJECT["optional-dependencies"]["local"]
}
"""What `pip install 'alex-sagemaker[local]'` gives an app."""


@pytest.mark.parametrize(
    ("requirements", "listed", "sources"),
    [
        ("requirements.txt", requirement_names(ROOT / "requirements.txt"), DEPLOY_AND_CLIENT),
        (
            "requirements-local.txt",
            requirement_names(ROOT / "requirements-local.txt"),
            LOCAL_ENDPOINT,
        ),
        ("pyproject.toml's [local] extra", INSTALLED_WITH_LOCAL, LOCAL_ENDPOINT),
    ],
)
def test_every_imported_package_is_a_listed_requirement(
    requirements: str, listed: set[str], sources: list[Path]
) -> None:
    providers = packages_distributions()
    missing = {
        f"{path.relative_to(ROOT)}: {package}"
        for path in sources
        for package in imported_packages(path)
        if not {canonical(d) for d in providers.get(package, [package])} & listed
    }

    assert len(sources) > 3
    assert sorted(missing) == [], f"add to {requirements}"


def test_serve_checks_for_every_package_the_local_endpoint_imports() -> None:
    imported = set().union(*map(imported_packages, LOCAL_ENDPOINT))

    assert set(LOCAL_MODULES) == imported
