"""The command line in-process against moto: output, exit codes and one-line errors."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from embeddings.cli import main
from tests.embeddings.moto_helpers import ARCHIVE, deploy, queue_results
from tests.embeddings.vectors import cosine

REGION = "eu-central-1"
TEI_REGISTRY = "683313688378.dkr.ecr.us-east-1.amazonaws.com"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, boto3_session: boto3.Session) -> Iterator[None]:
    """moto, and the CLI's sessions all one (the commands take no --profile here)."""
    monkeypatch.setattr("embeddings.cli.Session", lambda: boto3_session)
    with mock_aws():
        yield


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def test_invoke_one_text_prints_one_sentence_embedding(
    aws: None, token_level: list[Any], expected_embeddings: list[list[float]]
) -> None:
    deploy(REGION)
    queue_results([[token_level[0]]], REGION)

    code, out = run("invoke", "vectorize me", "--region", REGION)

    assert code == 0
    vector = json.loads(out)
    assert len(vector) == 384
    assert cosine(vector, expected_embeddings[0]) >= 0.9999


def test_invoke_several_texts_prints_one_array_each(
    aws: None, token_level: list[Any], expected_embeddings: list[list[float]]
) -> None:
    deploy(REGION)
    queue_results([token_level], REGION)
    texts = [
        "vectorize me",
        "The quick brown fox jumps over the lazy dog.",
        "Les marchés financiers ont progressé après l'annonce de la banque centrale.",
    ]

    code, out = run("invoke", *texts, "--region", REGION)

    assert code == 0
    vectors = json.loads(out)
    assert [cosine(v, e) >= 0.9999 for v, e in zip(vectors, expected_embeddings, strict=True)] == [
        True
    ] * 3


def test_invoke_file_reads_the_payload_and_raw_prints_the_endpoints_json(
    aws: None, token_level: list[Any], tmp_path: Path
) -> None:
    deploy(REGION)
    payload = tmp_path / "vectorize_me.json"
    payload.write_text('{"inputs": "vectorize me"}')
    queue_results([token_level[0]], REGION)

    code, out = run("invoke", "--file", str(payload), "--raw", "--region", REGION)

    assert code == 0
    assert json.loads(out) == token_level[0]


def test_shipped_example_payload_is_the_references() -> None:
    shipped = Path(__file__).resolve().parents[2] / "vectorize_me.json"

    assert json.loads(shipped.read_text()) == {"inputs": "vectorize me"}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist"),
        ("{not json", "is not valid JSON"),
        ('{"text": "x"}', 'must be a JSON object with "inputs"'),
    ],
)
def test_bad_payload_file_is_one_line_on_stderr(
    aws: None, tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, message: str
) -> None:
    path = tmp_path / "payload.json"
    if content is not None:
        path.write_text(content)

    code, out = run("invoke", "--file", str(path), "--region", REGION)

    err = capsys.readouterr().err
    assert code == 1
    assert out == ""
    assert err.startswith("error: payload file")
    assert message in err
    assert err.count("\n") == 1


def test_status_in_service_exits_zero(aws: None) -> None:
    deploy(REGION)

    code, out = run("status", "--region", REGION)

    assert code == 0
    lines = dict(line.split(None, 1) for line in out.strip().splitlines())
    assert lines["endpoint"] == "alex-embedding-endpoint"
    assert lines["region"] == REGION
    assert lines["status"] == "InService"
    assert lines["config"] == "alex-embedding-config-9a8b7c6"
    assert lines["created"].startswith("20")


