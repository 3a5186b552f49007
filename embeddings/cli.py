"""`python -m embeddings`: call and check the endpoint the same way on every OS."""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TextIO, TypeVar

from boto3 import Session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from embeddings import pooling
from embeddings.client import (
    CONNECT_TIMEOUT_SECONDS,
    DEFAULT_DEADLINE_SECONDS,
    MAX_CONCURRENCY,
    EmbeddingClient,
    check_texts,
)
from embeddings.endpoint import describe_endpoint, runs_tei, serving_setup, wait_in_service
from embeddings.errors import (
    LOCAL_INSTALL,
    ConfigurationError,
    EmbeddingError,
    InvalidInputError,
    describe,
    endpoint_url_refused,
    from_botocore,
)
from embeddings.progress import TerminalProgress
from embeddings.retrying import CONNECT_ATTEMPTS, RetryPolicy, never_answered
from embeddings.settings import DEFAULT_ENDPOINT_NAME, resolve

if TYPE_CHECKING:
    from mypy_boto3_sagemaker import SageMakerClient
    from mypy_boto3_sagemaker.type_defs import ProductionVariantOutputTypeDef

N = TypeVar("N", int, float)
DEFAULT_LOCAL_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
CONTROL_PLANE = Config(connect_timeout=CONNECT_TIMEOUT_SECONDS, retries={"mode": "standard"})
"""status, wait and verify: botocore's standard retries (3 attempts), and a host that never
accepts given 5 s an attempt, not botocore's default 60."""


def _bounded(kind: type[N], low: N, high: N) -> Callable[[str], N]:
    """An argparse type: a number of `kind` from `low` to `high`, or an error that says so."""

    def parse(text: str) -> N:
        with contextlib.suppress(ValueError):
            if low <= (value := kind(text)) <= high:  # NaN compares false
                return value
        noun = "whole number" if kind is int else "number"
        raise argparse.ArgumentTypeError(f"{text!r} is not a {noun} from {low} to {high}")

    return parse


def _target(args: argparse.Namespace) -> tuple[Session, str, str]:
    """The session, endpoint name and region a command works on."""
    session = Session(profile_name=args.profile) if args.profile else Session()
    return (session, *resolve(args.endpoint, args.region, session))


def _control_plane(args: argparse.Namespace) -> tuple[SageMakerClient, str, str]:
    """The SageMaker client, endpoint name and region that status, wait and verify work on."""
    session, endpoint, region = _target(args)
    try:
        return (
            session.client("sagemaker", region_name=region, config=CONTROL_PLANE),
            endpoint,
            region,
        )
    except ValueError as error:
        raise endpoint_url_refused(error) from None


def _client(
    args: argparse.Namespace, progress: TerminalProgress | None = None, **options: Any
) -> EmbeddingClient:
    """A client that says on stderr, when it is a terminal, what it is waiting for when it first
    retries an error of a kind: a cold start, a wrong region or a local endpoint not started is
    otherwise silence."""
    seen: set[str] = set()
    terminal = progress or TerminalProgress(sys.stderr)

    def note(attempt: int, error: BaseException, pause: float) -> None:
        kind = describe(error).split(":")[0]
        if kind not in seen:
            seen.add(kind)
            if never_answered(error):
                until = f"attempt {attempt} of {CONNECT_ATTEMPTS}"
            else:
                until = f"retrying until the {DEFAULT_DEADLINE_SECONDS:.0f} s deadline"
            where = f"endpoint {client.endpoint_name} at {client.runtime.meta.endpoint_url}"
            terminal.note(f"waiting for {where} ({until}): {describe(error)}")

    session, endpoint, region = _target(args)
    policy = RetryPolicy(deadline_seconds=DEFAULT_DEADLINE_SECONDS, on_retry=note)
    client = EmbeddingClient(endpoint, region, session=session, retry_policy=policy, **options)
    return client


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InvalidInputError(f"payload file {path} does not exist") from None
    except OSError as error:
        raise InvalidInputError(f"payload file {path} cannot be read: {error}") from None


def _read_payload(path: Path) -> dict[str, Any]:
    try:
        payload = json.loads(_read_bytes(path).decode("utf-8"))
    except UnicodeDecodeError as error:
        raise InvalidInputError(f"payload file {path} cannot be read: {error}") from None
    except (ValueError, RecursionError) as error:
        raise InvalidInputError(f"payload file {path} is not valid JSON: {error}") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("inputs"), str | list):
        raise InvalidInputError(
            f'payload file {path} must be a JSON object with "inputs": a string or a list of '
            'strings, e.g. {"inputs": "vectorize me"}'
        )
    return payload


