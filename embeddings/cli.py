"""`python -m embeddings`: test, check and call the endpoint the same way on every OS."""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import boto3
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    NoCredentialsError,
    NoRegionError,
    ProfileNotFound,
)

from embeddings.client import MAX_CONCURRENCY, EmbeddingClient
from embeddings.endpoint import (
    EndpointStatus,
    ServingSetup,
    describe_endpoint,
    describe_serving_setup,
    wait_in_service,
)
from embeddings.errors import ConfigurationError, EmbeddingError, InvalidInputError
from embeddings.logs import parse_since, tail
from embeddings.progress import TerminalProgress
from embeddings.retrying import describe
from embeddings.settings import resolve_endpoint_name, resolve_region

if TYPE_CHECKING:
    from mypy_boto3_logs import CloudWatchLogsClient
    from mypy_boto3_sagemaker import SageMakerClient

EXPECTED_DIMENSION = 384
DEFAULT_LOCAL_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
VERIFY_TEXT = "vectorize me"


@dataclass
class Target:
    """The endpoint a command works on, and how to reach it."""

    endpoint_name: str
    region: str
    region_source: str
    session: boto3.Session

    def sagemaker(self) -> SageMakerClient:
        return self.session.client("sagemaker", region_name=self.region)

    def logs(self) -> CloudWatchLogsClient:
        return self.session.client("logs", region_name=self.region)

    def embeddings(self, **options: Any) -> EmbeddingClient:
        """A client for the endpoint; `options` are `EmbeddingClient`'s keyword arguments."""
        return EmbeddingClient(self.endpoint_name, self.region, session=self.session, **options)


def resolve_target(args: argparse.Namespace) -> Target:
    session = boto3.Session(profile_name=args.profile) if args.profile else boto3.Session()
    endpoint = resolve_endpoint_name(args.endpoint)
    region = resolve_region(args.region, boto3_region=session.region_name)
    if not region.value:
        raise ConfigurationError(
            "no AWS region configured; pass --region, or set DEFAULT_AWS_REGION (environment "
            "or .env) or AWS_REGION"
        )
    return Target(str(endpoint.value), region.value, region.source, session)


def _concurrency(value: str) -> int:
    """argparse type for --concurrency: a whole number a serverless endpoint could serve."""
    try:
        number = int(value)
    except ValueError:
        number = 0
    if not 1 <= number <= MAX_CONCURRENCY:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a whole number from 1 to {MAX_CONCURRENCY}"
        )
    return number


def _print_json(value: Any, out: TextIO) -> None:
    out.write(json.dumps(value) + "\n")


