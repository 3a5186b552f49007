"""Run Pulumi programs against mocks and record what the engine would have been told.

The stock `MockMonitor` keeps each resource's final state but forgets the parent, the
dependencies and the secret-output requests; this one records them so tests can assert the
dependency graph and the secret handling that a real `pulumi up` relies on.
"""

from __future__ import annotations

import asyncio
import hashlib
import runpy
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TypeVar

import pulumi
from pulumi.runtime import rpc, settings
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs, Mocks
from pulumi.runtime.stack import run_pulumi_func

from components.errors import InvalidSettingsError

PROJECT: Final = "alex-sagemaker"
PROGRAM: Final = Path(__file__).resolve().parent.parent / "__main__.py"
STACK: Final = "dev"
OWN_STACK: Final = f"organization/{PROJECT}/{STACK}"
"""The program's reference to its own last deployment, as Pulumi's local backend names it."""
ACCOUNT_ID: Final = "123456789012"

# Registry accounts as the provider's table has them (FACTS.md section 4); the mock plays the
# provider, so the test asserts that whatever account it answers ends up in the image and policy.
REGISTRY_ACCOUNTS: Final = {
    "us-east-1": "763104351884",
    "us-west-2": "763104351884",
    "eu-west-1": "763104351884",
    "eu-central-1": "763104351884",
    "ap-east-1": "871362719292",
    "af-south-1": "626614931356",
    "cn-north-1": "727897471807",
    "us-gov-west-1": "442386744353",
}
"""The deep-learning-container registries (huggingface-pytorch-inference), as the provider's
prebuiltECRImageIDByRegion_deepLearning lists them."""
ALGORITHM_REGISTRY_ACCOUNTS: Final = {
    "us-east-1": "683313688378",
    "us-west-2": "246618743249",
    "eu-west-1": "141502667606",
    "eu-central-1": "492215442770",
    "ap-east-1": "651117190479",
    "af-south-1": "510948584623",
    "cn-north-1": "450853457545",
    "us-gov-west-1": "414596584902",
}
"""SageMaker's algorithm registries (tei, tei-cpu), as prebuiltECRImageIDByRegion_XGBoost lists
them (the same accounts as the SageMaker SDK's huggingface-tei.json)."""


T = TypeVar("T")


@dataclass
class Registration:
    """One RegisterResource call as the engine saw it."""

    type: str
    name: str
    urn: str
    parent: str
    dependencies: list[str]
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    additional_secret_outputs: list[str]
    secret_inputs: list[str]
    """Top-level input properties that reach the engine marked secret."""
    delete_before_replace: bool | None = None
    """The option as the program set it (None: the provider decides)."""
    retain_on_delete: bool = False
    replacement_trigger: Any = None


@dataclass
class Invocation:
    token: str
    args: dict[str, Any]


def _autoname(logical_name: str) -> str:
    """What Pulumi's auto-naming would produce: the logical name and 7 hex characters."""
    return f"{logical_name}-{hashlib.sha256(logical_name.encode()).hexdigest()[:7]}"