def command_invoke(args: argparse.Namespace, out: TextIO | None) -> int:
    if bool(args.texts) == bool(args.file):
        raise InvalidInputError("give either TEXT arguments or --file PATH, not both or neither")
    if args.raw and args.concurrency != 1:
        raise InvalidInputError("--concurrency is for embedding texts; --raw sends one request")
    texts = {"inputs": args.texts[0] if len(args.texts) == 1 else args.texts}
    if args.raw:  # the payload as given, the endpoint's bytes as they come
        body = _read_bytes(Path(args.file)) if args.file else json.dumps(texts).encode()
        answer = _client(args).invoke_bytes(body)
        stream = out or sys.stdout
        if hasattr(stream, "buffer"):
            stream.flush()
            stream.buffer.write(answer)
            stream.buffer.flush()
        else:
            stream.write(answer.decode(errors="replace"))
        return 0
    payload = _read_payload(Path(args.file)) if args.file else texts
    progress = TerminalProgress(sys.stderr)
    client = _client(args, progress, concurrency=args.concurrency, on_progress=progress)
    inputs = payload["inputs"]
    try:
        vectors = client.embed([inputs] if isinstance(inputs, str) else inputs)
    finally:
        progress.finish()
    print(json.dumps(vectors[0] if isinstance(inputs, str) else vectors), file=out)
    return 0


def command_status(args: argparse.Namespace, out: TextIO | None) -> int:
    sagemaker, endpoint, region = _control_plane(args)
    status = describe_endpoint(sagemaker, endpoint)
    rows = {
        "endpoint": status["EndpointName"],
        "region": region,
        "status": status["EndpointStatus"],
        "config": status.get("EndpointConfigName", "-"),
        "created": str(status.get("CreationTime", "-"))[:19],  # to the second, no zone
        "modified": str(status.get("LastModifiedTime", "-"))[:19],
        "failure": status.get("FailureReason"),
    }
    print("\n".join(f"{label:<9}{value}" for label, value in rows.items() if value), file=out)
    return 0 if status["EndpointStatus"] == "InService" else 1


def command_wait(args: argparse.Namespace, out: TextIO | None) -> int:
    sagemaker, endpoint, region = _control_plane(args)
    final = wait_in_service(
        sagemaker,
        endpoint,
        delay_seconds=args.delay,
        max_attempts=args.max_attempts,
        on_status=lambda status, seconds: print(
            f"{seconds:6.0f} s  {status}", file=out, flush=True
        ),
    )
    print(f"endpoint {final['EndpointName']} is {final['EndpointStatus']} in {region}", file=out)
    return 0


def _capacity(variant: ProductionVariantOutputTypeDef) -> str:
    """How the variant runs: serverless memory and concurrency, or its instances."""
    serverless = variant.get("ServerlessConfig")
    if serverless:
        provisioned = serverless.get("ProvisionedConcurrency")
        return (
            f"is serverless: {serverless.get('MemorySizeInMB')} MB, max concurrency "
            f"{serverless.get('MaxConcurrency')}"
            + (f", provisioned {provisioned}" if provisioned else "")
        )
    if variant.get("InstanceType"):
        return f"runs {variant.get('InitialInstanceCount')} x {variant['InstanceType']} (realtime)"
    return "has neither serverless capacity nor instances"


