"""`EmbeddingEndpoint`: a Hugging Face embedding model on a SageMaker endpoint.

Children, in dependency order: execution role -> its policy -> an IAM propagation wait ->
model -> endpoint configuration -> endpoint, then scaling, logs and alarms (`operations`).

Update safety: the model and the endpoint configuration carry no fixed names. SageMaker models
and endpoint configurations are immutable, so any change to the image, the model, memory or
concurrency replaces them. With auto-names Pulumi creates the replacements first, points the
(fixed-name) endpoint at the new configuration with an in-place UpdateEndpoint, and only then
deletes the old ones. Fixed names, as in the Terraform reference, make that replacement fail
with "already exists", or force a delete-first that takes the endpoint down.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import pulumi
import pulumi_aws as aws
import pulumiverse_time as time

from components import images, model_archive, model_files, operations, policies
from components.args import NETWORK, EmbeddingEndpointArgs
from components.errors import InvalidSettingsError, Problem
from components.settings import SET_BY_COMPONENT
from container import INFERENCE_SCRIPT, tei

TYPE_TOKEN: Final = "alex:sagemaker:EmbeddingEndpoint"
POLICIES: Final = "managed_policy_arns"
HANDLER_MEMBER: Final = "code/inference.py"
"""Where the HuggingFace container looks for user code in the archive."""


class EmbeddingEndpoint(pulumi.ComponentResource):
    """A SageMaker endpoint (serverless or realtime) serving a Hub model through the HF image
    or Text Embeddings Inference.

    Later stacks reuse it directly, or read the exported endpoint name and ARN through a
    StackReference. Every child's logical name starts with the component's (`search-role`,
    `search-model`), so several components fit in one program.
    """

    endpoint_name: pulumi.Output[str]
    endpoint_arn: pulumi.Output[str]
    model_name: pulumi.Output[str]
    endpoint_config_name: pulumi.Output[str]
    role_arn: pulumi.Output[str]
    image_uri: pulumi.Output[str]
    region: pulumi.Output[str]
    invoke_policy_json: pulumi.Output[str]

    def __init__(
        self, name: str, args: EmbeddingEndpointArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        # The name is checked now, before anything is registered; the region (the provider's,
        # whichever decides it) and Output ARNs as they resolve, before any child registers.
        args = args.for_deployment(name)
        archive = _archive(name, args)  # the model downloaded and packed, before registering
        super().__init__(TYPE_TOKEN, name, None, opts)
        self._name = name
        self._tags = args.kept(dict(args.tags) or None, "tags")

        # Invokes run through the component's provider, so a component given an explicit
        # provider (another region or account) looks up that region's image and ARNs.
        invoke = pulumi.InvokeOutputOptions(parent=self)
        self.region = args.in_region(name, aws.get_region_output(opts=invoke).region)
        partition = aws.get_partition_output(opts=invoke).partition
        account = aws.get_caller_identity_output(opts=invoke).account_id
        # The provider's own table of prebuilt images: the registry account differs per region
        # (ap-east-1, af-south-1, ...), and an image from another region cannot be pulled.
        image = aws.sagemaker.get_prebuilt_ecr_image_output(
            repository_name=args.image_repository,
            image_tag=args.effective_image_tag,
            region=self.region,
            opts=invoke,
        )
        self.image_uri = args.kept(image.registry_path, "image_tag")

        def resolved(setting: str, arn: Any) -> Any:
            """A text ARN as given; an Output one once it resolves and holds."""
            if not isinstance(arn, pulumi.Output):
                return arn
            return args.resolved(name, self.region, setting, arn)

        grants: list[aws.iam.RolePolicyAttachment | aws.iam.RolePolicy | aws.s3.BucketPolicy] = []
        if args.role_arn is None:
            trust = pulumi.Output.all(partition, self.region, account)
            role = aws.iam.Role(
                f"{name}-role",
                description=f"SageMaker execution role of the {name} embedding endpoint",
                assume_role_policy=trust.apply(
                    lambda v: policies.to_json(policies.sagemaker_trust_policy(*v))
                ),
                tags=self._tags,
                opts=self._child(),
            )
            self.role_arn = role.arn
            grants += [
                aws.iam.RolePolicyAttachment(
                    # Named after the policy, not its position, so reordering detaches nothing
                    # (an Output's name is not known yet: its position names it).
                    f"{name}-{_policy_name(arn, i, POLICIES in args.secret_settings)}",
                    role=role.name,
                    policy_arn=args.kept(
                        resolved("managed_policy_arns", arn), "managed_policy_arns"
                    ),
                    opts=self._child(),
                )
                for i, arn in enumerate(args.managed_policy_arns)
            ]
            if not args.managed_policy_arns:
                # Pulls from every repository the component runs, so that a change of runtime
                # or device never leaves the old variant unable to pull its image.
                repositories = [
                    pulumi.Output.concat(
                        "arn:", partition, ":ecr:", self.region, ":", registry, ":repository/", repo
                    )
                    for registry, repo in self._repositories(invoke)
                ]
                document = pulumi.Output.all(
                    partition, self.region, account, pulumi.Output.all(*repositories), args.in_vpc
                )
                grants.append(
                    aws.iam.RolePolicy(
                        f"{name}-execution-policy",
                        role=role.id,
                        policy=document.apply(
                            lambda v: policies.to_json(policies.execution_policy(*v))
                        ),
                        opts=self._child(),
                    )
                )
        else:
            role_arn = args.kept(resolved("role_arn", args.role_arn), "role_arn")
            self.role_arn = pulumi.Output.from_input(role_arn)

        model_data_url: pulumi.Output[str] | None = None
        if archive is not None:
            uploaded = self._upload(archive)
            model_data_url = pulumi.Output.concat("s3://", uploaded.bucket, "/", uploaded.key)
            reader = pulumi.Output.all(
                partition, uploaded.bucket, model_archive.PREFIX, self.role_arn
            )
            grants.append(
                # The component's own bucket lets the role read the archive, so that a role
                # the component does not own (another stack's) is never written to.
                aws.s3.BucketPolicy(
                    f"{name}-model-archive-read",
                    bucket=uploaded.bucket,
                    policy=reader.apply(
                        lambda v: policies.to_json(policies.read_archives_policy(*v))
                    ),
                    opts=self._child(),
                )
            )

        waits: list[pulumi.Resource] = []
        if grants:
            # IAM is eventually consistent: CreateModel can fail to assume a role whose policy
            # was attached a moment ago. The wait re-runs whenever the role, or what it may do,
            # changes (a digest: the policies themselves need not be in the state twice).
            may_do = [
                g.policy_arn if isinstance(g, aws.iam.RolePolicyAttachment) else g.policy
                for g in grants
            ]
            grants_digest = pulumi.Output.all(*may_do).apply(_digest)
            waits.append(
                time.Sleep(
                    f"{name}-iam-propagation",
                    create_duration=args.kept(args.iam_propagation_delay, "iam_propagation_delay"),
                    triggers={"role_arn": self.role_arn, "grants": grants_digest},
                    opts=self._child(*grants),
                )
            )
        secret = args.hf_api_token is not None
        secret |= not args.secret_settings.isdisjoint(_CONTAINER)
        model = aws.sagemaker.Model(
            f"{name}-model",
            execution_role_arn=self.role_arn,
            primary_container=aws.sagemaker.ModelPrimaryContainerArgs(
                image=self.image_uri,  # with the environment: secret where a setting is
                mode="SingleModel",
                environment=_container_environment(args),
                model_data_url=model_data_url,
            ),
            vpc_config=aws.sagemaker.ModelVpcConfigArgs(
                subnets=args.kept(args.vpc_subnet_ids, *NETWORK),
                security_group_ids=args.kept(args.vpc_security_group_ids, *NETWORK),
            )
            if args.in_vpc
            else None,
            enable_network_isolation=args.network_isolation or None,
            tags=self._tags,
            opts=self._child(
                *waits, additional_secret_outputs=["primary_container"] if secret else None
            ),
        )
        serverless = (
            aws.sagemaker.EndpointConfigurationProductionVariantServerlessConfigArgs(
                memory_size_in_mb=args.memory_size_in_mb,
                max_concurrency=args.max_concurrency,
                provisioned_concurrency=args.provisioned_concurrency,
            )
            if args.is_serverless
            else None
        )
        endpoint_config = aws.sagemaker.EndpointConfiguration(
            f"{name}-config",
            production_variants=args.kept(
                [
                    aws.sagemaker.EndpointConfigurationProductionVariantArgs(
                        variant_name=operations.VARIANT_NAME,
                        model_name=model.name,
                        serverless_config=serverless,
                        instance_type=None if serverless else args.instance_type,
                        initial_instance_count=None if serverless else args.instance_count,
                    )
                ],
                *_CAPACITY,
            ),
            tags=self._tags,
            opts=self._child(),
        )
        # With a known endpoint name the component owns its log group, made before the endpoint
        # so SageMaker writes into a group that has a retention (its own never expires).
        logs: list[pulumi.Resource] = []
        if args.endpoint_name is not None:
            logs.append(
                aws.cloudwatch.LogGroup(
                    f"{name}-logs",
                    name=args.kept(
                        f"{policies.ENDPOINT_LOG_GROUP_PREFIX}/{args.endpoint_name}",
                        "endpoint_name",
                    ),
                    retention_in_days=args.kept(args.log_retention_days, "log_retention_days"),
                    tags=self._tags,
                    # A rename makes the new group first; the old one, and the group on
                    # destroy, stay (with their retention) unless `keep_logs` is off.
                    opts=self._child(delete_before_replace=False, retain_on_delete=args.keep_logs),
                )
            )
        endpoint = aws.sagemaker.Endpoint(
            f"{name}-endpoint",
            name=args.kept(args.endpoint_name, "endpoint_name"),
            endpoint_config_name=endpoint_config.name,
            tags=self._tags,
            # A new name makes the new endpoint first (the provider would delete a named one
            # first): the old one serves until the new one is InService. An auto-named endpoint
            # is replaced where AWS refuses the update (realtime to serverless, a new instance
            # type of a scaling target); the program refuses those for a fixed name.
            opts=self._child(
                *logs,
                delete_before_replace=False,
                replacement_trigger=None if args.endpoint_name else args.update_refused_key,
            ),
        )
        if args.instance_scaling or args.provisioned_scaling:
            operations.autoscaling(name, endpoint, args, self)
        if args.alarms:
            operations.alarms(
                name, endpoint, args, self, resolved("alarm_topic_arn", args.alarm_topic_arn)
            )

        self.model_name = model.name
        self.endpoint_config_name = endpoint_config.name
        self.endpoint_name = args.kept(endpoint.name, "endpoint_name")
        self.endpoint_arn = args.kept(endpoint.arn, "endpoint_name")
        self.invoke_policy_json = self.endpoint_arn.apply(
            lambda arn: policies.to_json(policies.invoke_endpoint_policy(arn))
        )
        outputs = EmbeddingEndpoint.__annotations__  # the attributes the class declares
        self.register_outputs({key: getattr(self, key) for key in outputs})

    def grant_invoke(self, role: aws.iam.Role, *, name: str | None = None) -> aws.iam.RolePolicy:
        """Let `role` call InvokeEndpoint on this endpoint and nothing else.

        The policy is named after the component and the role's logical name (or `name`), so
        several roles can be granted; it is a child of this component, so it goes with it.
        """
        return aws.iam.RolePolicy(
            f"{self._name}-{name or f'invoke-{role._name}'}",
            role=role.id,
            policy=self.invoke_policy_json,
            opts=self._child(),
        )

    def _repositories(self, invoke: pulumi.InvokeOutputOptions) -> list[tuple[Any, str]]:
        """(registry, repository) of every image the component may run in this region: both
        runtimes' registries are looked up in every region `images.IMAGE_LOOKUP_REGIONS` admits,
        which must therefore be in both of the provider's tables."""
        found = []
        for runtime in images.RUNTIMES.values():
            registry = aws.sagemaker.get_prebuilt_ecr_image_output(
                repository_name=runtime.cpu_repository,
                image_tag=runtime.default_cpu_tag,
                region=self.region,
                opts=invoke,
            ).registry_id
            repositories = dict.fromkeys((runtime.cpu_repository, runtime.gpu_repository))
            found += [(registry, repository) for repository in repositories]
        return found

    def _child(self, *after: pulumi.Resource, **options: Any) -> pulumi.ResourceOptions:
        """A child's options: it registers only once the settings hold in the region."""
        depends_on = self.region.apply(lambda _: list(after))
        return pulumi.ResourceOptions(parent=self, depends_on=depends_on, **options)

    def _upload(self, archive: Path) -> aws.s3.BucketObjectv2:
        """The archive, streamed from its file into a private bucket the component owns (new
        buckets have ACLs disabled by S3's own default)."""
        bucket = aws.s3.Bucket(
            f"{self._name}-code",
            force_destroy=True,  # it holds only the archives this component uploads
            tags=self._tags,
            opts=self._child(),
        )
        private = aws.s3.BucketPublicAccessBlock(
            f"{self._name}-code-public-access",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=self._child(),
        )
        return aws.s3.BucketObjectv2(
            f"{self._name}-model-archive",
            bucket=bucket.id,
            key=model_archive.object_key(archive),
            source=pulumi.FileAsset(archive),
            content_type="application/gzip",
            server_side_encryption="AES256",
            # No tags: S3 allows 10 an object, the component up to 50; the bucket has them.
            opts=self._child(private),
        )