class AwsMocks(Mocks):
    """Plays the AWS and time providers: echoes inputs and fills in names, ids and ARNs."""

    def __init__(self, region: str, stack_outputs: dict[str, dict[str, Any]] | None = None) -> None:
        self.region = region
        self.invocations: list[Invocation] = []
        self.stack_outputs = stack_outputs or {}
        """Outputs of other stacks, by stack name, for StackReferences."""
        self.provider_regions: dict[str, str] = {}
        """Region of each explicit AWS provider, by its id: invokes through it answer for it."""

    def call(self, args: MockCallArgs) -> dict[str, Any]:  # type: ignore[override]
        self.invocations.append(Invocation(args.token, dict(args.args)))
        token = args.token
        provider_region = self.provider_regions.get((args.provider or "").rsplit("::", 1)[-1])
        region = provider_region or self.region
        if token == "aws:index/getRegion:getRegion":
            return {"id": region, "name": region, "region": region}
        if token == "aws:index/getPartition:getPartition":
            gov = "-gov-" in self.region
            partition = (
                "aws-cn" if self.region.startswith("cn-") else "aws-us-gov" if gov else "aws"
            )
            return {"id": partition, "partition": partition, "dnsSuffix": "amazonaws.com"}
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "id": ACCOUNT_ID,
                "accountId": ACCOUNT_ID,
                "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/deployer",
                "userId": "AIDAEXAMPLE",
            }
        if token == "aws:sagemaker/getPrebuiltEcrImage:getPrebuiltEcrImage":
            region = args.args.get("region") or region
            repository, tag = args.args["repositoryName"], args.args["imageTag"]
            accounts = (
                ALGORITHM_REGISTRY_ACCOUNTS if repository.startswith("tei") else REGISTRY_ACCOUNTS
            )
            registry = accounts[region]
            return {
                "id": registry,
                "registryId": registry,
                "registryPath": f"{registry}.dkr.ecr.{region}.amazonaws.com/{repository}:{tag}",
                "repositoryName": repository,
                "imageTag": tag,
                "region": region,
                "dnsSuffix": "amazonaws.com",
            }
        raise AssertionError(f"the program made an unexpected invoke: {token}")

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        if args.typ == "pulumi:pulumi:StackReference":
            stack = args.inputs["name"]
            return stack, {
                "name": stack,
                # The program's own stack has no outputs before its first deployment.
                "outputs": self.stack_outputs[stack]
                if stack != OWN_STACK
                else self.stack_outputs.get(stack, {}),
                "secretOutputNames": [],
            }
        state = dict(args.inputs)
        if args.typ == "pulumi:providers:aws":
            self.provider_regions[f"{args.name}-id"] = state["region"]
            return f"{args.name}-id", state
        if args.typ == "aws:s3/bucket:Bucket":
            # A bucket's id is its name; the provider lower-cases auto-names of buckets.
            bucket = state.get("bucket") or _autoname(args.name).lower()
            state.update(bucket=bucket, arn=f"arn:aws:s3:::{bucket}")
            return bucket, state
        name = state.get("name") or _autoname(args.name)
        state["name"] = name
        arn_suffix = {
            "aws:iam/role:Role": f"iam::{ACCOUNT_ID}:role/{name}",
            "aws:sns/topic:Topic": f"sns:{self.region}:{ACCOUNT_ID}:{name}",
            "aws:sagemaker/model:Model": f"sagemaker:{self.region}:{ACCOUNT_ID}:model/{name}",
            "aws:sagemaker/endpointConfiguration:EndpointConfiguration": (
                f"sagemaker:{self.region}:{ACCOUNT_ID}:endpoint-config/{name}"
            ),
            "aws:sagemaker/endpoint:Endpoint": (
                f"sagemaker:{self.region}:{ACCOUNT_ID}:endpoint/{name}"
            ),
        }.get(args.typ)
        if arn_suffix is not None:
            # SageMaker lower-cases resource names inside its ARNs.
            sagemaker = args.typ.startswith("aws:sagemaker/")
            state["arn"] = f"arn:aws:{arn_suffix.lower() if sagemaker else arn_suffix}"
        return f"{name}-id", state


class RecordingMonitor(MockMonitor):
    """A mock monitor that also keeps the request fields the stock one drops."""

    def __init__(self, mocks: AwsMocks) -> None:
        super().__init__(mocks)
        self.registrations: list[Registration] = []

    def ReadResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        """Reads (StackReferences, `.get()`s) are registrations too, with the state read."""
        response = super().ReadResource(request)  # type: ignore[no-untyped-call]
        self._record(request, response, request.properties)
        return response

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type != "pulumi:pulumi:Stack":
            self._record(request, response, request.object)
        return response

    def _record(self, request: Any, response: Any, properties: Any) -> None:
        wrapped = rpc.deserialize_properties(properties)
        secret_inputs = sorted(key for key, value in wrapped.items() if rpc.is_rpc_secret(value))
        inputs, _ = rpc.deserialize_properties_unwrap_secrets(properties, keep_internal=False)
        registered = self.resources.get(response.urn)
        self.registrations.append(
            Registration(
                type=request.type,
                name=request.name,
                urn=response.urn,
                parent=request.parent,
                dependencies=list(request.dependencies),
                inputs=inputs,
                outputs=dict(registered.state) if registered else {},
                additional_secret_outputs=list(request.additionalSecretOutputs),
                secret_inputs=secret_inputs,
                delete_before_replace=(
                    request.deleteBeforeReplace
                    if getattr(request, "deleteBeforeReplaceDefined", False)
                    else None
                ),
                retain_on_delete=bool(getattr(request, "retainOnDelete", False)),
                replacement_trigger=_plain(getattr(request, "replacement_trigger", None)),
            )
        )