def test_status_of_a_missing_endpoint_names_the_region(
    aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    deploy("us-east-1")

    code, _ = run("status", "--region", REGION)

    err = capsys.readouterr().err
    assert code == 1
    assert err == (
        f"error: endpoint 'alex-embedding-endpoint' was not found in region {REGION}; check the "
        "region (the deployed one is `pulumi stack output region`) and pass --region or set "
        "DEFAULT_AWS_REGION\n"
    )


def test_endpoint_and_region_from_dotenv(
    aws: None, isolated_aws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deploy(REGION, "alex-from-dotenv")
    (isolated_aws / ".env").write_text(
        f"SAGEMAKER_ENDPOINT=alex-from-dotenv\nDEFAULT_AWS_REGION={REGION}\n"
    )

    code, out = run("status")

    assert code == 0
    assert "alex-from-dotenv" in out


def test_wait_reports_the_status_and_returns_when_in_service(aws: None) -> None:
    deploy(REGION)

    code, out = run("wait", "--region", REGION, "--delay", "1", "--max-attempts", "2")

    assert code == 0
    lines = out.strip().splitlines()
    assert lines[0].split() == ["0", "s", "InService"]
    assert lines[-1] == f"endpoint alex-embedding-endpoint is InService in {REGION}"


def test_verify_prints_a_passing_checklist_for_the_default_deployment(aws: None) -> None:
    deploy(REGION, serverless={"memory": 4096, "concurrency": 5}, archive=ARCHIVE)
    pooled = [0.6, 0.8] + [0.0] * 382  # the handler's answers: to the client's list, to a text
    queue_results([[pooled], pooled], REGION)

    code, out = run("verify", "--region", REGION)

    assert code == 0
    assert out.splitlines() == [
        f"[ok] endpoint alex-embedding-endpoint in {REGION} is InService",
        "[ok] configuration alex-embedding-config-9a8b7c6 is serverless: 4096 MB, "
        "max concurrency 5",
        "[ok] model alex-embedding-model-1a2b3c4: "
        "HF_MODEL_ID=sentence-transformers/all-MiniLM-L6-v2, HF_TASK=feature-extraction, "
        f"sentence embeddings ({ARCHIVE})",
        "[ok] invocation with 'vectorize me': 384-d vector (expected 384), norm 1.000000",
        "[info] the endpoint's own answer to one text: [384] of float",
        "verified",
    ]


def test_verify_names_the_archive_that_holds_the_model(aws: None) -> None:
    deploy(REGION, archive=ARCHIVE, model_id=None)  # modelSource archive: no HF_MODEL_ID
    pooled = [0.6, 0.8] + [0.0] * 382
    queue_results([[pooled], pooled], REGION)

    code, out = run("verify", "--region", REGION)

    assert code == 0
    assert (
        f"[ok] model alex-embedding-model-1a2b3c4: the model in {ARCHIVE}, "
        "HF_TASK=feature-extraction"
    ) in out.splitlines()
    assert "[info] the endpoint's own answer to one text: [384] of float" in out.splitlines()


def test_verify_says_when_the_endpoint_serves_token_vectors(
    aws: None, token_level: list[Any]
) -> None:
    deploy(REGION)
    queue_results([[token_level[0]], token_level[0]], REGION)

    code, out = run("verify", "--region", REGION)

    assert code == 0
    lines = out.splitlines()
    assert (
        "[ok] model alex-embedding-model-1a2b3c4: "
        "HF_MODEL_ID=sentence-transformers/all-MiniLM-L6-v2, HF_TASK=feature-extraction, "
        "token vectors"
    ) in lines
    shape = "[1][5][384] of float (token vectors: the client pools them)"
    assert f"[info] the endpoint's own answer to one text: {shape}" in lines


def test_verify_accepts_a_realtime_endpoint_and_shows_its_instances(
    aws: None, token_level: list[Any]
) -> None:
    deploy(REGION, instance_type="ml.m5.large")
    queue_results([[token_level[0]], token_level[0]], REGION)

    code, out = run("verify", "--region", REGION)

    assert code == 0
    assert (
        "[ok] configuration alex-embedding-config-9a8b7c6 runs 2 x ml.m5.large (realtime)"
        in out.splitlines()
    )


def test_verify_fails_on_a_wrong_task_and_a_wrong_dimension(aws: None) -> None:
    deploy(REGION, task="text-classification")
    queue_results([[[0.6, 0.8]], [0.6, 0.8]], REGION)

    code, out = run("verify", "--region", REGION)

    assert code == 1
    assert "[FAIL] model alex-embedding-model-1a2b3c4" in out
    assert "[FAIL] invocation with 'vectorize me': 2-d vector (expected 384)" in out
    assert out.rstrip().endswith("2 check(s) failed")


def test_verify_of_a_missing_endpoint_fails_and_skips_the_rest(aws: None) -> None:
    code, out = run("verify", "--region", REGION)

    assert code == 1
    assert out.splitlines() == [
        f"[FAIL] endpoint alex-embedding-endpoint in {REGION}: endpoint 'alex-embedding-endpoint'"
        f" was not found in region {REGION}; check the region (the deployed one is `pulumi stack"
        " output region`) and pass --region or set DEFAULT_AWS_REGION",
        "[skip] configuration and model (no endpoint)",
        "[skip] invocation (endpoint not InService)",
        "1 check(s) failed",
    ]


def test_verify_knows_a_tei_endpoint_has_no_task(aws: None) -> None:
    image = (
        "683313688378.dkr.ecr.us-east-1.amazonaws.com/tei-cpu:2.0.1-tei1.8.2-cpu-py310-ubuntu22.04"
    )
    deploy(REGION, task=None, image=image)
    queue_results([[[0.6, 0.8] * 192]] * 2, REGION)

    code, out = run("verify", "--region", REGION)

    assert code == 0, out
    assert (
        "[ok] model alex-embedding-model-1a2b3c4: HF_MODEL_ID=sentence-transformers/"
        "all-MiniLM-L6-v2, Text Embeddings Inference (tei-cpu:2.0.1-tei1.8.2-cpu-py310-ubuntu22.04)"
    ) in out.splitlines()


def test_verify_fails_a_tei_endpoint_given_a_task(aws: None) -> None:
    image = f"{TEI_REGISTRY}/tei:2.0.1-tei1.8.2-gpu-py310-cu122-ubuntu22.04"
    deploy(REGION, image=image)
    queue_results([[[0.6, 0.8] * 192]] * 2, REGION)

    code, out = run("verify", "--region", REGION)

    assert code == 1
    assert "HF_TASK=feature-extraction (TEI reads no task)" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["wait", "--delay", "-1"], "argument --delay: '-1' is not a whole number from 0 to 3600"),
        (["wait", "--max-attempts", "x"], "argument --max-attempts: 'x' is not a whole number"),
        (["verify", "--dimension", "0"], "argument --dimension: '0' is not a whole number"),
        # No abbreviations: `serve --endpoint x` is not `--endpoint-name x`.
        (["serve", "--endpoint", "x"], "unrecognized arguments: --endpoint x"),
        (["status", "--reg", REGION], "unrecognized arguments: --reg"),
    ],
)
def test_bad_options_are_refused_naming_the_option_and_what_is_allowed(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)

    assert exited.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("command", ["invoke", "status", "wait", "verify"])
def test_every_command_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])

    assert exited.value.code == 0
    help_text = capsys.readouterr().out
    assert "--endpoint" in help_text
    assert "--region" in help_text


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--task", "fill-mask"], "--task has no effect with the sentence-embedding handler"),
        (["--runtime", "tei", "--no-sentence-embeddings"], "--no-sentence-embeddings do not go"),
        (["--runtime", "tei", "--sentence-embeddings"], "--sentence-embeddings do not go"),
    ],
)
def test_serve_refuses_options_its_container_would_ignore(
    argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["serve", "--model", "/no/such/model", *argv])

    assert code == 1  # a configuration error, as for every command
    assert expected in capsys.readouterr().err