def command_verify(args: argparse.Namespace, out: TextIO | None) -> int:
    """InService, capacity, the expected model (TEI, or the HF task), a unit vector of the size."""
    check_texts([args.text])
    sagemaker, endpoint, region = _control_plane(args)
    failures = 0

    def check(passed: bool, text: str) -> None:
        nonlocal failures
        print(f"[{'ok' if passed else 'FAIL'}] {text}", file=out)
        failures += not passed

    def attempt(text: str, action: Callable[[], Any]) -> Any:
        """The action's result, or None after a failed check whose reason is its error."""
        try:
            return action()
        except (EmbeddingError, ClientError, BotoCoreError) as error:
            check(False, f"{text}: {_one_line(error)}")
            return None

    status = attempt(
        f"endpoint {endpoint} in {region}", lambda: describe_endpoint(sagemaker, endpoint)
    )
    in_service = status is not None and status["EndpointStatus"] == "InService"
    if status is None:
        print("[skip] configuration and model (no endpoint)", file=out)
    else:
        reason = f" ({status['FailureReason']})" if status.get("FailureReason") else ""
        check(in_service, f"endpoint {endpoint} in {region} is {status['EndpointStatus']}{reason}")
        config = status["EndpointConfigName"]
        setup = attempt(f"configuration {config}", lambda: serving_setup(sagemaker, config))
        if setup is not None:
            variant, container = setup
            check(
                bool(variant.get("ServerlessConfig") or variant.get("InstanceType")),
                f"configuration {config} {_capacity(variant)}",
            )
            environment, image = container.get("Environment", {}), container.get("Image", "")
            model_id, task = environment.get("HF_MODEL_ID"), environment.get("HF_TASK")
            tei = runs_tei(image)  # Text Embeddings Inference pools and reads no task
            archive = container.get("ModelDataUrl")
            # No Hub model: the archive holds it (modelSource archive); the answer shows its kind.
            source = f"HF_MODEL_ID={model_id}" if model_id else f"the model in {archive}"
            text = f"model {variant['ModelName']}: {source}"
            text += f", Text Embeddings Inference ({image.rsplit('/', 1)[-1]})" if tei else ""
            text += (f", HF_TASK={task}" if task or not tei else "") + (
                " (TEI reads no task)" if tei and task else ""
            )
            if not tei and model_id:  # the handler's archive pools; else the client pools
                text += f", sentence embeddings ({archive})" if archive else ", token vectors"
            wanted_task = None if tei else "feature-extraction"
            check(bool(model_id or archive) and task == wanted_task, text)
    if in_service:
        vector = attempt("invocation", lambda: _client(args).embed_one(args.text))
        if vector is not None:
            norm = math.sqrt(math.fsum(x * x for x in vector))
            check(
                len(vector) == args.dimension and abs(norm - 1.0) < 1e-3,
                f"invocation with {args.text!r}: {len(vector)}-d vector (expected "
                f"{args.dimension}), norm {norm:.6f}",
            )
            # What the app's own parsing of the raw answer meets: [384] from the handler.
            raw = attempt("raw answer", lambda: _client(args).invoke_raw({"inputs": args.text}))
            if raw is not None:
                shape = pooling.describe_shape(raw)
                tokens = " (token vectors: the client pools them)" if shape.count("[") > 2 else ""
                print(f"[info] the endpoint's own answer to one text: {shape}{tokens}", file=out)
    else:
        print("[skip] invocation (endpoint not InService)", file=out)
    print("verified" if failures == 0 else f"{failures} check(s) failed", file=out)
    return 0 if failures == 0 else 1


LOCAL_MODULES: Final = (
    "huggingface_hub", "numpy", "pydantic", "sentence_transformers", "starlette", "tokenizers",
    "torch", "transformers", "uvicorn",
)  # fmt: skip
"""What the local endpoint imports (tests/test_requirements.py holds it to embeddings/server/)."""