def _texts_from_file(path: Path) -> tuple[list[str], bool, Any]:
    """The texts of a payload file, whether it held a single string, and the payload itself."""
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInputError(f"payload file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidInputError(f"payload file {path} cannot be read: {error}") from None
    except json.JSONDecodeError as error:
        raise InvalidInputError(f"payload file {path} is not valid JSON: {error}") from None
    inputs = payload.get("inputs") if isinstance(payload, dict) else None
    if isinstance(inputs, str):
        return [inputs], True, payload
    if isinstance(inputs, list):
        return inputs, False, payload
    raise InvalidInputError(
        f'payload file {path} must be a JSON object with "inputs": a string or a list of '
        'strings, e.g. {"inputs": "vectorize me"}'
    )


def command_invoke(args: argparse.Namespace, out: TextIO) -> int:
    if bool(args.texts) == bool(args.file):
        raise InvalidInputError("give either TEXT arguments or --file PATH, not both or neither")
    if args.raw and args.concurrency != 1:
        raise InvalidInputError("--concurrency is for embedding texts; --raw sends one request")
    if args.file:
        texts, single, payload = _texts_from_file(Path(args.file))
    else:
        texts, single = list(args.texts), len(args.texts) == 1
        payload = {"inputs": texts[0] if single else texts}
    progress = TerminalProgress(sys.stderr)
    client = resolve_target(args).embeddings(concurrency=args.concurrency, on_progress=progress)
    if args.raw:
        _print_json(client.invoke_raw(payload), out)
        return 0
    try:
        vectors = client.embed(texts)
    finally:
        progress.finish()
    _print_json(vectors[0] if single else vectors, out)
    return 0


def _format_time(value: Any) -> str:
    return value.isoformat(sep=" ", timespec="seconds") if value else "-"


def command_status(args: argparse.Namespace, out: TextIO) -> int:
    target = resolve_target(args)
    status = describe_endpoint(target.sagemaker(), target.endpoint_name)
    rows = [
        ("endpoint", status.name),
        ("region", target.region),
        ("status", status.status),
        ("config", status.config_name),
        ("created", _format_time(status.created)),
        ("modified", _format_time(status.modified)),
    ]
    if status.failure_reason:
        rows.append(("failure", status.failure_reason))
    for label, value in rows:
        out.write(f"{label:<9}{value}\n")
    return 0 if status.in_service else 1


def command_wait(args: argparse.Namespace, out: TextIO) -> int:
    target = resolve_target(args)

    def report(status: str, elapsed: float) -> None:
        out.write(f"{elapsed:6.0f} s  {status}\n")
        out.flush()

    final = wait_in_service(
        target.sagemaker(),
        target.endpoint_name,
        delay_seconds=args.delay,
        max_attempts=args.max_attempts,
        on_status=report,
    )
    out.write(f"endpoint {final.name} is {final.status} in {target.region}\n")
    return 0


@dataclass
class Checklist:
    out: TextIO
    failures: int = 0

    def check(self, passed: bool, text: str) -> bool:
        self.out.write(f"[{'ok' if passed else 'FAIL'}] {text}\n")
        self.failures += 0 if passed else 1
        return passed

    def skip(self, text: str) -> None:
        self.out.write(f"[skip] {text}\n")

    def attempt(self, text: str, action: Callable[[], bool]) -> bool:
        """Run a check that may itself fail with an error; the error becomes the reason."""
        try:
            return action()
        except (EmbeddingError, ClientError, BotoCoreError) as error:
            return self.check(
                False, f"{text}: {describe(error) if isinstance(error, ClientError) else error}"
            )


def _capacity(setup: ServingSetup) -> str:
    """How the variant runs: serverless memory and concurrency, or its instances."""
    serverless = setup.serverless
    if serverless:
        provisioned = serverless.get("ProvisionedConcurrency")
        return (
            f"is serverless: {serverless.get('MemorySizeInMB')} MB, max concurrency "
            f"{serverless.get('MaxConcurrency')}"
            + (f", provisioned {provisioned}" if provisioned else "")
        )
    if setup.instance_type:
        return f"runs {setup.instance_count} x {setup.instance_type} (realtime)"
    return "has neither serverless capacity nor instances"


def command_verify(args: argparse.Namespace, out: TextIO) -> int:
    target = resolve_target(args)
    sagemaker = target.sagemaker()
    checks = Checklist(out)
    found: list[EndpointStatus] = []

    def endpoint_check() -> bool:
        status = describe_endpoint(sagemaker, target.endpoint_name)
        found.append(status)
        return checks.check(
            status.in_service,
            f"endpoint {status.name} in {target.region} is {status.status}"
            + (f" ({status.failure_reason})" if status.failure_reason else ""),
        )

    checks.attempt(f"endpoint {target.endpoint_name} in {target.region}", endpoint_check)
    if not found:
        checks.skip("configuration and model (no endpoint)")
    else:
        status = found[0]

        def setup_check() -> bool:
            setup = describe_serving_setup(sagemaker, status.config_name)
            checks.check(
                setup.serverless is not None or setup.instance_type is not None,
                f"configuration {status.config_name} {_capacity(setup)}",
            )
            model_id = setup.environment.get("HF_MODEL_ID")
            task = setup.environment.get("HF_TASK")
            if setup.runs_tei:
                # Text Embeddings Inference has no task: it pools (one vector per text).
                return checks.check(
                    bool(model_id) and task is None,
                    f"model {setup.model_name}: HF_MODEL_ID={model_id}, Text Embeddings "
                    f"Inference ({setup.image.rsplit('/', 1)[-1]})"
                    + (f", HF_TASK={task} (TEI reads no task)" if task is not None else ""),
                )
            return checks.check(
                bool(model_id) and task == "feature-extraction",
                f"model {setup.model_name}: HF_MODEL_ID={model_id}, HF_TASK={task}",
            )

        checks.attempt(f"configuration {status.config_name}", setup_check)

    def invocation_check() -> bool:
        vector = target.embeddings().embed_one(args.text)
        norm = math.sqrt(math.fsum(x * x for x in vector))
        return checks.check(
            len(vector) == args.dimension and abs(norm - 1.0) < 1e-3,
            f"invocation with {args.text!r}: {len(vector)}-d vector (expected {args.dimension}), "
            f"norm {norm:.6f}",
        )

    if found and found[0].in_service:
        checks.attempt("invocation", invocation_check)
    else:
        checks.skip("invocation (endpoint not InService)")
    out.write("verified\n" if checks.failures == 0 else f"{checks.failures} check(s) failed\n")
    return 0 if checks.failures == 0 and found and found[0].in_service else 1


def command_logs(args: argparse.Namespace, out: TextIO) -> int:
    target = resolve_target(args)
    try:
        since = parse_since(args.since)
    except ValueError as error:
        raise InvalidInputError(f"--since: {error}") from None

    def emit(event: Any) -> None:
        out.write(event.format() + "\n")
        out.flush()

    count = tail(
        target.logs(),
        target.endpoint_name,
        since=since,
        follow=args.follow,
        emit=emit,
        poll_seconds=args.poll,
        follow_seconds=args.follow_for,
    )
    if count == 0:
        out.write(f"no log events in the last {args.since}\n")
    return 0


def command_serve(args: argparse.Namespace, out: TextIO) -> int:
    import logging
    import os

    from container import INFERENCE_SCRIPT
    from embeddings.server import ServeOptions, serve

    if args.runtime == "tei":
        # TEI always pools and has no task: options that choose either would be ignored.
        for given, option in (
            (args.sentence_embeddings, "--sentence-embeddings"),
            (args.task, "--task"),
        ):
            if given:
                raise ConfigurationError(
                    f"--runtime tei and {option} do not go together: Text Embeddings Inference "
                    "always returns one pooled vector per text and has no task"
                )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    model_source = (
        "--model" if args.model else "HF_MODEL_ID" if os.environ.get("HF_MODEL_ID") else "model"
    )
    task_source = "--task" if args.task else "HF_TASK"
    options = ServeOptions(
        model=args.model or os.environ.get("HF_MODEL_ID") or DEFAULT_LOCAL_MODEL,
        task=args.task or os.environ.get("HF_TASK") or "feature-extraction",
        revision=args.revision or os.environ.get("HF_MODEL_REVISION") or None,
        host=args.host,
        port=args.port,
        max_concurrency=args.max_concurrency,
        model_source=model_source,
        task_source=task_source,
        endpoint_name=args.endpoint_name,
        serverless=args.serverless,
        handler_path=INFERENCE_SCRIPT if args.sentence_embeddings else None,
        runtime=args.runtime,
    )
    return serve(options)


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    where = common.add_argument_group("endpoint")
    where.add_argument(
        "--endpoint",
        help="endpoint name (default: $SAGEMAKER_ENDPOINT, then .env, "
        "then alex-embedding-endpoint)",
    )
    where.add_argument(
        "--region",
        help="AWS region (default: $DEFAULT_AWS_REGION, then .env, then the AWS configuration)",
    )
    where.add_argument("--profile", help="AWS profile to use (default: the usual AWS chain)")

    parser = argparse.ArgumentParser(
        prog="python -m embeddings",
        description="Call, check and follow the Alex SageMaker embedding endpoint.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    invoke = commands.add_parser(
        "invoke",
        parents=[common],
        help="print sentence embeddings of texts as JSON",
        description="Print one 384-float sentence embedding per text (a single array for one "
        "text). Token vectors from the endpoint are mean-pooled and L2-normalised.",
    )
    invoke.add_argument("texts", nargs="*", metavar="TEXT", help="texts to embed")
    invoke.add_argument(
        "--file", help='JSON payload such as vectorize_me.json: {"inputs": "text" or [...]}'
    )
    invoke.add_argument(
        "--raw", action="store_true", help="send the payload as is and print the endpoint's JSON"
    )
    invoke.add_argument(
        "--concurrency",
        type=_concurrency,
        default=1,
        metavar="N",
        help=f"requests in flight at once, 1-{MAX_CONCURRENCY} (1); up to the endpoint's "
        "max concurrency pays off, beyond it requests are throttled",
    )
    invoke.set_defaults(handler=command_invoke)

    status = commands.add_parser(
        "status",
        parents=[common],
        help="show the endpoint's status; exit 0 only when InService",
        description="Show status, creation and last-modified times and, when Failed, the reason.",
    )
    status.set_defaults(handler=command_status)

    wait = commands.add_parser(
        "wait",
        parents=[common],
        help="wait until the endpoint is InService",
        description="Poll with botocore's endpoint_in_service waiter, printing each status change; "
        "stop at once if the endpoint fails.",
    )
    wait.add_argument("--delay", type=int, default=30, help="seconds between checks (30)")
    wait.add_argument("--max-attempts", type=int, default=120, help="checks before giving up (120)")
    wait.set_defaults(handler=command_wait)

    verify = commands.add_parser(
        "verify",
        parents=[common],
        help="check the deployment end to end",
        description="Check that the endpoint is InService, serverless, runs the expected model, "
        "and returns a unit-length embedding of the right dimension.",
    )
    verify.add_argument("--text", default=VERIFY_TEXT, help=f"text to embed ({VERIFY_TEXT!r})")
    verify.add_argument(
        "--dimension", type=int, default=EXPECTED_DIMENSION, help="expected dimension (384)"
    )
    verify.set_defaults(handler=command_verify)

    logs = commands.add_parser(
        "logs",
        parents=[common],
        help="print the endpoint's CloudWatch log events",
        description="Print events of /aws/sagemaker/Endpoints/<endpoint>.",
    )
    logs.add_argument("--since", default="10m", help="how far back: 30s, 10m, 2h, 1d (10m)")
    logs.add_argument("--follow", action="store_true", help="keep printing new events")
    logs.add_argument("--poll", type=float, default=5.0, help="seconds between polls (5)")
    logs.add_argument(
        "--follow-for", type=float, default=600.0, help="stop following after this many seconds"
    )
    logs.set_defaults(handler=command_logs)

    serve = commands.add_parser(
        "serve",
        help="run the model locally behind the same API (no AWS account, no Docker)",
        description="Serve the model on this machine the way the HuggingFace container does, "
        "behind SageMaker's InvokeEndpoint and the Describe* calls `status`, `wait` and "
        "`verify` make. Point boto3 at it with AWS_ENDPOINT_URL=http://127.0.0.1:8080 (any "
        "credentials do). Needs requirements-local.txt.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080, help="port to bind (8080)")
    serve.add_argument(
        "--model",
        help=f"Hub id or local directory (default: $HF_MODEL_ID, then {DEFAULT_LOCAL_MODEL})",
    )
    serve.add_argument("--task", help="pipeline task (default: $HF_TASK, then feature-extraction)")
    serve.add_argument("--revision", help="Hub revision (default: $HF_MODEL_REVISION)")
    serve.add_argument(
        "--max-concurrency",
        type=int,
        default=4,
        metavar="N",
        help="InvokeEndpoint calls in progress at once, one running and the rest waiting "
        "their turn; more get ThrottlingException, as from SageMaker (4)",
    )
    serve.add_argument(
        "--endpoint-name",
        help="answer only this endpoint name, like SageMaker would (default: any name)",
    )
    serve.add_argument(
        "--serverless",
        action="store_true",
        help="serverless limits: 4 MB requests and answers instead of 6 MB",
    )
    serve.add_argument(
        "--runtime",
        choices=("huggingface", "tei"),
        default="huggingface",
        help="the container to emulate: huggingface, the SageMaker HuggingFace inference "
        "image (token vectors unless --sentence-embeddings; the default), or tei, Text "
        "Embeddings Inference 1.8.2 (TEI's /embed contract: one pooled, normalised vector "
        "per text, its limits and error answers, dynamic batching)",
    )
    serve.add_argument(
        "--sentence-embeddings",
        action="store_true",
        help="serve through container/inference.py, as the endpoint does with "
        "sentenceEmbeddings on: one pooled vector per text instead of token vectors",
    )
    serve.set_defaults(handler=command_serve)
    return parser


def _one_line(error: BaseException) -> str:
    if isinstance(error, NoCredentialsError):
        return (
            "no AWS credentials found; run `aws configure`, or set AWS_PROFILE or "
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        )
    if isinstance(error, ClientError):
        return describe(error)
    return " ".join(str(error).split())


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace, TextIO], int] = args.handler
    try:
        return handler(args, out or sys.stdout)
    except KeyboardInterrupt:
        return 130
    except (
        EmbeddingError,
        ClientError,
        NoRegionError,
        ProfileNotFound,
        BotoCoreError,
    ) as error:
        print(f"error: {_one_line(error)}", file=sys.stderr)
        return 1