def _archive(component: str, args: EmbeddingEndpointArgs) -> Path | None:
    """The model's archive: the handler's code where it serves, the model's files where the
    archive carries them (downloaded now, so a missing model fails before anything is made)."""
    members = {HANDLER_MEMBER: INFERENCE_SCRIPT} if args.uses_handler else {}
    subject = f"EmbeddingEndpoint {component!r}"
    if args.ships_model:
        token = args.hf_api_token if isinstance(args.hf_api_token, str) else None
        tei = args.runtime == "tei"
        try:
            members |= model_files.model_files(args.model_id, args.model_revision, token, tei)
        except model_files.ModelSourceError as error:
            message = str(error).replace(token, "[secret]") if token else str(error)
            raise InvalidSettingsError(subject, [Problem(error.setting, message)]) from None
    if not members:
        return None
    try:
        archive = model_archive.build(members)
    except OSError as error:
        raise pulumi.RunError(
            f"{subject}: cannot write its model archive ({error}); set XDG_CACHE_HOME to a "
            "writable directory"
        ) from None
    megabytes = archive.stat().st_size / 1e6
    pulumi.log.info(f"{component}: model archive {archive} ({megabytes:.1f} MB)")
    return archive


def _container_environment(args: EmbeddingEndpointArgs) -> Mapping[str, pulumi.Input[str]]:
    """The variables the runtime reads, plus the caller's extras (which may tune TEI's batch
    limits, but not the settings the component owns). The token, where the container downloads
    the model, is wrapped as a secret even when passed as a plain string, so it is encrypted in
    the state and masked in previews."""
    environment: dict[str, pulumi.Input[str]] = {
        key: args.kept(value, SET_BY_COMPONENT.get(key, "environment"))
        for key, value in {**args.container_environment(), **args.environment}.items()
    }
    if args.hf_api_token is not None and not args.ships_model:
        token_variable = tei.TOKEN_VARIABLE if args.runtime == "tei" else "HF_API_TOKEN"
        environment[token_variable] = pulumi.Output.secret(args.hf_api_token)
    return environment


_CAPACITY: Final = ("memory_size_in_mb", "max_concurrency", "provisioned_concurrency",
                    "instance_type", "instance_count")  # fmt: skip
_CONTAINER: Final = ("model_id", "model_revision", "task", "environment", "image_tag")
"""The settings the model's container (its image and environment) carries."""


def _digest(values: list[str]) -> str:
    return hashlib.sha256(json.dumps(values).encode()).hexdigest()


def _policy_name(arn: pulumi.Input[str], position: int, secret: bool) -> str:
    """A policy attachment's name: the policy's own, so that reordering detaches nothing; its
    position where the name is not known yet (an Output) or must not show (a secret)."""
    return arn.rsplit("/", 1)[-1] if isinstance(arn, str) and not secret else f"policy-{position}"
