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

import base64
from collections.abc import Mapping
from typing import Any, Final

import pulumi
import pulumi_aws as aws
import pulumiverse_time as time

from components import model_archive, operations, policies
from components.args import EmbeddingEndpointArgs
from components.aws_limits import provider_region
from container import INFERENCE_SCRIPT, tei

TYPE_TOKEN: Final = "alex:sagemaker:EmbeddingEndpoint"


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
        # Checked again with what only now is known, before anything is registered: the name,
        # and the region (unless an explicit provider decides it at deployment).
        explicit = _has_explicit_provider(opts)
        args = args.for_deployment(
            name, checks_region=not explicit, region=None if explicit else provider_region()
        )
        super().__init__(TYPE_TOKEN, name, None, opts)
        self._name = name
        self._tags = dict(args.tags) or None

        # Invokes run through the component's provider, so a component given an explicit
        # provider (another region or account) looks up that region's image and ARNs.
        invoke = pulumi.InvokeOutputOptions(parent=self)
        self.region = aws.get_region_output(opts=invoke).region
        partition = aws.get_partition_output(opts=invoke).partition
        # The provider's own table of prebuilt images: the registry account differs per region
        # (ap-east-1, af-south-1, ...), and an image from another region cannot be pulled.
        image = aws.sagemaker.get_prebuilt_ecr_image_output(
            repository_name=args.image_repository,
            image_tag=args.effective_image_tag,
            region=self.region,
            opts=invoke,
        )
        self.image_uri = image.registry_path

        grants: list[pulumi.Resource] = []
        if args.role_arn is None:
            role = aws.iam.Role(
                f"{name}-role",
                description=f"SageMaker execution role of the {name} embedding endpoint",
                assume_role_policy=policies.to_json(policies.sagemaker_trust_policy()),
                tags=self._tags,
                opts=self._child(),
            )
            self.role_arn = role.arn
            role_name: pulumi.Input[str] = role.name
            if args.managed_policy_arns:
                grants += [
                    aws.iam.RolePolicyAttachment(
                        # Named after the policy, not its position: reordering detaches nothing.
                        f"{name}-{arn.rsplit('/', 1)[-1]}",
                        role=role.name,
                        policy_arn=arn,
                        opts=self._child(),
                    )
                    for arn in args.managed_policy_arns
                ]
            else:
                account = aws.get_caller_identity_output(opts=invoke).account_id
                document = pulumi.Output.all(
                    partition, self.region, account, image.registry_id, args.image_repository
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
            self.role_arn = pulumi.Output.from_input(args.role_arn)
            role_name = args.role_arn.rsplit("/", 1)[-1]

        model_data_url: pulumi.Output[str] | None = None
        if args.sentence_embeddings:
            archive = self._model_archive()
            model_data_url = pulumi.Output.concat("s3://", archive.bucket, "/", archive.key)
            object_arn = pulumi.Output.all(partition, archive.bucket, archive.key)
            grants.append(
                aws.iam.RolePolicy(  # s3:GetObject on the archive alone, whichever the role
                    f"{name}-model-archive-read",
                    role=role_name,
                    policy=object_arn.apply(
                        lambda v: policies.to_json(policies.read_object_policy(*v))
                    ),
                    opts=self._child(),
                )
            )

        waits: list[pulumi.Resource] = []
        if grants:
            # IAM is eventually consistent: CreateModel can fail to assume a role whose policy
            # was attached a moment ago. The wait re-runs whenever the role is replaced.
            waits.append(
                time.Sleep(
                    f"{name}-iam-propagation",
                    create_duration=args.iam_propagation_delay,
                    triggers={"role_arn": self.role_arn},
                    opts=self._child(depends_on=grants),
                )
            )
        token = args.hf_api_token is not None
        model = aws.sagemaker.Model(
            f"{name}-model",
            execution_role_arn=self.role_arn,
            primary_container=aws.sagemaker.ModelPrimaryContainerArgs(
                image=self.image_uri,
                mode="SingleModel",
                environment=_container_environment(args),
                model_data_url=model_data_url,
            ),
            tags=self._tags,
            opts=self._child(
                depends_on=waits, additional_secret_outputs=["primary_container"] if token else None
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
            production_variants=[
                aws.sagemaker.EndpointConfigurationProductionVariantArgs(
                    variant_name=operations.VARIANT_NAME,
                    model_name=model.name,
                    serverless_config=serverless,
                    instance_type=None if serverless else args.instance_type,
                    initial_instance_count=None if serverless else args.instance_count,
                )
            ],
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
                    name=f"{policies.ENDPOINT_LOG_GROUP_PREFIX}/{args.endpoint_name}",
                    retention_in_days=args.log_retention_days,
                    tags=self._tags,
                    opts=self._child(),
                )
            )
        endpoint = aws.sagemaker.Endpoint(
            f"{name}-endpoint",
            name=args.endpoint_name,
            endpoint_config_name=endpoint_config.name,
            tags=self._tags,
            opts=self._child(depends_on=logs),
        )
        if args.instance_scaling or args.provisioned_scaling:
            operations.autoscaling(name, endpoint, args, self)
        if args.alarms:
            operations.alarms(name, endpoint, args, self)

        self.model_name = model.name
        self.endpoint_config_name = endpoint_config.name
        self.endpoint_name = endpoint.name
        self.endpoint_arn = endpoint.arn
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

    def _child(self, **options: Any) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, **options)

    def _model_archive(self) -> aws.s3.BucketObjectv2:
        """A private bucket the component owns, holding the handler's archive (new buckets
        have ACLs disabled by S3's own default)."""
        archive = model_archive.build(INFERENCE_SCRIPT)
        bucket = aws.s3.Bucket(
            f"{self._name}-code",
            force_destroy=True,  # it holds only the archive this component uploads
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
            content_base64=base64.b64encode(archive).decode(),
            content_type="application/gzip",
            server_side_encryption="AES256",
            tags=self._tags,
            opts=self._child(depends_on=[private]),
        )


def _has_explicit_provider(opts: pulumi.ResourceOptions | None) -> bool:
    """Whether an AWS provider other than the stack's default deploys the component."""
    if opts is None:
        return False
    providers = opts.providers or []
    given = [opts.provider, *(providers.values() if isinstance(providers, dict) else providers)]
    if any(isinstance(provider, aws.Provider) for provider in given):
        return True
    parent = opts.parent
    return parent is not None and parent.get_provider("aws:sagemaker/model:Model") is not None


def _container_environment(args: EmbeddingEndpointArgs) -> Mapping[str, pulumi.Input[str]]:
    """The variables the runtime reads, plus the caller's extras (which may tune TEI's batch
    limits, but not the settings the component owns). The token is wrapped as a secret even
    when passed as a plain string, so it is encrypted in the state and masked in previews."""
    environment: dict[str, pulumi.Input[str]]
    if args.runtime == "tei":
        environment = {**tei.environment(args.model_id, args.model_revision), **args.environment}
        token_variable = tei.TOKEN_VARIABLE
    else:
        environment = {**args.environment, "HF_MODEL_ID": args.model_id, "HF_TASK": args.task}
        if args.model_revision is not None:
            environment["HF_MODEL_REVISION"] = args.model_revision
        token_variable = "HF_API_TOKEN"
    if args.hf_api_token is not None:
        environment[token_variable] = pulumi.Output.secret(args.hf_api_token)
    return environment