def _plain(value: Any) -> Any:
    """A protobuf Value of a scalar as Python (None when unset)."""
    kind = value.WhichOneof("kind") if value is not None else None
    return None if kind in (None, "null_value") else getattr(value, kind)


@dataclass
class PulumiHarness:
    """A fresh Pulumi runtime with mocks, for one test."""

    region: str
    mocks: AwsMocks
    monitor: RecordingMonitor
    loop: asyncio.AbstractEventLoop

    def run(self, program: Callable[[], T]) -> T:
        """Run `program` as a Pulumi program and wait for every registration to finish."""
        holder: list[T] = []

        def body() -> None:
            holder.append(program())

        self.loop.run_until_complete(run_pulumi_func(body))
        return holder[0]

    def run_program(self, program: Path = PROGRAM) -> dict[str, Any]:
        """Run a Pulumi program file as `pulumi up` would and return its resolved exports."""
        self.run(lambda: runpy.run_path(str(program), run_name="__main__"))
        return self.exports()

    def resolve(self, value: Any) -> Any:
        """The value an Output settles to."""
        return self.loop.run_until_complete(pulumi.Output.from_input(value).future())

    def is_secret(self, value: Any) -> bool:
        return bool(self.loop.run_until_complete(pulumi.Output.from_input(value).is_secret()))

    def exports(self) -> dict[str, Any]:
        root = settings.get_root_resource()
        assert root is not None
        outputs: dict[str, Any] = root.outputs  # type: ignore[attr-defined]
        return {key: self.resolve(value) for key, value in outputs.items()}

    def of_type(self, type_token: str) -> list[Registration]:
        return [r for r in self.monitor.registrations if r.type == type_token]

    def one(self, type_token: str) -> Registration:
        matches = self.of_type(type_token)
        assert len(matches) == 1, f"expected one {type_token}, got {[m.name for m in matches]}"
        return matches[0]

    def by_urn(self) -> dict[str, Registration]:
        return {r.urn: r for r in self.monitor.registrations}


def start(
    region: str,
    config: dict[str, str],
    secret_keys: list[str],
    stack_outputs: dict[str, dict[str, Any]] | None = None,
    project: str = PROJECT,
    preview: bool = False,
) -> PulumiHarness:
    loop = asyncio.new_event_loop()
    loop.set_exception_handler(_quiet_about_refused_settings)
    asyncio.set_event_loop(loop)
    full_config = {"aws:region": region, **config}
    pulumi.runtime.set_all_config(full_config, secret_keys)
    settings.ROOT.set(None)
    settings.SETTINGS.rpc_manager.clear()
    settings.SETTINGS.outputs.clear()
    mocks = AwsMocks(region, stack_outputs)
    monitor = RecordingMonitor(mocks)
    # "organization" is what Pulumi's local backend, which scripts/deploy.sh uses, calls it.
    pulumi.runtime.set_mocks(
        mocks, project, STACK, preview, monitor=monitor, organization="organization"
    )
    return PulumiHarness(region=region, mocks=mocks, monitor=monitor, loop=loop)


def _quiet_about_refused_settings(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """A refusal at deployment fails every Output that waited on it, as in `pulumi up`; the
    test has the refusal itself, so the copies asyncio would print when they go are noise."""
    if not isinstance(context.get("exception"), InvalidSettingsError):
        loop.default_exception_handler(context)


def stop(harness: PulumiHarness) -> None:
    """Leave no config, root stack, task or loop behind for the next test (a program that
    failed leaves the Outputs that waited on the failure pending)."""
    pending = asyncio.all_tasks(harness.loop)
    for task in pending:
        task.cancel()
    if pending:  # gathered on their own loop (a test may start a second harness)
        harness.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    pulumi.runtime.set_all_config({}, [])
    settings.ROOT.set(None)
    harness.loop.close()
    asyncio.set_event_loop(None)


def project_config(**values: str) -> dict[str, str]:
    """Stack configuration of this project, keyed as the Pulumi CLI hands it to the program."""
    return {f"{PROJECT}:{key}": value for key, value in values.items()}
