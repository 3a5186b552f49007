"""`pip install` of this repository gives an app the client and nothing else: the README's app
snippet runs in a fresh virtual environment outside the repository, against a scripted endpoint.

Offline: the wheel is built with the repository venv's setuptools, and the fresh environment
gets the client's dependencies, and only those, linked from the repository venv, so that
`pip install --no-index` fails on any requirement the client did not declare before."""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path, PurePath
from typing import Any

import pytest
from packaging.requirements import Requirement

from tests.embeddings.scripted import ok, scripted_endpoint, vector_of
from tests.test_readme import snippet_containing
from tests.test_requirements import canonical

ROOT = Path(__file__).resolve().parents[1]
CLIENT_REQUIREMENTS = {"boto3", "botocore", "tenacity", "python-dotenv"}
PIP = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]


def linked_dependencies(names: set[str], site_packages: Path) -> None:
    """Links each of `names` and what it requires, as this venv has them, into `site_packages`."""
    todo, seen = list(names), set()
    while todo:
        dist = metadata.distribution(todo.pop())
        if canonical(dist.metadata["Name"]) in seen:
            continue
        seen.add(canonical(dist.metadata["Name"]))
        for requirement in map(Requirement, dist.requires or []):
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
        tops = {PurePath(str(file)).parts[0] for file in dist.files or []}
        for top in tops - {"..", "__pycache__"}:  # not its scripts, nor the shared bytecode
            if not (site_packages / top).exists():
                (site_packages / top).symlink_to(Path(str(dist.locate_file(top))))


def embedding(text: str) -> list[float]:
    """A unit vector of 384 floats, as the model's, that depends on the text alone."""
    return [x / math.sqrt(48) for x in vector_of(text) * 48]


def test_the_readme_snippet_runs_from_a_fresh_venv_with_only_the_client_installed(
    tmp_path: Path,
) -> None:
    # A copy of the repository as a clone has it: `pip install <path>` of that.
    source = tmp_path / "alex-sagemaker"
    shutil.copytree(
        ROOT, source, ignore=shutil.ignore_patterns(".git", "venv*", "build", "*.egg-info")
    )
    wheels = tmp_path / "wheels"
    build = [*PIP, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(wheels)]
    subprocess.run([*build, str(source)], check=True, capture_output=True, timeout=300)
    (wheel,) = wheels.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        tops = {PurePath(name).parts[0] for name in archive.namelist()}
        (info,) = (name for name in archive.namelist() if name.endswith(".dist-info/METADATA"))
        wheel_metadata = archive.read(info).decode()
    assert tops == {"embeddings", "alex_sagemaker-0.1.0.dist-info"}
    # The same pins as requirements.txt, which `pulumi up` installs.
    declared = re.findall(r"^Requires-Dist: (.+)$", wheel_metadata, flags=re.MULTILINE)
    pinned = {canonical(Requirement(line).name): Requirement(line) for line in declared}
    assert set(pinned) == CLIENT_REQUIREMENTS
    lines = [line.split("#")[0].strip() for line in (ROOT / "requirements.txt").open()]
    listed = {canonical(r.name): r.specifier for r in map(Requirement, filter(None, lines))}
    assert {name: pinned[name].specifier for name in pinned} == {n: listed[n] for n in pinned}

    app = tmp_path / "app"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(app)], check=True)
    (site_packages,) = app.glob("lib/python*/site-packages")
    linked_dependencies(CLIENT_REQUIREMENTS, site_packages)
    install = [*PIP, "--python", str(app / "bin" / "python"), "install", "--no-index"]
    subprocess.run([*install, str(wheel)], check=True, capture_output=True, timeout=300)

    report = (
        "import importlib.util, json, embeddings\n"
        "others = ['components', 'container', 'tests', 'benchmarks', 'torch']\n"
        "found = [name for name in others if importlib.util.find_spec(name)]\n"
        "print(json.dumps({'file': embeddings.__file__, 'found': found, 'scores': scores}))\n"
    )
    with scripted_endpoint(lambda body: ok([embedding(t) for t in body["inputs"]])) as end:
        env = {
            "PATH": "/usr/bin:/bin",
            "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": end.url,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "app",
            "AWS_SECRET_ACCESS_KEY": "app",
            "AWS_CONFIG_FILE": str(tmp_path / "none"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        }
        run = subprocess.run(
            [
                str(app / "bin" / "python"),
                "-I",
                "-c",
                snippet_containing("EmbeddingClient()") + report,
            ],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert run.returncode == 0, run.stderr
    result: dict[str, Any] = json.loads(run.stdout)
    assert Path(result["file"]).is_relative_to(site_packages)
    assert result["found"] == []
    documents = ["Tesla beat delivery estimates", "The central bank held rates steady"]
    assert [body["inputs"] for body in end.bodies] == [documents, ["electric car sales"]]
    query = embedding("electric car sales")
    expected = [
        sum(q * d for q, d in zip(query, embedding(text), strict=True)) for text in documents
    ]
    assert result["scores"] == pytest.approx(expected, abs=1e-9)

    # The command line's client commands work from the installed package; serve says what it
    # needs in one line rather than a traceback.
    with scripted_endpoint(lambda body: ok([embedding(t) for t in body["inputs"]])) as end:
        env["AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"] = end.url
        command = [str(app / "bin" / "python"), "-I", "-m", "embeddings"]
        options: dict[str, Any] = {"cwd": tmp_path, "env": env, "capture_output": True}
        invoked = subprocess.run([*command, "invoke", "hello"], **options, text=True, timeout=120)
        served = subprocess.run([*command, "serve"], **options, text=True, timeout=120)
    assert invoked.returncode == 0, invoked.stderr
    assert json.loads(invoked.stdout) == pytest.approx(embedding("hello"), abs=1e-9)
    assert (served.returncode, served.stdout) == (1, "")
    assert served.stderr.startswith("error: serve needs ")
    assert served.stderr.count("\n") == 1