def command_serve(args: argparse.Namespace, out: TextIO | None) -> int:
    import importlib.util
    import logging

    missing = [name for name in LOCAL_MODULES if importlib.util.find_spec(name) is None]
    if missing:  # the client installed without its [local] extra: said before anything starts
        raise ConfigurationError(LOCAL_INSTALL.format(", ".join(missing)))
    from embeddings.server import ServeOptions, serve
    from embeddings.server.deployed import INFERENCE_SCRIPT

    handler = args.sentence_embeddings  # None: on for the huggingface runtime, as deployed
    if args.runtime == "tei" and (handler is not None or args.task):
        option = "--task" if args.task else f"--{'' if handler else 'no-'}sentence-embeddings"
        raise ConfigurationError(  # TEI always pools and has no task: the option would be ignored
            f"--runtime tei and {option} do not go together: Text Embeddings Inference always "
            "returns one pooled vector per text and has no task"
        )
    if handler is None:
        handler = args.runtime == "huggingface"
    if handler and args.task:
        raise ConfigurationError(
            "--task has no effect with the sentence-embedding handler (the default): it always "
            "pools; add --no-sentence-embeddings to serve the task's pipeline"
        )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    model_source = (
        "--model" if args.model else "HF_MODEL_ID" if os.environ.get("HF_MODEL_ID") else "model"
    )
    options = ServeOptions(
        model=args.model or os.environ.get("HF_MODEL_ID") or DEFAULT_LOCAL_MODEL,
        # The handler always pools: its container's HF_TASK is feature-extraction, as deployed.
        task=(None if handler else args.task or os.environ.get("HF_TASK")) or "feature-extraction",
        revision=args.revision or os.environ.get("HF_MODEL_REVISION") or None,
        host=args.host,
        port=args.port,
        max_concurrency=args.max_concurrency,
        model_source=model_source,
        task_source="--task" if args.task else "HF_TASK",
        endpoint_name=args.endpoint_name,
        serverless=args.serverless,
        handler_path=INFERENCE_SCRIPT if handler else None,  # never with TEI (refused above)
        runtime=args.runtime,
    )
    return serve(options)


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    where = common.add_argument_group("endpoint")
    where.add_argument("--endpoint", help=f"$SAGEMAKER_ENDPOINT, .env, {DEFAULT_ENDPOINT_NAME}")
    where.add_argument("--region", help="$DEFAULT_AWS_REGION, .env, the AWS configuration")
    where.add_argument("--profile", help="AWS profile (default: the usual AWS chain)")
    # No abbreviations: `serve --endpoint x` must not quietly mean `--endpoint-name x`.
    parser = argparse.ArgumentParser(
        prog="python -m embeddings",
        description="Call and check the embedding endpoint.",
        allow_abbrev=False,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, handler: Any, summary: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(
            name, parents=[common], help=summary, description=summary, allow_abbrev=False
        )
        sub.set_defaults(handler=handler)
        return sub

    invoke = command("invoke", command_invoke, "print sentence embeddings of texts as JSON")
    invoke.add_argument("texts", nargs="*", metavar="TEXT", help="texts to embed")
    invoke.add_argument("--file", help='JSON payload such as vectorize_me.json: {"inputs": ...}')
    invoke.add_argument("--raw", action="store_true", help="print the endpoint's own JSON")
    invoke.add_argument(
        "--concurrency",
        type=_bounded(int, 1, MAX_CONCURRENCY),
        default=1,
        metavar="N",
        help=f"requests in flight at once, 1-{MAX_CONCURRENCY} (1)",
    )
    command("status", command_status, "show the endpoint's status; exit 0 only when InService")
    wait = command("wait", command_wait, "wait until InService, printing each status change")
    delay, attempts = _bounded(int, 0, 3600), _bounded(int, 1, 100_000)
    wait.add_argument("--delay", type=delay, default=30, help="seconds between checks (30)")
    wait.add_argument("--max-attempts", type=attempts, default=120, help="checks at most (120)")
    verify = command("verify", command_verify, "check the deployment end to end")
    verify.add_argument("--text", default="vectorize me", help="text to embed (vectorize me)")
    dimension = _bounded(int, 1, 100_000)
    verify.add_argument("--dimension", type=dimension, default=384, help="expected (384)")

    serve = commands.add_parser(
        "serve",
        allow_abbrev=False,
        help="run the model locally behind the same API (no AWS account, no Docker)",
        description="Serve the model behind SageMaker's InvokeEndpoint and the Describe* calls "
        "status, wait and verify make; point boto3 at it with AWS_ENDPOINT_URL=http://127.0.0.1"
        ":8080 (any credentials do). Needs requirements-local.txt.",
    )
    serve.set_defaults(handler=command_serve)
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    port = _bounded(int, 1, 65535)
    serve.add_argument("--port", type=port, default=8080, help="port to bind (8080)")
    serve.add_argument("--model", help=f"Hub id or directory ($HF_MODEL_ID, {DEFAULT_LOCAL_MODEL})")
    serve.add_argument("--task", help="pipeline task ($HF_TASK, feature-extraction)")
    serve.add_argument("--revision", help="Hub revision ($HF_MODEL_REVISION)")
    many = "calls at once, one running (4); more get ThrottlingException"
    calls = _bounded(int, 1, MAX_CONCURRENCY)
    serve.add_argument("--max-concurrency", type=calls, default=4, metavar="N", help=many)
    serve.add_argument("--endpoint-name", help="answer only this endpoint name (default: any)")
    serve.add_argument("--serverless", action="store_true", help="4 MB limits instead of 6 MB")
    runtimes = "huggingface (the SageMaker HF image, default) or tei (Text Embeddings Inference)"
    serve.add_argument(
        "--runtime", choices=("huggingface", "tei"), default="huggingface", help=runtimes
    )
    pooled = "container/inference.py's one pooled vector per text (default), or token vectors"
    serve.add_argument(
        "--sentence-embeddings", action=argparse.BooleanOptionalAction, default=None, help=pooled
    )
    return parser


def _one_line(error: BaseException) -> str:
    if isinstance(error, ClientError | BotoCoreError):
        error = from_botocore(error)
    return " ".join(str(error).split())


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args, out))  # print(file=None): stdout, or nothing if closed
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader left (`| head`): stop quietly, as other tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except (EmbeddingError, ClientError, BotoCoreError) as error:
        print(f"error: {_one_line(error)}", file=sys.stderr)
        return 1
